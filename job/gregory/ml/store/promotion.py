"""The promoted version of each <team>/<subject>/<algorithm>: the `current.json` pointer.

Written to a temporary file and renamed over the old one (os.replace), so a reader sees the old
pointer or the new one, never half of either; a lock file serialises writers so no history entry
is lost between two runs.

A pointer that cannot be read (truncated, not JSON, not the shape written here) is never guessed
at: readers get `PointerDamaged`, one line naming the file and the promote_version that rewrites
it, and write_current (that repair) moves the damaged file aside instead of failing on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gregory.atomic_write import write_atomic
from gregory.flags import VERSION_RE
from gregory.ml.core import layout
from gregory.ml.core.job_identity import job_name
from gregory.ml.store.provenance import PointerDamaged

# Beside current.json, what a repair replaced: kept for the post-mortem, never read.
DAMAGED_SUFFIX = ".damaged-"


def who() -> str:
    """The Job name the launcher passes, else the user running the command."""
    if trigger := job_name():
        return trigger
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def repair_command(algo_dir: Path) -> str:
    algo_dir = Path(algo_dir)
    team, subject, algorithm = algo_dir.parent.parent.name, algo_dir.parent.name, algo_dir.name
    return (
        f"promote_version --team {team} --subject {subject} --algo {algorithm} --version <version>"
    )


def _damaged(path: Path, why: str) -> PointerDamaged:
    return PointerDamaged(
        f"{path} is damaged ({why}): nothing is promoted until "
        f"`{repair_command(path.parent)}` rewrites it",
        path,
    )


def read_current(algo_dir: Path) -> dict[str, Any] | None:
    """The pointer, None when there is none yet; PointerDamaged when it cannot be trusted."""
    path = Path(algo_dir) / layout.CURRENT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:  # a directory in its place, no permission, an I/O error
        raise _damaged(path, f"unreadable: {error.strerror or error}") from None
    try:
        pointer = json.loads(data)
    except ValueError:  # truncated, empty, or not even UTF-8
        raise _damaged(path, "not JSON") from None
    if not isinstance(pointer, dict):
        raise _damaged(path, "not a JSON object")
    version = pointer.get("version")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        # A path such as ../x is refused here, before anything joins it to a directory.
        raise _damaged(path, f"names no version: 'version' is {version!r}")
    history = pointer.get("history", [])
    if not isinstance(history, list) or not all(isinstance(e, dict) for e in history):
        raise _damaged(path, "its history is not a list of moves")
    return pointer


@contextlib.contextmanager
def _locked(algo_dir: Path) -> Iterator[None]:
    with open(Path(algo_dir) / layout.CURRENT_LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_current(algo_dir: Path, version: str, by: str, reason: str) -> dict:
    """Point `current` at `version`, appending the move to the pointer's history. A damaged
    pointer does not stop it: that is how one is repaired."""
    algo_dir = Path(algo_dir)
    algo_dir.mkdir(parents=True, exist_ok=True)
    with _locked(algo_dir):
        try:
            previous = read_current(algo_dir) or {}
        except PointerDamaged:
            previous = {}
            kept = _set_aside(algo_dir)
            reason = f"{reason}; replaced a damaged {layout.CURRENT_FILE}, kept as {kept}"
        entry = {
            "version": version,
            "previous": previous.get("version"),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "by": by,
            "reason": reason,
        }
        pointer = {**entry, "history": [*previous.get("history", []), entry]}
        write_atomic(algo_dir / layout.CURRENT_FILE, json.dumps(pointer, indent=2) + "\n")
    return pointer


def _set_aside(algo_dir: Path) -> str:
    """Rename the damaged pointer out of the way; its new name."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{layout.CURRENT_FILE}{DAMAGED_SUFFIX}{stamp}"
    os.replace(algo_dir / layout.CURRENT_FILE, algo_dir / name)
    return name
