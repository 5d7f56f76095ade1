"""The two tables of the runs screen; both keep their cursor (on the same run, on the same row)
and their scroll position across refreshes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from launcher.operations import RowView, RunView
from launcher.safe_text import plain

STYLES = {
    "succeeded": "green",
    "ok": "green",
    "running": "yellow",
    "pending": "yellow",
    "queued": "dim yellow",
    "failing": "#ff8700",
    # Explicit colours: the terminal's ANSI red and magenta can be near twins, and a lost run
    # (no outcome recorded) must not read as an ordinary failure.
    "failed": "bold #ff5f5f",
    "lost": "bold #c792ea",
    "cancelled": "dim",
}


def when(moment: datetime | None) -> str:
    # Absolute UTC times: the same on every screen and in every snapshot.
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def styled(word: str) -> Text:
    return Text(word, style=STYLES.get(word, ""))


def as_text(cell: str | Text) -> Text:
    """A cell as plain text: a str given to DataTable is parsed as markup, and a name or an
    error from the database may hold `[@click=…]` or `[/etc/…]`, or escape sequences."""
    if isinstance(cell, Text):
        return cell
    return Text(plain(cell).replace("\n", " "))


class KeptTable(DataTable[str | Text]):
    """A table refilled on every refresh that keeps the operator's place in it."""

    def refill(self, rows: list[tuple[str, tuple[str | Text, ...]]]) -> None:
        """Replace the rows (key, cells); an unchanged table is left alone."""
        rows = [(key, tuple(as_text(cell) for cell in cells)) for key, cells in rows]
        if rows == getattr(self, "_shown", None):
            return
        self._shown = rows
        keep = self.highlighted_name()
        x, y = self.scroll_x, self.scroll_y
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if keep in (keys := [key for key, _ in rows]):
            self.move_cursor(row=keys.index(keep), scroll=False)
        # Twice: now, and once the new rows have their size (clear() scrolled home).
        self.scroll_to(x, y, animate=False, force=True, immediate=True)
        self.call_after_refresh(self.scroll_to, x, y, animate=False, force=True, immediate=True)

    def highlighted_name(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value)

    def select_key(self, key: str) -> bool:
        keys = [str(row.value) for row in self.rows]
        if key not in keys:
            return False
        self.move_cursor(row=keys.index(key))
        return True


class RunsTable(KeptTable):
    # State first and timestamps last: at 80 columns what matters is what is left in view.
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(
            "state", "run", "team/subject", "detail", "progress", "created", "finished"
        )

    def show(self, views: Iterable[RunView]) -> None:
        self.refill(
            [
                (
                    view.run.name,
                    (
                        styled(str(view.run.state)),
                        view.run.name,
                        f"{view.run.team}/{view.run.subject or '*'}",
                        view.run.detail,
                        view.progress[:60],
                        when(view.run.created),
                        when(view.run.finished),
                    ),
                )
                for view in views
            ]
        )


class RowsTable(KeptTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(
            "algorithm",
            "success",
            "ROC-AUC",
            "version",
            "subject",
            "started",
            "finished",
            "error",
        )

    def show(self, views: Iterable[RowView], roc_auc: Mapping[int, str] | None = None) -> None:
        """`roc_auc`: each row's version's test ROC-AUC, by row id, where it has one."""
        scores = roc_auc or {}
        self.refill(
            [
                (
                    str(view.row.id),
                    (
                        view.row.algorithm or "?",
                        styled(view.outcome),
                        scores.get(view.row.id, "-"),
                        view.row.model_version or "-",
                        view.row.subject,
                        when(view.row.started),
                        when(view.row.finished),
                        view.row.error or "",
                    ),
                )
                for view in views
            ]
        )
