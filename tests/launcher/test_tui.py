"""Pilot tests of the TUI: live validation, submit, the runs and log screens, cancel.

They assert on state (the backend's runs, the screens' attributes), since an exception in a
worker can leave a Pilot test green. Database rows are made in sync fixtures; the app reads
them from its thread workers.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, SelectionList

from launcher.app import LauncherApp
from launcher.backends.base import RunState
from launcher.operations import Operations
from launcher.screens.confirm import ConfirmScreen
from launcher.screens.form import FormScreen
from launcher.screens.log import LogScreen
from launcher.screens.runs import RunsScreen
from launcher.widgets.preview import CommandPreview
from launcher.widgets.tables import RunsTable
from tests.support.launcher import make_scope, sleeper_backend, write_run

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
# How the previews show the job (the local backend and the image run it this way).
TRAIN = "python -m gregory_train train_models"


@pytest.fixture
def teams(transactional_db) -> None:
    from tests.support.articles import add_articles

    # Labels of both classes, enough to split: the form refuses a subject without them.
    for team in (make_scope("demo", "ms-research", "ms-imaging"), make_scope("other", "ms-trials")):
        for subject in team.subjects.all():
            add_articles(subject, [True] * 6 + [False] * 6)


@pytest.fixture
def app(teams, tmp_path: Path) -> LauncherApp:
    return LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)


async def settle(app: LauncherApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def choose_lgbm_for(form: FormScreen, pilot, subject: str | None) -> None:
    form.query_one("#team", Select).value = "demo"
    await pilot.pause()  # the team's subjects arrive with the Changed message
    algos = form.query_one("#algos", SelectionList)
    algos.deselect("pubmed_bert")
    algos.deselect("lstm")
    if subject:
        form.query_one("#subjects", SelectionList).select(subject)


async def test_form_validates_live_and_previews_the_exact_command(app: LauncherApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        assert [team.slug for team in form.teams] == ["demo", "other"]
        assert form.problems == ["choose a team"]
        assert form.query_one("#submit", Button).disabled

        form.query_one("#team", Select).value = "demo"
        await pilot.pause()
        subjects = form.query_one("#subjects", SelectionList)
        assert [subjects.get_option_at_index(i).value for i in range(subjects.option_count)] == [
            "ms-imaging",
            "ms-research",
        ]
        preview = form.query_one(CommandPreview)
        assert preview.problems == []
        assert preview.commands == [f"{TRAIN} --team demo"]
        assert not form.query_one("#submit", Button).disabled

        # Typing into the threshold field: the problem shows at once, and goes away again.
        threshold = form.query_one("#threshold", Input)
        threshold.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", "1", ".", "5")
        assert threshold.value == "1.5"
        assert preview.problems == ["--prob-threshold must lie strictly between 0 and 1"]
        assert form.query_one("#submit", Button).disabled
        await pilot.press("backspace", "backspace", "backspace", "0", ".", "7")
        assert preview.problems == []
        assert preview.commands == [f"{TRAIN} --team demo --prob-threshold 0.7"]

        form.query_one("#w-lookback").value = True
        await pilot.pause()
        lookback = form.query_one("#lookback", Input)
        assert not lookback.disabled
        assert preview.problems == ["--lookback-days needs a whole number of days"]
        lookback.value = "0"
        await pilot.pause()
        assert preview.problems == ["--lookback-days must be a positive number of days"]
        lookback.value = "30"
        await pilot.pause()
        assert preview.commands == [f"{TRAIN} --team demo --lookback-days 30 --prob-threshold 0.7"]

        form.query_one("#algos", SelectionList).deselect_all()
        form.query_one("#version", Input).value = "../x"
        await pilot.pause()
        assert preview.problems[0].startswith("--algo needs at least one of")
        assert preview.problems[1].startswith("--version '../x' must be")

        # Two ticked subjects: two submissions, shown as two commands.
        form.query_one("#algos", SelectionList).select("lstm")
        form.query_one("#version", Input).value = ""
        form.query_one("#subjects", SelectionList).select_all()
        await pilot.pause()
        assert [c.split("--subject ")[1].split()[0] for c in preview.commands] == [
            "ms-imaging",
            "ms-research",
        ]


async def test_submit_asks_first_then_shows_the_run_and_cancel_stops_it(
    app: LauncherApp,
) -> None:
    backend = app.operations.backend
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        await choose_lgbm_for(form, pilot, "ms-research")
        await pilot.pause()

        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.details == [
            f"{TRAIN} --team demo --subject ms-research --algo lgbm_tfidf"
        ]
        await pilot.press("n")  # changed my mind: nothing is submitted
        assert app.screen is form
        assert backend.list_runs() == []

        await pilot.press("ctrl+s")
        await pilot.press("y")
        await settle(app, pilot)
        (run,) = backend.list_runs()
        assert run.argv[-7:] == (
            "train_models",
            "--team",
            "demo",
            "--subject",
            "ms-research",
            "--algo",
            "lgbm_tfidf",
        )
        assert app.current_mode == "runs"
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await settle(app, pilot)
        assert runs.query_one(RunsTable).highlighted_name() == run.name
        assert runs.highlighted().run.state is RunState.RUNNING

        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == f"Cancel run {run.name}?"
        await pilot.press("y")
        await settle(app, pilot)
        await until(pilot, lambda: backend.status(run.name).state.finished)
        assert backend.status(run.name).state is RunState.CANCELLED
        await pilot.press("r")
        await settle(app, pilot)
        assert runs.highlighted().run.state is RunState.CANCELLED
        assert str(runs.query_one(RunsTable).get_row_at(0)[0]) == "cancelled"


async def test_log_screen_follows_the_run_and_toggles_autoscroll(app: LauncherApp) -> None:
    backend = app.operations.backend
    from gregory.flags import TrainFlags

    run = backend.submit(TrainFlags(team="demo"), "log").run
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press("f3")
            await settle(app, pilot)
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, LogScreen) and screen.run_name == run.name
            await until(pilot, lambda: screen.log_view.line_count >= 5)
            assert screen.log_view.lines[0] == "sleeper train_models --team demo"
            assert screen.log_view.auto_scroll
            await pilot.press("a")
            assert not screen.log_view.auto_scroll
            assert "autoscroll off" in str(screen.query_one("#log-title").render())
            seen = screen.log_view.line_count
            await until(pilot, lambda: screen.log_view.line_count > seen)  # still following
            await pilot.press("a")
            assert screen.log_view.auto_scroll
            await pilot.press("escape")
            assert isinstance(app.screen, RunsScreen)
            assert screen.stream is not None and screen.stream.stop_event.is_set()
    finally:
        backend.cancel(run.name)
        backend.wait(run.name, timeout=10)


async def test_an_unreachable_database_is_a_message_in_the_form(
    tmp_path: Path, monkeypatch, django_db_blocker
) -> None:
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent/dir/gregory.sqlite3")
    write_run(tmp_path, "demo-all-0102-a1b2")
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    with django_db_blocker.unblock():
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            form = app.screen
            assert form.teams == []
            (problem,) = form.problems
            assert problem.startswith("database unavailable (sqlite /nonexistent/dir/")
            assert form.query_one("#submit", Button).disabled
            # The runs screen keeps the runs (registry and logs need no database) and says
            # what is missing in its status line.
            await pilot.press("f3")
            await settle(app, pilot)
            assert app.screen.query_one(RunsTable).highlighted_name() == "demo-all-0102-a1b2"
            status = str(app.screen.query_one("#runs-status").render())
            assert status.startswith("1 run; no PredictionRunLog rows: database unavailable")


async def test_the_same_screens_drive_the_kubernetes_backend(teams, kube, kube_backend) -> None:
    app = LauncherApp(Operations(kube_backend, "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await choose_lgbm_for(app.screen, pilot, None)
        await pilot.pause()
        # Kubernetes runs one Job per subject: the preview says so before anything is sent.
        assert app.screen.query_one(CommandPreview).commands == [
            f"{TRAIN} --team demo --subject ms-imaging --algo lgbm_tfidf",
            f"{TRAIN} --team demo --subject ms-research --algo lgbm_tfidf",
        ]
        await pilot.press("ctrl+s", "y")
        await settle(app, pilot)
        assert len(kube.jobs) == 2
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await settle(app, pilot)
        name = runs.query_one(RunsTable).highlighted_name()
        assert name in {job["metadata"]["name"] for job in kube.jobs.values()}

        await pilot.press("l")
        log = app.screen
        assert isinstance(log, LogScreen)
        await until(pilot, lambda: log.log_view.line_count >= 1)
        assert log.log_view.lines[0].startswith("[launcher] waiting for pod")
        kube.start_container(name)
        kube.log(name, "Started lgbm_tfidf")
        await until(pilot, lambda: "Started lgbm_tfidf" in log.log_view.lines)
        await pilot.press("escape")
        assert log.stream is not None and log.stream.stop_event.is_set()

        await pilot.press("c", "y")
        await settle(app, pilot)
        assert kube.deletions == [("Job", name, "Foreground")]
