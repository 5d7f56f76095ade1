"""Configuration the job and the launcher cannot work with, and usage errors, from a shell:
one line on stderr naming the problem, exit status 2 (retrying the same command cannot help),
never a traceback, nothing written."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gregory.models import PredictionRunLog
from tests.faults.conftest import GREGORY_LAUNCH, assert_one_line_error, run_process
from tests.support.paths import MANAGE

JOB = {
    "manage.py": [sys.executable, str(MANAGE)],
    "python -m gregory_train": [sys.executable, "-m", "gregory_train"],
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No cluster, a launcher registry and a database URL of this test's own."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("KUBERNETES_SERVICE_HOST", "GREGORY_BACKEND", "GREGORY_TRIGGERED_BY")
    }
    environ.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'gregory.sqlite3'}",
        GREGORY_LAUNCHER_DIR=str(tmp_path / "launcher"),
        GREGORY_MODELS_DIR=str(tmp_path / "models"),
        KUBECONFIG=str(tmp_path / "no-kubeconfig"),
    )
    return environ


BAD_URLS = [
    ("bogus://x", "scheme 'bogus' is not a database"),
    ("", "DATABASE_URL is set but empty"),
    ("postgres://user:p@ss:word@host:port/db", "DATABASE_URL is not a valid URL"),
]


@pytest.mark.parametrize("entry", sorted(JOB))
@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_malformed_database_url_stops_the_job_in_one_line(env, entry, url, reason):
    done = run_process(
        [*JOB[entry], "train_models", "--team", "demo"], {**env, "DATABASE_URL": url}
    )
    line = assert_one_line_error(done, 2, "train_models: error:", reason)
    assert "p@ss" not in line  # the URL, and its password, are never echoed


@pytest.mark.parametrize(
    "argv", [["status"], ["submit", "--team", "demo", "--dry-run"]], ids=["status", "submit"]
)
@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_malformed_database_url_stops_the_launcher_in_one_line(env, argv, url, reason):
    done = run_process([GREGORY_LAUNCH, "--backend", "local", *argv], {**env, "DATABASE_URL": url})
    assert_one_line_error(done, 2, "gregory-launch: error: database not configured", reason)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train_models", "--team", "demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["train_models", "--team"], "argument --team: expected one argument"),
        (["predict_articles", "--team", "demo", "--verbose", "x"], "argument --verbose: invalid"),
        (["import_articles", "a.csv"], "the following arguments are required: --team"),
        (["promote_version", "--team", "demo"], "the following arguments are required"),
    ],
)
@pytest.mark.parametrize("entry", sorted(JOB))
def test_a_usage_error_of_the_job_is_one_line(env, entry, argv, message):
    done = run_process([*JOB[entry], *argv], env)
    assert_one_line_error(done, 2, f"{argv[0]}: error: {message}")
    assert not (Path(env["GREGORY_MODELS_DIR"])).exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit", "--team", "demo", "--bogus"], "gregory-launch: error: unrecognized arguments"),
        (["submit", "--team"], "gregory-launch submit: error: argument --team: expected one"),
        (["status", "-o", "yaml"], "gregory-launch status: error: argument -o/--output: invalid"),
        (["launch"], "gregory-launch: error: argument COMMAND: invalid choice: 'launch'"),
    ],
)
def test_a_usage_error_of_the_launcher_is_one_line(env, argv, message):
    done = run_process([GREGORY_LAUNCH, *argv], env)
    assert_one_line_error(done, 2, message)
    assert not Path(env["GREGORY_LAUNCHER_DIR"]).exists()


KUBECONFIGS = {
    "not-yaml": ("{{{\n", "is not valid YAML"),
    "no-contexts": ("apiVersion: v1\nkind: Config\nclusters: []\n", "current-context"),
    "missing-context": (
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\ncontexts: []\n",
        "Expected object with name gone",
    ),
    "a-list": ("- clusters\n- contexts\n", "is not a kubeconfig"),
    "empty": ("", "is empty"),
}


@pytest.mark.parametrize(
    "argv", [["status"], ["submit", "--team", "demo"]], ids=["status", "submit"]
)
@pytest.mark.parametrize("kind", sorted(KUBECONFIGS))
def test_a_malformed_kubeconfig_is_one_line(env, tmp_path, argv, kind):
    text, reason = KUBECONFIGS[kind]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    done = run_process([GREGORY_LAUNCH, *argv], {**env, "KUBECONFIG": str(kubeconfig)})
    assert_one_line_error(done, 2, "cannot load the Kubernetes configuration", reason)
    assert kubeconfig.read_text() == text
    assert not Path(env["GREGORY_LAUNCHER_DIR"]).exists()


def test_a_launcher_dir_that_is_a_file_is_one_line(env, tmp_path):
    launcher = tmp_path / "launcher"
    launcher.write_text("not a directory\n")
    for argv in (["status"], ["submit", "--team", "demo"], ["logs", "x"]):
        done = run_process([GREGORY_LAUNCH, "--backend", "local", *argv], env)
        assert_one_line_error(done, 2, f"launcher directory {launcher}", "is a file")
    nested = {**env, "GREGORY_LAUNCHER_DIR": str(launcher / "runs")}
    done = run_process([GREGORY_LAUNCH, "--backend", "local", "status"], nested)
    assert_one_line_error(done, 2, f"{launcher} is a file, not a directory")
    assert launcher.read_text() == "not a directory\n"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_launcher_dir_it_cannot_write_is_one_line_and_starts_nothing(job_env, tmp_path):
    from gregory.models import Subject, Team

    team = Team.objects.create(name="Demo", slug="demo")
    Subject.objects.create(team=team, subject_name="MS", subject_slug="ms", auto_predict=True)
    # Even root cannot create a directory in sysfs, so this holds under any user.
    unwritable = Path("/sys/gregory-launcher-test")
    try:
        unwritable.mkdir()
    except OSError:
        pass
    else:
        unwritable.rmdir()
        pytest.skip("/sys is writable here")
    env = {
        **job_env,
        "GREGORY_LAUNCHER_DIR": str(unwritable),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    done = run_process([GREGORY_LAUNCH, "--backend", "local", "submit", "--team", "demo"], env)
    backend, *rest = done.stderr.strip().splitlines()
    assert backend.startswith("backend: local")
    done.stderr = "\n".join(rest)
    assert_one_line_error(done, 2, f"cannot create a run directory under {unwritable}/runs")
    assert not PredictionRunLog.objects.exists()


def test_an_unknown_backend_in_the_environment_is_one_line(env):
    done = run_process([GREGORY_LAUNCH, "status"], {**env, "GREGORY_BACKEND": "cloud"})
    assert_one_line_error(done, 2, "unknown backend 'cloud'; choose from auto, local, kubernetes")


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("GREGORY_CHECKPOINT_EVERY_S", "10m", "GREGORY_CHECKPOINT_EVERY_S='10m' is not a number"),
        ("GREGORY_SUMMARISER_BATCH", "0", "GREGORY_SUMMARISER_BATCH='0' is not auto, tokens"),
        ("GREGORY_TORCH_COMPILE", "maybe", "GREGORY_TORCH_COMPILE='maybe' is neither on"),
    ],
)
@pytest.mark.parametrize("command", ["train_models", "predict_articles"])
def test_a_mistyped_setting_stops_the_job_before_any_run(env, command, setting, value, message):
    done = run_process([*JOB["manage.py"], command, "--team", "demo"], {**env, setting: value})
    assert_one_line_error(done, 2, f"CommandError: {message}")
    assert not (Path(env["GREGORY_MODELS_DIR"])).exists()
