"""What every screen of the launcher shares: its app, typed, and that app's operations; and
that no worker's exception ends the app (it becomes one line in a notification)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from launcher.operations import Operations
from launcher.safe_text import one_line

if TYPE_CHECKING:
    from textual import getters


def worker_error_line(error: BaseException | None) -> str:
    """A worker's exception as the one line an operator reads, its type named."""
    if error is None:
        return "unknown error"
    text = one_line(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ScreensApp(App[None]):
    """What the screens use of their app, declared here so that they need not import
    launcher.app (which imports them); launcher.app.LauncherApp sets these."""

    operations: Operations
    # Seconds between the runs screen's refreshes; 0: none.
    refresh_seconds: float
    # The run the runs screen should highlight next (set by the form after a submit).
    select_run: str | None


class LauncherScreen(Screen[None]):
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
        self.worker_failed(worker.group, line)
        self.notify(line, title=f"{worker.group} failed", severity="error", markup=False)

    def worker_failed(self, group: str, line: str) -> None:
        """A screen shows its failed worker's line where it shows its state (the notification
        is shown in any case)."""
