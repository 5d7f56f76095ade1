"""The rehearsal tier's environments: each image's Python, with only that image's extras.

Where no Docker engine runs, a venv stands in for an image: built from the same files the
Dockerfile copies, with the same extras and constraints, so a dependency the image lacks is
missing here too. The venvs live in a root-owned, world-readable directory: the pods' UID runs
them but cannot write there, as with an image's read-only root filesystem.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.k8s.conftest import kubectl, render  # noqa: F401 (the renders, shared)
from tests.support.paths import REPO

# What images/*.Dockerfile copy into their build stage.
SOURCES = ("pyproject.toml", "README.md", "job", "launcher")
# The CPU training image's torch (images/images.mk CPU_TORCH_SPEC): a local wheel on CI.
CPU_TORCH_SPEC = "torch==2.13.0+cpu"


def pip_install(venv: Path, *requirements: str) -> None:
    done = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--constraint",
            str(REPO / "images" / "constraints.txt"),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=20 * 60,
    )
    if done.returncode != 0:
        pytest.fail(f"pip install {' '.join(requirements)} failed: {done.stderr.strip()[-2000:]}")


def image_venv(root: Path, extras: str, *first: str) -> Path:
    """A fresh venv under `root` holding the project with `extras` only (and `first`, installed
    before it as the Dockerfile does torch); returns its bin dir."""
    source = root / "src"
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    venv = root / "venv"
    # The project venv's base Python (CI: Debian's /usr/bin/python3); another may be named.
    python = os.environ.get("GREGORY_REHEARSAL_PYTHON", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    if first:
        pip_install(venv, *first)
    pip_install(venv, f"{source}[{extras}]")
    shutil.rmtree(source)  # the image keeps only the venv
    return venv / "bin"


@pytest.fixture(scope="session")
def rehearsal_root() -> Iterator[Path]:
    """Root-owned and world-traversable (pytest's own temp dirs are private to their owner)."""
    path = Path(tempfile.mkdtemp(prefix="gregory-rehearsal-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def launcher_venv(rehearsal_root: Path) -> Path:
    """The launcher image's Python: `pip install ".[launcher]"` in a fresh venv (~40 s)."""
    return image_venv(rehearsal_root / "launcher-image", "launcher")


@pytest.fixture(scope="session")
def train_venv(rehearsal_root: Path) -> Path:
    """The CPU training image's Python: its torch, then `.[train,ml]` (~100 s)."""
    # PyPI has no CPU-only torch: CI keeps the wheel locally, as the CPU image build uses it.
    places = [*os.environ.get("PIP_FIND_LINKS", "").split(), "/opt/wheels"]
    if not any(any(Path(p).glob("torch-2.13.0+cpu-*.whl")) for p in places if Path(p).is_dir()):
        pytest.skip(f"no local {CPU_TORCH_SPEC} wheel (the CPU image's torch; see .ci/run)")
    return image_venv(rehearsal_root / "train-image", "train,ml", CPU_TORCH_SPEC)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Skipped before their fixtures run: the image venvs take minutes to build.
    if config.getoption("--database") == "postgres":
        return
    skip = pytest.mark.skip(reason="the rehearsal runs against PostgreSQL: the postgres pass")
    for item in items:
        if item.get_closest_marker("rehearsal") and item.get_closest_marker("postgres"):
            item.add_marker(skip)
