"""The review queue: a subject's unreviewed articles in the order that teaches its models most.

Unreviewed means no relevance row for the subject, or one whose `is_relevant` is NULL; GregoryAI
has both. Articles the promoted (`current`) versions are least sure of come first, with a share
of random picks mixed in: an uncertainty ranking from a model trained on few labels is itself
unreliable (the cold start), and random picks keep the labels representative. Below
COLD_START_LABELS labels, and when no version is published yet, the queue is all random.
Scores are the version's own MLPredictions rows where predict_articles wrote them; the rest are
scored here through the same loader and text preparation as predict_articles. A version
gregory-train did not write is never used: the queue says so in a note and goes on without it.
Subjects whose auto_predict is off can be reviewed too: labelling trains nothing, and labels
gathered first are what such a subject's first model needs once auto_predict is turned on.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Exists, OuterRef, Q

from gregory import algorithms
from gregory.ml import dataset, layout, loading, provenance, summariser, text
from gregory.ml.queue_policy import (
    COLD_START_LABELS,
    DEFAULT_COUNT,
    DEFAULT_RANDOM_SHARE,
    RANDOM,
    STRATEGIES,
    UNCERTAINTY,
    mix,
    uncertainty,
)
from gregory.models import Articles, ArticleSubjectRelevance, MLPredictions, Subject


@dataclass(frozen=True)
class Score:
    algorithm: str
    version: str
    # Calibrated P(relevant), as predict_articles writes it.
    probability: float
    threshold: float


@dataclass(frozen=True)
class QueueItem:
    article_id: int
    title: str
    # HTML stripped, as written (not summarised).
    summary: str
    scores: tuple[Score, ...]
    # 0 (every model sure) to 1 (at the threshold, or the models disagree); None: not scored.
    uncertainty: float | None
    reason: str
    random_pick: bool


@dataclass(frozen=True)
class Queue:
    items: list[QueueItem]
    # Unreviewed articles of the subject in the window (the pool the queue is drawn from).
    unreviewed: int
    labels: int
    positives: int
    # The promoted version of each algorithm that scored the pool.
    versions: dict[str, str] = field(default_factory=dict)
    # What the operator should know about how the queue was built (cold start, no model).
    notes: tuple[str, ...] = ()


def unreviewed_article_ids(subject: Subject, since: dt.datetime | None) -> list[int]:
    """The subject's articles in the window nobody has labelled for it, in id order.

    Linked either way GregoryAI links them (Articles.subjects or a relevance row); reviewed
    means a relevance row with a non-NULL is_relevant.
    """
    through_m2m = Articles.subjects.through.objects.filter(subject=subject).values("articles_id")
    through_relevance = ArticleSubjectRelevance.objects.filter(subject=subject).values("article_id")
    reviewed = ArticleSubjectRelevance.objects.filter(
        article=OuterRef("pk"), subject=subject, is_relevant__isnull=False
    )
    rows = Articles.objects.filter(
        Q(article_id__in=through_m2m) | Q(article_id__in=through_relevance)
    ).filter(~Exists(reviewed))
    if since is not None:
        rows = rows.filter(discovery_date__gte=since)
    return list(rows.order_by("article_id").values_list("article_id", flat=True))


def label_counts(subject: Subject, since: dt.datetime | None) -> tuple[int, int]:
    """(labels, positives) of the subject in the window: what its next training run sees."""
    rows = ArticleSubjectRelevance.objects.filter(subject=subject, is_relevant__isnull=False)
    if since is not None:
        rows = rows.filter(article__discovery_date__gte=since)
    values = list(rows.values_list("is_relevant", flat=True))
    return len(values), sum(values)


def served_versions(subject: Subject) -> tuple[dict[str, str], list[str]]:
    """The version each algorithm serves (promoted, else newest), and a note for each promoted
    one refused because gregory-train did not write it; algorithms with none left out."""
    versions, notes = {}, []
    for algorithm in algorithms.ALGORITHMS:
        algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
        try:
            path = loading.version_dir(algo_dir)
            provenance.own_metrics(path)  # a directory without metrics.json is no version
            versions[algorithm] = path.name
        except loading.ForeignVersion as error:
            notes.append(f"{algorithm}: {error}")
        except loading.VersionNotFound:
            continue
    return versions, notes


def promoted_versions(subject: Subject) -> dict[str, str]:
    """The version each algorithm serves (promoted, else newest); algorithms with none left out."""
    return served_versions(subject)[0]


def _threshold(subject: Subject, algorithm: str, version: str) -> float:
    algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
    return float(provenance.own_metrics(algo_dir / version)["prob_threshold"])


def score_pool(
    subject: Subject, ids: Sequence[int], versions: dict[str, str]
) -> tuple[dict[int, list[Score]], list[str]]:
    """Each article's scores by each served version, and notes on versions that could not score.

    Stored MLPredictions rows are used as they are; articles without one are prepared once
    (summarised, cleaned) for every algorithm and scored by the loaded version. Articles too
    short to score get no score, as in predict_articles.
    """
    scores: dict[int, list[Score]] = {article: [] for article in ids}
    notes: list[str] = []
    missing: dict[str, list[int]] = {}
    for algorithm, version in versions.items():
        threshold = _threshold(subject, algorithm, version)
        stored = dict(
            MLPredictions.objects.filter(
                subject=subject,
                algorithm=algorithm,
                model_version=version,
                article_id__in=list(ids),
                probability_score__isnull=False,
            ).values_list("article_id", "probability_score")
        )
        for article, probability in stored.items():
            scores[article].append(Score(algorithm, version, float(probability), threshold))
        missing[algorithm] = [article for article in ids if article not in stored]
    to_prepare = sorted({article for needed in missing.values() for article in needed})
    if not to_prepare:
        return scores, notes
    prepared = dataset.prepare_articles(
        dataset.articles_by_id(to_prepare), lambda texts: summariser.summarise_bulk(texts)
    )
    texts_by_id = dict(zip(prepared.article_ids, prepared.texts, strict=True))
    for algorithm, needed in missing.items():
        kept = [article for article in needed if article in texts_by_id]
        if not kept:
            continue
        algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
        predictor = loading.load_version(algo_dir / versions[algorithm])
        if predictor.preparation and predictor.preparation != text.PREPARATION:
            notes.append(
                f"{algorithm} {predictor.version} prepared its texts as {predictor.preparation}: "
                "left out, retrain it"
            )
            continue
        probabilities = predictor.predict_proba([texts_by_id[article] for article in kept])
        for article, probability in zip(kept, probabilities, strict=True):
            scores[article].append(
                Score(algorithm, predictor.version, float(probability), predictor.threshold)
            )
    return scores, notes


def _describe(item_scores: Sequence[Score], value: float) -> str:
    sides = {score.probability >= score.threshold for score in item_scores}
    if len(sides) > 1:
        return f"the models disagree (uncertainty {value:.2f})"
    nearest = min(item_scores, key=lambda score: abs(score.probability - score.threshold))
    return (
        f"uncertain: {nearest.algorithm} {nearest.probability:.2f} near its threshold "
        f"{nearest.threshold:g} (uncertainty {value:.2f})"
    )


def _uncertainties(scores: dict[int, list[Score]]) -> dict[int, float]:
    """Each scored article's uncertainty, over the algorithms that scored it."""
    scored = [article for article, found in scores.items() if found]
    values: dict[int, float] = {}
    for group in {tuple(s.algorithm for s in scores[a]) for a in scored}:
        members = [a for a in scored if tuple(s.algorithm for s in scores[a]) == group]
        p = np.array([[s.probability for s in scores[a]] for a in members])
        t = np.array([s.threshold for s in scores[members[0]]])
        values.update(zip(members, uncertainty(p, t).tolist(), strict=True))
    return values


def build_queue(
    subject: Subject,
    since: dt.datetime | None,
    *,
    count: int = DEFAULT_COUNT,
    strategy: str = UNCERTAINTY,
    random_share: float = DEFAULT_RANDOM_SHARE,
    cold_start_labels: int = COLD_START_LABELS,
    seed: int | None = None,
) -> Queue:
    """The next `count` articles to review for `subject`, with why each was picked."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    rng = random.Random(seed)
    ids = unreviewed_article_ids(subject, since)
    labels, positives = label_counts(subject, since)
    versions, notes = served_versions(subject) if ids else ({}, [])
    share, why_random = random_share, "random pick (for diversity)"
    if strategy == RANDOM:
        share, why_random = 1.0, "random pick (--strategy random)"
    elif not versions:
        share, why_random = 1.0, "random pick (no published version yet)"
        notes.append("no published version scores this subject yet: the queue is random")
    elif labels < cold_start_labels:
        share = 1.0
        why_random = f"random pick (cold start: {labels} labels < {cold_start_labels})"
        notes.append(
            f"cold start: {labels} labels, fewer than {cold_start_labels}: the queue is random"
        )
    # All random: only the picks need scores (to show them), not the whole pool.
    picks = mix(ids, count, share, rng) if share >= 1.0 else None
    to_score = ids if picks is None else [article for article, _ in picks]
    scores: dict[int, list[Score]] = {article: [] for article in ids}
    if versions:
        found, failed = score_pool(subject, to_score, versions)
        scores.update(found)
        notes.extend(failed)
    values = _uncertainties(scores)
    if picks is None:
        # Most uncertain first; unscored articles (too short to score) last; ties by id.
        ranked = sorted(ids, key=lambda a: (-values.get(a, -1.0), a))
        picks = mix(ranked, count, share, rng)
    raw = dataset.articles_by_id([article for article, _ in picks])
    details = {
        article: (title, summary)
        for article, title, summary in zip(raw.article_ids, raw.titles, raw.summaries, strict=True)
    }
    items = []
    for article, at_random in picks:
        title, summary = details[article]
        value = values.get(article)
        if at_random:
            reason = why_random
        elif value is None:
            reason = "not scored: too few words once cleaned"
        else:
            reason = _describe(scores[article], value)
        items.append(
            QueueItem(
                article_id=article,
                title=text.strip_html(title).strip(),
                summary=text.strip_html(summary).strip(),
                scores=tuple(scores[article]),
                uncertainty=value,
                reason=reason,
                random_pick=at_random,
            )
        )
    return Queue(items, len(ids), labels, positives, versions, tuple(notes))
