"""Runs that meet a fault lose nothing: the real job as a subprocess, real signals, a real full
disk and a real database restart.

After every fault: the runs it touched are closed with a one-line reason, nothing half-written
is published or left in staging, a published version has a successful row and a successful
row its published version, and no version name is used twice.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from gregory.ml.runs import liveness
from gregory.ml.store import publishing
from gregory.models import PredictionRunLog, Subject
from gregory_dev.demo import write_demo_csv
from tests.faults.conftest import GREGORY_LAUNCH, Run, run_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = dt.date.today().strftime("%Y%m%d")


@pytest.fixture
def demo(manage: Run, subject: Subject, tmp_path: Path) -> Subject:
    csv_path = write_demo_csv(tmp_path / "demo.csv", n_articles=120)
    done = manage("import_articles", "--team", "demo", "--subject", "ms", str(csv_path))
    assert done.returncode == 0, done.stderr
    return subject


class Job:
    """The real train_models, started in the background and read line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []

    def wait_for(self, text: str) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"the job ended before printing {text!r}: {self.lines}")

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.lines) + out, err


@pytest.fixture
def start_job(manage_argv: list[str], job_env: dict[str, str]) -> Iterator:
    jobs: list[Job] = []

    def start(*argv: str, **env: str) -> Job:
        jobs.append(Job([*manage_argv, "train_models", *argv], {**job_env, **env}))
        return jobs[-1]

    yield start
    for job in jobs:
        if job.process.poll() is None:
            job.process.kill()
            job.process.communicate()


def algo_dir(models_dir: Path, algorithm: str) -> Path:
    return models_dir / "demo" / "ms" / algorithm


def staging_left(models_dir: Path) -> list[str]:
    return [str(p) for p in models_dir.rglob(f"{publishing.STAGING_PREFIX}*")]


def heartbeats_left(models_dir: Path) -> list[str]:
    return [p.name for p in (models_dir / liveness.RUNS_DIR).glob("*")]


def assert_consistent(models_dir: Path) -> None:
    """Published versions and successful rows match one to one; names are never shared."""
    connections.close_all()  # the test's own connection may predate a server restart
    rows = PredictionRunLog.objects.filter(run_type="train")
    ok = {(r.algorithm, r.model_version) for r in rows if r.success}
    published = {
        (d.parent.name, d.name)
        for d in models_dir.glob("demo/ms/*/*")
        if d.is_dir() and not d.name.startswith(".")
    }
    assert ok == published
    names = [(r.algorithm, r.model_version) for r in rows if r.model_version]
    assert len(names) == len(set(names)), names
    assert not staging_left(models_dir)
    assert not PredictionRunLog.objects.filter(success__isnull=True).exists()


def version_in(line: str) -> str:
    return line.split("(version ", 1)[1].split(")", 1)[0]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KB tmpfs: room for the run's bookkeeping, not for an LSTM's weights."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or 'not root'}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_run_and_publishes_nothing(manage: Run, demo, small_disk: Path):
    done = manage(
        "train_models",
        "--team",
        "demo",
        "--algo",
        "lstm,lgbm_tfidf",
        GREGORY_MODELS_DIR=str(small_disk),
    )
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in done.stdout
    assert done.stderr.strip().splitlines()[-1].endswith("of 2 training runs failed")
    rows = PredictionRunLog.objects.filter(algorithm="lstm")
    assert [r.success for r in rows] == [False]
    assert "No space left on device" in rows[0].error_message
    assert not staging_left(small_disk) and not heartbeats_left(small_disk)
    assert not [p for p in algo_dir(small_disk, "lstm").iterdir() if not p.name.startswith(".")]
    assert_consistent(small_disk)


def test_a_database_restart_mid_run_is_survived(start_job, demo, models_dir, postgres_server):
    # lgbm_tfidf first: the data is read then, and the restart hits lstm mid-training.
    job = start_job("--team", "demo", "--algo", "lgbm_tfidf,lstm")
    job.wait_for("Started lstm")
    postgres_server.restart(down_seconds=2)
    connections.close_all()  # this test's own connection died with the server too
    code, out, err = job.finish()
    assert code == 0, err
    assert "reconnecting" in err  # the fault did reach the job
    assert "Finished lstm" in out and "Finished lgbm_tfidf" in out
    assert_consistent(models_dir)
    assert PredictionRunLog.objects.filter(success=True).count() == 2


def test_a_killed_run_is_marked_lost_and_its_version_never_reused(
    start_job, manage: Run, demo, models_dir
):
    job = start_job("--team", "demo", "--algo", "lstm")
    killed_version = version_in(job.wait_for("Started lstm"))
    job.process.send_signal(signal.SIGKILL)
    job.finish()
    killed = PredictionRunLog.objects.get()
    assert killed.success is None and killed.model_version == killed_version
    assert staging_left(models_dir)  # SIGKILL leaves no chance to clean up

    done = manage("train_models", "--team", "demo", "--algo", "lstm")
    assert done.returncode == 0, done.stderr
    killed.refresh_from_db()
    assert killed.success is False
    assert killed.error_message.startswith(f"lost: process {job.process.pid} on ")
    assert f"Marked train run #{killed.pk} (lstm {killed_version}) as failed: lost:" in done.stdout
    new = PredictionRunLog.objects.exclude(pk=killed.pk).get()
    assert new.success and new.model_version == f"{killed_version}_2"
    assert_consistent(models_dir)

    # The name of the lost run stays its own, even asked for by hand.
    done = manage("train_models", "--team", "demo", "--algo", "lstm", "--version", killed_version)
    assert done.returncode == 2
    assert f"was used by run #{killed.pk} (failed)" in done.stderr.strip().splitlines()[-1]


def test_after_a_data_failure_every_run_gives_the_reason(manage: Run, subject, tmp_path):
    few = tmp_path / "few.csv"
    few.write_text("link,title,summary,relevant\nu:a,a b c,d e f,1\nu:c,c d e,f g h,0\n")
    assert manage("import_articles", "--team", "demo", "--subject", "ms", str(few)).returncode == 0
    done = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf,lstm")
    assert done.returncode == 1
    failures = [line for line in done.stdout.splitlines() if line.startswith("Failed")]
    assert len(failures) == 2 and "Traceback" not in done.stdout
    first_reason = failures[0].split(": ", 1)[1]
    assert failures[1].endswith(f"preparing the data failed: {first_reason}")
    rows = PredictionRunLog.objects.order_by("pk")
    assert f"SubjectDataError: preparing the data failed: {first_reason}\n" in rows[1].error_message

    # A failed run keeps its version name: the next run takes the next one.
    again = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    assert again.returncode == 1
    versions = [r.model_version for r in PredictionRunLog.objects.filter(algorithm="lgbm_tfidf")]
    assert versions == [TODAY, f"{TODAY}_2"]


def test_stale_staging_does_not_block_a_version(manage: Run, demo, models_dir):
    exited = subprocess.Popen(["true"])
    exited.wait()
    stale = algo_dir(models_dir, "lgbm_tfidf") / f"{publishing.STAGING_PREFIX}v7"
    stale.mkdir(parents=True)
    owner = {"host": socket.gethostname(), "pid": exited.pid, "started": 0}
    (stale / publishing.OWNER_FILE).write_text(json.dumps(owner))
    done = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--version", "v7")
    assert done.returncode == 0, done.stderr
    assert (algo_dir(models_dir, "lgbm_tfidf") / "v7" / "metrics.json").exists()
    assert_consistent(models_dir)


def test_a_second_signal_during_cleanup_leaves_nothing(start_job, demo, models_dir):
    job = start_job("--team", "demo", "--algo", "lstm")
    job.wait_for("Started lstm")
    job.process.send_signal(signal.SIGTERM)
    job.process.send_signal(signal.SIGINT)
    code, out, err = job.finish()
    # Both may be pending before the job runs again, and the kernel then delivers the lower
    # number (SIGINT) first: whichever came first names the stop, and the second changes nothing.
    first = {128 + s: s.name for s in (signal.SIGTERM, signal.SIGINT)}.get(code)
    assert first, err
    assert err.strip().splitlines()[-1].endswith(f"interrupted by {first}")
    row = PredictionRunLog.objects.get()
    assert (row.success, row.error_message) == (False, f"interrupted by {first}")
    assert not heartbeats_left(models_dir)
    assert_consistent(models_dir)


def test_a_retried_pod_of_a_job_publishes_no_duplicates(start_job, manage: Run, demo, models_dir):
    job_name = "gregory-train-demo-ms-r1"
    first_pod = start_job(
        "--team", "demo", "--algo", "lgbm_tfidf,lstm", GREGORY_TRIGGERED_BY=job_name
    )
    first_pod.wait_for("Started lstm")
    first_pod.process.send_signal(signal.SIGKILL)  # evicted, OOM-killed, node lost
    first_pod.finish()

    retry = manage(
        "train_models", "--team", "demo", "--algo", "lgbm_tfidf,lstm", GREGORY_TRIGGERED_BY=job_name
    )
    assert retry.returncode == 0, retry.stderr
    assert f"Skipped lgbm_tfidf for demo/ms: this Job ({job_name}) already published" in (
        retry.stdout
    )
    rows = PredictionRunLog.objects.order_by("pk")
    assert [(r.algorithm, r.success) for r in rows] == [
        ("lgbm_tfidf", True),
        ("lstm", False),
        ("lstm", True),
    ]
    assert rows[1].error_message.startswith("lost: ")
    assert len([p for p in algo_dir(models_dir, "lgbm_tfidf").iterdir() if p.is_dir()]) == 1
    assert_consistent(models_dir)


def test_the_launcher_closes_a_lost_manual_run(start_job, demo, models_dir, job_env, tmp_path):
    job = start_job("--team", "demo", "--algo", "lstm")
    job.wait_for("Started lstm")
    job.process.send_signal(signal.SIGKILL)
    job.finish()
    env = {
        **job_env,
        "GREGORY_BACKEND": "local",
        "GREGORY_LAUNCHER_DIR": str(tmp_path / "launcher"),
    }
    done = run_process([GREGORY_LAUNCH, "status"], env)
    assert done.returncode == 0, done.stderr
    row = PredictionRunLog.objects.get()
    assert row.success is False
    assert row.error_message.startswith(f"lost: process {job.process.pid} on ")
    assert "lost" in done.stdout


@pytest.mark.slow
def test_sqlite_locked_beyond_its_timeout_is_waited_out(start_job, demo, models_dir, database_kind):
    if database_kind != "sqlite":
        pytest.skip("SQLite's lock: the PostgreSQL restart is the test of this pass")
    import sqlite3
    import time

    path = connections["default"].settings_dict["NAME"]
    job = start_job("--team", "demo", "--algo", "lgbm_tfidf")
    job.wait_for("Started lgbm_tfidf")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # longer than the job's 30 s busy timeout
    time.sleep(40)
    blocker.execute("ROLLBACK")
    blocker.close()
    code, out, err = job.finish()
    assert code == 0, err
    assert "database is locked" in err and "reconnecting" in err
    assert_consistent(models_dir)
