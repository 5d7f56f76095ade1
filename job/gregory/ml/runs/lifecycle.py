"""The lifecycle of one run's PredictionRunLog row, shared by training and prediction.

The row exists before any work, so a crash at any later point is visible as a run; it is closed
exactly once: ok when the block ends normally, failed with the traceback (or the signal) when
it raises, or with the signal that stopped it (ml.runs.signals). Writes to the row outlive a
database restart (ml.runs.db_retry). While the row is open the run keeps a heartbeat
(ml.runs.liveness), so a run killed outright is later seen as lost.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator, Sequence
from typing import Literal

from django.utils import timezone

from gregory.ml.core.job_identity import job_name
from gregory.ml.runs import liveness
from gregory.ml.runs.db_retry import database_retry
from gregory.ml.runs.output import Say
from gregory.ml.runs.signals import Interrupted
from gregory.models import PredictionRunLog, Subject
from gregory.reasons import first_line, interrupted

RunType = Literal["train", "predict"]
TRIGGER_MAX = PredictionRunLog._meta.get_field("triggered_by").max_length


def triggered_by(command: str) -> str:
    """Who started the run: the Job name the launcher passes, else the command's own name."""
    return (job_name() or command)[:TRIGGER_MAX]


# Open rows of this process and their heartbeats.
_heartbeats: dict[int, liveness.Heartbeat] = {}


def start(subject: Subject, algorithm: str, run_type: RunType, trigger: str) -> PredictionRunLog:
    """The run's row, created before any work; a database error here is the command's, not the
    run's, so callers create it outside their per-run error handling."""
    row = database_retry(PredictionRunLog.objects.create)(
        team=subject.team,
        subject=subject,
        model_version="",
        algorithm=algorithm,
        run_type=run_type,
        success=None,
        triggered_by=trigger,
    )
    try:
        _heartbeats[row.pk] = liveness.Heartbeat(row, job_name())
    except BaseException as error:
        close(row, f"could not start its heartbeat: {first_line(error)}")
        raise
    return row


def heartbeat(row: PredictionRunLog) -> liveness.Heartbeat:
    return _heartbeats[row.pk]


@database_retry
def record_version(row: PredictionRunLog, version: str) -> None:
    row.model_version = version
    row.save(update_fields=["model_version"])


@contextlib.contextmanager
def closing(row: PredictionRunLog) -> Iterator[PredictionRunLog]:
    """Close `row` when the block ends: ok, or failed with the traceback or the signal.

    The block may set `row.model_version` as soon as it knows it; it is saved on close too.
    The block may close the row itself as ok (publishing does, just before the rename).
    """
    try:
        yield row
    except Interrupted as stop:
        # A signal held while the run published arrives after its row closed: that run is done.
        if row.success is None:
            close(row, interrupted(stop))
        raise
    except Exception as error:
        # Even a row already closed as ok: its version failed to publish after all.
        close(row, "".join(traceback.format_exception(error)).rstrip())
        raise
    if row.success is None:
        close(row)


def close(row: PredictionRunLog, error: str | None = None) -> None:
    row.success = error is None
    row.error_message = error
    row.run_finished = timezone.now()
    try:
        database_retry(row.save)(
            update_fields=["model_version", "success", "error_message", "run_finished"]
        )
    except BaseException:
        row.success = None  # not recorded: the row is still open as far as anyone can tell
        raise
    beat = _heartbeats.pop(row.pk, None)
    if beat is not None:
        beat.stop()


def resolve_lost(subjects: Sequence[Subject], say: Say) -> None:
    """Close as failed the open rows of these subjects whose runs are gone (killed, OOM, node
    lost, or an earlier pod of this very Job), so none stays "running" forever."""
    rows = liveness.open_rows(subject.pk for subject in subjects)
    for verdict in database_retry(liveness.resolve_lost)(rows, job_name()):
        row = verdict.row
        say(
            1,
            f"Marked {row.run_type} run #{row.pk} ({row.algorithm} "
            f"{row.model_version or 'unversioned'}) as failed: {verdict.reason}",
            "warning",
        )


def version_user(subject: Subject, algorithm: str, version: str) -> PredictionRunLog | None:
    """The training run that used `version` for this subject and algorithm, if any ever did."""
    rows = PredictionRunLog.objects.filter(
        subject=subject, algorithm=algorithm, run_type="train", model_version=version
    )
    return database_retry(rows.first)()
