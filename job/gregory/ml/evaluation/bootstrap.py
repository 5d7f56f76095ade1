"""Honest numbers for one test split: bootstrap intervals, calibration figures, paired comparison.

The bootstrap is vectorised: a (resamples × n) matrix of how often each article is drawn, then
ROC-AUC, PR-AUC and F1 from weighted cumulative sums over the scores sorted once, so 1,000
resamples of a few hundred articles take milliseconds, not a loop of scikit-learn calls.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, precision_recall_curve

from gregory.ml.data.splits import SEED

N_RESAMPLES = 1000
CONFIDENCE = 0.95
ECE_BINS = 10


def resample_counts(n: int, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(n_resamples, n) counts: how often each of n items is drawn in each resample."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_resamples, n))
    offsets = (np.arange(n_resamples) * n)[:, None]
    flat = np.bincount((draws + offsets).ravel(), minlength=n_resamples * n)
    return flat.reshape(n_resamples, n).astype(np.float64)


def _tie_groups(scores: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sort order and the start index of each run of equal scores in that order."""
    order = np.argsort(-scores if descending else scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def weighted_roc_auc(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC per row of `weights` (ties count one half); NaN where a row lacks a class."""
    y = np.asarray(y, dtype=np.float64)
    order, starts = _tie_groups(np.asarray(scores, dtype=np.float64), descending=False)
    pos = np.add.reduceat((weights * y)[:, order], starts, axis=1)
    neg = np.add.reduceat((weights * (1 - y))[:, order], starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (total_pos * total_neg)
    return np.where((total_pos > 0) & (total_neg > 0), auc, np.nan)


def weighted_average_precision(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Average precision (scikit-learn's PR-AUC) per row of `weights`; NaN without a positive."""
    y = np.asarray(y, dtype=np.float64)
    order, starts = _tie_groups(np.asarray(scores, dtype=np.float64), descending=True)
    tp = np.cumsum(np.add.reduceat((weights * y)[:, order], starts, axis=1), axis=1)
    fp = np.cumsum(np.add.reduceat((weights * (1 - y))[:, order], starts, axis=1), axis=1)
    total_pos = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = tp / total_pos
    gains = np.diff(np.concatenate([np.zeros_like(recall[:, :1]), recall], axis=1), axis=1)
    ap = (gains * precision).sum(axis=1)
    return np.where(total_pos[:, 0] > 0, ap, np.nan)


def weighted_f1(
    y: np.ndarray, scores: np.ndarray, weights: np.ndarray, threshold: float
) -> np.ndarray:
    """F1 at `threshold` per row of `weights`; 0 when nothing is flagged and nothing relevant."""
    y = np.asarray(y, dtype=np.float64)
    flagged = (np.asarray(scores) >= threshold).astype(np.float64)
    tp = (weights * y * flagged).sum(axis=1)
    fp = (weights * (1 - y) * flagged).sum(axis=1)
    fn = (weights * y * (1 - flagged)).sum(axis=1)
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / denominator, 0.0)


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_intervals(
    y: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    prefix: str = "test_",
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> dict[str, float]:
    """95% percentile intervals of ROC-AUC, PR-AUC and F1 at the threshold.

    Resamples that draw one class only have no ROC-AUC and are left out of its interval.
    """
    weights = resample_counts(len(y), n_resamples, seed)
    values = {
        "roc_auc": weighted_roc_auc(y, scores, weights),
        "pr_auc": weighted_average_precision(y, scores, weights),
        "f1": weighted_f1(y, scores, weights, threshold),
    }
    out: dict[str, float] = {}
    for name, samples in values.items():
        out[f"{prefix}{name}_ci_low"], out[f"{prefix}{name}_ci_high"] = _interval(samples)
    return out


def paired_auc_difference(
    y: np.ndarray,
    new: np.ndarray,
    current: np.ndarray,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """ROC-AUC of new − current on the same articles, and the 95% interval of that difference."""
    weights = resample_counts(len(y), n_resamples, seed)
    diff = weighted_roc_auc(y, new, weights) - weighted_roc_auc(y, current, weights)
    full = np.ones((1, len(y)))
    point = float(weighted_roc_auc(y, new, full)[0] - weighted_roc_auc(y, current, full)[0])
    low, high = _interval(diff)
    return point, low, high


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = ECE_BINS) -> float:
    """Equal-width bins: Σ (bin share) × |mean probability − share relevant|."""
    y, prob = np.asarray(y, dtype=np.float64), np.asarray(prob, dtype=np.float64)
    if not len(y):
        return float("nan")
    index = np.minimum((prob * bins).astype(int), bins - 1)
    mean_prob = np.bincount(index, weights=prob, minlength=bins)
    mean_true = np.bincount(index, weights=y, minlength=bins)
    return float(np.abs(mean_prob - mean_true).sum() / len(y))


def brier(y: np.ndarray, prob: np.ndarray) -> float:
    return float(brier_score_loss(np.asarray(y, dtype=int), np.asarray(prob, dtype=float)))


def best_f1_threshold(y: np.ndarray, prob: np.ndarray) -> float:
    """The score cut-off with the best F1 on these labels (for reference, never applied)."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(y, dtype=int), prob)
    if not len(thresholds):
        return float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(thresholds[int(np.argmax(f1[:-1]))])
