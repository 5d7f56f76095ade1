"""A snapshot of the Review screen on the real sample (update with `--snapshot-update`).

Deterministic: article ids from reset sequences, LightGBM trained with a fixed seed on one
thread, the first article shown the least sure one (never a random pick), no clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from launcher.app import LauncherApp
from launcher.operations import Operations
from tests.support.launcher import sleeper_backend


# Sequences reset: the article ids shown must not depend on the tests that ran before.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.usefixtures("launcher_dir")
def test_review_screen(snap_compare, trained, tmp_path: Path) -> None:
    async def open_review(pilot) -> None:
        app = pilot.app
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.query_one("#review-team", Select).value = "demo"
        await pilot.pause()
        app.screen.query_one("#review-subject", Select).value = "ms"
        # The queue loads in a worker that the Changed message starts: wait for its result.
        for _ in range(400):
            if app.screen.queue is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause()

    app = LauncherApp(Operations(sleeper_backend(tmp_path / "runs"), "test"), refresh_seconds=0)
    assert snap_compare(app, terminal_size=(120, 32), run_before=open_review)
