"""Prediction runs: a subject's articles scored by a published version, per algorithm.

The articles are those whose latest score is not the version's (gregory.ml.data.dataset). Each
(subject, algorithm) run has its PredictionRunLog row (run_type "predict") unless it is a dry
run, which writes nothing and reports what it would have written. Texts are prepared by
gregory.ml.data.text exactly as for training, summarisation included, once per subject whatever the
number of algorithms; scores are written in bounded batches, each in one transaction with the
recompute of its articles' ml_score and relevant (gregory.ml.derived_fields), so a stopped run
keeps its work and readers never see a batch without its derived fields.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from gregory.flags import PredictFlags
from gregory.ml import derived_fields
from gregory.ml.core import layout
from gregory.ml.data import dataset, summariser, text
from gregory.ml.runs import db_retry, lifecycle, output, signals
from gregory.ml.store import loading
from gregory.models import MLPredictions, Subject

COMMAND = "predict_articles"
BATCH_SIZE = 256
SUMMARY_COUNTS = (
    "candidates",
    "scored",
    "written",
    "refreshed",
    "relevant",
    "dropped",
    "changed",
)


@dataclass
class Counts:
    candidates: int = 0  # articles of the subject in the window whose latest score is not ours
    scored: int = 0
    written: int = 0  # MLPredictions rows written: inserted + refreshed (0 in a dry run)
    refreshed: int = 0  # of those, this version's existing rows made the latest again
    relevant: int = 0  # scored at or above the threshold
    dropped: int = 0  # left out: too few words once cleaned
    changed: int = 0  # articles whose ml_score or relevant the recompute changed


def predict_subjects(
    flags: PredictFlags, subjects: Sequence[Subject], say: output.Say
) -> list[output.Outcome]:
    """Every selected algorithm for every subject, in turn; a failed run does not stop the rest."""
    trigger = lifecycle.triggered_by(COMMAND)
    outcomes: list[output.Outcome] = []

    def summarise(texts: Sequence[str]) -> list[str]:
        return summariser.summarise_bulk(texts, progress=flags.verbose >= 1)

    with signals.stop_on_signals():
        if not flags.dry_run:
            lifecycle.resolve_lost(subjects, say)
        for subject in subjects:
            # A read: safe to retry over a database restart.
            load = db_retry.database_retry(dataset.articles_by_id)
            texts = dataset.PreparedTexts(summarise, load)
            for algorithm in flags.algos:
                outcomes.append(_predict_one(subject, algorithm, texts, flags, trigger, say))
    return outcomes


def _predict_one(
    subject: Subject,
    algorithm: str,
    texts: dataset.PreparedTexts,
    flags: PredictFlags,
    trigger: str,
    say: output.Say,
) -> output.Outcome:
    label = f"{algorithm} for {subject.team.slug}/{subject.subject_slug}"
    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    row = None if flags.dry_run else lifecycle.start(subject, algorithm, "predict", trigger)
    path: Path | None = None
    counts = Counts()
    try:
        with contextlib.nullcontext() if row is None else lifecycle.closing(row):
            try:
                path = loading.version_dir(algo_dir, flags.model_version)
                loaded = loading.load_version(path, algorithm)
            except loading.VersionUnusable as error:
                # A missing, damaged or foreign pointer or version: the line names the file
                # and is all there is to know (no traceback in the row); the next run goes on.
                if row is not None:
                    row.model_version = path.name if path is not None else ""
                    lifecycle.close(row, str(error))
                say(1, f"Failed {label}: {error}", "error")
                version = path.name if path is not None else flags.model_version or ""
                return output.Outcome(subject, algorithm, version, False, error=str(error))
            if row is not None:
                lifecycle.record_version(row, path.name)
            dry = " (dry run: nothing is written)" if flags.dry_run else ""
            say(1, f"Started {label} (version {path.name}){dry}", None)
            predictor = _load(loaded, flags, say)
            _score(subject, predictor, texts, flags, counts, say)
    except signals.Interrupted as stop:
        say(1, f"Interrupted {label} by {stop}", "error")
        raise
    except Exception as error:
        reason = output.report_failure(label, error, row, say)
        version = path.name if path is not None else flags.model_version or ""
        return output.Outcome(subject, algorithm, version, False, asdict(counts), reason)
    _tell_finished(label, path.name, counts, flags, say)
    return output.Outcome(subject, algorithm, path.name, True, asdict(counts))


def _tell_finished(
    label: str, version: str, counts: Counts, flags: PredictFlags, say: output.Say
) -> None:
    """The run's Finished line (and its skipped articles at verbosity 2)."""
    if counts.dropped:
        say(
            2,
            f"Skipped {counts.dropped} articles of {label}: fewer than "
            f"{text.MIN_WORD_COUNT} words once cleaned",
            "warning",
        )
    at_threshold = f"{counts.relevant} at or above {flags.prob_threshold}"
    if flags.dry_run:
        written, readers = f"would write {counts.scored} predictions ({at_threshold})", ""
    else:
        new = counts.written - counts.refreshed
        written = (
            f"wrote {counts.written} predictions "
            f"({new} new, {counts.refreshed} refreshed; {at_threshold})"
        )
        readers = f"; ml_score or relevant changed for {counts.changed} articles"
    say(
        1,
        f"Finished {label}: version {version}, {counts.candidates} articles to score, "
        f"{counts.scored} scored, {written}, {counts.dropped} too short{readers}",
        "success",
    )


def _load(predictor: loading.Predictor, flags: PredictFlags, say: output.Say) -> loading.Predictor:
    """The loaded version, if this job may serve it; warnings for what it does not record."""
    if not predictor.preparation:
        say(
            2,
            f"Warning: version {predictor.version} does not record how its texts were "
            "prepared (trained before that was recorded); its scores may be off",
            "warning",
        )
    elif predictor.preparation != text.PREPARATION:
        raise ValueError(
            f"version {predictor.version} was trained on texts prepared as "
            f"{predictor.preparation}, this job prepares them as {text.PREPARATION}: retrain it"
        )
    recorded = predictor.metrics.get(summariser.PIPELINE_KEY)
    if recorded is None:
        say(
            2,
            f"Warning: version {predictor.version} does not record its text pipeline (trained "
            "before that was recorded); served as if it were this job's",
            "warning",
        )
    elif difference := summariser.pipeline_difference(recorded, summariser.text_pipeline()):
        raise ValueError(
            f"version {predictor.version} was trained on another text pipeline ({difference}): "
            "retrain it, or set GREGORY_SUMMARISER* back"
        )
    decision = predictor.metrics.get("decision")
    if flags.model_version is None and decision in ("REVIEW", "FAIL"):
        # Only reachable without a pointer: a subject whose first gated version was not deployed.
        say(
            2,
            f"Warning: version {predictor.version} was not promoted (gate {decision}); used "
            "because nothing is promoted yet: promote_version or retrain",
            "warning",
        )
    if predictor.threshold != flags.prob_threshold:
        say(
            2,
            f"Warning: version {predictor.version} was evaluated at threshold "
            f"{predictor.threshold}; predictions use {flags.prob_threshold}",
            "warning",
        )
    return predictor


def _score(
    subject: Subject,
    predictor: loading.Predictor,
    texts: dataset.PreparedTexts,
    flags: PredictFlags,
    counts: Counts,
    say: output.Say,
) -> None:
    since = dataset.window_start(flags.window_days)
    candidates = db_retry.database_retry(dataset.article_ids_to_score)
    ids = candidates(subject, since, predictor.algorithm, predictor.version)
    counts.candidates = len(ids)
    for start in range(0, len(ids), BATCH_SIZE):
        prepared = texts.by_id(ids[start : start + BATCH_SIZE])
        kept, batch_texts = prepared.article_ids, prepared.texts
        dropped = len(prepared.dropped_ids)
        counts.dropped += dropped
        if not kept:
            continue
        probabilities = predictor.predict_proba(batch_texts)
        rows = [
            MLPredictions(
                subject=subject,
                article_id=article_id,
                model_version=predictor.version,
                algorithm=predictor.algorithm,
                probability_score=float(probability),
                predicted_relevant=bool(probability >= flags.prob_threshold),
            )
            for article_id, probability in zip(kept, probabilities, strict=True)
        ]
        counts.scored += len(rows)
        counts.relevant += sum(row.predicted_relevant for row in rows)
        if not flags.dry_run:
            inserted, refreshed, changed = _commit_batch(rows, kept)
            counts.changed += changed
            counts.written += inserted + refreshed
            counts.refreshed += refreshed


@db_retry.database_retry
def _commit_batch(rows: list[MLPredictions], kept: list[int]) -> tuple[int, int, int]:
    """One batch's scores and its articles' derived fields, in one transaction: (inserted,
    refreshed, articles changed). Retried whole over a lost connection: the transaction that
    broke was rolled back, and a commit that did land is found again as this version's rows."""
    with transaction.atomic():
        inserted, refreshed = _write(rows)
        changed = len(derived_fields.recompute(kept))
    return inserted, refreshed, changed


def _write(rows: list[MLPredictions]) -> tuple[int, int]:
    """Write the batch's scores; (rows inserted, rows refreshed).

    An article this version scored before (a promotion back to it) keeps its one row, as the
    unique (article, subject, model_version, algorithm) allows no second: its score and
    created_date are refreshed, so readers' "latest row" is this version's again. The others
    are inserted, skipping any a concurrent run wrote first.
    """
    first = rows[0]
    existing = MLPredictions.objects.filter(
        subject_id=first.subject_id,
        algorithm=first.algorithm,
        model_version=first.model_version,
        article_id__in=[row.article_id for row in rows],
    )
    row_ids = dict(existing.values_list("article_id", "pk"))
    now = timezone.now()
    refresh = [row for row in rows if row.article_id in row_ids]
    for row in refresh:
        row.pk, row.created_date = row_ids[row.article_id], now
    fields = ["probability_score", "predicted_relevant", "created_date"]
    refreshed = MLPredictions.objects.bulk_update(refresh, fields) if refresh else 0
    fresh = [row for row in rows if row.article_id not in row_ids]
    MLPredictions.objects.bulk_create(fresh, ignore_conflicts=True)
    return existing.count() - len(row_ids), refreshed


def summary_table(outcomes: Sequence[output.Outcome]) -> list[str]:
    return output.summary_table(outcomes, SUMMARY_COUNTS, str)
