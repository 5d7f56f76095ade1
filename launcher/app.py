"""The Textual launcher: a form to submit runs, a runs screen, a log screen (`gregory-launch`)."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from launcher.engine import Engine
from launcher.screens.form import FormScreen
from launcher.screens.history import HistoryScreen
from launcher.screens.runs import RunsScreen


class LauncherApp(App[None]):
    CSS_PATH = "launcher.tcss"
    TITLE = "gregory-launch"
    MODES = {"form": FormScreen, "runs": RunsScreen, "history": HistoryScreen}
    DEFAULT_MODE = "form"
    BINDINGS = [
        # Function keys: letters would be typed into the form's inputs.
        Binding("f2", "switch_mode('form')", "Form"),
        Binding("f3", "switch_mode('runs')", "Runs"),
        Binding("f4", "switch_mode('history')", "History"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def __init__(self, engine: Engine, *, refresh_seconds: float = 2.0) -> None:
        super().__init__()
        self.engine = engine
        # 0 turns the interval off (snapshot tests refresh by hand).
        self.refresh_seconds = refresh_seconds
        # The run the runs screen should highlight next (set by the form after a submit).
        self.select_run: str | None = None


def run_tui(backend_name: str | None = None) -> int:
    from launcher.backends.select import choose, make_backend

    choice = choose(backend_name)
    app = LauncherApp(Engine(make_backend(choice), choice.reason))
    app.run()
    return 0
