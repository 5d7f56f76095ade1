"""Version directories that appear only when complete, never half-written.

A run trains into `<algo dir>/.staging-<version>/` on the same volume, then renames it to
`<version>/`. Creating the staging directory is the reservation: mkdir is atomic, so two runs
racing for the same name get different versions. Readers skip dot entries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

STAGING_PREFIX = ".staging-"
OWNER_FILE = ".owner.json"
# A staging dir this old belongs to a run that was killed (OOM, node loss): the Job deadline is
# far shorter, so nothing still writes there.
STALE_STAGING_SECONDS = 2 * 24 * 3600


class VersionTakenError(FileExistsError):
    """A hand-picked --version already exists (or is being written) for this algorithm."""


def version_candidates(day: dt.date) -> Iterator[str]:
    """YYYYMMDD, then YYYYMMDD_2, YYYYMMDD_3, …"""
    base = day.strftime("%Y%m%d")
    yield base
    n = 2
    while True:
        yield f"{base}_{n}"
        n += 1


def version_exists(algo_dir: Path, version: str) -> bool:
    return (algo_dir / version).exists() or (algo_dir / f"{STAGING_PREFIX}{version}").exists()


@dataclass(frozen=True)
class Reservation:
    algo_dir: Path
    version: str

    @property
    def staging(self) -> Path:
        return self.algo_dir / f"{STAGING_PREFIX}{self.version}"

    @property
    def final(self) -> Path:
        return self.algo_dir / self.version

    def publish(self) -> Path:
        """Move the finished staging directory into place; one rename, so all or nothing."""
        (self.staging / OWNER_FILE).unlink(missing_ok=True)
        _fsync_tree(self.staging)
        os.rename(self.staging, self.final)
        _fsync_dir(self.algo_dir)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _owner_is_gone(staging: Path, now: float) -> bool:
    try:
        owner = json.loads((staging / OWNER_FILE).read_text())
        started = float(owner["started"])
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable: a run killed between mkdir and writing its owner; judge by the dir's age.
        started = staging.stat().st_mtime
        owner = {}
    if now - started > STALE_STAGING_SECONDS:
        return True
    if owner.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError):
        return False
    return False


def sweep_stale_staging(algo_dir: Path) -> list[Path]:
    """Remove staging dirs left by killed runs (SIGKILL and OOM give no chance to clean up)."""
    removed, now = [], time.time()
    for staging in algo_dir.glob(f"{STAGING_PREFIX}*"):
        try:
            if staging.is_dir() and _owner_is_gone(staging, now):
                shutil.rmtree(staging, ignore_errors=True)
                removed.append(staging)
        except FileNotFoundError:
            continue  # its run published or discarded it meanwhile
    return removed


def reserve(algo_dir: Path, version: str | None = None, day: dt.date | None = None) -> Reservation:
    """Claim `version` (or the next free automatic name for `day`) by creating its staging dir."""
    algo_dir.mkdir(parents=True, exist_ok=True)
    sweep_stale_staging(algo_dir)
    candidates = [version] if version else version_candidates(day or dt.date.today())
    for candidate in candidates:
        reservation = Reservation(algo_dir, candidate)
        try:
            reservation.staging.mkdir()
        except FileExistsError:
            if version:
                raise VersionTakenError(
                    f"version {version} is being written in {algo_dir}"
                ) from None
            continue
        # Checked after the mkdir: a racing run may have published this name in between.
        if reservation.final.exists():
            reservation.staging.rmdir()
            if version:
                raise VersionTakenError(f"version {version} already exists in {algo_dir}")
            continue
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        try:
            (reservation.staging / OWNER_FILE).write_text(json.dumps(owner))
        except BaseException:
            # A signal (or a full disk) between mkdir and here must not strand the directory.
            reservation.discard()
            raise
        return reservation
    raise AssertionError("unreachable: version candidates never run out")


@contextlib.contextmanager
def publishing(
    algo_dir: Path,
    version: str | None = None,
    shield: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
) -> Iterator[Reservation]:
    """Reserve a version, yield it for writing into `.staging`, publish it when the block ends.

    Any exception, KeyboardInterrupt and signals turned into exceptions included, discards the
    staging directory instead: a version either appears complete or not at all. `shield` holds
    signals back while the reservation is made and while it is discarded, so a signal that lands
    between mkdir and the bookkeeping, or a second one during cleanup, cannot strand a directory.
    """
    reservation = None
    try:
        with shield():
            reservation = reserve(algo_dir, version)
        yield reservation
    except BaseException:
        if reservation is not None:
            with shield():
                reservation.discard()
        raise
    reservation.publish()


def _fsync_tree(root: Path) -> None:
    # The rename must not become visible before the files it publishes reach the disk.
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
