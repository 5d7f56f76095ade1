"""Training runs, subject by subject and algorithm by algorithm, each recorded and published.

The command hands over validated flags and the subjects in scope; this module owns the order of
work, what each run records, and what the operator is told at each verbosity level.
"""

from __future__ import annotations

from collections.abc import Sequence

from gregory.flags import TrainFlags
from gregory.ml import layout, runs
from gregory.ml.publishing import VersionTakenError, publishing, version_exists
from gregory.models import Subject

SUMMARY_METRICS = (
    "val_f1",
    "test_accuracy",
    "test_f1",
    "test_roc_auc",
    "test_pr_auc",
    "decision",
)


def check_version_free(flags: TrainFlags, subjects: Sequence[Subject]) -> None:
    """A hand-picked --version must be new for every run, checked before any run starts."""
    if not flags.version:
        return
    for subject in subjects:
        for algorithm in flags.algos:
            algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
            if version_exists(algo_dir, flags.version):
                raise VersionTakenError(f"version {flags.version} already exists in {algo_dir}")


def train_subjects(
    flags: TrainFlags, subjects: Sequence[Subject], say: runs.Say
) -> list[runs.Outcome]:
    """Every selected algorithm for every subject, in turn; a failed run does not stop the rest."""
    # Imported here: a usage error should not pay for numpy, scipy and scikit-learn.
    from gregory.ml.pipeline import SubjectData

    trigger = runs.triggered_by("train_models")
    outcomes: list[runs.Outcome] = []
    with runs.stop_on_signals():
        for subject in subjects:
            data = SubjectData(subject, flags, progress=flags.verbose >= 1)
            for algorithm in flags.algos:
                outcomes.append(_train_one(subject, algorithm, data, flags, trigger, say))
    return outcomes


def _train_one(subject, algorithm, data, flags: TrainFlags, trigger: str, say: runs.Say):
    from gregory.ml.pipeline import train_into

    label = f"{algorithm} for {subject.team.slug}/{subject.subject_slug}"
    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    row = runs.start(subject, algorithm, "train", trigger)
    try:
        with (
            runs.closing(row),
            publishing(algo_dir, flags.version, runs.held_signals) as reservation,
        ):
            row.model_version = reservation.version
            row.save(update_fields=["model_version"])
            say(1, f"Started {label} (version {reservation.version})", None)
            metrics = train_into(reservation, algorithm, data, flags)
    except runs.Interrupted as stop:
        say(1, f"Interrupted {label} by {stop}", "error")
        raise
    except Exception as error:
        reason = runs.report_failure(label, error, row, say)
        return runs.Outcome(subject, algorithm, row.model_version, False, error=reason)
    roc_auc = metrics["test_roc_auc"]
    where = reservation.final
    try:
        moved = _promote(algo_dir, reservation.version, metrics, trigger)
    except OSError as error:
        # Published but not promoted as decided: the operator must know, and the exit status too.
        reason = f"version {reservation.version} published, but current.json not written: {error}"
        say(1, f"Failed {label}: {reason}", "error")
        return runs.Outcome(subject, algorithm, row.model_version, False, metrics, error=reason)
    say(
        1,
        f"Finished {label}: version {row.model_version}, test roc_auc {roc_auc:.3f} → {where}",
        "success",
    )
    reasons = "; ".join(metrics["decision_reasons"])
    say(
        1,
        f"Decision for {label} {row.model_version}: {metrics['decision']} ({reasons}); {moved}",
        None,
    )
    return runs.Outcome(subject, algorithm, row.model_version, True, metrics)


def _promote(algo_dir, version: str, metrics: dict, trigger: str) -> str:
    """Move `current` as the decision says, after the version is published; says what it did."""
    from gregory.ml import gate, promotion

    decision = metrics["decision"]
    reason = f"gate {decision}: " + "; ".join(metrics["decision_reasons"])
    if decision == gate.DEPLOY:
        promotion.write_current(algo_dir, version, trigger, reason)
        return f"current → {version}"
    served = metrics.get("gate_current_version")
    current = promotion.read_current(algo_dir)
    if decision != gate.SKIPPED and served and current is None:
        # Without a pointer prediction would take the newest version, this one: pin the version
        # that was being served, so REVIEW and FAIL leave prediction where it was.
        promotion.write_current(algo_dir, served, trigger, f"{version} not promoted, {reason}")
        return f"current pinned to {served}"
    return f"current stays {current['version'] if current else 'unset (newest is used)'}"


def summary_table(outcomes: Sequence[runs.Outcome]) -> list[str]:
    return runs.summary_table(outcomes, ("n_train", *SUMMARY_METRICS), _cell)


def _cell(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
