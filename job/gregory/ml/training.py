"""Training runs, subject by subject and algorithm by algorithm, each recorded and published.

The command hands over validated flags and the subjects in scope; this module owns the order of
work, what each run records, and what the operator is told at each verbosity level.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.utils import timezone

from gregory.flags import TrainFlags
from gregory.ml.core import layout
from gregory.ml.core.job_identity import job_name
from gregory.ml.runs import db_retry, lifecycle, output, signals
from gregory.ml.store.publishing import (
    VersionTakenError,
    publishing,
    sweep_stale_staging,
    version_exists,
)
from gregory.models import PredictionRunLog, Subject

SUMMARY_METRICS = (
    "val_f1",
    "test_accuracy",
    "test_f1",
    "test_roc_auc",
    "test_pr_auc",
    "decision",
)


def check_version_free(flags: TrainFlags, subjects: Sequence[Subject]) -> None:
    """A hand-picked --version must be new for every run, checked before any run starts: no
    directory (stale staging of killed runs aside) and no earlier run of that name."""
    if not flags.version:
        return
    for subject in subjects:
        for algorithm in flags.algos:
            algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
            sweep_stale_staging(algo_dir)
            if version_exists(algo_dir, flags.version):
                raise VersionTakenError(f"version {flags.version} already exists in {algo_dir}")
            used = lifecycle.version_user(subject, algorithm, flags.version)
            if used is not None:
                outcome = {True: "ok", False: "failed", None: "running"}[used.success]
                raise VersionTakenError(
                    f"version {flags.version} of {algorithm} for {subject.team.slug}/"
                    f"{subject.subject_slug} was used by run #{used.pk} ({outcome}); "
                    "a version name is never reused"
                )


def train_subjects(
    flags: TrainFlags, subjects: Sequence[Subject], say: output.Say
) -> list[output.Outcome]:
    """Every selected algorithm for every subject, in turn; a failed run does not stop the rest."""
    # Imported here: a usage error should not pay for numpy, scipy and scikit-learn.
    from gregory.ml.algorithm_run import SubjectData

    trigger = lifecycle.triggered_by("train_models")
    outcomes: list[output.Outcome] = []
    with signals.stop_on_signals():
        lifecycle.resolve_lost(subjects, say)
        for subject in subjects:
            data = SubjectData(subject, flags, progress=flags.verbose >= 1)
            done = [
                _done_by_this_job(subject, algorithm, say)
                or _pointer_damaged(subject, algorithm, trigger, say)
                or _unchanged(subject, algorithm, data, flags, trigger, say)
                or _train_one(subject, algorithm, data, flags, trigger, say)
                for algorithm in flags.algos
            ]
            if all(outcome.success for outcome in done):
                # A retry of this Job would need the pseudo-labels again only after a failure.
                data.release_checkpoints()
            outcomes.extend(done)
    return outcomes


def _done_by_this_job(subject: Subject, algorithm: str, say: output.Say) -> output.Outcome | None:
    """A retried pod of a Job does not train again what an earlier pod of it published."""
    job = job_name()
    if job is None:
        return None
    rows = PredictionRunLog.objects.filter(
        subject=subject, algorithm=algorithm, run_type="train", success=True, triggered_by=job
    ).order_by("-pk")
    row = db_retry.database_retry(rows.first)()
    if row is None:
        return None
    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    try:
        metrics = json.loads((algo_dir / row.model_version / layout.METRICS_FILE).read_text())
    except (OSError, ValueError):
        metrics = {}
    # A success row with a message is a --skip-unchanged row: nothing was published then.
    did = "found the data unchanged since" if row.error_message else "already published"
    say(
        1,
        f"Skipped {algorithm} for {subject.team.slug}/{subject.subject_slug}: "
        f"this Job ({job}) {did} version {row.model_version} (run #{row.pk})",
        None,
    )
    return output.Outcome(subject, algorithm, row.model_version, True, metrics)


def _pointer_damaged(
    subject: Subject, algorithm: str, trigger: str, say: output.Say
) -> output.Outcome | None:
    """A current.json that cannot be read is refused before any training or version name.

    Not taken as "nothing promoted": the gate would have nothing trustworthy to compare with,
    and a DEPLOY would overwrite what the operator last promoted (a rollback, perhaps) with a
    version compared against nothing. Found after training, it would fail every retry and spend
    a version name each time. So the run fails at once, its row closed with the one line that
    names the file and the promote_version that repairs it; the other algorithms go on.
    """
    from gregory.ml.store import promotion, provenance

    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    try:
        promotion.read_current(algo_dir)
    except provenance.PointerDamaged as damage:
        row = lifecycle.start(subject, algorithm, "train", trigger)
        lifecycle.close(row, str(damage))
        label = f"{algorithm} for {subject.team.slug}/{subject.subject_slug}"
        say(1, f"Failed {label}: {damage}", "error")
        return output.Outcome(subject, algorithm, "", False, error=str(damage))
    return None


def _unchanged(
    subject: Subject, algorithm: str, data, flags: TrainFlags, trigger: str, say: output.Say
) -> output.Outcome | None:
    """With --skip-unchanged: when the training data's fingerprint equals the current version's
    (or the newest one's, which the gate may have held back), a closed successful row says so
    and nothing is trained, published or reserved."""
    if not flags.skip_unchanged:
        return None
    from gregory.ml import fingerprint
    from gregory.ml.store import loading

    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    try:
        # The newest too: a REVIEW or FAIL of the same data would only come out again, and a
        # rollback by promote_version would be undone by a retrained twin that the gate deploys.
        candidates = dict.fromkeys(
            (loading.promoted_version(algo_dir), loading.newest_version(algo_dir))
        )
    except loading.VersionNotFound:
        return None
    recorded = {v: fingerprint.recorded_fingerprint(algo_dir / v) for v in candidates}
    if not any(recorded.values()):
        return None
    try:
        fresh = data.fingerprint(algorithm)
    except Exception:
        # The data could not be prepared: the training run records that failure, as always.
        return None
    version = next((v for v, value in recorded.items() if value == fresh), None)
    if version is None:
        return None
    sentence = (
        f"Skipped {algorithm} for {subject.team.slug}/{subject.subject_slug}: training data "
        f"unchanged since version {version} (fingerprint {fresh[:12]}…)"
    )
    row = db_retry.database_retry(PredictionRunLog.objects.create)(
        team=subject.team,
        subject=subject,
        model_version=version,
        algorithm=algorithm,
        run_type="train",
        success=True,
        # The only text column: readers of the row see why no version came of it.
        error_message=sentence,
        triggered_by=trigger,
    )
    # Closed after run_started was stamped, so the row never ends before it began.
    row.run_finished = timezone.now()
    db_retry.database_retry(row.save)(update_fields=["run_finished"])
    say(1, f"{sentence} (run #{row.pk})", None)
    return output.Outcome(subject, algorithm, version, True)


def _train_one(subject, algorithm, data, flags: TrainFlags, trigger: str, say: output.Say):
    from gregory.ml.algorithm_run import train_into
    from gregory.ml.store.publishing import OWNER_FILE

    label = f"{algorithm} for {subject.team.slug}/{subject.subject_slug}"
    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    row = lifecycle.start(subject, algorithm, "train", trigger)
    stop: signals.Interrupted | None = None
    try:
        with (
            lifecycle.closing(row),
            publishing(algo_dir, flags.version, row) as reservation,
        ):
            lifecycle.record_version(row, reservation.version)
            lifecycle.heartbeat(row).watch(reservation.staging / OWNER_FILE)
            say(1, f"Started {label} (version {reservation.version})", None)
            metrics = train_into(reservation, algorithm, data, flags)
    except signals.Interrupted as signal_received:
        if not row.success:
            say(1, f"Interrupted {label} by {signal_received}", "error")
            raise
        # Held while the version was published: finish its bookkeeping, then stop.
        stop = signal_received
    except Exception as error:
        reason = output.report_failure(label, error, row, say)
        return output.Outcome(subject, algorithm, row.model_version, False, error=reason)
    outcome = _finish(label, algo_dir, reservation.final, row, metrics, trigger, say)
    if stop is not None:
        say(1, f"Interrupted after {label} by {stop}", "error")
        raise stop
    return outcome


def _finish(label, algo_dir, where, row, metrics, trigger: str, say: output.Say) -> output.Outcome:
    """Promotion as the gate decided, and what the operator is told, for a published version."""
    subject, algorithm, version = row.subject, row.algorithm, row.model_version
    from gregory.ml import gate  # here, as the ML stack it loads: not at the command's start
    from gregory.ml.store.provenance import PointerDamaged

    try:
        moved = gate.move_current(algo_dir, version, metrics, trigger)
    except (OSError, PointerDamaged) as error:
        # Published but not promoted as decided: the operator must know, and the exit status too.
        reason = f"version {version} published, but current.json not written: {error}"
        say(1, f"Failed {label}: {reason}", "error")
        return output.Outcome(subject, algorithm, version, False, metrics, error=reason)
    roc_auc = metrics["test_roc_auc"]
    say(1, f"Finished {label}: version {version}, test roc_auc {roc_auc:.3f} → {where}", "success")
    reasons = "; ".join(metrics["decision_reasons"])
    say(1, f"Decision for {label} {version}: {metrics['decision']} ({reasons}); {moved}", None)
    return output.Outcome(subject, algorithm, version, True, metrics)


def summary_table(outcomes: Sequence[output.Outcome]) -> list[str]:
    return output.summary_table(outcomes, ("n_train", *SUMMARY_METRICS), _cell)


def _cell(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)
