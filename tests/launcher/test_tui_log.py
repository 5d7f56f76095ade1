"""The Log screen like k9s: how the run ended in its title, `w` wraps long lines, `/` finds a
line; reachable from History and Details too."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from launcher.app import LauncherApp
from launcher.backends.local import LocalBackend
from launcher.operations import Operations
from launcher.outcomes import run_outcome as outcome
from launcher.screens.log import LogScreen
from tests.support.launcher import write_run
from tests.support.pilot import settle

RUN = "demo-ms-research-0102-a1b2"
DECISION = (
    "Decision for lgbm_tfidf for demo/ms-research 20260102: REVIEW ("
    + "; ".join(
        f"reason {i}: the candidate's test roc_auc against the current one" for i in range(6)
    )
    + ")"
)
LOG = "".join(
    [
        "Started lgbm_tfidf for demo/ms-research (version 20260102)\n",
        *(f"[LightGBM] iteration {i}\n" for i in range(1, 40)),
        DECISION + "\n",
        "ValueError: stratification impossible\n",
    ]
)


def app_for(tmp_path: Path, returncode: int) -> LauncherApp:
    write_run(tmp_path, RUN, subject="ms-research", returncode=returncode, log=LOG)
    return LauncherApp(Operations(LocalBackend(tmp_path), "test"), refresh_seconds=0)


def title(screen: LogScreen) -> str:
    return str(screen.query_one("#log-title").render())


def test_outcome_says_the_state_once() -> None:
    assert outcome("failed", "exit 1 (a run failed)") == "failed: exit 1 (a run failed)"
    assert outcome("succeeded", "exit 0") == "succeeded"
    # Before: the CLI and the TUI said "cancelled (cancelled (exit 143))".
    assert outcome("cancelled", "cancelled (exit 143)") == "cancelled (exit 143)"


@pytest.mark.asyncio
@pytest.mark.parametrize(("code", "said"), [(0, "succeeded"), (1, "failed: exit 1 (a run failed)")])
async def test_the_title_says_how_the_run_ended(
    transactional_db, tmp_path: Path, code: int, said: str
) -> None:
    app = app_for(tmp_path, code)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(RUN))
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogScreen)
        # Before: "ended: end of log", whatever the outcome.
        assert title(screen).startswith(f"{RUN}  ·  {said}  ·  ")
        assert "end of log" not in title(screen)


@pytest.mark.asyncio
async def test_w_wraps_long_lines_and_slash_finds_a_line(transactional_db, tmp_path: Path) -> None:
    app = app_for(tmp_path, 1)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(RUN))
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, LogScreen)
        view = screen.log_view
        assert DECISION in view.lines  # cut at the edge: one row
        rows = view.line_count
        await pilot.press("w")
        assert "wrap on" in title(screen)
        # The decision now takes several rows, none wider than the view.
        assert view.line_count > rows
        assert DECISION not in view.lines
        assert max(len(line) for line in view.lines) <= view.size.width
        assert "".join(view.lines).count("reason 5:") == 1
        await pilot.press("w")
        assert view.lines.count(DECISION) == 1

        await pilot.press("slash")
        search = screen.query_one("#log-search", Input)
        assert search.has_focus
        await pilot.press(*"iteration 3", "enter")
        # "iteration 3" and "iteration 30" to "iteration 39": 11 lines, the first shown on top.
        assert "/iteration 3: match 1 of 11, line 4" in title(screen)
        assert view.has_focus and not view.auto_scroll
        assert int(view.scroll_y) == 3
        await pilot.press("n")
        assert "match 2 of 11, line 31" in title(screen)
        await pilot.press("N", "N")
        assert "match 11 of 11, line 40" in title(screen)
        await pilot.press("escape")
        assert not isinstance(app.screen, LogScreen)


@pytest.mark.asyncio
async def test_a_search_without_a_match_says_so(transactional_db, tmp_path: Path) -> None:
    app = app_for(tmp_path, 1)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(RUN))
        await settle(app, pilot)
        screen = app.screen
        await pilot.press("slash", *"oomkilled", "enter")
        assert "/oomkilled: no match" in title(screen)
        assert screen.check_action("next_match", (1,)) is False
