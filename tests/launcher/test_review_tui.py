"""Pilot tests of the Review screen on a subject the real train_models trained: it shows the
article the model is least sure of, keys record and undo labels in the database, and the
retrain offer submits train_models through the backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from django.db import connection
from textual.widgets import Select, Static

from gregory.models import ArticleSubjectRelevance
from launcher.app import LauncherApp
from launcher.operations import Operations
from launcher.screens.confirm import ConfirmScreen
from launcher.screens.review import ReviewScreen
from tests.support.launcher import sleeper_backend
from tests.support.pilot import settle, until

# Transactional: the app's workers read and write the labels from their own threads.
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("launcher_dir"),
]
SIZE = (120, 40)


@pytest.fixture
def app(trained, tmp_path: Path) -> LauncherApp:
    return LauncherApp(Operations(sleeper_backend(tmp_path / "runs"), "test"), refresh_seconds=0)


def off_the_loop(query):
    """Run a synchronous ORM call in a thread, as the app's workers do, closing that thread's
    connection after (the test database cannot be dropped while one is open)."""

    def run():
        try:
            return query()
        finally:
            connection.close()

    return asyncio.to_thread(run)


async def label_of(article_id: int) -> bool | None:
    rows = ArticleSubjectRelevance.objects.filter(article_id=article_id)
    return await off_the_loop(lambda: rows.get().is_relevant)


async def open_review(app: LauncherApp, pilot) -> ReviewScreen:
    await pilot.press("f5")
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await until(pilot, lambda: screen.teams)
    screen.query_one("#review-team", Select).value = "demo"
    await pilot.pause()
    screen.query_one("#review-subject", Select).value = "ms"
    await until(pilot, lambda: screen.queue is not None)
    await pilot.pause()
    return screen


def shown(screen: ReviewScreen, widget: str) -> str:
    return str(screen.query_one(widget, Static).render())


async def test_the_review_screen_shows_an_article_and_a_key_records_its_label(
    app: LauncherApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(app, pilot)
        first = screen.current
        assert first is not None and not first.random_pick
        assert first.uncertainty == max(i.uncertainty for i in screen.queue.items)
        assert shown(screen, "#review-title") == f"{first.article_id}  {first.title}"
        assert shown(screen, "#review-scores").startswith(
            f"lgbm_tfidf {first.scores[0].probability:.2f} (threshold 0.8"
        )
        assert shown(screen, "#review-reason") == f"why: {first.reason}"
        assert first.summary and shown(screen, "#review-summary") == first.summary

        await pilot.press("y")
        await settle(app, pilot)
        assert await label_of(first.article_id) is True
        second = screen.current
        assert second is not None and second.article_id != first.article_id
        assert shown(screen, "#review-progress").startswith(
            "demo/ms: 1 labelled this session (1 relevant), 0 skipped; 19 left in this queue; "
            "29 unreviewed"
        )

        await pilot.press("s")
        third = screen.current
        await pilot.press("n")
        await settle(app, pilot)
        assert await label_of(third.article_id) is False
        assert await label_of(second.article_id) is None  # skipped: nothing written

        await pilot.press("u")  # the last label of this session, and only that one
        await settle(app, pilot)
        assert await label_of(third.article_id) is None
        assert await label_of(first.article_id) is True
        assert screen.current.article_id == third.article_id
        assert screen.session.labelled == 1


async def test_a_label_someone_gave_first_is_kept_and_the_reviewer_told(app: LauncherApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(app, pilot)
        first = screen.current
        others = ArticleSubjectRelevance.objects.filter(article_id=first.article_id)
        await off_the_loop(lambda: others.update(is_relevant=False))
        await pilot.press("y")
        await settle(app, pilot)
        assert await label_of(first.article_id) is False
        assert screen.session.labelled == 0
        assert screen.current.article_id != first.article_id
        (notice,) = [n for n in app._notifications if n.title == "not recorded"]
        assert "already labelled not relevant" in notice.message


async def test_retrain_submits_train_models_for_the_subject(app: LauncherApp) -> None:
    backend = app.operations.backend
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.details[0].endswith("train_models --team demo --subject ms")
        await pilot.press("y")
        await settle(app, pilot)
        (run,) = backend.list_runs()
        assert run.argv[-5:] == ("train_models", "--team", "demo", "--subject", "ms")


HOSTILE_TITLE = "[@click=app.quit]Relapse[/] \x1b]0;pwned\x07rates\x1b[2J in a cohort {i}"


@pytest.fixture
def hostile(trained, models_dir: Path) -> int:
    """A title with markup and escapes, stored at the threshold (the queue's first article);
    pubmed_bert's pointer damaged."""
    from gregory.models import MLPredictions, Subject
    from tests.support.articles import add_articles

    subject = Subject.objects.get(team__slug="demo", subject_slug="ms")
    (article,) = add_articles(subject, [None], title=HOSTILE_TITLE, summary="[red]x\x1b[8m[/red]")
    MLPredictions.objects.create(
        subject=subject,
        article=article,
        model_version="v1",
        algorithm="lgbm_tfidf",
        probability_score=0.8,
        predicted_relevant=True,
    )
    other = models_dir / "demo" / "ms" / "pubmed_bert"
    other.mkdir(parents=True)
    (other / "current.json").write_text("{")
    return article.pk


async def test_a_damaged_algorithm_and_a_hostile_title_never_end_the_screen(
    hostile: int, app: LauncherApp, models_dir: Path
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_review(app, pilot)
        assert screen.queue.versions == {"lgbm_tfidf": "v1"}
        assert screen.current.article_id == hostile
        assert shown(screen, "#review-title") == (
            f"{hostile}  [@click=app.quit]Relapse[/] rates in a cohort 0"
        )
        assert shown(screen, "#review-summary") == "[red]x[/red]"
        (note,) = [n for n in app._notifications if n.title == "review queue"]
        assert note.message.startswith("pubmed_bert left out: ")
        assert str(models_dir / "demo" / "ms" / "pubmed_bert" / "current.json") in note.message
        await pilot.click("#review-title")
        await pilot.pause()
        assert app.is_running and app.screen is screen
