"""The promoted version of each <team>/<subject>/<algorithm>: the `current.json` pointer.

Written to a temporary file and renamed over the old one (os.replace), so a reader sees the old
pointer or the new one, never half of either; a lock file serialises writers so no history entry
is lost between two runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gregory.ml import layout


def who() -> str:
    """The Job name the launcher passes, else the user running the command."""
    from gregory.ml.runs import job_name  # here: runs needs Django's models loaded

    if trigger := job_name():
        return trigger
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def read_current(algo_dir: Path) -> dict | None:
    try:
        return json.loads((Path(algo_dir) / layout.CURRENT_FILE).read_text())
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _locked(algo_dir: Path) -> Iterator[None]:
    with open(Path(algo_dir) / layout.CURRENT_LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_current(algo_dir: Path, version: str, by: str, reason: str) -> dict:
    """Point `current` at `version`, appending the move to the pointer's history."""
    algo_dir = Path(algo_dir)
    algo_dir.mkdir(parents=True, exist_ok=True)
    with _locked(algo_dir):
        previous = read_current(algo_dir) or {}
        entry = {
            "version": version,
            "previous": previous.get("version"),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "by": by,
            "reason": reason,
        }
        pointer = {**entry, "history": [*previous.get("history", []), entry]}
        fd, tmp = tempfile.mkstemp(dir=algo_dir, prefix=".current-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(pointer, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, algo_dir / layout.CURRENT_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return pointer
