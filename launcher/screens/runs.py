"""Runs: every submission with its state, and the PredictionRunLog rows of the highlighted one."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from launcher import db
from launcher.backends.base import BackendError
from launcher.messages import Cancelled, DetailsLoaded, Failed, OverviewLoaded
from launcher.operations import Overview, RunView
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen
from launcher.screens.confirm import ConfirmScreen
from launcher.screens.detail import DetailScreen
from launcher.screens.log import LogScreen
from launcher.screens.text import TextScreen
from launcher.widgets.tables import RowsTable, RunsTable


class RunsScreen(LauncherScreen):
    BINDINGS = [
        Binding("enter,l", "logs", "Logs"),
        Binding("e", "show_error", "Full error"),
        Binding("d", "details", "Details"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "refresh", "Refresh"),
    ]
    KEY_HELP = {
        "logs": "on a run: its log, followed while it runs",
        "show_error": "on a PredictionRunLog row that recorded an error",
        "details": "on a PredictionRunLog row: its version, metrics and decision",
        "cancel_run": "on a run still going; asks first",
        "refresh": "any time (the screen also refreshes every 2 s)",
    }

    def __init__(self) -> None:
        super().__init__()
        self.overview = Overview(())
        self.roc_auc: dict[int, str] = {}
        # (row id, version) → test ROC-AUC, filled by the refresh worker.
        self.scores_read: dict[tuple[int, str], str] = {}
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Runs", classes="section")
        yield RunsTable(id="runs")
        yield Static("PredictionRunLog rows of the highlighted run", classes="section")
        yield RowsTable(id="rows")
        yield Static("", id="runs-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.operations.describe()
        # No load here: the screen is resumed when first shown too, and two loads racing would
        # fill the tables twice.
        seconds = self.app.refresh_seconds
        if seconds:
            self.set_interval(seconds, self.action_refresh)

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load_overview()

    @work(thread=True, exclusive=True, group="overview")
    def load_overview(self) -> None:
        try:
            overview = self.operations.overview()
        except (BackendError, db.DatabaseUnavailable) as error:
            self.post_message(Failed("refresh", str(error)))
            return
        scores = {} if overview.db_error else self.roc_aucs(overview)
        self.post_message(OverviewLoaded(overview, scores))

    def roc_aucs(self, overview: Overview) -> dict[int, str]:
        """Each training row's version's test ROC-AUC (its metrics.json), read once per
        published version: a version never changes, and the screen refreshes every 2 s."""
        from launcher.history import read_metrics, refused, version_dir

        scores: dict[int, str] = {}
        for view in overview.runs:
            for row in (item.row for item in view.rows):
                key = (row.id, row.model_version)
                if key not in self.scores_read and row.run_type == "train":
                    path = version_dir(row)
                    value = None if refused(path) else read_metrics(path).get("test_roc_auc")
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        self.scores_read[key] = f"{value:.3f}"
                if key in self.scores_read:
                    scores[row.id] = self.scores_read[key]
        return scores

    @on(OverviewLoaded)
    def overview_loaded(self, message: OverviewLoaded) -> None:
        self.overview = message.overview
        self.roc_auc = message.roc_auc
        self.loaded = True
        table = self.query_one(RunsTable)
        table.show(message.overview.runs)
        # A run just submitted from the form: show it, whatever was highlighted before.
        wanted = self.app.select_run
        if wanted is not None and table.select_key(wanted):
            self.app.select_run = None
        self.show_rows()
        count = len(message.overview.runs)
        status = (
            f"{count} run{'s' if count != 1 else ''}"
            if count
            else "no runs yet: submit one from the form (F2)"
        )
        if message.overview.db_error:
            status += f"; no PredictionRunLog rows: {message.overview.db_error}"
        self.query_one("#runs-status", Static).update(plain(status))

    @on(Failed)
    def failed(self, message: Failed) -> None:
        text = plain(message.text)
        self.query_one("#runs-status", Static).update(f"{message.what} failed: {text}")
        if message.what != "refresh":
            self.notify(text, title=f"{message.what} failed", severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#runs")
    def show_rows(self) -> None:
        view = self.highlighted()
        self.query_one(RowsTable).show(view.rows if view else (), self.roc_auc)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#rows")
    def row_highlighted(self) -> None:
        self.refresh_bindings()

    def highlighted_row(self) -> db.RunRow | None:
        view = self.highlighted()
        name = self.query_one(RowsTable).highlighted_name()
        return next((r.row for r in view.rows if str(r.row.id) == name), None) if view else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Keys that cannot do anything for the highlighted run or row are left out of the footer.
        if not self.is_mounted or action not in ("logs", "cancel_run", "show_error", "details"):
            return True
        view = self.highlighted()
        if action == "logs":
            return view is not None
        if action == "cancel_run":
            return view is not None and not view.run.state.finished
        row = self.highlighted_row()
        if action == "show_error":
            return row is not None and bool(row.error_text)
        return row is not None

    def highlighted(self) -> RunView | None:
        name = self.query_one(RunsTable).highlighted_name()
        return next((view for view in self.overview.runs if view.run.name == name), None)

    @on(DataTable.RowSelected, "#rows")
    def action_show_error(self) -> None:
        row = self.highlighted_row()
        if row is None:
            return
        if not row.error_text:
            self.notify(f"row {row.id} recorded no error", severity="information", markup=False)
            return
        title = f"{row.team}/{row.subject} {row.algorithm or '?'}: row {row.id}, {row.outcome}"
        self.app.push_screen(TextScreen(title, row.error_text))

    def action_details(self) -> None:
        name = self.query_one(RowsTable).highlighted_name()
        if name is not None:
            self.load_details(int(name))

    @work(thread=True, exclusive=True, group="details")
    def load_details(self, row_id: int) -> None:
        # Through the history, so the row's version is compared with the one before it.
        try:
            entry = next((e for e in self.operations.history() if e.row.id == row_id), None)
        except db.DatabaseUnavailable as error:
            self.post_message(Failed("details", str(error)))
            return
        if entry is not None:
            self.post_message(DetailsLoaded(entry))

    @on(DetailsLoaded)
    def details_loaded(self, message: DetailsLoaded) -> None:
        self.app.push_screen(DetailScreen(message.entry))

    @on(DataTable.RowSelected, "#runs")
    def row_selected(self) -> None:
        # Enter on the table arrives as a selection, not as the screen's key binding.
        self.action_logs()

    def action_logs(self) -> None:
        view = self.highlighted()
        if view is not None:
            self.app.push_screen(LogScreen(view.run.name))

    def action_cancel_run(self) -> None:
        view = self.highlighted()
        if view is None:
            return
        if view.run.state.finished:
            self.notify(
                plain(f"{view.run.name} is already {view.run.state}"),
                severity="warning",
                markup=False,
            )
            return
        name = view.run.name

        def answered(yes: bool | None) -> None:
            if yes:
                self.cancel_run(name)

        self.app.push_screen(ConfirmScreen(f"Cancel run {name}?"), answered)

    @work(thread=True, exclusive=True, group="cancel")
    def cancel_run(self, name: str) -> None:
        try:
            self.operations.backend.cancel(name)
            self.post_message(Cancelled(name))
        except BackendError as error:
            self.post_message(Failed("cancel", str(error)))

    @on(Cancelled)
    def cancelled(self, message: Cancelled) -> None:
        self.notify(plain(f"cancelling {message.name}"), title="cancel", markup=False)
        self.action_refresh()
