"""predict_articles through a PostgreSQL restart: its reads and its batch writes are retried over
a new connection, as train_models' are, and the run ends ok with every score written once.

To hit a read or a write that is not the run row's own, the test holds a table lock from a
connection of its own, waits until the job is blocked on it, then restarts the server: the
blocked statement dies with the connection, at a known point of the run.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connections

from gregory.models import Articles, MLPredictions, PredictionRunLog, Subject
from gregory_dev.demo import write_demo_csv
from tests.faults.conftest import Run

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def trained_through_subprocesses(
    manage: Run, subject: Subject, tmp_path: Path, models_dir: Path
) -> Subject:
    csv_path = write_demo_csv(tmp_path / "demo.csv", n_articles=120)
    done = manage("import_articles", "--team", "demo", "--subject", "ms", str(csv_path))
    assert done.returncode == 0, done.stderr
    done = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    assert done.returncode == 0, done.stderr
    return subject


def lock_holder() -> psycopg.Connection:
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params)


def wait_until_blocked(holder: psycopg.Connection, job: subprocess.Popen, timeout: float = 120):
    """Until another backend waits for a lock (the job, on the held table)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert job.poll() is None, "the job ended before reaching the locked table"
        waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.2)
    raise AssertionError("the job never waited on the locked table")


@pytest.mark.parametrize(
    ("table", "mode"),
    [
        # Reads: the candidates query reads the predictions table first.
        ("gregory_mlpredictions", "ACCESS EXCLUSIVE"),
        # Writes: reads of articles pass, the batch's transaction (its foreign key checks and
        # the ml_score/relevant recompute's row locks) waits.
        ("articles", "EXCLUSIVE"),
    ],
    ids=["read", "write"],
)
def test_a_database_restart_mid_prediction_is_survived(
    trained_through_subprocesses, manage_argv, job_env, postgres_server, table, mode
):
    holder = lock_holder()
    holder.execute(f"LOCK TABLE {table} IN {mode} MODE")  # held until the restart ends it
    job = subprocess.Popen(
        [*manage_argv, "predict_articles", "--team", "demo", "--algo", "lgbm_tfidf"],
        env=job_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_blocked(holder, job)
        postgres_server.restart(down_seconds=2)
        out, err = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
        holder.close()
    connections.close_all()  # this test's own connection died with the server too
    assert job.returncode == 0, out + err
    assert "reconnecting" in err  # the fault did reach the job, past the run row's writes
    assert "Traceback" not in out + err
    row = PredictionRunLog.objects.get(run_type="predict")
    assert row.success is True and row.run_finished is not None
    scored = MLPredictions.objects.filter(algorithm="lgbm_tfidf", model_version=row.model_version)
    assert scored.count() == scored.values("article").distinct().count() > 0
    assert f"wrote {scored.count()} predictions ({scored.count()} new" in out
    # The derived fields were written with the batch: every scored article has its ml_score.
    assert not Articles.objects.filter(pk__in=scored.values("article"), ml_score=None).exists()
