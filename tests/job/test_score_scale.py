"""The score contract: probability_score is raw unless validation earns a calibrator, and
metrics.json says which scale a version's scores are on and why (docs/prediction.md, "Score
contract")."""

from __future__ import annotations

import json
from io import StringIO

import joblib
import numpy as np
import pytest
from django.core.management import call_command

from gregory.ml.core import layout
from gregory.ml.evaluation import calibration
from gregory.ml.store.loading import load_version
from gregory.ml.trainers.lgbm_tfidf import LgbmTfidfTrainer
from tests.support.data import load_sample

THRESHOLD = 0.8
RNG = np.random.default_rng(7)


def _flagged(scores: np.ndarray) -> int:
    return int((np.asarray(scores) >= THRESHOLD).sum())


def test_three_validation_positives_keep_raw_scores_where_platt_would_squash_them():
    # A rare subject's validation split: 3 relevant among 40, the raw model flagging 2 of them.
    y = np.array([1] * 3 + [0] * 37)
    raw = np.r_[[0.9, 0.85, 0.3], np.linspace(0.01, 0.5, 37)]
    choice = calibration.choose_scale(y, raw, THRESHOLD)
    assert choice.scale == "raw" and choice.calibrator.method == "none"
    assert "3 relevant and 37 irrelevant" in choice.reason
    assert np.array_equal(choice.calibrator(raw), raw)
    assert choice.as_metrics() == {
        "score_scale": "raw",
        "score_scale_reason": choice.reason,
        "calibration": "none",
    }
    # What the contract prevents: Platt on the same split pulls every score under the threshold.
    platt = calibration.fit_method("platt", y, raw)
    assert _flagged(raw) == 2 and _flagged(platt(raw)) == 0


def test_a_large_balanced_validation_split_may_calibrate():
    # 80 of each class, informative but over-confident scores: isotonic is fitted and kept.
    y = np.array([1] * 80 + [0] * 80)
    raw = np.clip(np.where(y == 1, 0.75, 0.25) + RNG.normal(0, 0.2, len(y)), 0, 1)
    choice = calibration.choose_scale(y, raw, THRESHOLD)
    assert choice.scale == "calibrated-isotonic", choice.reason
    assert "80 relevant and 80 irrelevant" in choice.reason
    calibrated = choice.calibrator(raw)
    assert not np.array_equal(calibrated, raw) and _flagged(calibrated) > 0
    # Monotone: calibration never reorders articles.
    order = np.argsort(raw, kind="mergesort")
    assert np.all(np.diff(calibrated[order]) >= 0)


def test_the_minimum_is_per_class():
    n = calibration.MIN_CALIBRATION_PER_CLASS
    y = np.array([1] * (n - 1) + [0] * 500)
    raw = np.clip(y * 0.7 + RNG.random(len(y)) * 0.3, 0, 1)
    assert calibration.choose_scale(y, raw, THRESHOLD).scale == "raw"
    assert calibration.choose_method(y) == "none"
    assert calibration.choose_method(np.array([1] * n + [0] * n)) == "isotonic"


def test_collapse_guard_refuses_a_calibrator_that_flags_nothing():
    # Enough of each class, but the top scores are a coin toss (every relevant one just under an
    # irrelevant one): isotonic maps them to 0.5, while raw flags a third of the split.
    raw = np.r_[np.linspace(0.85, 0.99, 40), np.linspace(0.05, 0.6, 80)]
    y = np.r_[np.array([1, 0] * 20), np.array([1] * 30 + [0] * 50)]
    isotonic = calibration.fit_method("isotonic", y, raw)
    assert _flagged(raw) == 40 and _flagged(isotonic(raw)) == 0  # the collapse is real
    choice = calibration.choose_scale(y, raw, THRESHOLD)
    assert choice.scale == "raw"
    assert "isotonic calibration refused" in choice.reason
    assert "flag none of the 120 validation articles" in choice.reason
    assert "raw scores flag 40" in choice.reason


def test_collapse_guard_names_a_squashed_range_and_a_recall_collapse():
    y = np.array([1] * 10 + [0] * 10)
    raw = np.r_[np.linspace(0.82, 0.99, 10), np.linspace(0.01, 0.3, 10)]
    squeezed = 0.79 + 0.02 * raw  # still ordered, but spans 0.02
    squeezed[0] = 0.9  # one article flagged, so it is the range that is caught
    problem = calibration.collapse(y, raw, squeezed, THRESHOLD)
    assert problem is not None and "squash the validation scores" in problem
    # Raw already precise (10 of 10 flagged relevant); a calibrator keeping 3 of them is refused.
    fewer = raw.copy()
    fewer[3:10] = 0.7
    problem = calibration.collapse(y, raw, fewer, THRESHOLD)
    assert problem is not None and "recall" in problem and "from 1.00 to 0.30" in problem
    # The same scores are fine when nothing collapses.
    assert calibration.collapse(y, raw, raw, THRESHOLD) is None


def test_platt_stays_finite_and_monotone_on_separable_validation():
    # Old versions hold Platt calibrators; fit_method still fits one (the benchmark uses it).
    y = np.array([0] * 10 + [1] * 5)
    scores = np.r_[np.linspace(0.01, 0.3, 10), np.linspace(0.7, 0.99, 5)]
    fitted = calibration.fit_method("platt", y, scores)
    assert fitted.method == "platt" and calibration.scale_of("platt") == "calibrated-platt"
    assert np.isfinite(fitted.model.a) and fitted.model.a > 0
    out = fitted(np.linspace(0, 1, 11))
    assert np.all(np.diff(out) > 0) and out.max() < 1.0
    with pytest.raises(ValueError, match="unknown calibration method"):
        calibration.fit_method("beta", y, scores)


@pytest.fixture
def demo_version_dir(subject, demo_csv, models_dir):
    call_command("import_articles", str(demo_csv), team="demo", subject="ms", stdout=StringIO())
    call_command(
        "train_models",
        "--team",
        "demo",
        "--algo",
        "lgbm_tfidf",
        "--version",
        "v1",
        "--verbose",
        "0",
        stdout=StringIO(),
    )
    return models_dir / "demo" / "ms" / "lgbm_tfidf" / "v1"


def test_a_trained_version_names_its_scale_and_serves_it(demo_version_dir):
    metrics = json.loads((demo_version_dir / layout.METRICS_FILE).read_text())
    # The demo split's validation holds far fewer than 50 of each class: raw, and why.
    assert metrics["n_val_positive"] < calibration.MIN_CALIBRATION_PER_CLASS
    assert metrics["score_scale"] == "raw" and metrics["calibration"] == "none"
    assert (
        f"validation holds {metrics['n_val_positive']} relevant" in (metrics["score_scale_reason"])
    )
    # Served figures are the raw figures: nothing was squashed.
    assert metrics["val_n_flagged"] == metrics["val_n_flagged_uncalibrated"]
    assert metrics["test_recall"] == metrics["test_recall_uncalibrated"]
    predictor = load_version(demo_version_dir)
    assert predictor.score_scale == "raw"
    texts, _, _ = load_sample()
    assert np.array_equal(predictor.predict_proba(texts[:20]), predictor.raw_proba(texts[:20]))
    report = (demo_version_dir / layout.REPORT_FILE).read_text()
    assert "Score scale: raw (validation holds" in report


def test_an_old_version_with_a_platt_calibrator_scores_as_it_did(demo_version_dir):
    # Written the way versions were before the contract: a fitted Platt calibrator and
    # metrics.json naming only "calibration".
    texts, labels, _ = load_sample()
    raw = LgbmTfidfTrainer.load(demo_version_dir).predict_proba(texts[:60])
    platt = calibration.fit_method("platt", labels[:60], raw)
    joblib.dump(platt, demo_version_dir / layout.CALIBRATOR_FILE)
    metrics = json.loads((demo_version_dir / layout.METRICS_FILE).read_text())
    for key in ("score_scale", "score_scale_reason"):
        metrics.pop(key)
    metrics["calibration"] = "platt"
    (demo_version_dir / layout.METRICS_FILE).write_text(json.dumps(metrics))
    predictor = load_version(demo_version_dir)
    assert predictor.score_scale == "calibrated-platt"
    served = predictor.predict_proba(texts[:60])
    assert np.allclose(served, platt(raw)) and not np.allclose(served, raw)
    # Before calibration existed a version had no calibrator.joblib: raw, as it was.
    (demo_version_dir / layout.CALIBRATOR_FILE).unlink()
    metrics.pop("calibration")
    (demo_version_dir / layout.METRICS_FILE).write_text(json.dumps(metrics))
    old = load_version(demo_version_dir)
    assert old.score_scale == "raw"
    assert np.array_equal(old.predict_proba(texts[:60]), raw)
