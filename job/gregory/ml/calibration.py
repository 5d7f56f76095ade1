"""A calibrator fitted on the validation split, so the 0.8 threshold applies to probabilities.

Isotonic regression needs enough of each class to shape its steps; with fewer it overfits the
handful of validation articles, so smaller splits get Platt scaling (a logistic curve on the
score's log-odds, two parameters). With one class even Platt cannot fit: method "none", identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.isotonic import IsotonicRegression

# Isotonic only when validation holds at least this many relevant AND irrelevant articles.
MIN_ISOTONIC_PER_CLASS = 50
# Platt scaling needs both classes; fewer than this many of either and it is not fitted.
MIN_PLATT_PER_CLASS = 1
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
    method: str  # "isotonic", "platt" or "none"
    model: Any = None

    def __call__(self, prob: np.ndarray) -> np.ndarray:
        prob = np.asarray(prob, dtype=np.float64)
        if self.method == "none" or not len(prob):
            return prob
        if self.method == "isotonic":
            return np.asarray(self.model.predict(prob), dtype=np.float64)
        return np.asarray(self.model(prob), dtype=np.float64)


def choose_method(labels: np.ndarray) -> str:
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if counts.min() >= MIN_ISOTONIC_PER_CLASS:
        return "isotonic"
    if counts.min() >= MIN_PLATT_PER_CLASS:
        return "platt"
    return "none"


def fit(labels: np.ndarray, prob: np.ndarray) -> Calibrator:
    method = choose_method(labels)
    y = np.asarray(labels, dtype=int)
    if method == "isotonic":
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(np.asarray(prob, dtype=np.float64), y)
        return Calibrator("isotonic", model)
    if method == "platt":
        return Calibrator("platt", Platt.fit(y, prob))
    return Calibrator("none")
