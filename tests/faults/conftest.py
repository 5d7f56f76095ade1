"""Fixtures of the fault tests: the real job and launcher as subprocesses, one line per fault."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from gregory.models import Subject, Team

GREGORY_LAUNCH = str(Path(sys.executable).parent / "gregory-launch")

Run = Callable[..., subprocess.CompletedProcess[str]]


def run_process(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), env=dict(env), capture_output=True, text=True, timeout=300)


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The process failed with `code`, and said why in one line (no traceback) naming `words`."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def manage(manage_argv: list[str], job_env: dict[str, str]) -> Run:
    """`manage.py <argv>` against the test database, with extra environment if given."""

    def call(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_process([*manage_argv, *argv], {**job_env, **env})

    return call


@pytest.fixture
def subject(transactional_db) -> Subject:
    team = Team.objects.create(name="Demo", slug="demo")
    return Subject.objects.create(
        team=team, subject_name="MS research", subject_slug="ms", auto_predict=True
    )
