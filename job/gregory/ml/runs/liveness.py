"""Telling a run that is still working from one that died with its row open.

A killed process (SIGKILL, OOM, a lost node) cannot close its PredictionRunLog row, and
GregoryAI's table has no column for a host or a pid. So each open run keeps a heartbeat file in
the models directory, `.runs/<row id>.json` (host, pid, Job), touched every HEARTBEAT_SECONDS by a
daemon thread and removed when the row closes. The models directory is the volume every run of
every pod shares, so any later run can judge an open row: on the same host by its pid, elsewhere
by the age of its heartbeat. Rows judged lost are closed as failed with "lost: …", their
`run_finished` the last heartbeat.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db.models import QuerySet

from gregory.ml.core import layout
from gregory.models import PredictionRunLog
from gregory.reasons import lost

RUNS_DIR = ".runs"
HEARTBEAT_SECONDS = 30.0
# Ten missed beats: far beyond a pause for garbage collection or a slow shared volume.
LOST_AFTER_SECONDS = 10 * HEARTBEAT_SECONDS
# A row without a heartbeat file here may belong to a run that publishes into another models
# directory (an operator's laptop against the production database): judged lost only once no
# run could still be going, far beyond a Job's deadline.
UNSEEN_LOST_AFTER_SECONDS = 24 * 3600.0


def heartbeat_path(row_id: int, root: Path | None = None) -> Path:
    return (root or layout.models_dir()) / RUNS_DIR / f"{row_id}.json"


class Heartbeat:
    """The heartbeat of one open run; also keeps other files fresh (its staging owner file)."""

    def __init__(self, row: PredictionRunLog, job: str | None) -> None:
        self.path = heartbeat_path(row.pk)
        self._watched: list[Path] = [self.path]
        self._stop = threading.Event()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "job": job, "row": row.pk}
        self.path.write_text(json.dumps(owner))
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{row.pk}", daemon=True)
        self._thread.start()

    def watch(self, path: Path) -> None:
        self._watched.append(path)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            for path in list(self._watched):
                try:
                    os.utime(path)
                except OSError:
                    continue  # removed meanwhile (published, discarded) or the volume hiccuped

    def stop(self) -> None:
        self._stop.set()
        self.path.unlink(missing_ok=True)


def file_owner_gone(path: Path, host: str | None, pid: int | None, now: float) -> str | None:
    """Why the process that keeps `path` fresh is gone, or None while it may be alive."""
    if host == socket.gethostname() and pid is not None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"process {pid} on {host} ended"
        except PermissionError:
            pass  # alive, another user's
        else:
            return None
    age = now - path.stat().st_mtime
    if age > LOST_AFTER_SECONDS:
        return f"no heartbeat from {host or 'its host'} for {int(age)} s"
    return None


@dataclass(frozen=True)
class Verdict:
    row: PredictionRunLog
    reason: str


def judge(row: PredictionRunLog, now: float | None = None, job: str | None = None) -> str | None:
    """Why the open `row` is lost, or None while its run may be alive.

    `job`: the Job this process runs for. A Job runs one pod at a time, so an open row of the
    same Job belongs to a pod that has already ended (a retry is starting).
    """
    now = time.time() if now is None else now
    path = heartbeat_path(row.pk)
    try:
        owner = json.loads(path.read_text())
    except FileNotFoundError:
        started = row.run_started.timestamp() if row.run_started else 0.0
        if now - started > UNSEEN_LOST_AFTER_SECONDS:
            return "no heartbeat in this models directory for a day"
        return None
    except (OSError, ValueError):
        owner = {}
    if job and owner.get("job") == job and owner.get("pid") != os.getpid():
        return f"a new pod of Job {job} started"
    try:
        return file_owner_gone(path, owner.get("host"), owner.get("pid"), now)
    except FileNotFoundError:
        return None  # it closed while we looked


def resolve_lost(rows: QuerySet[PredictionRunLog], job: str | None = None) -> list[Verdict]:
    """Close as failed every open row among `rows` whose run is gone; the verdicts reached."""
    verdicts = [
        Verdict(row, lost(reason))
        for row in rows.filter(success__isnull=True)
        if (reason := judge(row, job=job)) is not None
    ]
    return [verdict for verdict in verdicts if mark_lost(verdict.row, verdict.reason)]


def last_seen(row_id: int) -> dt.datetime | None:
    """When the run of an open row last showed it was alive: its heartbeat's last beat."""
    try:
        beat = heartbeat_path(row_id).stat().st_mtime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(beat, tz=dt.UTC)


def mark_lost(row: PredictionRunLog, reason: str, when: dt.datetime | None = None) -> bool:
    """Close `row` as failed unless it closed meanwhile; True when this call closed it.

    `run_finished` is when the run was last seen alive (`when`, else its last heartbeat), and
    stays NULL when nobody knows.
    """
    closed = PredictionRunLog.objects.filter(pk=row.pk, success__isnull=True).update(
        success=False, error_message=reason, run_finished=when or last_seen(row.pk)
    )
    heartbeat_path(row.pk).unlink(missing_ok=True)
    return bool(closed)


def open_rows(subject_ids: Iterable[int]) -> QuerySet[PredictionRunLog]:
    return PredictionRunLog.objects.filter(subject_id__in=list(subject_ids), success__isnull=True)
