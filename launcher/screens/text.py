"""A read-only text in a dialog: the whole error of a run row, without leaving the runs screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from launcher.safe_text import plain


class TextScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="text-dialog"):
            yield Label(plain(self.title_text), id="text-title", markup=False)
            with VerticalScroll(id="text-body"):
                yield Static(plain(self.text), id="text", markup=False)
        # The modal's own keys, not those of the screen beneath it.
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
