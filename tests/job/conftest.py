"""Fixtures of the job tests: a demo CSV (team, subject and `trained` are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gregory_dev.demo import write_demo_csv


@pytest.fixture
def demo_csv(tmp_path: Path) -> Path:
    return write_demo_csv(tmp_path / "demo.csv", n_articles=240)
