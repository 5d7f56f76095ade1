"""History over every PredictionRunLog row and the detail screen of one row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.detail import DetailScreen
from launcher.screens.history import HistoryScreen, HistoryTable
from launcher.screens.runs import RunsScreen
from launcher.widgets.tables import RowsTable
from tests.support.launcher import (
    FIXED,
    PUBLISHED_METRICS,
    add_row,
    make_scope,
    publish_version,
    sleeper_backend,
    write_run,
)

SIZE = (160, 40)
RUN = "demo-all-0102-a1b2"


@pytest.fixture
def history(transactional_db, tmp_path: Path, models_dir: Path) -> Path:
    make_scope("demo", "ms-research", "ms-imaging")
    write_run(tmp_path, RUN, argv=("python", "-m", "gregory_train", "train_models"))
    publish_version(models_dir, "lgbm_tfidf", "20260101", {"test_roc_auc": 0.8, "test_f1": 0.5})
    publish_version(
        models_dir,
        "lgbm_tfidf",
        "20260102",
        PUBLISHED_METRICS,
        report=True,
    )
    add_row("demo", "ms-research", version="20260101", triggered_by="gregory-nightly-0101")
    add_row(
        "demo",
        "ms-research",
        version="20260102",
        triggered_by=RUN,
        started=FIXED + dt.timedelta(days=1),
    )
    add_row(
        "demo",
        "ms-imaging",
        algorithm="lstm",
        version="",
        success=False,
        triggered_by="make-demo",
        error="Traceback (most recent call last):\n  File x\nValueError: one class only\n",
        started=FIXED + dt.timedelta(days=2),
    )
    return tmp_path


async def settle(app: LauncherApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_history_joins_rows_runs_and_metrics(history: Path) -> None:
    newest, latest_ok, first = Operations(sleeper_backend(history)).history()
    assert (newest.outcome, newest.row.triggered_by, newest.run) == ("failed", "make-demo", None)
    assert latest_ok.run is not None and latest_ok.run.name == RUN
    assert (latest_ok.roc_auc, latest_ok.f1, latest_ok.n_train) == (
        "0.912 [0.880-0.940]",
        "0.750",
        "42",
    )
    assert (latest_ok.decision, latest_ok.duration) == ("DEPLOY", "3m00s")
    assert latest_ok.previous_version == "20260101"
    changes = {key: change for key, _, _, change in latest_ok.changes()}
    assert changes["test_roc_auc"] == "+0.112"
    assert (first.roc_auc, first.run, first.previous) == ("0.800", None, None)


@pytest.mark.asyncio
async def test_history_screen_filters_sorts_and_opens_a_row(history: Path, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    app = LauncherApp(Operations(sleeper_backend(history), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        table = screen.query_one(HistoryTable)
        assert table.row_count == 3
        await pilot.press("slash")
        assert screen.query_one("#history-search", Input).has_focus
        await pilot.press(*"state:failed")
        assert table.row_count == 1
        await pilot.press("escape")
        assert table.row_count == 3
        screen.sort_by("test ROC-AUC [CI]", reverse=True)
        assert [str(table.get_row_at(i)[6]) for i in range(3)] == [
            "0.912 [0.880-0.940]",
            "0.800",
            "-",
        ]
        table.focus()
        table.move_cursor(row=0)  # sorting kept the cursor on the row it was on
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.entry.row.model_version == "20260102"
        metrics = detail.query_one("#metrics", DataTable)
        assert [str(cell) for cell in metrics.get_row("test_roc_auc")] == [
            "test_roc_auc",
            "0.912",
            "0.8",
            "+0.112",
        ]
        assert "Command:      python -m gregory_train train_models" in detail.describe_lines()
        await pilot.press("o")
        report = history / "models" / "demo" / "ms-research" / "lgbm_tfidf" / "20260102"
        assert detail.opened == str(report / "report.html")
        assert opened == [(report / "report.html").as_uri()]
        await pilot.press("escape")
        assert app.screen is screen


@pytest.mark.asyncio
async def test_the_runs_screen_opens_a_rows_details(history: Path) -> None:
    app = LauncherApp(Operations(sleeper_backend(history), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        assert isinstance(app.screen, RunsScreen)
        assert app.screen.query_one(RowsTable).row_count == 1
        await pilot.press("d")
        await settle(app, pilot)
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.entry.previous_version == "20260101"
        # This version has a report, so its key is offered.
        assert detail.check_action("open_report", ()) is True


def test_a_search_names_an_unknown_key_and_matches_nothing(history: Path) -> None:
    from launcher.history import parse_query

    entries = Operations(sleeper_backend(history)).history()
    query = parse_query("aglo:lstm demo")
    assert query.unknown == ("aglo",)
    assert query.problem is not None
    assert query.problem.startswith("unknown key aglo (keys: team, subject, algo, ")
    assert not any(query.matches(entry) for entry in entries)
    # Known keys and free words as before; "ValueError:" (no value) is a word, not a key.
    assert parse_query("algo:lstm ValueError:").problem is None
    lstm = parse_query("algo:lstm valueerror:")
    assert [e.row.algorithm for e in entries if lstm.matches(e)] == ["lstm"]
    assert len([e for e in entries if parse_query("team:demo").matches(e)]) == 3


def test_the_promoted_version_is_marked(history: Path, models_dir: Path) -> None:
    from gregory.ml.store.promotion import write_current
    from launcher.history import parse_query

    algo_dir = models_dir / "demo" / "ms-research" / "lgbm_tfidf"
    write_current(algo_dir, "20260101", "tester", "by hand")
    entries = Operations(sleeper_backend(history)).history()
    marked = {e.row.model_version: e.promoted for e in entries}
    assert marked == {"": False, "20260102": False, "20260101": True}
    assert [e.row.model_version for e in entries if parse_query("promoted:yes").matches(e)] == [
        "20260101"
    ]
    # A damaged pointer promotes nothing (promote_version repairs it).
    (algo_dir / "current.json").write_text("{")
    assert not any(e.promoted for e in Operations(sleeper_backend(history)).history())


def test_a_cancelled_run_reads_cancelled_not_failed(history: Path) -> None:
    add_row(
        "demo",
        "ms-research",
        success=False,
        version="",
        triggered_by="gregory-cancelled",
        error="interrupted by SIGTERM",
        started=FIXED + dt.timedelta(days=3),
    )
    newest = Operations(sleeper_backend(history)).history()[0]
    assert (newest.row.outcome, newest.outcome) == ("cancelled", "cancelled")
    from launcher.history import parse_query

    assert parse_query("state:cancelled").matches(newest)


def test_a_run_stopped_by_its_deadline_reads_failed() -> None:
    from launcher.backends.base import RunInfo, RunState
    from launcher.db import RunRow
    from launcher.outcomes import row_outcome

    row = RunRow(1, "demo", "x", "lstm", "", False, FIXED, FIXED, "interrupted by SIGTERM", "j")
    assert row_outcome(row, None) == "cancelled"
    for state, outcome in [(RunState.CANCELLED, "cancelled"), (RunState.FAILED, "failed")]:
        run = RunInfo("j", "demo", "x", state, FIXED)
        assert row_outcome(row, run) == outcome
