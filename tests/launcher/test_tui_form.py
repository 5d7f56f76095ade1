"""The form refuses a subject whose labels training cannot split, with the counts and what to
do, before anything is submitted (the same check as `submit --dry-run`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Select, SelectionList

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.form import FormScreen
from launcher.widgets.preview import CommandPreview
from tests.support.launcher import make_scope, sleeper_backend
from tests.support.pilot import settle

pytestmark = pytest.mark.asyncio
SIZE = (120, 48)


@pytest.fixture
def labelled(transactional_db) -> None:
    from gregory.models import Subject
    from tests.support.articles import add_articles

    make_scope("demo", "one-class", "enough")
    add_articles(Subject.objects.get(subject_slug="one-class"), [True] * 7)
    add_articles(Subject.objects.get(subject_slug="enough"), [True] * 6 + [False] * 6)


async def choose(form: FormScreen, pilot, *subjects: str) -> CommandPreview:
    form.query_one("#team", Select).value = "demo"
    await pilot.pause()
    listed = form.query_one("#subjects", SelectionList)
    for subject in subjects:
        listed.select(subject)
    await settle(form.app, pilot)  # the label check is a database read in a worker
    return form.query_one(CommandPreview)


async def test_a_one_class_subject_is_refused_with_its_counts(labelled, tmp_path: Path) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        preview = await choose(form, pilot, "one-class")
        # Before: the form planned the run, which failed 8 s later with a traceback.
        (problem,) = preview.problems
        assert problem.startswith(
            "demo/one-class: 7 labelled articles in the last 90 days (7 relevant, 0 not): "
            "training needs at least 6 of each"
        )
        assert "F5 Review" in problem
        assert form.query_one("#submit", Button).disabled
        await pilot.press("ctrl+s")
        assert app.screen is form  # no confirmation: nothing to submit
        assert app.operations.backend.list_runs() == []


async def test_a_subject_that_can_train_beside_it_is_submitted_with_a_warning(
    labelled, tmp_path: Path
) -> None:
    app = LauncherApp(Operations(sleeper_backend(tmp_path), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        preview = await choose(form, pilot, "enough")
        assert preview.problems == [] and preview.warnings == []
        preview = await choose(form, pilot, "one-class")
        assert preview.problems == []
        (warning,) = preview.warnings
        assert warning.startswith("demo/one-class: 7 labelled articles")
        assert warning.endswith("its run fails, the others train")
        assert not form.query_one("#submit", Button).disabled
