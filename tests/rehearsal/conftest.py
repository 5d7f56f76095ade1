"""The rehearsal tier's environments: each image, built locally, where a Docker engine answers;
else each image's Python, with only that image's extras.

The engine form builds the images the manifests name with the Makefile's targets: after the
image tests (the SQLite pass builds both training images) the engine's layer cache makes that
a no-op of seconds. Where no engine runs, a venv stands in for an image: built from the same
files the Dockerfile copies, with the same extras and constraints, so a dependency the image
lacks is missing here too. The venvs live in a root-owned, world-readable directory: the pods'
UID runs them but cannot write there, as with an image's read-only root filesystem.

Which form runs: `engine` where an engine answers, else `venv`; GREGORY_REHEARSAL_FORMS=venv,engine
asks for both (or one by name). GREGORY_REHEARSAL_IMAGES=present runs the images as they are,
without the builds (to iterate on the tests; they may be older than the sources).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPORTED
from tests.k8s.conftest import kubectl, render  # noqa: F401 (the renders, shared)
from tests.k8s.engine import DOCKER, drop_superseded, engine_problem, image_id
from tests.rehearsal.pods import repository_of
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


# The Makefile target building each image the manifests name, by tag suffix and repository.
def make_target(tag: str) -> list[str]:
    repository = repository_of(tag)
    base = os.environ.get("CPU_BASE_IMAGE")  # a local Debian where no registry is reachable
    if repository == "gregory-launcher":
        return [
            "image-launcher",
            f"LAUNCHER_IMAGE={tag}",
            *([f"BASE_IMAGE={base}"] if base else []),
        ]
    if repository == "gregory-train" and tag.endswith("-cpu"):
        return ["image-cpu", f"TRAIN_CPU_IMAGE={tag}"]  # CPU_BASE_IMAGE read from the env
    if repository == "gregory-train":
        return ["image-train", f"TRAIN_IMAGE={tag}", *([f"BASE_IMAGE={base}"] if base else [])]
    raise AssertionError(f"no Makefile target builds {tag}")


@pytest.fixture(scope="session")
def engine_image() -> Callable[[str], str]:
    """Build (once a session; a cached no-op after the image tests) the image a manifest names;
    returns the Docker client to run it with."""
    built: set[str] = set()

    def ensure(tag: str) -> str:
        if tag in built:
            return DOCKER
        previous = image_id(tag)
        if os.environ.get("GREGORY_REHEARSAL_IMAGES") == "present":
            if previous is None:
                pytest.skip(f"no image {tag} (GREGORY_REHEARSAL_IMAGES=present builds none)")
            built.add(tag)
            return DOCKER
        started = time.monotonic()
        done = subprocess.run(
            ["make", *make_target(tag), f"DOCKER={DOCKER}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=45 * 60,
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        drop_superseded(previous, tag)
        seconds = time.monotonic() - started
        how = "built" if previous != image_id(tag) else "cached, no-op"
        REPORTED.append(f"rehearsal: make {make_target(tag)[0]} ({tag}): {how}, {seconds:.0f} s")
        built.add(tag)
        return DOCKER

    return ensure


FORMS = ("engine", "venv")


def chosen_forms() -> tuple[set[str], str]:
    """The forms to run, and why the others skip."""
    asked = os.environ.get("GREGORY_REHEARSAL_FORMS", "")
    problem = engine_problem()
    if asked:
        forms = {form.strip() for form in asked.split(",") if form.strip()}
        unknown = forms - set(FORMS)
        if unknown:
            raise pytest.UsageError(f"GREGORY_REHEARSAL_FORMS: unknown form {sorted(unknown)}")
        if "engine" in forms and problem:
            return forms - {"engine"}, problem
        return forms, "not in GREGORY_REHEARSAL_FORMS"
    if problem:
        return {"venv"}, problem
    return {"engine"}, "the engine form runs these containers in their images"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Skipped before their fixtures run: the image venvs and images take minutes to build.
    containers = [
        item
        for item in items
        if item.get_closest_marker("rehearsal") and item.get_closest_marker("postgres")
    ]
    if not containers:
        return
    if config.getoption("--database") != "postgres":
        skip = pytest.mark.skip(reason="the rehearsal runs against PostgreSQL: the postgres pass")
        for item in containers:
            item.add_marker(skip)
        return
    forms, reason = chosen_forms()
    for item in containers:
        form = getattr(item, "callspec", None) and item.callspec.params.get("form")
        if form and form not in forms:
            item.add_marker(pytest.mark.skip(reason=f"{form} form: {reason}"))
