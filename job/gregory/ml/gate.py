"""The deploy gate: is a new version good enough to replace the subject's promoted one?

Pure rules over score arrays, so they are tested on constructed numbers; pipeline.py gathers the
arrays (both versions scored through the loader on articles neither trained on).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gregory.ml.evaluation import bootstrap

DEPLOY, REVIEW, FAIL, SKIPPED = "DEPLOY", "REVIEW", "FAIL", "SKIPPED"
# Below this test ROC-AUC a version is not worth serving, whatever it replaces.
ROC_AUC_FLOOR = 0.6
# Fewer comparable articles (or a class missing among them) cannot tell two versions apart.
MIN_COMPARABLE = 20


@dataclass(frozen=True)
class Comparison:
    """Both versions' calibrated scores on the comparable articles."""

    current_version: str
    labels: np.ndarray
    new: np.ndarray
    current: np.ndarray


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: list[str]
    figures: dict

    def as_metrics(self) -> dict:
        return {"decision": self.decision, "decision_reasons": self.reasons, **self.figures}


def decide(
    test_roc_auc: float,
    val_flagged: int,
    comparison: Comparison | None,
    problem: str | None = None,
) -> Decision:
    """DEPLOY, REVIEW or FAIL with the reasons, most serious first.

    `val_flagged`: validation articles at or above the threshold after calibration.
    `problem`: why no comparison could be made although a promoted version exists.
    """
    fail: list[str] = []
    review: list[str] = []
    figures: dict = {"gate_roc_auc_floor": ROC_AUC_FLOOR, "gate_min_comparable": MIN_COMPARABLE}
    if not np.isfinite(test_roc_auc) or test_roc_auc < ROC_AUC_FLOOR:
        fail.append(f"test roc_auc {test_roc_auc:.3f} is below the floor {ROC_AUC_FLOOR}")
    if val_flagged == 0:
        review.append("after calibration no validation article reaches the threshold")
    if problem:
        review.append(problem)
    if comparison is not None:
        y = np.asarray(comparison.labels, dtype=int)
        n, positives = len(y), int(y.sum())
        figures.update(gate_compared_with=comparison.current_version, gate_n_comparable=n)
        if n < MIN_COMPARABLE or positives in (0, n):
            review.append(
                f"only {n} comparable articles ({positives} relevant) with version "
                f"{comparison.current_version}: need {MIN_COMPARABLE} holding both classes"
            )
        else:
            point, low, high = bootstrap.paired_auc_difference(
                y, comparison.new, comparison.current
            )
            figures.update(
                gate_roc_auc_diff=point,
                gate_roc_auc_diff_ci_low=low,
                gate_roc_auc_diff_ci_high=high,
            )
            span = f"{point:+.3f} (95% CI {low:+.3f} to {high:+.3f}) on {n} articles"
            if high < 0:
                fail.append(
                    f"worse than version {comparison.current_version} beyond the noise: "
                    f"roc_auc difference {span}"
                )
            else:
                figures["gate_comparison"] = (
                    f"not worse than version {comparison.current_version}: {span}"
                )
    if fail:
        return Decision(FAIL, fail + review, figures)
    if review:
        return Decision(REVIEW, review, figures)
    reasons = [f"test roc_auc {test_roc_auc:.3f} is above the floor {ROC_AUC_FLOOR}"]
    if comparison is None:
        reasons.append("first version of this algorithm for the subject: nothing to compare")
    else:
        reasons.append(figures["gate_comparison"])
    return Decision(DEPLOY, reasons, figures)


def skipped() -> Decision:
    return Decision(SKIPPED, ["--no-gate: not compared, the promoted version is unchanged"], {})
