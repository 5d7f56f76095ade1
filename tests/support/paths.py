"""Paths of the repository that tests and benchmarks use."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANAGE = REPO / "job" / "manage.py"
DATA = REPO / "tests" / "data"
