"""The TUI follows the scope's auto_predict rule: the form offers only subjects that are trained
and scored, while the review screen lists every subject (labelling trains nothing) and does not
offer to retrain one whose auto_predict is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select, SelectionList

from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.form import FormScreen
from launcher.screens.review import ReviewScreen
from launcher.widgets.preview import CommandPreview
from tests.support.articles import add_articles
from tests.support.launcher import make_scope, sleeper_backend
from tests.support.pilot import settle, until

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


@pytest.fixture
def app(transactional_db, models_dir: Path, launcher_dir: Path, tmp_path: Path) -> LauncherApp:
    from gregory.models import Subject

    make_scope("demo", "ms-research", opted_out=("ms-off",))
    make_scope("quiet", opted_out=("cardio",))
    add_articles(Subject.objects.get(subject_slug="ms-off"), [None, None, True])
    return LauncherApp(Operations(sleeper_backend(tmp_path / "runs"), "test"), refresh_seconds=0)


def options(widget: SelectionList) -> list[str]:
    return [widget.get_option_at_index(i).value for i in range(widget.option_count)]


async def test_the_form_offers_only_subjects_with_auto_predict_on(app: LauncherApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, FormScreen)
        form.query_one("#team", Select).value = "demo"
        await pilot.pause()
        assert options(form.query_one("#subjects", SelectionList)) == ["ms-research"]
        assert form.query_one(CommandPreview).commands == [
            "python -m gregory_train train_models --team demo"
        ]
        form.query_one("#team", Select).value = "quiet"
        await pilot.pause()
        assert options(form.query_one("#subjects", SelectionList)) == []
        (problem,) = form.query_one(CommandPreview).problems
        assert problem.startswith("team 'quiet' has no subject with auto_predict on")


async def test_the_review_screen_lists_opted_out_subjects_and_offers_no_retrain(
    app: LauncherApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.teams)
        screen.query_one("#review-team", Select).value = "demo"
        await pilot.pause()
        subjects = screen.query_one("#review-subject", Select)
        assert [value for _, value in subjects._options if isinstance(value, str)] == [
            "ms-off",
            "ms-research",
        ]
        subjects.value = "ms-off"
        await until(pilot, lambda: screen.queue is not None)
        await settle(app, pilot)
        assert screen.queue.unreviewed == 2 and len(screen.queue.items) == 2
        assert not screen.trainable()
        assert "t retrains" not in screen.progress()
