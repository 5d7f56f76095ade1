"""Follow one run's log; `a` toggles autoscroll so the operator can read back while it runs."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Log, Static

from launcher.backends.base import BackendError, LogStream, Partial
from launcher.messages import LogEnded, LogLines
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen

MAX_LINES = 20_000


class LogScreen(LauncherScreen):
    BINDINGS = [
        Binding("a", "toggle_autoscroll", "Autoscroll"),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, run_name: str) -> None:
        super().__init__()
        self.run_name = run_name
        self.stream: LogStream | None = None
        self.ended: str | None = None
        self.closed = False
        self.partial = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="log-title", markup=False)
        yield Log(max_lines=MAX_LINES, id="log")
        # The line being written (a progress bar redrawing itself), until it is complete.
        yield Static("", id="log-partial", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.operations.describe()
        self.show_title()
        self.follow()

    def on_unmount(self) -> None:
        # Ends the worker's loop; a log stream otherwise follows a running job forever.
        self.closed = True
        if self.stream is not None:
            self.stream.stop()

    @property
    def log_view(self) -> Log:
        return self.query_one("#log", Log)

    def show_title(self) -> None:
        scroll = "on" if self.log_view.auto_scroll else "off"
        state = f"ended: {self.ended}" if self.ended else "following"
        self.query_one("#log-title", Static).update(
            plain(f"{self.run_name}  ·  {state}  ·  autoscroll {scroll}")
        )

    @work(thread=True, exclusive=True, group="log")
    def follow(self) -> None:
        try:
            self.stream = self.operations.backend.stream_logs(self.run_name, follow=True)
            if self.closed:  # the screen went away while the stream was being opened
                self.stream.stop()
            for line in self.stream:
                self.post_message(LogLines([line]))
            stopped = self.stream.stop_event.is_set()
            self.post_message(LogEnded("stopped" if stopped else "end of log"))
        except BackendError as error:
            self.post_message(LogEnded(str(error)))

    def worker_failed(self, group: str, line: str) -> None:
        if group == "log":
            self.ended = line
            self.show_title()

    @on(LogLines)
    def log_lines(self, message: LogLines) -> None:
        partial = self.query_one("#log-partial", Static)
        for line in message.lines:
            # A job's output may carry escape sequences; the terminal must not see them.
            if isinstance(line, Partial):
                self.partial = plain(line)
            else:
                self.partial = ""
                self.log_view.write_line(plain(line))
        partial.update(self.partial)
        partial.display = bool(self.partial)

    @on(LogEnded)
    def log_ended(self, message: LogEnded) -> None:
        self.ended = message.reason
        self.show_title()

    def action_toggle_autoscroll(self) -> None:
        self.log_view.auto_scroll = not self.log_view.auto_scroll
        if self.log_view.auto_scroll:
            self.log_view.scroll_end(animate=False)
        self.show_title()

    def action_back(self) -> None:
        self.app.pop_screen()
