"""download_models: a local model directory is checked to load; a hub id that cannot be fetched
fails with one line and a non-zero exit, not a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gregory import exit_codes
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from gregory_dev.tiny_models import build_tiny_models

    configured = os.environ.get("GREGORY_TINY_MODELS_DIR")
    out = Path(configured) if configured else tmp_path_factory.mktemp("tiny-models")
    return build_tiny_models(out)


def download(manage_argv, env, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*manage_argv, "download_models", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


def test_local_models_are_checked_to_load(manage_argv, job_env, tiny_models):
    env = {
        **job_env,
        "GREGORY_BERT_MODEL": str(tiny_models["bert"]),
        "GREGORY_SUMMARISER_MODEL": str(tiny_models["bart"]),
        # A pin means nothing for a local directory: it is not passed on.
        "GREGORY_BERT_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "HF_HUB_OFFLINE": "1",
        "GREGORY_SUMMARISER": "bart",
    }
    done = download(manage_argv, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"bert: {tiny_models['bert']} (local directory, loads) → {tiny_models['bert']}",
        f"summariser: {tiny_models['bart']} (local directory, loads) → {tiny_models['bart']}",
    ]
    assert done.stderr == ""


def test_a_summariser_turned_off_is_not_fetched(manage_argv, job_env, tiny_models):
    env = {**job_env, "GREGORY_BERT_MODEL": str(tiny_models["bert"]), "GREGORY_SUMMARISER": "off"}
    # A hub id that is not cached: fetching it would fail offline.
    env.update(GREGORY_SUMMARISER_MODEL="gregory-test/not-in-the-cache", HF_HUB_OFFLINE="1")
    done = download(manage_argv, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "summariser: off (GREGORY_SUMMARISER=off), not fetched"


def test_a_broken_local_model_fails_in_one_line(manage_argv, job_env, tiny_models, tmp_path):
    broken = tmp_path / "bert"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    env = {**job_env, "GREGORY_BERT_MODEL": str(broken), "HF_HUB_OFFLINE": "1"}
    done = download(manage_argv, env, "--only", "bert")
    assert done.returncode == exit_codes.RUN_FAILED
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"CommandError: bert model {broken}: ")


def test_an_uncached_hub_model_offline_fails_in_one_line(manage_argv, job_env, tmp_path):
    env = {
        **job_env,
        "GREGORY_BERT_MODEL": "gregory-test/not-in-the-cache",
        "GREGORY_BERT_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "empty-cache"),
    }
    done = download(manage_argv, env, "--only", "bert")
    assert done.returncode == exit_codes.RUN_FAILED
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("CommandError: bert model gregory-test/not-in-the-cache: ")
    assert not (
        tmp_path / "empty-cache" / "hub" / "models--gregory-test--not-in-the-cache"
    ).exists()
