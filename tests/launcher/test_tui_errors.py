"""What the operator sees when something fails in the TUI: one line that says what to do, the
whole text behind Ctrl+E, never a traceback on the terminal, and a real exit status."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Select, Static

import launcher.app
from launcher.app import LauncherApp, exit_status, run_app
from launcher.operations import Operations
from launcher.screens.review import ReviewScreen
from launcher.screens.text import TextScreen
from tests.support.launcher import sleeper_backend
from tests.support.pilot import until

SIZE = (120, 40)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("launcher_dir")
async def test_review_whose_summariser_cannot_load_names_the_setting(
    trained, settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Started without the Makefile's environment: the default summariser is a hub id, and no
    # hub is reachable (offline: nothing waits on retries).
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    settings.GREGORY_SUMMARISER = "bart"
    monkeypatch.setenv("GREGORY_SUMMARISER", "bart")
    settings.GREGORY_SUMMARISER_MODEL = "gregory-test/not-in-the-cache"
    app = LauncherApp(Operations(sleeper_backend(tmp_path / "runs"), "test"), refresh_seconds=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: screen.teams)
        screen.query_one("#review-team", Select).value = "demo"
        await pilot.pause()
        screen.query_one("#review-subject", Select).value = "ms"
        progress = screen.query_one("#review-progress", Static)
        await until(pilot, lambda: "failed" in str(progress.render()), timeout=60)
        line = str(progress.render())
        assert app.is_running
        assert line.startswith(
            "queue failed: the summariser cannot be loaded from "
            "GREGORY_SUMMARISER_MODEL=gregory-test/not-in-the-cache"
        )
        assert "set GREGORY_SUMMARISER_MODEL to a local checkpoint directory" in line
        assert "\n" not in line and "Traceback" not in line
        await pilot.press("ctrl+e")
        dialog = app.screen
        assert isinstance(dialog, TextScreen)
        assert "Traceback (most recent call last)" in dialog.text
        assert "summariser.py" in dialog.text


class Crashing(LauncherApp):
    """An app with a key whose handler fails outside any worker: the app cannot go on."""

    CSS_PATH = str(Path(launcher.app.__file__).with_name("launcher.tcss"))
    BINDINGS = [Binding("x", "explode", "Explode")]

    def action_explode(self) -> None:
        raise RuntimeError("the app met what nobody expected")


@pytest.mark.django_db(transaction=True)
def test_run_app_returns_the_apps_exit_status(
    launcher_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Crashing(Operations(sleeper_backend(tmp_path / "runs"), "test"), refresh_seconds=0)
    app.call_later(app.action_explode)
    # Before: Textual printed a Rich traceback with locals and run_tui returned 0.
    assert run_app(app, headless=True) == 1
    err = capsys.readouterr().err
    crash = app.crash_file
    assert crash is not None and "Traceback (most recent call last)" in crash.read_text()
    assert err == (
        "gregory-launch: the TUI stopped on an error: RuntimeError: the app met what nobody "
        f"expected; the traceback is in {crash}\n"
    )
    assert exit_status(app) == (1, err.rstrip("\n"))
