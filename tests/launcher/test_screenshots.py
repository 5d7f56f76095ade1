"""Screenshots of the main screens for docs/ (`make screenshots`); skipped unless
GREGORY_SCREENSHOTS_DIR names where to write them. Same data as the snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Select, SelectionList

from tests.support.launcher import snapshot_app

OUT = os.environ.get("GREGORY_SCREENSHOTS_DIR")
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(not OUT, reason="set GREGORY_SCREENSHOTS_DIR (make screenshots)"),
]


@pytest.fixture(autouse=True)
def labelled(published: Path) -> None:
    """Labels of both classes for demo's subjects: the form refuses a subject without them."""
    from gregory.models import Subject
    from tests.support.articles import add_articles

    for subject in Subject.objects.filter(team__slug="demo"):
        add_articles(subject, [True] * 6 + [False] * 6)


async def test_screenshots(published: Path) -> None:
    out = Path(OUT or ".")
    out.mkdir(parents=True, exist_ok=True)
    app = snapshot_app(published)
    async with app.run_test(size=(140, 36)) as pilot:

        async def shot(name: str) -> None:
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.save_screenshot(f"{name}.svg", str(out))

        app.screen.query_one("#team", Select).value = "demo"
        await pilot.pause()
        app.screen.query_one("#subjects", SelectionList).select("ms-research")
        await shot("form")
        await pilot.press("f3")
        await shot("runs")
        await pilot.press("f4")
        await shot("history")
        app.screen.sort_by("test ROC-AUC [CI]", reverse=True)
        app.screen.query_one("#history").move_cursor(row=0)
        await pilot.press("d")
        await shot("details")
        await pilot.press("question_mark")
        await shot("help")
