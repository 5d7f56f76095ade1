"""The summary cache with the tiny BART: hits never reach the model, a whole run included."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gregory.ml.core import layout
from gregory.ml.data import summariser
from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team
from tests.support.data import load_sample


@pytest.fixture(scope="module")
def texts() -> list[str]:
    sample, _, _ = load_sample()
    return sample[:10]


def test_a_second_pass_is_answered_from_the_cache(settings, tmp_path, texts):
    uncached = summariser.summarise_bulk(texts)
    settings.GREGORY_SUMMARY_CACHE_DIR = str(tmp_path / "cache")
    before = (summariser.STATS.generated, summariser.STATS.cache_hits)
    first = summariser.summarise_bulk([*texts[:6], "", None])
    assert (summariser.STATS.generated - before[0], summariser.STATS.cache_hits - before[1]) == (
        6,
        0,
    )
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 6
    # Only the four new texts reach BART; the six cached ones do not.
    second = summariser.summarise_bulk(texts)
    assert (summariser.STATS.generated - before[0], summariser.STATS.cache_hits - before[1]) == (
        10,
        6,
    )
    assert first[:6] == second[:6] == uncached[:6] and second == uncached
    third = summariser.summarise_bulk(texts)
    assert summariser.STATS.generated - before[0] == 10
    assert third == uncached


def _run(manage_argv, env, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*manage_argv, *argv], env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_a_second_job_needs_no_summariser_model(manage_argv, job_env, tiny_models, tmp_path):
    """A hub id pinned to a commit, served from the local hub cache for the first run and gone
    from it for the second: the second succeeds because every text hits and BART never loads.
    (A local directory's identity is its content hash, so that form needs its files.)"""
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "hub" / "models--gregory-test--tiny-bart" / "snapshots" / commit
    shutil.copytree(tiny_models["bart"], snapshot)
    env = {
        **job_env,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "GREGORY_SUMMARISER": "bart",
        "GREGORY_SUMMARISER_MODEL": "gregory-test/tiny-bart",
        "GREGORY_SUMMARISER_REVISION": commit,
        "GREGORY_SUMMARY_CACHE_DIR": str(tmp_path / "summaries"),
    }
    team = Team.objects.create(name="Demo", slug="demo")
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    sample, labels, _ = load_sample()
    for n, (text, label) in enumerate(zip(sample[:60], labels[:60], strict=True)):
        words = text.split()
        article = Articles.objects.create(
            title=" ".join(words[:12]), summary=" ".join(words[12:42]), link=f"urn:test:{n}"
        )
        ArticleSubjectRelevance.objects.create(
            article=article, subject=subject, is_relevant=bool(label)
        )
    argv = ("train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--all-articles")
    done = _run(manage_argv, env, *argv)
    assert done.returncode == 0, done.stderr
    entries = list((tmp_path / "summaries").rglob("*.json"))
    assert entries

    shutil.rmtree(snapshot)
    done = _run(manage_argv, env, *argv)
    assert done.returncode == 0, done.stderr
    algo_dir = Path(env["GREGORY_MODELS_DIR"]) / "demo" / "ms" / "lgbm_tfidf"
    versions = layout.published_versions(algo_dir)
    assert len(versions) == 2
    metrics = [json.loads((algo_dir / v / layout.METRICS_FILE).read_text()) for v in versions]
    assert metrics[0]["test_roc_auc"] == metrics[1]["test_roc_auc"]
    assert len(list((tmp_path / "summaries").rglob("*.json"))) == len(entries)
