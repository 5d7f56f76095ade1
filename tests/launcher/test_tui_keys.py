"""Keys an operator can find: `?` first in every screen's footer, the help listing every key
with when it applies, the command palette with the actions by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.form import FormScreen
from launcher.screens.runs import RunsScreen
from launcher.screens.text import TextScreen
from tests.support.launcher import make_scope, sleeper_backend, write_run
from tests.support.pilot import settle

pytestmark = pytest.mark.asyncio
SIZE = (80, 24)


@pytest.fixture
def app(transactional_db, tmp_path: Path) -> LauncherApp:
    make_scope("demo", "ms-research")
    write_run(tmp_path, "demo-all-0102-a1b2")  # finished: nothing to cancel
    return LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)


async def test_help_is_the_first_key_of_every_screens_footer(app: LauncherApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f2", "f3", "f4", "f5"):
            await pilot.press(key)
            await settle(app, pilot)
            first = app.screen.query("FooterKey").first()
            # Before: the app's `?` came last and fell off an 80-column footer.
            assert first.key in ("question_mark", "f1"), key
            assert first.region.right <= SIZE[0]
        # Where an input has the focus `?` is typed into it: F1 is the help then.
        await pilot.press("f4", "slash")
        assert app.screen.query("FooterKey").first().key == "f1"
        await pilot.press("f1")
        assert isinstance(app.screen, TextScreen)


async def test_help_lists_every_key_with_when_it_applies(app: LauncherApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("question_mark")
        text = app.screen.text
        # Keys that cannot act now are listed too, saying when they would (before: left out).
        assert "c  Cancel run: on a run still going; asks first (not now)" in text
        assert "e  Full error: on a PredictionRunLog row that recorded an error (not now)" in text
        assert "l  Logs: on a run: its log, followed while it runs" in text
        assert "^e  Last error: after something failed: its whole text (not now)" in text
        assert "f5  Review" in text


async def test_the_palette_has_the_actions(app: LauncherApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        commands = {command.title: command for command in app.get_system_commands(app.screen)}
        assert {"Submit", "Cancel run", "Open report", "Review", "Help"} <= set(commands)
        await commands["Cancel run"].callback()
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert any("already succeeded" in str(n.message) for n in app._notifications)
        await commands["Submit"].callback()
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert any(n.title == "cannot submit" for n in app._notifications)
        commands["Open report"].callback()
        await pilot.pause()
        assert any("open its details first" in str(n.message) for n in app._notifications)
