"""What every screen of the launcher shares: its app, typed, and that app's engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from launcher.engine import Engine

if TYPE_CHECKING:
    from textual import getters

    from launcher.app import LauncherApp


class LauncherScreen(Screen[None]):
    if TYPE_CHECKING:
        # Type checkers see our app class; at run time Textual's own `app` property answers
        # (a run-time import of launcher.app would be circular: it imports the screens).
        app = getters.app(LauncherApp)

    @property
    def engine(self) -> Engine:
        return self.app.engine
