"""The rehearsal tier's environments: each image's Python, with only that image's extras.

Where no Docker engine runs, a venv stands in for an image: built from the same files the
Dockerfile copies, with the same extras and constraints, so a dependency the image lacks is
missing here too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

# What images/launcher.Dockerfile copies into its build stage.
LAUNCHER_SOURCES = ("pyproject.toml", "README.md", "job", "launcher")


def image_venv(root: Path, extras: str) -> Path:
    """A fresh venv under `root` holding the project with `extras` only; returns its bin dir."""
    source = root / "src"
    for name in LAUNCHER_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    done = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--constraint",
            str(REPO / "images" / "constraints.txt"),
            f"{source}[{extras}]",
        ],
        capture_output=True,
        text=True,
        timeout=20 * 60,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install .[{extras}] failed: {done.stderr.strip()[-2000:]}")
    return venv / "bin"


@pytest.fixture(scope="session")
def launcher_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The launcher image's Python: `pip install ".[launcher]"` in a fresh venv (~40 s)."""
    return image_venv(tmp_path_factory.mktemp("launcher-image"), "launcher")
