"""The real job as a subprocess: exit statuses, stderr, signals and concurrent runs."""

import json
import os
import signal
import subprocess
import time

import pytest

from gregory.models import PredictionRunLog
from tests.support.articles import sample_as_import_csv


def run(manage_argv, env, *argv, timeout=120):
    return subprocess.run(
        [*manage_argv, *argv], env=env, capture_output=True, text=True, timeout=timeout
    )


def import_csv(manage_argv, env, csv_path, team="demo", subject="ms"):
    done = run(
        manage_argv,
        env,
        "import_articles",
        "--create",
        "--team",
        team,
        "--subject",
        subject,
        str(csv_path),
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def imported(manage_argv, job_env, demo_csv):
    import_csv(manage_argv, job_env, demo_csv)
    return job_env


@pytest.mark.postgres
def test_success_exits_zero_and_logs(manage_argv, imported, models_dir):
    env = {**imported, "GREGORY_TRIGGERED_BY": "job-42"}
    done = run(manage_argv, env, "train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    assert done.returncode == 0, done.stderr
    assert "Finished lgbm_tfidf for demo/ms" in done.stdout
    log = PredictionRunLog.objects.get()
    assert (log.success, log.triggered_by) == (True, "job-42")
    assert (models_dir / "demo" / "ms" / "lgbm_tfidf" / log.model_version / "metrics.json").exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--subject", "ms"], "--subject needs --team"),
        (["--team", "ghost"], "unknown team 'ghost'"),
        (["--team", "demo", "--all-articles", "--lookback-days", "9"], "exclude each other"),
        (["--team", "demo", "--algo", "svm"], "unknown algorithm svm"),
        (["--team", "demo", "--lookback-days", "many"], "invalid int value"),
    ],
)
def test_usage_error_exits_two_with_a_one_line_reason(manage_argv, imported, argv, reason):
    done = run(manage_argv, imported, "train_models", *argv)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert reason in last
    assert "Traceback" not in done.stderr
    assert not PredictionRunLog.objects.exists()


def test_failed_run_exits_one(manage_argv, job_env):
    csv_path = job_env["GREGORY_MODELS_DIR"] + "/../few.csv"
    with open(csv_path, "w") as handle:
        handle.write("link,title,summary,relevant\nu:a,a,b,1\nu:c,c,d,0\n")
    import_csv(manage_argv, job_env, csv_path, team="t", subject="s")
    done = run(manage_argv, job_env, "train_models", "--team", "t", "--algo", "lgbm_tfidf")
    assert done.returncode == 1
    assert "1 of 1 training runs failed" in done.stderr
    assert PredictionRunLog.objects.get().success is False


def test_concurrent_runs_get_distinct_versions(manage_argv, imported, models_dir):
    argv = [*manage_argv, "train_models", "--team", "demo", "--algo", "lgbm_tfidf"]
    procs = [
        subprocess.Popen(argv, env=imported, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode()
    algo_dir = models_dir / "demo" / "ms" / "lgbm_tfidf"
    versions = sorted(p.name for p in algo_dir.iterdir() if p.is_dir())
    assert len(versions) == 2 and versions[1] == versions[0] + "_2"
    # Both gated DEPLOY (nothing or the same model to compare with): the lock kept both moves.
    history = json.loads((algo_dir / "current.json").read_text())["history"]
    assert sorted(entry["version"] for entry in history) == versions
    logged = sorted(PredictionRunLog.objects.values_list("model_version", flat=True))
    assert logged == versions


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_marks_the_run_failed_and_leaves_no_version(
    manage_argv, job_env, models_dir, tmp_path, signum
):
    from gregory_dev.demo import write_demo_csv

    # Enough articles that training outlasts the time it takes to see the staging dir.
    big = write_demo_csv(tmp_path / "big.csv", n_articles=6000)
    import_csv(manage_argv, job_env, big)
    proc = subprocess.Popen(
        [*manage_argv, "train_models", "--team", "demo", "--algo", "lgbm_tfidf"],
        env=job_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    algo_dir = models_dir / "demo" / "ms" / "lgbm_tfidf"
    deadline = time.monotonic() + 60
    while not (algo_dir.exists() and any(algo_dir.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline, "run never started"
        time.sleep(0.005)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert proc.returncode == 128 + signum, err
    assert f"interrupted by {name}" in err
    log = PredictionRunLog.objects.get()
    assert log.success is False and log.run_finished is not None
    assert f"interrupted by {name}" in log.error_message
    assert list(algo_dir.iterdir()) == []


def test_real_sample_trains_through_the_command(manage_argv, job_env, models_dir, tmp_path, report):
    csv_path = sample_as_import_csv(tmp_path / "sample.csv")
    done = import_csv(manage_argv, job_env, csv_path, team="ms", subject="relevance")
    assert "333 articles" in done.stdout
    done = run(
        manage_argv,
        job_env,
        "train_models",
        "--team",
        "ms",
        "--algo",
        "lgbm_tfidf",
        "--all-articles",
        "--prob-threshold",
        "0.5",
        "--version",
        "sample",
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads(
        (models_dir / "ms" / "relevance" / "lgbm_tfidf" / "sample" / "metrics.json").read_text()
    )
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (233, 50, 50)
    report(
        f"ms_relevance_sample, lgbm_tfidf: test roc_auc {metrics['test_roc_auc']:.3f}, "
        f"pr_auc {metrics['test_pr_auc']:.3f}, f1@0.5 {metrics['test_f1']:.3f}"
    )
    assert metrics["test_roc_auc"] > 0.7


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///{tmp}/empty.sqlite3", "run `manage.py migrate`"),
        ("postgres://nobody@127.0.0.1:9/none", "database error: connection failed"),
    ],
)
@pytest.mark.parametrize("command", ["train_models", "import_articles"])
def test_a_database_it_cannot_use_is_one_line(manage_argv, tmp_path, url, reason, command):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("link,title,summary,relevant\nu:t,t,s,1\n")
    argv = {
        "train_models": ["train_models", "--team", "demo"],
        "import_articles": ["import_articles", "--team", "demo", "--subject", "s", str(csv_path)],
    }[command]
    env = {**os.environ, "DATABASE_URL": url.format(tmp=tmp_path)}
    done = run(manage_argv, env, *argv)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and reason in done.stderr
