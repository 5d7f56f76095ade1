"""The Textual launcher: a form to submit runs, a runs screen, a log screen (`gregory-launch`)."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from pathlib import Path

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from launcher.operations import Operations
from launcher.safe_text import one_line, plain
from launcher.screens.base import ScreensApp
from launcher.screens.form import FormScreen
from launcher.screens.history import HistoryScreen
from launcher.screens.review import ReviewScreen
from launcher.screens.runs import RunsScreen
from launcher.screens.text import TextScreen

# Where the whole traceback goes when the app dies of an error: the terminal gets one line.
CRASH_FILE = "tui-error.log"


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
        Binding("ctrl+e", "last_error", "Last error"),
        Binding("ctrl+q", "quit", "Quit"),
    ]
    # When each of the app's keys applies (the help screen says it beside the key).
    KEY_HELP = {"last_error": "after something failed: its whole text"}

    def __init__(self, operations: Operations, *, refresh_seconds: float = 2.0) -> None:
        super().__init__()
        self.operations = operations
        # 0 turns the interval off (snapshot tests refresh by hand).
        self.refresh_seconds = refresh_seconds
        # The run the runs screen should highlight next (set by the form after a submit).
        self.select_run: str | None = None
        # Where the traceback went when the app died of an error (run_tui names it).
        self.crash_file: Path | None = None
        # What the backend says meanwhile (an API call tried again) is a notification here:
        # standard error is the screen. notify is safe from the workers' threads.
        operations.backend.listener = self.backend_notice

    def backend_notice(self, line: str) -> None:
        self.notify(plain(line), title="backend", severity="warning", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Nothing failed yet: no key for it in the footer.
        if action == "last_error":
            return self.last_failure is not None
        return True

    def action_last_error(self) -> None:
        if self.last_failure is None or isinstance(self.screen, TextScreen):
            return
        self.push_screen(TextScreen(*self.last_failure))

    def key_lines(self, screen: Screen) -> list[str]:
        """Every key of `screen` and of the app (not the widgets' scrolling keys), with what it
        does and when it applies; keys that cannot act now say so."""
        active = {b.binding.action for b in screen.active_bindings.values() if b.enabled}
        lines = []
        for node in (screen, self):
            helps = getattr(node, "KEY_HELP", {})
            keys: dict[str, list[str]] = {}
            described: dict[str, str] = {}
            every = [binding for _, binding in node._bindings]
            # Shown keys, and the hidden aliases of a shown action (Enter for Details).
            shown_actions = {b.action for b in every if b.show and b.description}
            for binding in every:
                if binding.action not in shown_actions:
                    continue
                keys.setdefault(binding.action, [])
                display = self.get_key_display(binding)
                if display not in keys[binding.action]:
                    keys[binding.action].append(display)
                described[binding.action] = binding.description
            for action, shown in keys.items():
                when = helps.get(action.removeprefix("app."), "")
                line = f"{'/'.join(shown):>14}  {described[action]}"
                if when:
                    line += f": {when}"
                if action not in active and action.removeprefix("app.") != "help":
                    line += " (not now)"
                lines.append(line)
            if node is screen:
                lines += ["", "Everywhere:"]
        return lines

    def action_help(self) -> None:
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
        yield SystemCommand(
            "Submit", "Submit the form's runs, after confirmation (Ctrl+S)", self._submit
        )
        yield SystemCommand(
            "Cancel run", "Cancel the run highlighted on Runs, after confirmation (c)", self._cancel
        )
        yield SystemCommand(
            "Open report", "The report.html of the version shown in Details (o)", self._report
        )
        yield SystemCommand("Help", "Every key of this screen (?)", self.action_help)
        if self.last_failure is not None:
            yield SystemCommand("Last error", "The whole text (Ctrl+E)", self.action_last_error)

    def _form(self) -> None:
        self.switch_mode("form")

    def _runs(self) -> None:
        self.switch_mode("runs")

    def _history(self) -> None:
        self.switch_mode("history")

    def _review(self) -> None:
        self.switch_mode("review")

    async def _submit(self) -> None:
        await self.switch_mode("form")
        form = self.screen
        if isinstance(form, FormScreen):
            form.action_submit()

    async def _cancel(self) -> None:
        screen = self.screen
        if isinstance(screen, RunsScreen):
            screen.action_cancel_run()
            return
        await self.switch_mode("runs")
        self.notify("highlight the run to cancel, then c", title="cancel", markup=False)

    def _report(self) -> None:
        from launcher.screens.detail import DetailScreen

        screen = self.screen
        if isinstance(screen, DetailScreen):
            screen.action_open_report()
            return
        self.notify(
            "a report belongs to a version: open its details first (F4, then d)",
            title="open report",
            markup=False,
        )

    def _fatal_error(self) -> None:
        # Textual would print a Rich traceback with locals on the operator's terminal: one
        # line there instead (run_tui prints it), the whole traceback in a file.
        error = self._exception
        self.crash_file = write_crash(error)
        self.bell()
        self._close_messages_no_wait()


def write_crash(error: BaseException | None) -> Path | None:
    """The traceback of what ended the app, in the launcher's directory; None if unwritable."""
    from launcher.backends.local import default_root

    if error is None:
        return None
    path = default_root() / CRASH_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(traceback.format_exception(error)))
    except OSError:
        return None
    return path


def exit_status(app: LauncherApp) -> tuple[int, str | None]:
    """The process's exit status after the app ended, and the one line to print: non-zero
    when the app died of an error."""
    code = app.return_code or 0
    if code == 0:
        return 0, None
    error = app._exception
    what = one_line(error) if error is not None else "unknown error"
    kind = type(error).__name__ if error is not None else "Error"
    where = f"; the traceback is in {app.crash_file}" if app.crash_file else ""
    return code, f"gregory-launch: the TUI stopped on an error: {kind}: {what}{where}"


def run_app(app: LauncherApp, **options: object) -> int:
    """Run the app to its end; its exit status (printing the one line if it died)."""
    import sys

    app.run(**options)  # type: ignore[arg-type]
    code, line = exit_status(app)
    if line:
        print(plain(line), file=sys.stderr)
    return code


def run_tui(backend_name: str | None = None) -> int:
    from launcher.backends.select import choose, make_backend

    choice = choose(backend_name)
    return run_app(LauncherApp(Operations(make_backend(choice), choice.reason)))
