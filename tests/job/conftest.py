"""Fixtures of the job tests: a team, its subject, a demo CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from gregory.models import Subject, Team
from gregory_dev.demo import write_demo_csv


@pytest.fixture
def team(db) -> Team:
    return Team.objects.create(name="Demo", slug="demo")


@pytest.fixture
def subject(team: Team) -> Subject:
    return Subject.objects.create(
        team=team, subject_name="MS research", subject_slug="ms", auto_predict=True
    )


@pytest.fixture
def demo_csv(tmp_path: Path) -> Path:
    return write_demo_csv(tmp_path / "demo.csv", n_articles=240)
