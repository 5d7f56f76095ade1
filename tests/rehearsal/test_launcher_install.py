"""The launcher as its image installs it: `pip install ".[launcher]"` in a fresh venv, no numpy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.rehearsal, pytest.mark.slow]


def test_the_launcher_venv_has_no_ml_stack(launcher_venv: Path) -> None:
    probe = subprocess.run(
        [str(launcher_venv / "python"), "-c", "import numpy"], capture_output=True, text=True
    )
    assert probe.returncode != 0, "the launcher extra pulled numpy in: this test proves nothing"


@pytest.mark.parametrize(
    "command", [["--help"], ["submit", "--help"], ["status", "--help"], ["review", "--help"]]
)
def test_gregory_launch_starts(launcher_venv: Path, command: list[str]) -> None:
    done = subprocess.run(
        [str(launcher_venv / "gregory-launch"), *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: gregory-launch" in done.stdout
    assert "Traceback" not in done.stderr


def test_review_without_the_ml_stack_says_so_in_one_line(
    launcher_venv: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(launcher_venv / "gregory-launch"), "review", "--team", "demo", "--subject", "ms"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gregory-launch: error: review needs the job's ML stack (numpy is not installed): "
        "pip install 'gregory-train[train]'"
    ]
