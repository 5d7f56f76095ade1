"""History: every PredictionRunLog row, whoever started it, with what its version measured."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input, Static

from launcher import db
from launcher.history import Entry, parse_query
from launcher.messages import Failed, HistoryLoaded
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen
from launcher.screens.detail import DetailScreen
from launcher.widgets.tables import KeptTable, styled, when

# Marks the version current.json promotes (the one prediction uses).
PROMOTED = "★"
COLUMNS = (
    "started",
    "team/subject",
    "algorithm",
    "type",
    "state",
    "version",
    "test ROC-AUC [CI]",
    "F1",
    "n_train",
    "duration",
    "triggered by",
    "decision",
)


def cells(entry: Entry) -> tuple[str | Text, ...]:
    row = entry.row
    return (
        when(row.started),
        f"{row.team}/{row.subject}",
        row.algorithm or "?",
        row.run_type,
        styled(entry.outcome),
        f"{PROMOTED} {row.model_version}" if entry.promoted else row.model_version or "-",
        entry.roc_auc,
        entry.f1,
        entry.n_train,
        entry.duration,
        row.triggered_by or "-",
        entry.decision,
    )


def sort_key(entry: Entry, column: int) -> tuple[float, str]:
    # Numbers sort as numbers, everything else as text.
    text = str(cells(entry)[column])
    try:
        return (float(text.split()[0]), "")
    except (ValueError, IndexError):
        return (0.0, text)


def sort_entries(entries: list[Entry], column: int, reverse: bool) -> list[Entry]:
    """Sorted by one column; rows without a value ("-") last in either order."""
    empty = [entry for entry in entries if str(cells(entry)[column]) == "-"]
    full = [entry for entry in entries if str(cells(entry)[column]) != "-"]
    full.sort(key=lambda entry: sort_key(entry, column), reverse=reverse)
    return full + empty


class HistoryTable(KeptTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns(*COLUMNS)


class HistoryScreen(LauncherScreen):
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("enter", "details", "Details", show=False),
        Binding("d", "details", "Details"),
        Binding("l", "logs", "Logs"),
        Binding("s", "sort(1)", "Sort"),
        Binding("S", "sort(-1)", "Sort back", show=False),
        Binding("o", "reverse", "Order"),
        Binding("m", "mark", "Mark"),
        Binding("x", "compare", "Compare"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "clear_search", "Clear search", show=False),
    ]
    KEY_HELP = {
        "search": "free words and team: subject: algo: state: type: version: by: decision: "
        "promoted: terms; a key it does not know is named",
        "details": "on a row: its version's metrics beside the version before it",
        "logs": "on a row a launcher run wrote: that run's log",
        "sort": "the next column to sort by (S: the one before); rows without a value last",
        "reverse": "when sorted: ascending or descending",
        "mark": "on a row with a version: keep it to compare with (again: unmark)",
        "compare": "with a version marked: the highlighted row's details against it",
        "refresh": "any time",
        "clear_search": "while searching",
    }

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self.query_text = ""
        self.sort_column: int | None = None
        self.sort_reverse = False
        # The row marked to compare other versions with (m), by row id: entries are
        # read again on every refresh.
        self.marked_id: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="/ search: words, team:x subject:y algo:z state:failed type:predict "
            "version: by: decision: promoted:yes",
            id="history-search",
        )
        yield HistoryTable(id="history")
        yield Static("", id="history-status", markup=False)
        yield Static(
            f"{PROMOTED} promoted (current.json)  ·  s sort  ·  m mark, x compare with it",
            id="history-legend",
            markup=False,
        )
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.operations.describe()
        self.query_one(HistoryTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="history")
    def load(self) -> None:
        try:
            self.post_message(HistoryLoaded(self.operations.history()))
        except db.DatabaseUnavailable as error:
            self.post_message(Failed("history", str(error)))

    @on(HistoryLoaded)
    def loaded(self, message: HistoryLoaded) -> None:
        self.entries = message.entries
        self.show()

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.query_one("#history-status", Static).update(f"history failed: {plain(message.text)}")

    def shown_entries(self) -> list[Entry]:
        query = parse_query(self.query_text)
        shown = [entry for entry in self.entries if query.matches(entry)]
        if self.sort_column is not None:
            shown = sort_entries(shown, self.sort_column, self.sort_reverse)
        return shown

    def show(self) -> None:
        shown = self.shown_entries()
        self.query_one(HistoryTable).refill([(str(e.row.id), cells(e)) for e in shown])
        problem = parse_query(self.query_text).problem
        # A mistyped key matches nothing: say why, instead of an empty table.
        status = problem if problem else f"{len(shown)} of {len(self.entries)} rows"
        if self.sort_column is not None:
            order = "descending" if self.sort_reverse else "ascending"
            status += f", sorted by {COLUMNS[self.sort_column]} ({order})"
        if self.marked is not None:
            row = self.marked.row
            status += f"; marked {row.team}/{row.subject} {row.algorithm} {row.model_version}"
        self.query_one("#history-status", Static).update(plain(status))

    @on(Input.Changed, "#history-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.show()

    @on(Input.Submitted, "#history-search")
    def search_done(self) -> None:
        self.query_one(HistoryTable).focus()

    def action_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_clear_search(self) -> None:
        self.query_one("#history-search", Input).value = ""
        self.query_one(HistoryTable).focus()

    @on(DataTable.HeaderSelected, "#history")
    def header_selected(self, event: DataTable.HeaderSelected) -> None:
        # A second click on the same column reverses the order.
        if self.sort_column == event.column_index:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = event.column_index, False
        self.show()

    def action_sort(self, step: int) -> None:
        """The next (or previous) column to sort by; after the last, the rows as they come."""
        if self.sort_column is None:
            column: int | None = 0 if step > 0 else len(COLUMNS) - 1
        else:
            column = self.sort_column + step
            if not 0 <= column < len(COLUMNS):
                column = None
        self.sort_column, self.sort_reverse = column, False
        self.show()

    def action_reverse(self) -> None:
        if self.sort_column is not None:
            self.sort_reverse = not self.sort_reverse
            self.show()

    def sort_by(self, column: str, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = COLUMNS.index(column), reverse
        self.show()

    @property
    def marked(self) -> Entry | None:
        return next((e for e in self.entries if e.row.id == self.marked_id), None)

    def highlighted(self) -> Entry | None:
        key = self.query_one(HistoryTable).highlighted_name()
        return next((e for e in self.entries if str(e.row.id) == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        entry = self.highlighted()
        if action in ("details", "mark"):
            return entry is not None and (action == "details" or bool(entry.metrics))
        if action == "logs":
            return entry is not None and entry.run is not None
        if action == "compare":
            return self.marked is not None and entry is not None and entry.row.id != self.marked_id
        if action == "reverse":
            return self.sort_column is not None
        return True

    @on(DataTable.RowHighlighted, "#history")
    def row_highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#history")
    def action_details(self) -> None:
        entry = self.highlighted()
        if entry is not None:
            self.app.push_screen(DetailScreen(entry))

    def action_logs(self) -> None:
        entry = self.highlighted()
        if entry is not None and entry.run is not None:
            from launcher.screens.log import LogScreen

            self.app.push_screen(LogScreen(entry.run.name))

    def action_mark(self) -> None:
        entry = self.highlighted()
        if entry is None or not entry.metrics:
            return
        self.marked_id = None if self.marked_id == entry.row.id else entry.row.id
        self.refresh_bindings()
        self.show()

    def action_compare(self) -> None:
        entry, marked = self.highlighted(), self.marked
        if entry is None or marked is None:
            return
        if (entry.row.team, entry.row.subject) != (marked.row.team, marked.row.subject):
            self.notify(
                plain(
                    f"the marked version is of {marked.row.team}/{marked.row.subject}: compare "
                    "versions of one subject"
                ),
                severity="warning",
                markup=False,
            )
            return
        self.app.push_screen(DetailScreen(entry, against=marked))
