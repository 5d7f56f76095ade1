"""Version directories that appear only when complete, never half-written.

A run trains into `<algo dir>/.staging-<version>/` on the same volume, then renames it to
`<version>/`. Creating the staging directory is the reservation: mkdir is atomic, so two runs
racing for the same name get different versions. Readers skip dot entries. A name is used by
one run ever: names a run log has recorded are skipped even when no directory is left.
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
from functools import partial
from pathlib import Path

from gregory.atomic_write import fsync_directory, fsync_tree
from gregory.ml.runs import lifecycle, signals
from gregory.ml.runs.liveness import file_owner_gone
from gregory.models import PredictionRunLog

STAGING_PREFIX = ".staging-"
OWNER_FILE = ".owner.json"
# A staging dir with no owner file: a run killed between its mkdir and the next write.
STALE_UNOWNED_SECONDS = 3600


class VersionTakenError(FileExistsError):
    """A hand-picked --version already exists (or is being written) for this algorithm."""


# Whether a version name was already used by a run (whatever became of it).
Taken = Callable[[str], bool]


def _never_taken(_version: str) -> bool:
    return False


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
        fsync_tree(self.staging)
        os.rename(self.staging, self.final)
        fsync_directory(self.algo_dir)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _owner_is_gone(staging: Path, now: float) -> bool:
    """The run that reserved `staging` has ended: its process is gone, or its heartbeat (which
    keeps the owner file fresh) has stopped."""
    owner_file = staging / OWNER_FILE
    try:
        owner = json.loads(owner_file.read_text())
    except (OSError, ValueError):
        # Killed between mkdir and writing its owner: judge by the directory's age.
        return now - staging.stat().st_mtime > STALE_UNOWNED_SECONDS
    pid = owner.get("pid")
    return (
        file_owner_gone(owner_file, owner.get("host"), pid if isinstance(pid, int) else None, now)
        is not None
    )


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


def reserve(
    algo_dir: Path,
    version: str | None = None,
    day: dt.date | None = None,
    taken: Taken = _never_taken,
) -> Reservation:
    """Claim `version` (or the next free automatic name for `day`) by creating its staging dir.

    `taken` is asked after the mkdir, so two runs cannot both pass it for the same name.
    """
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
        try:
            problem = _used(reservation, taken)
        except BaseException:
            reservation.staging.rmdir()
            raise
        if problem:
            reservation.staging.rmdir()
            if version:
                raise VersionTakenError(problem)
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


def _used_by_a_run(run: PredictionRunLog, name: str) -> bool:
    return lifecycle.version_user(run.subject, run.algorithm, name) is not None


def _used(reservation: Reservation, taken: Taken) -> str | None:
    if reservation.final.exists():
        return f"version {reservation.version} already exists in {reservation.algo_dir}"
    if taken(reservation.version):
        return f"version {reservation.version} was used by an earlier run in {reservation.algo_dir}"
    return None


@contextlib.contextmanager
def publishing(
    algo_dir: Path, version: str | None = None, run: PredictionRunLog | None = None
) -> Iterator[Reservation]:
    """Reserve a version, yield it for writing into `.staging`, publish it when the block ends.

    Any exception, KeyboardInterrupt and signals turned into exceptions included, discards the
    staging directory instead: a version either appears complete or not at all. Signals are held
    back while the reservation is made, discarded or published, so one cannot strand a directory.
    With `run` (the run's row), a name that an earlier run of its subject and algorithm recorded
    is never reused, and the row is closed as successful just before the rename: the slow,
    fallible database write comes first, so a version is never visible without its successful
    run; if the rename then fails, the exception says so.
    """
    taken: Taken = _never_taken if run is None else partial(_used_by_a_run, run)
    reservation = None
    try:
        with signals.held_signals():
            reservation = reserve(algo_dir, version, taken=taken)
        yield reservation
        with signals.held_signals():
            if run is not None:
                lifecycle.close(run)
            reservation.publish()
    except BaseException:
        if reservation is not None:
            with signals.held_signals():
                reservation.discard()
        raise
