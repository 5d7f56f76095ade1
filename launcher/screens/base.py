"""What every screen of the launcher shares: its app, typed, and that app's operations; and
that no worker's exception ends the app (it becomes one line in a notification, the whole text
behind Ctrl+E)."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from launcher.messages import Failed
from launcher.operations import Operations
from launcher.safe_text import one_line, plain

if TYPE_CHECKING:
    from textual import getters


def worker_error_line(error: BaseException | None) -> str:
    """A worker's exception as the one line an operator reads: what to do where we know it (a
    model that could not be loaded names its setting), else the error with its type named."""
    if error is None:
        return "unknown error"
    from launcher.review_cli import model_failure

    # The CLI's words for a model that cannot be loaded: which setting, and what to do.
    said = model_failure(error)
    if said is not None:
        return said
    text = one_line(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def error_text(error: BaseException) -> str:
    """The whole text of an error, its traceback and causes, as plain text for a dialog."""
    return plain("".join(traceback.format_exception(error)))


def failure(what: str, error: BaseException) -> Failed:
    """What a worker posts when `error` stopped it: one line, and the whole text behind it."""
    return Failed(what, worker_error_line(error), error_text(error))


class ScreensApp(App[None]):
    """What the screens use of their app, declared here so that they need not import
    launcher.app (which imports them); launcher.app.LauncherApp sets these."""

    operations: Operations
    # Seconds between the runs screen's refreshes; 0: none.
    refresh_seconds: float
    # The run the runs screen should highlight next (set by the form after a submit).
    select_run: str | None
    # The last failure's title and whole text (Ctrl+E shows it), None before any.
    last_failure: tuple[str, str] | None = None

    def record_failure(self, title: str, text: str) -> None:
        self.last_failure = (title, text)
        self.refresh_bindings()


class LauncherScreen(Screen[None]):
    # First, so that the footer shows it even at 80 columns; F1 where an input takes `?`.
    BINDINGS = [Binding("question_mark,f1", "app.help", "Help")]
    # When a screen's keys apply, by action: the help screen says it beside each key.
    KEY_HELP: ClassVar[dict[str, str]] = {}

    if TYPE_CHECKING:
        # Type checkers see our app class; at run time Textual's own `app` property answers.
        app = getters.app(ScreensApp)

    @property
    def operations(self) -> Operations:
        return self.app.operations

    def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Worker[Any]:
        # Every worker of a screen (the @work methods come through here): an exception it does
        # not handle is reported by `on_worker_state_changed`, never fatal to the app.
        kwargs["exit_on_error"] = False
        return super().run_worker(work, *args, **kwargs)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        line = worker_error_line(worker.error)
        if worker.error is not None:
            self.app.record_failure(f"{worker.group} failed", error_text(worker.error))
        self.worker_failed(worker.group, line)
        self.notify(
            f"{line} (ctrl+e: the whole error)",
            title=f"{worker.group} failed",
            severity="error",
            markup=False,
        )

    def worker_failed(self, group: str, line: str) -> None:
        """A screen shows its failed worker's line where it shows its state (the notification
        is shown in any case)."""
