"""Follow one run's log, like k9s: the run's outcome in the title once it ends, `a` autoscroll,
`w` wrap, `/` search (`n`/`N` the next and previous match)."""

from __future__ import annotations

import textwrap

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer, Header, Input, Log, Static

from launcher.backends.base import BackendError, LogStream, Partial
from launcher.messages import LogEnded, LogLines
from launcher.outcomes import run_outcome
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen

MAX_LINES = 20_000
# Lines past MAX_LINES before the oldest are dropped.
TRIM = 2_000


class LogScreen(LauncherScreen):
    BINDINGS = [
        Binding("a", "toggle_autoscroll", "Autoscroll"),
        Binding("w", "toggle_wrap", "Wrap"),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match(1)", "Next match"),
        Binding("N", "next_match(-1)", "Previous match"),
        Binding("escape,q", "back", "Back"),
    ]
    KEY_HELP = {
        "toggle_autoscroll": "follow the end while the run writes, or stay where you read",
        "toggle_wrap": "long lines (a deploy decision) wrapped at the screen's width, or cut",
        "search": "type some text, Enter jumps to the first line holding it",
        "next_match": "after a search",
        "back": "to the screen this log was opened from",
    }

    def __init__(self, run_name: str) -> None:
        super().__init__()
        self.run_name = run_name
        self.stream: LogStream | None = None
        self.ended: str | None = None
        self.closed = False
        self.partial = ""
        # Every complete line, as written; the view shows them wrapped or cut.
        self.lines: list[str] = []
        # The view's first row of each line (wrapping makes one line several rows).
        self.starts: list[int] = []
        self.rows = 0
        self.wrap = False
        self.wrap_width = 0
        self.search_text = ""
        self.matches: list[int] = []
        self.match = -1

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="log-title", markup=False)
        yield Input(
            placeholder="search the log: text, Enter jumps, n/N next/previous", id="log-search"
        )
        yield Log(max_lines=None, id="log")
        # The line being written (a progress bar redrawing itself), until it is complete.
        yield Static("", id="log-partial", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.operations.describe()
        self.query_one("#log-search").display = False
        self.log_view.focus()
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_match":
            return bool(self.matches)
        return True

    def show_title(self) -> None:
        scroll = "on" if self.log_view.auto_scroll else "off"
        state = self.ended or "following"
        wrap = "on" if self.wrap else "off"
        parts = [self.run_name, state, f"autoscroll {scroll}", f"wrap {wrap}"]
        if self.search_text:
            found = "no match"
            if self.matches:
                line = self.matches[self.match] + 1
                found = f"match {self.match + 1} of {len(self.matches)}, line {line}"
            parts.append(f"/{self.search_text}: {found}")
        self.query_one("#log-title", Static).update(plain("  ·  ".join(parts)))

    @work(thread=True, exclusive=True, group="log")
    def follow(self) -> None:
        try:
            self.stream = self.operations.backend.stream_logs(self.run_name, follow=True)
            if self.closed:  # the screen went away while the stream was being opened
                self.stream.stop()
            for line in self.stream:
                self.post_message(LogLines([line]))
            if self.stream.stop_event.is_set():
                self.post_message(LogEnded("stopped"))
                return
        except BackendError as error:
            self.post_message(LogEnded(f"log failed: {error}"))
            return
        # The log ended because the run did: say how, not "end of log".
        try:
            run = self.operations.backend.status(self.run_name)
        except BackendError as error:
            self.post_message(LogEnded(f"ended; its state unknown: {error}"))
            return
        if run.state.finished:
            self.post_message(LogEnded(run_outcome(str(run.state), run.detail)))
        else:
            self.post_message(LogEnded(f"log ended, run {run_outcome(str(run.state), run.detail)}"))

    def worker_failed(self, group: str, line: str) -> None:
        if group == "log":
            self.ended = f"log failed: {line}"
            self.show_title()

    # -- the view ---------------------------------------------------------------------------

    def view_width(self) -> int:
        # The scrollbar takes a column or two; never narrower than a readable line.
        return max(20, self.log_view.size.width - 2)

    def rows_of(self, line: str) -> list[str]:
        if not self.wrap or len(line) <= self.wrap_width:
            return [line]
        return textwrap.wrap(
            line, self.wrap_width, drop_whitespace=False, replace_whitespace=False
        ) or [""]

    def append(self, lines: list[str]) -> None:
        view = self.log_view
        rows: list[str] = []
        for line in lines:
            self.lines.append(line)
            self.starts.append(self.rows + len(rows))
            rows += self.rows_of(line)
        self.rows += len(rows)
        view.write_lines(rows)
        if len(self.lines) > MAX_LINES + TRIM:
            # In steps: redrawing on every line past the limit would cost a redraw per line.
            self.lines = self.lines[-MAX_LINES:]
            self.redraw()

    def redraw(self) -> None:
        """Every line again: wrapping was turned on or off, or the width changed."""
        self.wrap_width = self.view_width()
        view = self.log_view
        lines, self.lines, self.starts, self.rows = self.lines, [], [], 0
        view.clear()
        self.append(lines)

    def on_resize(self, event: Resize) -> None:
        if self.wrap and self.view_width() != self.wrap_width:
            self.redraw()

    @on(LogLines)
    def log_lines(self, message: LogLines) -> None:
        partial = self.query_one("#log-partial", Static)
        complete: list[str] = []
        for line in message.lines:
            # A job's output may carry escape sequences; the terminal must not see them.
            if isinstance(line, Partial):
                self.partial = plain(line)
            else:
                self.partial = ""
                complete.append(plain(line))
        if complete:
            self.append(complete)
            if self.search_text:
                self.find(keep=True)
        partial.update(self.partial)
        partial.display = bool(self.partial)

    @on(LogEnded)
    def log_ended(self, message: LogEnded) -> None:
        self.ended = message.reason
        self.show_title()

    # -- keys -------------------------------------------------------------------------------

    def action_toggle_autoscroll(self) -> None:
        self.log_view.auto_scroll = not self.log_view.auto_scroll
        if self.log_view.auto_scroll:
            self.log_view.scroll_end(animate=False)
        self.show_title()

    def action_toggle_wrap(self) -> None:
        # Keep the line at the top of the view in view.
        top = self.line_at(int(self.log_view.scroll_y))
        self.wrap = not self.wrap
        self.redraw()
        if not self.log_view.auto_scroll and self.starts:
            self.log_view.scroll_to(y=self.starts[top], animate=False)
        self.show_title()

    def line_at(self, row: int) -> int:
        """The line shown on the view's `row`."""
        import bisect

        return max(0, bisect.bisect_right(self.starts, row) - 1)

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#log-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.search_text = event.value.strip()
        self.find()

    @on(Input.Submitted, "#log-search")
    def search_done(self) -> None:
        search = self.query_one("#log-search", Input)
        search.display = bool(self.search_text)
        self.log_view.focus()
        if self.matches:
            self.jump()

    def find(self, keep: bool = False) -> None:
        """The lines holding the search's text (any case); `keep` stays on the match shown."""
        text = self.search_text.lower()
        shown = self.matches[self.match] if keep and self.matches else None
        self.matches = (
            [i for i, line in enumerate(self.lines) if text in line.lower()] if text else []
        )
        self.match = self.matches.index(shown) if shown in self.matches else 0
        if not self.matches:
            self.match = -1
        self.refresh_bindings()
        self.show_title()

    def jump(self) -> None:
        """The current match at the top of the view; autoscroll off, or it would leave it."""
        view = self.log_view
        view.auto_scroll = False
        view.scroll_to(y=self.starts[self.matches[self.match]], animate=False)
        self.show_title()

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            return
        self.match = (self.match + step) % len(self.matches)
        self.jump()

    def action_back(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.has_focus:
            search.value = ""
            search.display = False
            self.log_view.focus()
            return
        self.app.pop_screen()
