"""The two tables of the runs screen; both keep the cursor on the same run across refreshes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from launcher.engine import RowView, RunView

STYLES = {
    "succeeded": "green",
    "ok": "green",
    "running": "yellow",
    "pending": "yellow",
    "failed": "red",
    "lost": "bold magenta",
    "cancelled": "dim",
}


def when(moment: datetime | None) -> str:
    # Absolute UTC times: the same on every screen and in every snapshot.
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def styled(word: str) -> Text:
    return Text(word, style=STYLES.get(word, ""))


class RunsTable(DataTable[str | Text]):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("run", "team/subject", "state", "created", "finished", "detail")

    def show(self, views: Iterable[RunView]) -> None:
        keep = self.highlighted_name()
        self.clear()
        for view in views:
            run = view.run
            self.add_row(
                run.name,
                f"{run.team}/{run.subject or '*'}",
                styled(str(run.state)),
                when(run.created),
                when(run.finished),
                run.detail,
                key=run.name,
            )
        names = [str(key.value) for key in self.rows]
        if keep in names:
            self.move_cursor(row=names.index(keep))

    def highlighted_name(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return str(key.value)


class RowsTable(DataTable[str | Text]):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(
            "subject", "algorithm", "success", "started", "finished", "version", "error"
        )

    def show(self, views: Iterable[RowView]) -> None:
        self.clear()
        for view in views:
            row = view.row
            self.add_row(
                row.subject,
                row.algorithm or "?",
                styled(view.outcome),
                when(row.started),
                when(row.finished),
                row.model_version or "-",
                row.error or "",
                key=str(row.id),
            )
