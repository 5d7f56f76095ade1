"""Transitional: the old name of `launcher.operations`, for the tests outside tests/launcher
that still import it (tests/job/test_foreign_versions.py, tests/faults/test_slug_faults.py,
tests/support/launcher.py). Delete once they import `launcher.operations.Operations`."""

from launcher.operations import Operations as Engine

__all__ = ["Engine"]
