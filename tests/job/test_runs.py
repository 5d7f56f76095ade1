"""gregory.ml.runs as units: signals held and delivered, a run judged alive or lost by its
heartbeat, and database calls retried over a lost connection. The same modules under real
faults (a killed job, a full disk, a database restart) are in tests/faults/test_run_faults.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import tenacity
from django.db import OperationalError

from gregory.ml.runs import db_retry, liveness, signals
from gregory.models import PredictionRunLog, Subject
from gregory.reasons import lost


def test_a_signal_becomes_interrupted_inside_stop_on_signals() -> None:
    # Whatever this process started with (a background job starts with SIGINT ignored).
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(signals.Interrupted, match="SIGINT"), signals.stop_on_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler runs between bytecodes: never reached
    # Outside the block the previous handler is back.
    assert signal.getsignal(signal.SIGINT) is before


def test_a_held_signal_is_delivered_when_the_held_steps_end() -> None:
    steps = []
    with pytest.raises(signals.Interrupted, match="SIGTERM"), signals.stop_on_signals():
        with signals.held_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("first")
            with signals.held_signals():  # nested: still held until the outer block ends
                steps.append("second")
            steps.append("third")
        steps.append("never")
    assert steps == ["first", "second", "third"]


@pytest.fixture
def open_row(subject: Subject, models_dir: Path) -> PredictionRunLog:
    return PredictionRunLog.objects.create(
        team=subject.team, subject=subject, model_version="v1", run_type="train"
    )


def write_heartbeat(row: PredictionRunLog, **owner: object) -> Path:
    path = liveness.heartbeat_path(row.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(owner))
    return path


def test_a_heartbeat_file_lives_as_long_as_its_run(open_row: PredictionRunLog) -> None:
    beat = liveness.Heartbeat(open_row, job="night-1")
    owner = json.loads(beat.path.read_text())
    assert owner == {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "job": "night-1",
        "row": open_row.pk,
    }
    assert liveness.judge(open_row) is None
    beat.stop()
    assert not beat.path.exists()


def test_a_run_whose_process_ended_on_this_host_is_lost(open_row: PredictionRunLog) -> None:
    exited = subprocess.Popen(["true"])
    exited.wait()
    write_heartbeat(open_row, host=socket.gethostname(), pid=exited.pid)
    assert liveness.judge(open_row) == f"process {exited.pid} on {socket.gethostname()} ended"


def test_a_run_elsewhere_is_lost_once_its_heartbeat_is_stale(open_row: PredictionRunLog) -> None:
    path = write_heartbeat(open_row, host="another-pod", pid=1)
    assert liveness.judge(open_row) is None
    later = time.time() + liveness.LOST_AFTER_SECONDS + 5
    assert liveness.judge(open_row, now=later).startswith("no heartbeat from another-pod for ")
    assert path.exists()  # judging removes nothing; closing does


def test_an_open_row_of_the_same_job_belongs_to_an_ended_pod(open_row: PredictionRunLog) -> None:
    write_heartbeat(open_row, host="pod-a", pid=os.getpid() + 1, job="night-1")
    assert liveness.judge(open_row, job="night-1") == "a new pod of Job night-1 started"
    assert liveness.judge(open_row, job="night-2") is None


def test_a_row_without_a_heartbeat_here_is_lost_only_after_a_day(
    open_row: PredictionRunLog,
) -> None:
    started = open_row.run_started.timestamp()
    assert liveness.judge(open_row, now=started + 3600) is None
    day_later = started + liveness.UNSEEN_LOST_AFTER_SECONDS + 1
    assert liveness.judge(open_row, now=day_later) == (
        "no heartbeat in this models directory for a day"
    )


def test_resolve_lost_closes_a_lost_row_once(open_row: PredictionRunLog) -> None:
    exited = subprocess.Popen(["true"])
    exited.wait()
    path = write_heartbeat(open_row, host=socket.gethostname(), pid=exited.pid)
    rows = PredictionRunLog.objects.all()
    (verdict,) = liveness.resolve_lost(rows)
    assert verdict.reason == lost(f"process {exited.pid} on {socket.gethostname()} ended")
    open_row.refresh_from_db()
    assert open_row.success is False and open_row.error_message == verdict.reason
    assert open_row.run_finished is not None  # the last heartbeat
    assert not path.exists()
    assert liveness.resolve_lost(rows) == []
    assert not liveness.mark_lost(open_row, "lost: again")


def test_a_lost_connection_is_retried_and_another_error_is_not() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "done"

    quick = db_retry.database_retry(flaky).retry_with(wait=tenacity.wait_none())
    assert quick() == "done" and len(calls) == 3

    def broken() -> None:
        calls.append(1)
        raise ValueError("not the database")

    calls.clear()
    with pytest.raises(ValueError):
        db_retry.database_retry(broken).retry_with(wait=tenacity.wait_none())()
    assert len(calls) == 1
