"""The Textual launcher: a form to submit runs, a runs screen, a log screen (`gregory-launch`)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from launcher.operations import Operations
from launcher.safe_text import plain
from launcher.screens.base import ScreensApp
from launcher.screens.form import FormScreen
from launcher.screens.history import HistoryScreen
from launcher.screens.review import ReviewScreen
from launcher.screens.runs import RunsScreen


class LauncherApp(ScreensApp):
    CSS_PATH = "launcher.tcss"
    TITLE = "gregory-launch"
    MODES = {
        "form": FormScreen,
        "runs": RunsScreen,
        "history": HistoryScreen,
        "review": ReviewScreen,
    }
    DEFAULT_MODE = "form"
    BINDINGS = [
        # Function keys: letters would be typed into the form's inputs.
        Binding("f2", "switch_mode('form')", "Form"),
        Binding("f3", "switch_mode('runs')", "Runs"),
        Binding("f4", "switch_mode('history')", "History"),
        Binding("f5", "switch_mode('review')", "Review"),
        Binding("ctrl+q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, operations: Operations, *, refresh_seconds: float = 2.0) -> None:
        super().__init__()
        self.operations = operations
        # 0 turns the interval off (snapshot tests refresh by hand).
        self.refresh_seconds = refresh_seconds
        # The run the runs screen should highlight next (set by the form after a submit).
        self.select_run: str | None = None
        # What the backend says meanwhile (an API call tried again) is a notification here:
        # standard error is the screen. notify is safe from the workers' threads.
        operations.backend.listener = self.backend_notice

    def backend_notice(self, line: str) -> None:
        self.notify(plain(line), title="backend", severity="warning", markup=False)

    def key_lines(self, screen: Screen) -> list[str]:
        """The keys that work on `screen` now, with what they do (those the footer lists, so
        not the widgets' scrolling keys), one line per action."""
        keys: dict[str, list[str]] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.show and binding.description:
                keys.setdefault(binding.description, []).append(self.get_key_display(binding))
        return [f"{'/'.join(shown):>12}  {description}" for description, shown in keys.items()]

    def action_help(self) -> None:
        from launcher.screens.text import TextScreen

        if isinstance(self.screen, TextScreen):
            return
        screen = self.screen
        text = "\n".join(
            [
                f"Keys of this screen ({type(screen).__name__.removesuffix('Screen')}):",
                "",
                *self.key_lines(screen),
                "",
                "Ctrl+P opens the command palette: the screens and actions by name.",
                "Full help: docs/launcher.md.",
            ]
        )
        self.push_screen(TextScreen("Help", text))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Form", "Build and submit a training run (F2)", self._form)
        yield SystemCommand("Runs", "Runs and their PredictionRunLog rows (F3)", self._runs)
        yield SystemCommand(
            "History", "Every PredictionRunLog row with its metrics (F4)", self._history
        )
        yield SystemCommand(
            "Review", "Label unreviewed articles, least-sure first (F5)", self._review
        )
        yield SystemCommand("Help", "The keys of this screen (?)", self.action_help)

    def _form(self) -> None:
        self.switch_mode("form")

    def _runs(self) -> None:
        self.switch_mode("runs")

    def _history(self) -> None:
        self.switch_mode("history")

    def _review(self) -> None:
        self.switch_mode("review")


def run_tui(backend_name: str | None = None) -> int:
    from launcher.backends.select import choose, make_backend

    choice = choose(backend_name)
    app = LauncherApp(Operations(make_backend(choice), choice.reason))
    app.run()
    return 0
