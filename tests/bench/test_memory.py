"""bench/memory.py: a command's own peak RSS, and the pubmed_bert job measured with the tiny BERT
(the MiniLM figure itself is `make bench`'s, minutes long)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bench.memory import job_peak, peak_rss


def _allocating(mib: int) -> list[str]:
    # bytearray zero-fills, so every page is touched and resident.
    return [sys.executable, "-c", f"b = bytearray({mib} * 2**20)"]


def test_peak_rss_is_the_commands_own_peak_not_an_earlier_childs() -> None:
    big = peak_rss(_allocating(300))
    small = peak_rss(_allocating(30))
    assert big.returncode == small.returncode == 0
    assert big.peak_rss_mib >= 300
    # RUSAGE_CHILDREN would say the big one's peak again (it keeps the largest child's), and a
    # child forked from this session would count the pages it shared before its exec.
    assert small.peak_rss_mib < 150
    assert big.seconds > 0


def test_peak_rss_reports_a_failing_commands_exit_code_and_stderr() -> None:
    failed = peak_rss([sys.executable, "-c", "import sys; sys.exit('no such team')"])
    assert failed.returncode == 1
    assert "no such team" in failed.stderr_tail


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gregory_dev.tiny_models import build_tiny_models

    configured = os.environ.get("GREGORY_TINY_MODELS_DIR")
    out = Path(configured) if configured else tmp_path_factory.mktemp("tiny-models")
    return build_tiny_models(out)["bert"]


# Three subprocesses (migrate, import, train), each loading Django; torch in the last: ~15 s of CPU.
@pytest.mark.slow
def test_job_peak_measures_the_real_pubmed_bert_run_with_fewer_epochs(
    tmp_path: Path, tiny_bert: Path
) -> None:
    peak = job_peak(tmp_path, tiny_bert, epochs=1, articles=40)
    assert peak.returncode == 0, peak.stderr_tail
    # torch, transformers and Django alone take more than 200 MiB; a sampler-free 0 would not.
    assert 200 < peak.peak_rss_mib < 4000
    (version,) = [p for p in (tmp_path / "models" / "mem" / "ms" / "pubmed_bert").iterdir()]
    history = json.loads((version / "training_history.json").read_text())
    # The shim's epoch count reached the job's trainer: one epoch, not the spec's 10.
    assert len(history["train_loss"]) == 1
    metrics = json.loads((version / "metrics.json").read_text())
    assert metrics["algorithm"] == "pubmed_bert"
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 40
    # Run as a Job runs (its name set, so per-epoch checkpoints on), into its own database.
    with closing(sqlite3.connect(tmp_path / "memory.sqlite3")) as db:
        rows = db.execute(
            "select algorithm, success, triggered_by from gregory_predictionrunlog"
        ).fetchall()
    assert rows == [("pubmed_bert", 1, "bench-memory")]
