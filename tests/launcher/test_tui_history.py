"""History and Details from the keyboard: a mistyped key named, sorting by key, the promoted
version marked, two versions of a subject compared, the log one key away; Details with its
headline metrics and intervals first, settings apart, no cell wider than a screen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.detail import CELL, DetailScreen
from launcher.screens.history import COLUMNS, PROMOTED, HistoryScreen, HistoryTable
from launcher.screens.log import LogScreen
from tests.support.launcher import (
    FIXED,
    PUBLISHED_METRICS,
    add_row,
    make_scope,
    publish_version,
    sleeper_backend,
    write_run,
)
from tests.support.pilot import settle

pytestmark = pytest.mark.asyncio
SIZE = (160, 40)
RUN = "demo-all-0102-a1b2"
REASONS = [
    "test roc_auc 0.912 is above the floor 0.6",
    "not shown to be worse than version 20260101 on 48 comparable articles: "
    + "roc_auc +0.112 (95% CI -0.021 to +0.240); " * 6,
]
NEWER = {
    **PUBLISHED_METRICS,
    "test_precision": 0.8,
    "seed": 69,
    "lib_numpy": "2.4.6",
    "decision_reasons": REASONS,
    "gate_comparison": REASONS[1],
    "text_pipeline": {"summariser": "on", "model": "x" * 120},
}


@pytest.fixture
def history(transactional_db, tmp_path: Path, models_dir: Path) -> Path:
    from gregory.ml.store.promotion import write_current

    make_scope("demo", "ms-research", "ms-imaging")
    write_run(tmp_path, RUN, argv=("python", "-m", "gregory_train", "train_models"), log="hi\n")
    older = {"test_roc_auc": 0.8, "test_f1": 0.5, "seed": 69, "lib_numpy": "2.4.5"}
    publish_version(models_dir, "lgbm_tfidf", "20260101", older)
    publish_version(models_dir, "lgbm_tfidf", "20260102", NEWER, report=True)
    publish_version(models_dir, "lgbm_tfidf", "20260103", {"test_roc_auc": 0.7})
    write_current(models_dir / "demo" / "ms-research" / "lgbm_tfidf", "20260102", "t", "test")
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
        "ms-research",
        version="20260103",
        triggered_by="gregory-nightly-0103",
        started=FIXED + dt.timedelta(days=2),
    )
    add_row(
        "demo",
        "ms-imaging",
        algorithm="lstm",
        version="",
        success=False,
        triggered_by="make-demo",
        error="interrupted by SIGTERM",
        started=FIXED + dt.timedelta(days=3),
    )
    return tmp_path


async def open_history(app: LauncherApp, pilot) -> HistoryScreen:
    await settle(app, pilot)
    await pilot.press("f4")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, HistoryScreen)
    return screen


def column(table: DataTable, name: str) -> list[str]:
    index = COLUMNS.index(name)
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


def status(screen) -> str:
    return str(screen.query_one("#history-status", Static).render())


async def test_history_names_unknown_keys_sorts_by_key_and_marks_the_promoted(
    history: Path,
) -> None:
    app = LauncherApp(Operations(sleeper_backend(history), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(app, pilot)
        table = screen.query_one(HistoryTable)
        assert column(table, "version") == ["-", "20260103", f"{PROMOTED} 20260102", "20260101"]
        # A run a signal stopped is cancelled, not failed.
        assert column(table, "state")[0] == "cancelled"
        await pilot.press("slash", *"aglo:lstm")
        assert table.row_count == 0
        # Before: an empty table and nothing said.
        assert status(screen).startswith("unknown key aglo (keys: team, subject, algo,")
        await pilot.press("escape")
        assert table.row_count == 4
        # s walks the columns: the first is "started", ascending.
        await pilot.press("s")
        assert "sorted by started (ascending)" in status(screen)
        assert column(table, "version")[0] == "20260101"
        await pilot.press("o")
        assert "sorted by started (descending)" in status(screen)
        for _ in range(COLUMNS.index("test ROC-AUC [CI]")):
            await pilot.press("s")
        assert "sorted by test ROC-AUC [CI] (ascending)" in status(screen)
        assert column(table, "test ROC-AUC [CI]") == ["0.700", "0.800", "0.912 [0.880-0.940]", "-"]
        await pilot.press("S")
        assert "sorted by version" in status(screen)


async def test_two_versions_of_a_subject_compare_from_history(history: Path) -> None:
    app = LauncherApp(Operations(sleeper_backend(history), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_history(app, pilot)
        table = screen.query_one(HistoryTable)
        table.focus()
        table.move_cursor(row=3)  # 20260101
        await pilot.press("m")
        assert "marked demo/ms-research lgbm_tfidf 20260101" in status(screen)
        table.move_cursor(row=1)  # 20260103: its predecessor is 20260102, not the marked one
        await pilot.press("x")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        assert detail.against is not None and detail.against.row.model_version == "20260101"
        headline = detail.query_one("#headline", DataTable)
        assert [str(c) for c in headline.get_row("test_roc_auc")] == [
            "test_roc_auc",
            "0.700",
            "0.800",
            "-0.1",
        ]
        await pilot.press("escape")
        # Not across subjects.
        table.move_cursor(row=0)  # demo/ms-imaging
        assert screen.check_action("compare", ()) is True
        await pilot.press("x")
        assert app.screen is screen


async def test_details_headline_first_settings_apart_cells_cut_and_only_changes(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webbrowser.open", lambda url: False)  # no browser on this machine
    app = LauncherApp(Operations(sleeper_backend(history), "test"), refresh_seconds=0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(app, pilot)
        table = screen.query_one(HistoryTable)
        table.focus()
        table.move_cursor(row=2)  # 20260102, promoted, from a launcher run
        await pilot.press("d")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        headline = detail.query_one("#headline", DataTable)
        # Intervals beside the value; the version before beside it.
        assert [str(c) for c in headline.get_row_at(0)] == [
            "test_roc_auc",
            "0.912 [0.880-0.940]",
            "0.800",
            "+0.112",
        ]
        settings = detail.query_one("#settings", DataTable)
        metrics = detail.query_one("#metrics", DataTable)
        setting_keys = [str(settings.get_row_at(i)[0]) for i in range(settings.row_count)]
        assert "seed" in setting_keys and "lib_numpy" in setting_keys
        metric_keys = [str(metrics.get_row_at(i)[0]) for i in range(metrics.row_count)]
        assert "seed" not in metric_keys and metric_keys[0].startswith("test_")
        # The reasons are text that wraps, never a cell: no table wider than a few columns.
        assert "decision_reasons" not in setting_keys + metric_keys
        reasons = str(detail.query_one("#decision-text", Static).render())
        assert "not shown to be worse than version 20260101" in reasons
        for each in (headline, metrics, settings):
            cells = [str(c) for i in range(each.row_count) for c in each.get_row_at(i)]
            assert max(map(len, cells)) <= CELL
        assert settings.fixed_columns == 1
        await pilot.press("c")
        kept = [str(settings.get_row_at(i)[0]) for i in range(settings.row_count)]
        assert "lib_numpy" in kept and "seed" not in kept
        await pilot.press("o")
        # Before: nothing happened where no browser was found.
        report = detail.entry.report
        assert report is not None
        assert any(str(report) in str(n.message) for n in app._notifications)
        await pilot.press("l")
        log = app.screen
        assert isinstance(log, LogScreen) and log.run_name == RUN
        await pilot.press("escape", "escape")
        assert app.screen is screen
        await pilot.press("l")  # History opens the same log
        assert isinstance(app.screen, LogScreen) and app.screen.run_name == RUN


async def test_runs_rows_show_their_versions_roc_auc_before_the_timestamps(
    published: Path,
) -> None:
    from launcher.widgets.tables import RowsTable
    from tests.support.launcher import OK_RUN, snapshot_app

    app = snapshot_app(published)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        runs = app.screen.query_one("#runs", DataTable)
        runs.move_cursor(row=[str(r.value) for r in runs.rows].index(OK_RUN))
        await settle(app, pilot)
        rows = app.screen.query_one(RowsTable)
        names = [str(c.label) for c in rows.ordered_columns]
        assert names.index("ROC-AUC") < names.index("started")
        auc = {
            str(rows.get_row_at(i)[names.index("subject")]): str(
                rows.get_row_at(i)[names.index("ROC-AUC")]
            )
            for i in range(rows.row_count)
        }
        # ms-research's version has a metrics.json (0.912); ms-imaging's has none.
        assert auc == {"ms-research": "0.912", "ms-imaging": "-"}
