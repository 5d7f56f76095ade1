"""Text from the database shown by the TUI as what it is: markup in a `triggered_by`, a team's
name or an error is shown literally (never parsed: no action to click, no MarkupError), and
escape sequences never reach the terminal. And no worker's exception ends the app."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual import work
from textual.geometry import Region
from textual.widgets import Select, Static

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.base import LauncherScreen
from launcher.screens.history import COLUMNS, HistoryScreen, HistoryTable
from launcher.screens.text import TextScreen
from tests.support.launcher import FIXED, add_row, make_scope, sleeper_backend

SIZE = (220, 30)
CLICK_TO_QUIT = "[@click=app.quit]nightly[/]"
NOT_A_TAG = "cron [/etc/cron.d/gregory]"
ESCAPES = "\x1b]0;owned\x07\x1b[2Jtitle"


def shown_text(widget) -> str:
    """What the widget draws, as text."""
    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(line.text for line in lines)


async def settle(app: LauncherApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def history_of(app: LauncherApp, pilot) -> HistoryTable:
    await settle(app, pilot)
    await pilot.press("f4")
    await settle(app, pilot)
    assert isinstance(app.screen, HistoryScreen)
    return app.screen.query_one(HistoryTable)


@pytest.fixture
def click_to_quit(transactional_db) -> None:
    make_scope("demo", "ms-research")
    add_row("demo", "ms-research", triggered_by=CLICK_TO_QUIT)


@pytest.fixture
def not_a_tag(transactional_db) -> None:
    make_scope("demo", "ms-research")
    add_row("demo", "ms-research", triggered_by=NOT_A_TAG, success=False, error=ESCAPES)
    add_row("demo", "ms-research", triggered_by="ok", started=FIXED - dt.timedelta(days=1))


@pytest.fixture
def marked_up_team(transactional_db) -> None:
    from gregory.models import Team

    make_scope("demo", "ms-research")
    Team.objects.filter(slug="demo").update(name="[b]Demo[/b] [/etc/passwd]")


@pytest.mark.asyncio
async def test_markup_in_a_trigger_is_shown_literally_and_clicking_it_does_nothing(
    click_to_quit, tmp_path: Path
) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        table = await history_of(app, pilot)
        column = COLUMNS.index("triggered by")
        assert str(table.get_row_at(0)[column]) == CLICK_TO_QUIT
        # Click on the cell's text, where a parsed `@click` would run app.quit.
        x = sum(c.get_render_width(table) for c in table.ordered_columns[:column]) + 3
        await pilot.click(HistoryTable, offset=(x, 1))
        await pilot.pause()
        assert app.is_running
        assert CLICK_TO_QUIT in shown_text(table)


@pytest.mark.asyncio
async def test_a_trigger_with_brackets_and_an_error_with_escapes_render(
    not_a_tag, tmp_path: Path
) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        table = await history_of(app, pilot)
        column = COLUMNS.index("triggered by")
        assert str(table.get_row_at(0)[column]) == NOT_A_TAG
        await pilot.pause()
        rendered = shown_text(table)
        assert NOT_A_TAG in rendered
        assert app.is_running
        # The full error, in its dialog: the text without the escapes.
        app.push_screen(TextScreen(f"error of {NOT_A_TAG}", ESCAPES))
        await pilot.pause()
        body = str(app.screen.query_one("#text", Static).render())
        assert body == "title"
        assert "\x1b" not in str(app.screen.query_one("#text-title", Static).render())


@pytest.mark.asyncio
async def test_a_team_name_with_markup_is_an_option_as_written(
    marked_up_team, tmp_path: Path
) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        select = app.screen.query_one("#team", Select)
        select.value = "demo"
        await pilot.pause()
        await pilot.click("#team")  # opens the list of options
        await pilot.pause()
        assert app.is_running
        label = select.query_one("SelectCurrent #label", Static)
        assert str(label.render()) == "demo  [b]Demo[/b] [/etc/passwd]"


class Failing(LauncherScreen):
    """A screen whose worker meets what nobody expected."""

    def on_mount(self) -> None:
        self.explode()

    @work(thread=True, group="explode")
    def explode(self) -> None:
        raise KeyError("current")


@pytest.mark.asyncio
async def test_a_worker_exception_is_a_notification_not_the_end_of_the_app(
    transactional_db, tmp_path: Path
) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(Failing())
        await settle(app, pilot)
        assert app.is_running
        failed = [n for n in app._notifications if n.title == "explode failed"]
        assert [n.message for n in failed] == ["KeyError: 'current' (ctrl+e: the whole error)"]
        # The whole text, traceback and all, is one key away (a dialog, never the terminal).
        await pilot.press("ctrl+e")
        dialog = app.screen
        assert isinstance(dialog, TextScreen)
        assert dialog.title_text == "explode failed"
        assert "Traceback (most recent call last)" in dialog.text
        assert 'raise KeyError("current")' in dialog.text
