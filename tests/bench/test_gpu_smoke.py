"""bench/gpu.py --smoke: the GPU benchmark's code paths, run on the CPU with tiny configs."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bench import gpu
from bench.gpu import NULLABLE, expected_keys
from tests.support.paths import REPO


def test_the_bench_times_what_the_summariser_ships(monkeypatch):
    from gregory.ml.data import summariser

    monkeypatch.delenv("GREGORY_SUMMARISER_BATCH", raising=False)
    monkeypatch.delenv("GREGORY_SUMMARISER_TOKEN_BUDGET", raising=False)
    # The budget variant's default is the summariser's own CUDA batching, cut by its function.
    assert summariser.summariser_batching("cuda").token_budget == gpu.FULL.bart_token_budget
    assert not hasattr(gpu, "token_budget_batches")  # one home: gregory.ml.data.summariser


@pytest.mark.slow
def test_smoke_prints_one_json_line_with_every_figure() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # progress goes to stderr
    figures = json.loads(lines[0])

    assert list(figures) == expected_keys()
    assert figures["device"] == "cpu"
    assert figures["mode"] == "smoke"
    assert figures["memory_measure"] == "process_peak_rss"
    assert figures["errors"] == {}
    for key, value in figures.items():
        if value is None:
            assert key in NULLABLE, f"{key} is null"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            assert math.isfinite(value) and value > 0, f"{key} = {value}"
    # No device peak is known for a CPU, so there is no FLOP utilisation to report.
    assert figures["bert_train_128_mfu"] is None and figures["bf16_peak_tflops"] is None
    # torch.compile is timed only with --compile.
    assert figures["bert_train_128_compiled_samples_s"] is None
    # The smoke run ends its summaries early; the figure says how long they were.
    assert figures["bart_batch4_summary_tokens_mean"] == figures["bart_summary_tokens_forced"]
