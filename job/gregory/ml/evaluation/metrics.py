"""Classification metrics at the run's threshold: the val_* and test_* keys of metrics.json."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

METRIC_NAMES = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")


def classification_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, threshold: float, prefix: str = ""
) -> dict[str, float]:
    """The six metrics, keys prefixed (`val_`, `test_`); ranking metrics ignore the threshold."""
    y_true = np.asarray(y_true, dtype=int)
    y_prob = np.asarray(y_prob, dtype=float)
    y_pred = (y_prob >= threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    values = {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
        "roc_auc": roc_auc_score(y_true, y_prob) if both_classes else float("nan"),
        "pr_auc": average_precision_score(y_true, y_prob) if both_classes else float("nan"),
    }
    return {f"{prefix}{name}": float(values[name]) for name in METRIC_NAMES}
