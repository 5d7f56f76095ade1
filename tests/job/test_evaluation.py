"""Units of the honest evaluation: the bootstrap, the calibration choice, the gate, the pointer."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from gregory.ml import gate
from gregory.ml.core import layout
from gregory.ml.evaluation import bootstrap, calibration
from gregory.ml.store import promotion

RNG = np.random.default_rng(3)


def _small_case(n=40):
    y = np.array([0, 1] * (n // 2))
    # Rounded so ties occur, as with isotonic or Platt-saturated scores.
    scores = np.round(np.clip(0.5 * y + RNG.normal(0.25, 0.25, n), 0, 1), 1)
    return y, scores


def test_bootstrap_matches_a_slow_scikit_learn_reference_resample_by_resample():
    y, scores = _small_case()
    counts = bootstrap.resample_counts(len(y), n_resamples=200, seed=5)
    rng = np.random.default_rng(5)
    draws = rng.integers(0, len(y), size=(200, len(y)))
    fast_auc = bootstrap.weighted_roc_auc(y, scores, counts)
    fast_ap = bootstrap.weighted_average_precision(y, scores, counts)
    fast_f1 = bootstrap.weighted_f1(y, scores, counts, 0.5)
    for row, idx in enumerate(draws):
        ys, ss = y[idx], scores[idx]
        assert np.array_equal(np.bincount(idx, minlength=len(y)), counts[row])
        if len(np.unique(ys)) == 2:
            assert fast_auc[row] == pytest.approx(roc_auc_score(ys, ss), abs=1e-12)
            assert fast_ap[row] == pytest.approx(average_precision_score(ys, ss), abs=1e-12)
        else:
            assert np.isnan(fast_auc[row])
        expected_f1 = f1_score(ys, (ss >= 0.5).astype(int), zero_division=0)
        assert fast_f1[row] == pytest.approx(expected_f1, abs=1e-12)


def test_bootstrap_intervals_bracket_the_point_estimate_and_are_seeded():
    y, scores = _small_case(60)
    first = bootstrap.bootstrap_intervals(y, scores, 0.5)
    assert first == bootstrap.bootstrap_intervals(y, scores, 0.5)
    point = roc_auc_score(y, scores)
    assert first["test_roc_auc_ci_low"] < point < first["test_roc_auc_ci_high"]
    assert set(first) == {
        f"test_{m}_ci_{end}" for m in ("roc_auc", "pr_auc", "f1") for end in ("low", "high")
    }


def test_bootstrap_is_fast_at_a_thousand_resamples():
    import time

    y = np.array([0, 1] * 250)
    scores = RNG.random(500)
    start = time.perf_counter()
    bootstrap.bootstrap_intervals(y, scores, 0.8)
    assert time.perf_counter() - start < 1.0


def test_ece_and_brier_of_perfect_and_wrong_scores():
    y = np.array([0, 0, 1, 1])
    assert bootstrap.expected_calibration_error(y, y.astype(float)) == 0.0
    assert bootstrap.expected_calibration_error(y, 1.0 - y) == 1.0
    assert bootstrap.brier(y, np.full(4, 0.5)) == 0.25


@pytest.mark.parametrize(
    ("positives", "negatives", "scale"),
    [
        (calibration.MIN_CALIBRATION_PER_CLASS, calibration.MIN_CALIBRATION_PER_CLASS, "isotonic"),
        (calibration.MIN_CALIBRATION_PER_CLASS - 1, 200, "raw"),
        (3, 3, "raw"),
        (0, 30, "raw"),
    ],
)
def test_score_scale_follows_the_class_counts(positives, negatives, scale):
    # Informative scores, so only the counts decide (tests/job/test_score_scale.py: the guards).
    y = np.array([1] * positives + [0] * negatives)
    scores = np.clip(0.6 * y + RNG.random(len(y)) * 0.4, 0, 1)
    choice = calibration.choose_scale(y, scores, 0.8)
    assert choice.scale == ("calibrated-isotonic" if scale == "isotonic" else "raw")
    out = choice.calibrator(scores)
    assert out.shape == scores.shape and np.all((out >= 0) & (out <= 1))
    if scale == "raw":
        assert np.array_equal(out, scores)


def _comparison(new, current, labels, version="v1"):
    return gate.Comparison(version, np.asarray(labels), np.asarray(new), np.asarray(current))


LABELS = np.array([0, 1] * 20)
GOOD = LABELS * 0.6 + np.linspace(0, 0.3, 40)  # separates the classes
NOISE = np.random.default_rng(1).random(40)


def test_gate_first_version_decided_by_the_floor():
    assert gate.decide(0.9, 5, None).decision == gate.DEPLOY
    failed = gate.decide(gate.ROC_AUC_FLOOR - 0.01, 5, None)
    assert failed.decision == gate.FAIL and "below the floor" in failed.reasons[0]
    assert gate.decide(float("nan"), 5, None).decision == gate.FAIL


def test_gate_fails_a_version_worse_beyond_the_noise():
    decision = gate.decide(0.7, 5, _comparison(NOISE, GOOD, LABELS))
    assert decision.decision == gate.FAIL
    assert decision.figures["gate_roc_auc_diff_ci_high"] < 0
    assert "worse than version v1" in decision.reasons[0]


def test_gate_deploys_a_version_not_worse():
    decision = gate.decide(0.9, 5, _comparison(GOOD, NOISE, LABELS))
    assert decision.decision == gate.DEPLOY
    assert decision.figures["gate_n_comparable"] == 40
    same = gate.decide(0.9, 5, _comparison(GOOD, GOOD, LABELS))
    assert same.decision == gate.DEPLOY and same.figures["gate_roc_auc_diff"] == 0.0


def test_gate_reviews_too_few_comparable_articles_or_one_class():
    few = gate.MIN_COMPARABLE - 1
    small = gate.decide(0.9, 5, _comparison(GOOD[:few], NOISE[:few], LABELS[:few]))
    assert small.decision == gate.REVIEW and "comparable articles" in small.reasons[0]
    ones = np.ones(30, dtype=int)
    one_class = gate.decide(0.9, 5, _comparison(GOOD[:30], NOISE[:30], ones))
    assert one_class.decision == gate.REVIEW


def test_gate_reviews_a_calibrator_that_flags_nothing_even_when_better():
    decision = gate.decide(0.9, 0, _comparison(GOOD, NOISE, LABELS))
    assert decision.decision == gate.REVIEW
    assert decision.reasons == ["after calibration no validation article reaches the threshold"]
    assert gate.decide(0.9, 0, None).decision == gate.REVIEW


def test_gate_fail_outranks_review_and_keeps_both_reasons():
    decision = gate.decide(0.5, 0, None)
    assert decision.decision == gate.FAIL and len(decision.reasons) == 2


def test_pointer_is_replaced_in_one_rename_and_keeps_its_history(tmp_path, monkeypatch):
    algo_dir = tmp_path / "algo"
    promotion.write_current(algo_dir, "v1", "me", "first")
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        # At the rename the old pointer is still whole, the new one complete in its temp file.
        assert json.loads((algo_dir / layout.CURRENT_FILE).read_text())["version"] == "v1"
        assert json.loads(Path(src).read_text())["version"] == "v2"
        replaced.append((os.path.dirname(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(promotion.os, "replace", spy)
    pointer = promotion.write_current(algo_dir, "v2", "you", "second")
    assert replaced == [(str(algo_dir), layout.CURRENT_FILE)]
    assert (pointer["version"], pointer["previous"], pointer["by"]) == ("v2", "v1", "you")
    assert [h["version"] for h in promotion.read_current(algo_dir)["history"]] == ["v1", "v2"]
    assert not [p for p in algo_dir.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_pointer_writers_lose_no_history(tmp_path):
    algo_dir = tmp_path / "algo"
    threads = [
        threading.Thread(target=promotion.write_current, args=(algo_dir, f"v{i}", "t", "race"))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = promotion.read_current(algo_dir)["history"]
    assert sorted(h["version"] for h in history) == sorted(f"v{i}" for i in range(8))
