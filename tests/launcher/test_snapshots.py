"""Snapshots of the main screens (pytest-textual-snapshot); update with `--snapshot-update`.

Deterministic by construction: fixed terminal sizes, runs written into the registry with fixed
times, PredictionRunLog rows with fixed times, no refresh interval, no clock in the header.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Select, SelectionList

from launcher.screens.log import LogScreen
from tests.support.launcher import OK_RUN, snapshot_app
from tests.support.pilot import settle, until


@pytest.fixture(autouse=True)
def labelled(registry: Path) -> None:
    """Labels of both classes for demo's subjects: the form refuses a subject without them."""
    from gregory.models import Subject
    from tests.support.articles import add_articles

    for subject in Subject.objects.filter(team__slug="demo"):
        add_articles(subject, [True] * 6 + [False] * 6)


def test_form_screen(snap_compare, registry: Path) -> None:
    async def fill(pilot) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#team", Select).value = "demo"
        await pilot.pause()
        app.screen.query_one("#subjects", SelectionList).select("ms-research")
        app.screen.query_one("#algos", SelectionList).deselect("pubmed_bert")
        await pilot.pause()

    assert snap_compare(snapshot_app(registry), terminal_size=(120, 48), run_before=fill)


def test_form_screen_with_problems(snap_compare, registry: Path) -> None:
    async def fill(pilot) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#team", Select).value = "demo"
        app.screen.query_one("#threshold").value = "2"
        app.screen.query_one("#w-all").value = True
        await pilot.pause()

    assert snap_compare(snapshot_app(registry), terminal_size=(120, 48), run_before=fill)


def test_confirm_dialog(snap_compare, registry: Path) -> None:
    async def fill(pilot) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#team", Select).value = "demo"
        await pilot.pause()
        app.screen.query_one("#algos", SelectionList).deselect("pubmed_bert")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(snapshot_app(registry), terminal_size=(120, 32), run_before=fill)


# Wider than the column headers alone: the columns have been sized to their cells.
WIDE = 80


async def show_runs_screen(pilot) -> None:
    """F3, then wait until both tables hold the registry's runs and rows and have laid out:
    the screen loads them in a worker that may start after the keypress is handled."""
    await pilot.press("f3")
    runs = pilot.app.screen.query_one("#runs", DataTable)
    rows = pilot.app.screen.query_one("#rows", DataTable)
    # Laid out: a table's columns are sized to their cells after the rows are added, on idle.
    await until(pilot, lambda: runs.row_count == 2 and runs.virtual_size.width > WIDE)
    await until(pilot, lambda: rows.row_count > 0 and rows.virtual_size.width > WIDE)
    await settle(pilot.app, pilot)


def test_runs_screen_shows_rows_and_lost_runs(snap_compare, registry: Path) -> None:
    async def show_runs(pilot) -> None:
        await show_runs_screen(pilot)

    assert snap_compare(snapshot_app(registry), terminal_size=(140, 30), run_before=show_runs)


def test_runs_screen_second_run(snap_compare, registry: Path) -> None:
    async def show_runs(pilot) -> None:
        await show_runs_screen(pilot)
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(snapshot_app(registry), terminal_size=(140, 30), run_before=show_runs)


def test_log_screen(snap_compare, registry: Path) -> None:
    async def show_log(pilot) -> None:
        await pilot.app.push_screen(LogScreen(OK_RUN))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(snapshot_app(registry), terminal_size=(100, 24), run_before=show_log)


def test_history_screen(snap_compare, published: Path) -> None:
    async def show_history(pilot) -> None:
        await pilot.press("f4")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(snapshot_app(published), terminal_size=(160, 30), run_before=show_history)


def test_runs_screen_at_80x24_keeps_state_and_help_in_view(snap_compare, registry: Path) -> None:
    async def show_runs(pilot) -> None:
        await show_runs_screen(pilot)
        # `?` is the footer's first key and lies inside the 80 columns (before: cut off).
        keys = list(pilot.app.screen.query("FooterKey"))
        assert keys[0].key == "question_mark"
        assert keys[0].region.right <= 80
        # The state is the runs table's first column, ROC-AUC the rows' third.
        runs = pilot.app.screen.query_one("#runs", DataTable)
        assert str(runs.ordered_columns[0].label) == "state"
        rows = pilot.app.screen.query_one("#rows", DataTable)
        assert [str(c.label) for c in rows.ordered_columns[:3]] == [
            "algorithm",
            "success",
            "ROC-AUC",
        ]

    assert snap_compare(snapshot_app(registry), terminal_size=(80, 24), run_before=show_runs)
