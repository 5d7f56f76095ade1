"""The lifecycle of one run's PredictionRunLog row, shared by training and prediction.

The row exists before any work, so a crash at any later point is visible as a run; it is closed
exactly once: ok when the block ends normally, failed with the traceback (or the signal) when
it raises. SIGTERM and SIGINT become `Interrupted`, so the row and the staging directory of the
run they stop are cleaned up on the way out. Writes to the row outlive a database restart: a
lost connection is reopened and the write retried for up to DB_RETRY_SECONDS. While the row is
open the run keeps a heartbeat (ml.liveness), so a run killed outright is later seen as lost.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import tenacity
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from gregory.ml.core.job_identity import job_name
from gregory.ml.runs import liveness
from gregory.models import PredictionRunLog, Subject

RunType = Literal["train", "predict"]
Style = Literal["success", "warning", "error"]
# How the package speaks to the operator: (verbosity level, message, style); the command
# decides where it goes and how it is coloured.
Say = Callable[[int, str, Style | None], None]
TRIGGER_MAX = PredictionRunLog._meta.get_field("triggered_by").max_length
log = logging.getLogger(__name__)
# A PostgreSQL failover or restart takes seconds to a minute; SQLite gives up a lock after 30 s.
DB_RETRY_SECONDS = 120.0


def _reconnect(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("database unavailable (%s); reconnecting", first_line(error) if error else "?")
    # Django keeps a broken connection until told: drop it, so the retry opens a new one.
    with contextlib.suppress(Exception):
        connection.close()


database_retry = tenacity.retry(
    retry=tenacity.retry_if_exception_type((OperationalError, InterfaceError)),
    wait=tenacity.wait_exponential(multiplier=0.5, max=10),
    stop=tenacity.stop_after_delay(DB_RETRY_SECONDS),
    before_sleep=_reconnect,
    reraise=True,
)


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived; a BaseException, so no trainer's `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Signals that arrived inside `held_signals()`, delivered when it ends; None outside it.
_held: list[int] | None = None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into Interrupted for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        if _held is not None:
            _held.append(signum)
            return
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGTERM/SIGINT back for a few steps that must not be cut in half, then raise the
    first that came (as Interrupted) when the block ends."""
    global _held
    outer, _held = _held, [] if _held is None else _held
    try:
        yield
    finally:
        pending, _held = _held, outer
        # Even over an exception of the block: a stop request must not be lost.
        if outer is None and pending:
            raise Interrupted(pending[0])


def triggered_by(command: str) -> str:
    """Who started the run: the Job name the launcher passes, else the command's own name."""
    return (job_name() or command)[:TRIGGER_MAX]


# Open rows of this process and their heartbeats.
_heartbeats: dict[int, liveness.Heartbeat] = {}


@dataclass
class Outcome:
    """What one (subject, algorithm) run came to, for the summary and the exit status."""

    subject: Subject
    algorithm: str
    version: str
    success: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def scope(self) -> str:
        return f"{self.subject.team.slug}/{self.subject.subject_slug}"


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
            close(row, f"interrupted by {stop}")
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


def summary_table(
    outcomes: Sequence[Outcome], columns: Sequence[str], cell: Callable[[Any], str]
) -> list[str]:
    """One aligned line per run: its scope, algorithm, version, status, then `columns` of its
    metrics formatted by `cell` ("-" where a run has none), for verbosity 3."""
    header = ["team/subject", "algorithm", "version", "status", *columns]
    rows = [
        [
            o.scope,
            o.algorithm,
            o.version or "-",
            "ok" if o.success else "FAILED",
            *(cell(o.metrics[c]) if c in o.metrics else "-" for c in columns),
        ]
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]


def report_failure(label: str, error: Exception, row: PredictionRunLog | None, say: Say) -> str:
    """Tell the operator a run failed, in one line, and where its traceback is; the reason."""
    reason = first_line(error)
    say(1, f"Failed {label}: {reason}", "error")
    if row is not None:
        say(
            2,
            f"Warning: skipped {label}; the traceback is in PredictionRunLog #{row.pk}",
            "warning",
        )
    return reason


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
