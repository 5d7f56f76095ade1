"""The deploy gate, all of its policy: is a new version good enough to replace the subject's
promoted one, and what each decision does to `current`.

`decide` holds the rules, pure over score arrays, so they are tested on constructed numbers;
`against_promoted` gathers those arrays (both versions scored through the loader on test articles
the promoted one never saw) and says why when no comparison can be made; `move_current` applies
the decision once the version is published.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gregory.ml.data import summariser, text
from gregory.ml.data.splits import DatasetSplits
from gregory.ml.evaluation import bootstrap
from gregory.ml.store import loading, promotion, provenance
from gregory.ml.store.publishing import Reservation
from gregory.reasons import first_line

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
            span = (
                f"(roc_auc difference {_signed(point)}, 95% CI {_signed(low)} to "
                f"{_signed(high)}, on {n} articles)"
            )
            version = comparison.current_version
            if high < 0:
                fail.append(f"worse than version {version} beyond the noise {span}")
            else:
                # An interval holding 0 shows no difference either way: "not shown to be worse",
                # never "not worse" (that would need a margin the interval excludes).
                verdict = "better than" if low > 0 else "not shown to be worse than"
                figures["gate_comparison"] = f"{verdict} version {version} {span}"
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


def _signed(value: float) -> str:
    """+0.100 / −0.039: the sign always shown, a real minus."""
    return f"{value:+.3f}".replace("-", "\u2212")


def skipped() -> Decision:
    return Decision(SKIPPED, ["--no-gate: not compared, the promoted version is unchanged"], {})


def against_promoted(
    reservation: Reservation, splits: DatasetSplits, metrics: dict
) -> tuple[Decision, Comparison | None]:
    """The decision for a version in staging: compared with the promoted version on test articles
    that version never saw, both scored through the loader as prediction would."""
    algo_dir = reservation.algo_dir
    test_roc_auc, flagged = metrics["test_roc_auc"], metrics["val_n_flagged"]
    try:
        current = loading.promoted_version(algo_dir)
    except loading.VersionNotFound:
        # No version yet, or the pointer says none is promoted: nothing to compare with.
        return decide(test_roc_auc, flagged, None), None
    except loading.PointerDamaged as damage:
        # Damaged after train_models checked it: nothing trustworthy to compare with.
        return decide(test_roc_auc, flagged, None, str(damage)), None
    metrics["gate_current_version"] = current
    current_dir = algo_dir / current
    if refused := provenance.foreign(current_dir):  # a pointer set by hand to GregoryAI's own
        return decide(test_roc_auc, flagged, None, refused), None
    try:
        seen_record = loading.split_record(current_dir)
    except loading.VersionUnusable as error:  # none (an old version), or damaged: named
        return decide(test_roc_auc, flagged, None, str(error)), None
    try:
        current_predictor = loading.load_version(current_dir, algo_dir.name)
    except Exception as error:  # a broken promoted version must not fail the new one's run
        problem = f"version {current} could not be loaded: {first_line(error)}"
        return decide(test_roc_auc, flagged, None, problem), None
    if current_predictor.preparation != text.PREPARATION:
        problem = f"version {current} prepared its texts differently: not comparable"
        return decide(test_roc_auc, flagged, None, problem), None
    recorded = current_predictor.metrics.get(summariser.PIPELINE_KEY)
    if recorded is None:
        # Trained before the pipeline was recorded: compared as if the same, and said so.
        metrics["gate_text_pipeline"] = f"version {current} records no text pipeline"
    elif difference := summariser.pipeline_difference(recorded, metrics[summariser.PIPELINE_KEY]):
        # Its scores on texts from another pipeline say nothing of it, and prediction under this
        # pipeline refuses it anyway: a person decides (promote_version), nothing is compared.
        problem = (
            f"version {current} was trained on another text pipeline ({difference}): "
            "not comparable, and not served under this one"
        )
        return decide(test_roc_auc, flagged, None, problem), None
    # Validation counts as seen too: it chose the epochs and fitted the calibrator.
    seen = {
        i for key in ("train", "validation", "pseudo_labelled") for i in seen_record.get(key, [])
    }
    keep = [i for i, article in enumerate(splits.test.article_ids) if article not in seen]
    texts = [splits.test.texts[i] for i in keep]
    new_predictor = loading.load_version(reservation.staging)
    comparison = Comparison(
        current_version=current,
        labels=splits.test.labels[keep],
        new=new_predictor.predict_proba(texts),
        current=current_predictor.predict_proba(texts),
    )
    return decide(test_roc_auc, flagged, comparison), comparison


def move_current(algo_dir, version: str, metrics: dict, trigger: str) -> str:
    """Move `current` as the decision says, after the version is published; says what it did."""
    decision = metrics["decision"]
    reason = f"gate {decision}: " + "; ".join(metrics["decision_reasons"])
    if decision == DEPLOY:
        promotion.write_current(algo_dir, version, trigger, reason)
        return f"current → {version}"
    served = metrics.get("gate_current_version")
    current = promotion.read_current(algo_dir)
    if decision != SKIPPED and served and current is None:
        # Without a pointer prediction would take the newest version, this one: pin the version
        # that was being served, so REVIEW and FAIL leave prediction where it was.
        promotion.write_current(algo_dir, served, trigger, f"{version} not promoted, {reason}")
        return f"current pinned to {served}"
    return f"current stays {current['version'] if current else 'unset (newest is used)'}"
