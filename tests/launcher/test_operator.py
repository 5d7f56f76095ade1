"""The operator's view (issue #12): what a refresh, a submit, a dialog or an outage must not
break. Pilot tests asserting on state; database rows are written from a thread, as the app
reads them."""

from __future__ import annotations

import asyncio
import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from textual.widgets import Footer, Input, Select, SelectionList

from launcher.app import LauncherApp
from launcher.cli import main
from launcher.db import headline
from launcher.operations import Operations
from launcher.screens.confirm import ConfirmScreen
from launcher.screens.form import FormScreen
from launcher.screens.runs import RunsScreen
from launcher.screens.text import TextScreen
from launcher.widgets.preview import CommandPreview
from launcher.widgets.tables import STYLES, RowsTable, RunsTable
from tests.support.launcher import FIXED, add_row, make_scope, sleeper_backend, write_run

SIZE = (120, 40)
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/gregory/ml/data/splits.py", line 40, in split\n'
    "    raise ValueError(msg)\n"
    "ValueError: stratification impossible: one class only\n"
    "see the subject's labels in GregoryAI's admin\n"
)


@pytest.fixture
def teams(transactional_db) -> None:
    make_scope("demo", "ms-research", "ms-imaging")


async def settle(app: LauncherApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_the_error_column_shows_what_went_wrong_not_the_last_line() -> None:
    assert headline(TRACEBACK) == "ValueError: stratification impossible: one class only"
    assert headline("interrupted by SIGTERM") == "interrupted by SIGTERM"
    chained = (
        "Traceback (most recent call last):\n  File x\nKeyError: 'a'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n  File y\nRuntimeError: b\n"
    )
    assert headline(chained) == "KeyError: 'a'"
    assert headline("\n   only indented\n") == "only indented"


def test_failed_and_lost_look_different() -> None:
    assert STYLES["failed"] != STYLES["lost"]


@pytest.mark.asyncio
async def test_submit_selects_the_new_run_whatever_was_highlighted(teams, tmp_path: Path) -> None:
    write_run(tmp_path, "demo-all-0102-aaaa", created=FIXED)
    write_run(tmp_path, "demo-all-0102-bbbb", created=FIXED - dt.timedelta(hours=1))
    backend = sleeper_backend(tmp_path)
    app = LauncherApp(Operations(backend, "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("down")
        assert app.screen.query_one(RunsTable).highlighted_name() == "demo-all-0102-bbbb"
        await pilot.press("f2")
        form = app.screen
        form.query_one("#team", Select).value = "demo"
        await pilot.pause()
        form.query_one("#algos", SelectionList).deselect("pubmed_bert")
        await pilot.pause()
        await pilot.press("ctrl+s", "y")
        await settle(app, pilot)
        await settle(app, pilot)
        new = next(
            run
            for run in backend.list_runs()
            if run.name.startswith("demo-all-")
            and run.name not in ("demo-all-0102-aaaa", "demo-all-0102-bbbb")
        )
        try:
            assert isinstance(app.screen, RunsScreen)
            assert app.screen.query_one(RunsTable).highlighted_name() == new.name
        finally:
            backend.cancel(new.name)
            backend.wait(new.name, timeout=10)


@pytest.mark.asyncio
async def test_a_refresh_keeps_the_rows_cursor_and_horizontal_scroll(teams, tmp_path: Path) -> None:
    run = "demo-all-0102-a1b2"
    write_run(tmp_path, run)
    long = "RuntimeError: " + "a very long reason " * 20

    def rows() -> None:
        for minutes, algorithm in enumerate(("lgbm_tfidf", "lstm", "pubmed_bert")):
            add_row(
                "demo",
                "ms-research",
                algorithm=algorithm,
                triggered_by=run,
                success=False,
                error=long,
                started=FIXED + dt.timedelta(minutes=minutes),
            )

    await asyncio.to_thread(rows)
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        rows = app.screen.query_one(RowsTable)
        rows.focus()
        await pilot.press("down")
        kept = rows.highlighted_name()
        rows.scroll_to(x=30, animate=False, immediate=True)
        await pilot.pause()
        assert rows.scroll_x == 30
        # A newer row arrives: the table is rebuilt, the operator's place in it is not lost.
        await asyncio.to_thread(
            add_row, "demo", "ms-imaging", triggered_by=run, started=FIXED + dt.timedelta(hours=1)
        )
        await pilot.press("r")
        await settle(app, pilot)
        await pilot.pause()
        assert rows.row_count == 4
        assert rows.highlighted_name() == kept
        assert rows.scroll_x == 30


@pytest.mark.asyncio
async def test_the_full_error_opens_from_the_rows_table(teams, tmp_path: Path) -> None:
    run = "demo-all-0102-a1b2"
    write_run(tmp_path, run, returncode=1)
    await asyncio.to_thread(
        add_row, "demo", "ms-research", triggered_by=run, success=False, error=TRACEBACK
    )
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        rows = app.screen.query_one(RowsTable)
        assert str(rows.get_row_at(0)[-1]) == (
            "ValueError: stratification impossible: one class only"
        )
        await pilot.press("e")
        dialog = app.screen
        assert isinstance(dialog, TextScreen)
        assert dialog.text == TRACEBACK
        # The footer under a dialog lists the dialog's keys.
        assert dialog.query(Footer)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


@pytest.mark.asyncio
async def test_confirm_defaults_to_no(teams, tmp_path: Path) -> None:
    backend = sleeper_backend(tmp_path)
    app = LauncherApp(Operations(backend, "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.screen.query_one("#team", Select).value = "demo"
        await pilot.pause()
        await pilot.press("ctrl+s")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert dialog.focused is not None and dialog.focused.id == "no"
        assert dialog.query(Footer)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FormScreen)
        assert backend.list_runs() == []


@pytest.mark.asyncio
async def test_an_existing_version_is_refused_by_the_form(
    teams, tmp_path: Path, models_dir: Path
) -> None:
    (models_dir / "demo" / "ms-imaging" / "lstm" / "20260102").mkdir(parents=True)
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        form.query_one("#team", Select).value = "demo"
        await pilot.pause()
        form.query_one("#version", Input).value = "20260102"
        await pilot.pause()
        assert form.query_one(CommandPreview).problems == [
            "version 20260102 already exists for demo/ms-imaging lstm"
        ]
        # Only lstm has it: without lstm the version is free.
        form.query_one("#algos", SelectionList).deselect("lstm")
        await pilot.pause()
        assert form.query_one(CommandPreview).problems == []


def test_an_existing_version_is_refused_by_submit_dry_run(
    teams, launcher_dir, models_dir: Path, capsys
) -> None:
    (models_dir / "demo" / "ms-research" / "lgbm_tfidf" / ".staging-v1").mkdir(parents=True)
    argv = ["--backend", "local", "submit", "--dry-run", "--team", "demo", "--version", "v1"]
    assert main(argv, out=StringIO()) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == "gregory-launch: error: version v1 already exists for demo/ms-research lgbm_tfidf"
    assert main([*argv[:-1], "v2"], out=StringIO()) == 0


ECHO = "import sys\nprint('job', *sys.argv[1:], flush=True)\n"


def test_ticked_subjects_run_in_turn_as_one_local_run(tmp_path: Path) -> None:
    import sys

    from gregory.flags import TrainFlags
    from launcher.backends.base import RunState
    from launcher.backends.local import LocalBackend

    backend = LocalBackend(tmp_path, manage_argv=[sys.executable, "-c", ECHO])
    planned = [TrainFlags(team="demo", subject=s) for s in ("ms-imaging", "ms-research")]
    (submission,) = Operations(backend).submit(planned, "r1")
    run = backend.wait(submission.run.name, timeout=20)
    assert (run.name, run.subject, run.state) == (
        "demo-2-subjects-r1",
        "ms-imaging,ms-research",
        RunState.SUCCEEDED,
    )
    assert list(backend.stream_logs(run.name, follow=False)) == [
        "[launcher] 1 of 2: train_models --team demo --subject ms-imaging",
        "job train_models --team demo --subject ms-imaging",
        "[launcher] 2 of 2: train_models --team demo --subject ms-research",
        "job train_models --team demo --subject ms-research",
    ]


def test_cancel_stops_the_whole_chain(tmp_path: Path) -> None:
    from gregory.flags import TrainFlags
    from launcher.backends.base import RunState

    backend = sleeper_backend(tmp_path)
    planned = [TrainFlags(team="demo", subject=s) for s in ("ms-imaging", "ms-research")]
    (submission,) = Operations(backend).submit(planned, "r2")
    backend.cancel(submission.run.name)
    assert backend.wait(submission.run.name, timeout=20).state is RunState.CANCELLED
    log = list(backend.stream_logs(submission.run.name, follow=False))
    assert not any(line.startswith("[launcher] 2 of 2") for line in log)


@pytest.mark.asyncio
async def test_the_form_says_ticked_subjects_run_in_turn_locally(teams, tmp_path: Path) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        form.query_one("#team", Select).value = "demo"
        await pilot.pause()
        form.query_one("#subjects", SelectionList).select_all()
        await pilot.pause()
        preview = form.query_one(CommandPreview)
        assert len(preview.commands) == 2
        assert str(preview.render()).startswith("Will submit 1 run (2 commands, in turn)")
        await pilot.press("ctrl+s")
        assert app.screen.question == "Submit 1 run(s) to local?"


@pytest.mark.asyncio
async def test_help_lists_the_screens_keys_and_the_palette_has_the_screens(
    teams, tmp_path: Path
) -> None:
    write_run(tmp_path, "demo-all-0102-a1b2")  # finished: nothing to cancel
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await settle(app, pilot)
        runs = app.screen
        # Keys that cannot act on a finished run without rows stay out of the footer.
        assert runs.check_action("logs", ()) is True
        assert runs.check_action("cancel_run", ()) is False
        assert runs.check_action("show_error", ()) is False
        assert runs.check_action("details", ()) is False
        assert "c" not in runs.active_bindings
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, TextScreen)
        assert "Keys of this screen (Runs):" in help_screen.text
        assert "Logs" in help_screen.text
        assert "Cancel run: on a run still going; asks first (not now)" in help_screen.text
        await pilot.press("escape")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Form", "Runs", "History", "Help"} <= set(titles)
