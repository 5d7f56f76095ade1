"""Snapshots of the main screens (pytest-textual-snapshot); update with `--snapshot-update`.

Deterministic by construction: fixed terminal sizes, runs written into the registry with fixed
times, PredictionRunLog rows with fixed times, no refresh interval, no clock in the header.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select, SelectionList

from launcher.app import LauncherApp
from launcher.backends.local import LocalBackend
from launcher.engine import Engine
from launcher.screens.log import LogScreen
from tests.support.launcher import FIXED, add_row, make_scope, write_run

OK_RUN = "demo-all-0102-a1b2"
LOST_RUN = "demo-all-0102-c3d4"
LOG = "".join(
    [
        "Started lgbm_tfidf for demo/ms-research (version 20260102)\n",
        *(f"[LightGBM] iteration {i}\n" for i in range(1, 13)),
        "Finished lgbm_tfidf for demo/ms-research: version 20260102, test roc_auc 0.912\n",
    ]
)


@pytest.fixture
def registry(transactional_db, tmp_path: Path) -> Path:
    import datetime as dt

    make_scope("demo", "ms-research", "ms-imaging")
    argv = ("python", "-m", "gregory_train", "train_models", "--team", "demo")
    write_run(tmp_path, OK_RUN, argv=argv, returncode=0, log=LOG)
    later = FIXED + dt.timedelta(hours=1)
    write_run(tmp_path, LOST_RUN, argv=argv, created=later, returncode=None)
    for subject in ("ms-imaging", "ms-research"):
        add_row("demo", subject, triggered_by=OK_RUN, minutes=2)
    add_row(
        "demo",
        "ms-imaging",
        triggered_by=LOST_RUN,
        success=False,
        started=later,
        error="Traceback …\nValueError: stratification impossible: one class only",
    )
    add_row("demo", "ms-research", triggered_by=LOST_RUN, success=None, started=later)
    return tmp_path


def make_app(root: Path) -> LauncherApp:
    return LauncherApp(Engine(LocalBackend(root), "chosen by test"), refresh_seconds=0)


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

    assert snap_compare(make_app(registry), terminal_size=(120, 48), run_before=fill)


def test_form_screen_with_problems(snap_compare, registry: Path) -> None:
    async def fill(pilot) -> None:
        app = pilot.app
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#team", Select).value = "demo"
        app.screen.query_one("#threshold").value = "2"
        app.screen.query_one("#w-all").value = True
        await pilot.pause()

    assert snap_compare(make_app(registry), terminal_size=(120, 48), run_before=fill)


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

    assert snap_compare(make_app(registry), terminal_size=(120, 32), run_before=fill)


def test_runs_screen_shows_rows_and_lost_runs(snap_compare, registry: Path) -> None:
    async def show_runs(pilot) -> None:
        await pilot.press("f3")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(registry), terminal_size=(140, 30), run_before=show_runs)


def test_runs_screen_second_run(snap_compare, registry: Path) -> None:
    async def show_runs(pilot) -> None:
        await pilot.press("f3")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(make_app(registry), terminal_size=(140, 30), run_before=show_runs)


def test_log_screen(snap_compare, registry: Path) -> None:
    async def show_log(pilot) -> None:
        await pilot.app.push_screen(LogScreen(OK_RUN))
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(registry), terminal_size=(100, 24), run_before=show_log)


@pytest.fixture
def published(registry: Path, models_dir: Path) -> Path:
    import json

    path = models_dir / "demo" / "ms-research" / "lgbm_tfidf" / "20260102"
    path.mkdir(parents=True)
    metrics = {
        "test_roc_auc": 0.912,
        "test_roc_auc_ci_low": 0.88,
        "test_roc_auc_ci_high": 0.94,
        "test_f1": 0.75,
        "n_train": 42,
        "decision": "promote",
    }
    (path / "metrics.json").write_text(json.dumps(metrics))
    return registry


def test_history_screen(snap_compare, published: Path) -> None:
    async def show_history(pilot) -> None:
        await pilot.press("f4")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(published), terminal_size=(160, 30), run_before=show_history)
