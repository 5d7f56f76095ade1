"""What `probability_score` holds: the model's raw output, or a calibrated score when earned.

GregoryAI's thresholds (0.8 in its consensus, `ml_threshold` per list) were set on raw model
outputs, so raw is the default scale. A calibrator fitted on the validation split replaces it
only when that split can support one (at least MIN_CALIBRATION_PER_CLASS of each class, enough
for isotonic regression to shape its steps) and the calibrated validation scores do not
collapse: a calibrator that flags no validation article at the threshold where raw flags some,
that squeezes the score range, or that costs most of the recall while raw already meets the
precision target, is refused and raw kept, with the reason in metrics.json.

bench/score_scale.py measured why (docs/benchmarks.md, "Score scale"): at 0.8, raw LightGBM and LSTM
scores keep a precision above 0.8 on the real sample; Platt fitted on 3 validation positives
flags no test article in 7 or 8 re-splits of 10 where raw flags some, and neither calibrator on
about 20 validation positives bought precision (isotonic traded some for recall, with a worse
worst case).

Platt scaling (a logistic curve on the score's log-odds) is kept: versions published before
this rule hold one in calibrator.joblib and must load and score as they did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.isotonic import IsotonicRegression

# Calibrate only when validation holds at least this many relevant AND irrelevant articles.
MIN_CALIBRATION_PER_CLASS = 50
# The name older code and tests know the same minimum by.
MIN_ISOTONIC_PER_CLASS = MIN_CALIBRATION_PER_CLASS
# Platt scaling needs both classes (kept for fit_method and the benchmark).
MIN_PLATT_PER_CLASS = 1
# Precision at the threshold the flagged articles should keep (the goal).
PRECISION_TARGET = 0.8
# A calibrator keeping less than this share of raw's validation recall has collapsed it.
MIN_RECALL_KEPT = 0.5
# ...and one whose validation scores span less than this share of raw's range has squashed them.
MIN_SPREAD_KEPT = 0.5

RAW = "raw"
CALIBRATED_PREFIX = "calibrated-"
_EPS = 1e-6


def _logit(prob: np.ndarray) -> np.ndarray:
    prob = np.clip(np.asarray(prob, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(prob / (1 - prob))


@dataclass(frozen=True)
class Platt:
    """P = sigmoid(a · logit(score) + b), fitted to Platt's smoothed targets.

    The targets (n₊+1)/(n₊+2) and 1/(n₋+2) instead of 1 and 0 keep a and b finite when the
    validation scores separate the classes perfectly, which small splits often do.
    """

    a: float
    b: float

    @classmethod
    def fit(cls, labels: np.ndarray, prob: np.ndarray) -> Platt:
        y, z = np.asarray(labels, dtype=int), _logit(prob)
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            margin = params[0] * z + params[1]
            value = -(target * log_expit(margin) + (1 - target) * log_expit(-margin)).sum()
            residual = expit(margin) - target
            return float(value), np.array([(residual * z).sum(), residual.sum()])

        result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        return cls(float(result.x[0]), float(result.x[1]))

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        return expit(self.a * _logit(prob) + self.b)


@dataclass
class Calibrator:
    """What calibrator.joblib holds; its fields stay as they are so old files still unpickle."""

    method: str  # "isotonic", "platt" or "none" (identity: the raw scores)
    model: Any = None

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        prob = np.asarray(prob, dtype=np.float64)
        if self.method == "none" or not len(prob):
            return prob
        if self.method == "isotonic":
            return np.asarray(self.model.predict(prob), dtype=np.float64)
        return np.asarray(self.model(prob), dtype=np.float64)


IDENTITY = Calibrator("none")


def scale_of(method: str) -> str:
    """The score_scale name of a calibrator method: "raw" or "calibrated-<method>"."""
    return RAW if method == "none" else f"{CALIBRATED_PREFIX}{method}"


def fit_method(method: str, labels: np.ndarray, prob: np.ndarray) -> Calibrator:
    """Fit `method` whatever the class counts (the benchmark compares them all)."""
    y, prob = np.asarray(labels, dtype=int), np.asarray(prob, dtype=np.float64)
    if method == "isotonic":
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(prob, y)
        return Calibrator("isotonic", model)
    if method == "platt":
        return Calibrator("platt", Platt.fit(y, prob))
    if method == "none":
        return IDENTITY
    raise ValueError(f"unknown calibration method {method!r}")


@dataclass(frozen=True)
class ScaleChoice:
    """The scale a version's scores are on, the calibrator that gives it, and why."""

    calibrator: Calibrator
    reason: str

    @property
    def scale(self) -> str:
        return scale_of(self.calibrator.method)

    def as_metrics(self) -> dict[str, str]:
        return {
            "score_scale": self.scale,
            "score_scale_reason": self.reason,
            # Older readers (the report, launcher details) know this key.
            "calibration": self.calibrator.method,
        }


def _flag_figures(y: np.ndarray, prob: np.ndarray, threshold: float) -> tuple[int, float, float]:
    """n flagged, precision (nan when none flagged) and recall at the threshold."""
    flagged = prob >= threshold
    tp = int((flagged & (y == 1)).sum())
    n = int(flagged.sum())
    precision = tp / n if n else float("nan")
    recall = tp / int(y.sum()) if y.sum() else float("nan")
    return n, precision, recall


def collapse(
    labels: np.ndarray, raw: np.ndarray, calibrated: np.ndarray, threshold: float
) -> str | None:
    """Why calibrated validation scores collapsed compared with raw ones, else None."""
    y = np.asarray(labels, dtype=int)
    raw, calibrated = np.asarray(raw, dtype=np.float64), np.asarray(calibrated, dtype=np.float64)
    n_raw, precision_raw, recall_raw = _flag_figures(y, raw, threshold)
    n_cal, _, recall_cal = _flag_figures(y, calibrated, threshold)
    if n_raw and not n_cal:
        return (
            f"it would flag none of the {len(y)} validation articles at {threshold:g} "
            f"(raw scores flag {n_raw}; highest calibrated score {calibrated.max():.3f})"
        )
    raw_spread = float(raw.max() - raw.min()) if len(raw) else 0.0
    cal_spread = float(calibrated.max() - calibrated.min()) if len(calibrated) else 0.0
    if raw_spread > 0 and cal_spread < MIN_SPREAD_KEPT * raw_spread:
        return (
            f"it would squash the validation scores into {calibrated.min():.3f}–"
            f"{calibrated.max():.3f} (raw span {raw.min():.3f}–{raw.max():.3f})"
        )
    if n_raw and precision_raw >= PRECISION_TARGET and recall_cal < MIN_RECALL_KEPT * recall_raw:
        return (
            f"it would cut validation recall at {threshold:g} from {recall_raw:.2f} to "
            f"{recall_cal:.2f} while raw precision is already {precision_raw:.2f}"
        )
    return None


def choose_scale(labels: np.ndarray, raw: np.ndarray, threshold: float) -> ScaleChoice:
    """Raw unless validation supports isotonic calibration and it does not collapse."""
    y = np.asarray(labels, dtype=int)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < MIN_CALIBRATION_PER_CLASS:
        return ScaleChoice(
            IDENTITY,
            f"validation holds {n_pos} relevant and {n_neg} irrelevant "
            f"articles, fewer than the {MIN_CALIBRATION_PER_CLASS} of each a calibrator needs",
        )
    calibrator = fit_method("isotonic", y, raw)
    problem = collapse(y, raw, calibrator(raw), threshold)
    if problem is not None:
        return ScaleChoice(IDENTITY, f"isotonic calibration refused: {problem}")
    return ScaleChoice(
        calibrator,
        f"isotonic calibration on {n_pos} relevant and {n_neg} irrelevant validation articles",
    )


def choose_method(labels: np.ndarray) -> str:
    """The method the class counts alone would allow ("isotonic" or "none")."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    return "isotonic" if counts.min() >= MIN_CALIBRATION_PER_CLASS else "none"
