"""Pinned hub models: the revision reaches from_pretrained, offline, from a seeded HF cache.

The cache is laid out as huggingface_hub lays it out (`hub/models--<org>--<name>/snapshots/
<commit>/`), holding the tiny BERT under a hub id, so nothing reaches the network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gregory import exit_codes
from gregory.ml.core import layout
from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team
from tests.support.data import load_sample

HUB_ID = "gregory-test/tiny-bert"
PINNED = "0123456789abcdef0123456789abcdef01234567"
OTHER = "89abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture
def hf_home(tmp_path: Path, tiny_models: dict[str, Path]) -> Path:
    """An HF cache that holds the tiny BERT as HUB_ID at revision PINNED only."""
    home = tmp_path / "hf"
    repo = home / "hub" / f"models--{HUB_ID.replace('/', '--')}"
    shutil.copytree(tiny_models["bert"], repo / "snapshots" / PINNED)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(PINNED)
    return home


def run_job(manage_argv, env, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*manage_argv, *argv], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def hub_env(job_env, hf_home: Path) -> dict[str, str]:
    return {
        **job_env,
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "GREGORY_BERT_MODEL": HUB_ID,
        "GREGORY_BERT_REVISION": PINNED,
        "GREGORY_SUMMARISER": "off",
    }


def test_download_models_finds_the_pinned_snapshot(manage_argv, hub_env, hf_home):
    done = run_job(manage_argv, hub_env, "download_models", "--only", "bert")
    assert done.returncode == 0, done.stderr
    snapshot = hf_home / "hub" / f"models--{HUB_ID.replace('/', '--')}" / "snapshots" / PINNED
    assert done.stdout.strip() == f"bert: {HUB_ID}@{PINNED} → {snapshot}"

    done = run_job(
        manage_argv,
        {**hub_env, "GREGORY_BERT_REVISION": OTHER},
        "download_models",
        "--only",
        "bert",
    )
    assert done.returncode == exit_codes.RUN_FAILED
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"CommandError: bert model {HUB_ID}: ")


@pytest.mark.slow
def test_training_loads_the_pinned_revision_and_records_it(manage_argv, hub_env, models_dir):
    team = Team.objects.create(name="Demo", slug="demo")
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    texts, labels, _ = load_sample()
    for n, (text, label) in enumerate(zip(texts[:40], labels[:40], strict=True)):
        article = Articles.objects.create(
            title=" ".join(text.split()[:14]), link=f"urn:gregory-test:{n}"
        )
        ArticleSubjectRelevance.objects.create(
            article=article, subject=subject, is_relevant=bool(label)
        )
    argv = ("train_models", "--team", "demo", "--algo", "pubmed_bert", "--all-articles")
    # Another revision is not in the cache: the pin is what from_pretrained asks for.
    done = run_job(manage_argv, {**hub_env, "GREGORY_BERT_REVISION": OTHER}, *argv)
    assert done.returncode == exit_codes.RUN_FAILED
    done = run_job(manage_argv, hub_env, *argv)
    assert done.returncode == 0, done.stderr
    algo_dir = models_dir / "demo" / "ms" / "pubmed_bert"
    version = algo_dir / layout.published_versions(algo_dir)[-1]
    metrics = json.loads((version / layout.METRICS_FILE).read_text())
    assert metrics["bert_revision"] == PINNED
    assert metrics["summariser_revision"] is None
    config = json.loads((version / "bert_config.json").read_text())
    assert (config["base_model"], config["base_model_revision"]) == (HUB_ID, PINNED)
