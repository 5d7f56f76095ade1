"""The review queue: a subject's unreviewed articles in the order that teaches its models most.

Unreviewed means no relevance row for the subject, or one whose `is_relevant` is NULL; GregoryAI
has both. Articles the promoted (`current`) versions are least sure of come first, with a share
of random picks mixed in: an uncertainty ranking from a model trained on few labels is itself
unreliable (the cold start), and random picks keep the labels representative. Below
COLD_START_LABELS labels, and when no version is published yet, the queue is all random.
Scores are the version's own MLPredictions rows where predict_articles wrote them; the rest are
scored here through the same loader and text preparation as predict_articles, in bounded
batches with progress. A version gregory-train did not write, a pointer to nothing, a damaged
pointer, metrics.json or weights: that algorithm is left out with a note naming the file, and
the queue goes on with the others.
Subjects whose auto_predict is off can be reviewed too: labelling trains nothing, and labels
gathered first are what such a subject's first model needs once auto_predict is turned on.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db.models import Exists, OuterRef, Q

from gregory import algorithms
from gregory.ml.core import layout
from gregory.ml.data import dataset, summariser, text

# The names and defaults live apart so the launcher's parsers read them without numpy.
from gregory.ml.review.queue_defaults import (
    COLD_START_LABELS,
    DEFAULT_COUNT,
    DEFAULT_RANDOM_SHARE,
    RANDOM,
    STRATEGIES,
    UNCERTAINTY,
)
from gregory.ml.review.queue_policy import mix, uncertainty
from gregory.ml.store import loading, provenance
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


# Articles prepared and scored together when the queue scores them itself, as predict_articles
# batches them: memory stays bounded whatever the pool, and progress is told per batch.
BATCH_SIZE = 256
# Up to this many articles the stored rows are read by id (an IN list); a larger pool is read
# by ranges of article ids, this many of the pool's ids a range: a few queries of two
# parameters each (a pool-sized IN list is slow to build, and SQLite bounds its variables),
# with memory bounded by the range, not by the subject's whole history.
_BY_ID_MAX = 500
_RANGE_IDS = 5000
# What reading a damaged pointer or metrics.json may raise besides VersionUnusable: a value
# of the wrong type, a key missing, a file that cannot be read.
_DAMAGED = (OSError, ValueError, KeyError, TypeError)

# Told (scored so far, to score) before the first batch and after each one.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Served:
    """The version an algorithm serves, and the threshold it was evaluated at."""

    algorithm: str
    version: str
    path: Path
    threshold: float


def _damaged(algorithm: str, where: Path, error: BaseException) -> str:
    """One line: the algorithm left out, and the file or directory at fault."""
    if isinstance(error, provenance.VersionNotFound):  # ForeignVersion too: it says "refused"
        return f"{algorithm}: {error}"
    if isinstance(error, provenance.VersionUnusable):  # names its file itself
        return f"{algorithm} left out: {error}"
    detail = " ".join(str(error).split()) or type(error).__name__
    place = getattr(error, "filename", None) or where
    return f"{algorithm} left out: {place} is damaged ({type(error).__name__}: {detail})"


def _threshold(metrics: dict, path: Path) -> float:
    value = metrics.get("prob_threshold")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"prob_threshold is {value!r}, not a number between 0 and 1")
    return float(value)


def _served(subject: Subject) -> tuple[dict[str, Served], list[str]]:
    """Each algorithm's served version (promoted, else newest), and one note per algorithm left
    out: a version gregory-train did not write, a pointer to nothing, a damaged pointer or
    metrics.json. An algorithm never trained (no version, no pointer) is left out silently."""
    served: dict[str, Served] = {}
    notes: list[str] = []
    for algorithm in algorithms.ALGORITHMS:
        algo_dir = layout.algorithm_dir(subject.team.slug, subject.subject_slug, algorithm)
        pointer = algo_dir / layout.CURRENT_FILE
        if not layout.published_versions(algo_dir) and not pointer.exists():
            continue
        where = pointer
        try:
            path = loading.version_dir(algo_dir)
            # A directory without metrics.json is no version (VersionNotFound).
            metrics = provenance.own_metrics(path)
            where = path / layout.METRICS_FILE
            threshold = _threshold(metrics, path)
        except (provenance.VersionUnusable, *_DAMAGED) as error:
            notes.append(_damaged(algorithm, where, error))
            continue
        served[algorithm] = Served(algorithm, path.name, path, threshold)
    return served, notes


def served_versions(subject: Subject) -> tuple[dict[str, str], list[str]]:
    """The version each algorithm serves (promoted, else newest), and a note for each left out
    (not ours, missing, damaged); algorithms never trained left out silently."""
    served, notes = _served(subject)
    return {algorithm: item.version for algorithm, item in served.items()}, notes


def promoted_versions(subject: Subject) -> dict[str, str]:
    """The version each algorithm serves (promoted, else newest); algorithms with none left out."""
    return served_versions(subject)[0]


def stored_scores(subject: Subject, served: Served, ids: Sequence[int]) -> dict[int, float]:
    """The served version's stored probability_score of each of `ids` that has one.

    Rows are read oldest first, so were an article to have several (a table without the unique
    constraint) the latest one would count, as GregoryAI's readers take it.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = MLPredictions.objects.filter(
        subject=subject,
        algorithm=served.algorithm,
        model_version=served.version,
        probability_score__isnull=False,
    )
    if len(wanted) <= _BY_ID_MAX:
        parts = [rows.filter(article_id__in=wanted)]
    else:
        parts = [
            rows.filter(article_id__gte=chunk[0], article_id__lte=chunk[-1])
            for chunk in (wanted[i : i + _RANGE_IDS] for i in range(0, len(wanted), _RANGE_IDS))
        ]
    keep = set(wanted)
    found: dict[int, float] = {}
    for part in parts:
        ordered = part.order_by("created_date", "pk").values_list("article_id", "probability_score")
        for article, probability in ordered:
            if article in keep:
                found[article] = float(probability)
    return found


@dataclass
class Scored:
    """score_pool's answer: each article's scores, notes, and the algorithms left out."""

    scores: dict[int, list[Score]]
    notes: list[str] = field(default_factory=list)
    left_out: set[str] = field(default_factory=set)


def _unfit(predictor: loading.Predictor) -> str | None:
    """Why a loaded version may not score this job's texts (another preparation or text
    pipeline, as predict_articles refuses it); None when it may."""
    if predictor.preparation and predictor.preparation != text.PREPARATION:
        return f"prepared its texts as {predictor.preparation}"
    recorded = predictor.metrics.get(summariser.PIPELINE_KEY)
    if recorded is not None:
        difference = summariser.pipeline_difference(recorded, summariser.text_pipeline())
        if difference:
            return f"was trained on another text pipeline ({difference})"
    return None


def _random_share(
    strategy: str,
    random_share: float,
    served: bool,
    labels: int,
    cold_start_labels: int,
    notes: list[str],
) -> tuple[float, str]:
    """The share of random picks and how they are explained; a queue that is all random says
    why in `notes`."""
    if strategy == RANDOM:
        return 1.0, "random pick (--strategy random)"
    if not served:
        notes.append("no published version scores this subject yet: the queue is random")
        return 1.0, "random pick (no published version yet)"
    if labels < cold_start_labels:
        notes.append(
            f"cold start: {labels} labels, fewer than {cold_start_labels}: the queue is random"
        )
        return 1.0, f"random pick (cold start: {labels} labels < {cold_start_labels})"
    return random_share, "random pick (for diversity)"


def _items(
    picks: Sequence[tuple[int, bool]],
    scores: dict[int, list[Score]],
    values: dict[int, float],
    why_random: str,
) -> list[QueueItem]:
    """The picked articles with their titles, summaries, scores and why each was picked."""
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
    return items


def score_pool(
    subject: Subject,
    ids: Sequence[int],
    served: dict[str, Served],
    *,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> Scored:
    """Each article's scores by each served version.

    Stored MLPredictions rows are used as they are; the articles without one are prepared
    (summarised, cleaned) once for every algorithm that needs them and scored by the loaded
    version, `batch_size` (BATCH_SIZE) at a time. Articles too short to score get no score, as in
    predict_articles. A version that cannot be loaded or cannot score is left out whole (its
    stored scores too, so every article is ranked by the same models), with one note.
    """
    batch_size = batch_size or BATCH_SIZE
    scorer = _PoolScorer(served, Scored({article: [] for article in ids}))
    scorer.add_stored(subject, ids)
    to_score = sorted(set().union(*scorer.needed.values())) if scorer.needed else []
    if progress is not None and to_score:
        progress(0, len(to_score))
    for start in range(0, len(to_score), batch_size):
        scorer.score_batch(to_score[start : start + batch_size])
        if progress is not None:
            progress(min(start + batch_size, len(to_score)), len(to_score))
    return scorer.result


@dataclass
class _PoolScorer:
    """score_pool's state: the scores so far and each served version, loaded on first use."""

    served: dict[str, Served]
    result: Scored
    predictors: dict[str, loading.Predictor] = field(default_factory=dict)
    # Per algorithm still in the queue, the articles it has no score for yet.
    needed: dict[str, set[int]] = field(default_factory=dict)

    def add_stored(self, subject: Subject, ids: Sequence[int]) -> None:
        """Stored rows as scores; what they leave unscored, in `needed`."""
        for algorithm, item in self.served.items():
            found = stored_scores(subject, item, ids)
            for article, probability in found.items():
                self.result.scores[article].append(
                    Score(algorithm, item.version, probability, item.threshold)
                )
            self.needed[algorithm] = {article for article in ids if article not in found}

    def score_batch(self, batch: Sequence[int]) -> None:
        """Prepare `batch` once and score it with every algorithm that still needs it."""
        prepared = dataset.prepare_articles(
            dataset.articles_by_id(batch), lambda texts: summariser.summarise_bulk(texts)
        )
        texts_by_id = dict(zip(prepared.article_ids, prepared.texts, strict=True))
        for algorithm in list(self.needed):
            kept = [a for a in batch if a in texts_by_id and a in self.needed[algorithm]]
            if not kept or (predictor := self.predictor_of(algorithm)) is None:
                continue
            try:
                probabilities = predictor.predict_proba([texts_by_id[a] for a in kept])
            except Exception as error:  # weights that load but do not fit (a damaged file)
                self.leave_out(algorithm, _damaged(algorithm, predictor.path, error))
                continue
            for article, probability in zip(kept, probabilities, strict=True):
                self.result.scores[article].append(
                    Score(algorithm, predictor.version, float(probability), predictor.threshold)
                )

    def predictor_of(self, algorithm: str) -> loading.Predictor | None:
        if algorithm not in self.predictors:
            item = self.served[algorithm]
            try:
                predictor = loading.load_version(item.path)
            # Whatever one version's loading raises (VersionUnusable naming the file, or a
            # library's own error on a truncated file) leaves that algorithm out, not the queue.
            except Exception as error:
                self.leave_out(algorithm, _damaged(algorithm, item.path, error))
                return None
            if reason := _unfit(predictor):
                note = f"{algorithm} {item.version} {reason}: left out, retrain it"
                self.leave_out(algorithm, note)
                return None
            self.predictors[algorithm] = predictor
        return self.predictors[algorithm]

    def leave_out(self, algorithm: str, note: str) -> None:
        """Drop a version whole, its stored scores too: every article ranked by the same models."""
        self.result.left_out.add(algorithm)
        self.result.notes.append(note)
        self.needed.pop(algorithm, None)
        for found in self.result.scores.values():
            found[:] = [score for score in found if score.algorithm != algorithm]


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
    # One pass to group the articles by which algorithms scored them, one numpy call per group.
    groups: dict[tuple[str, ...], list[int]] = {}
    for article, found in scores.items():
        if found:
            groups.setdefault(tuple(s.algorithm for s in found), []).append(article)
    values: dict[int, float] = {}
    for members in groups.values():
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
    progress: Progress | None = None,
) -> Queue:
    """The next `count` articles to review for `subject`, with why each was picked."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    rng = random.Random(seed)
    ids = unreviewed_article_ids(subject, since)
    labels, positives = label_counts(subject, since)
    served, notes = _served(subject) if ids else ({}, [])
    share, why_random = _random_share(
        strategy, random_share, bool(served), labels, cold_start_labels, notes
    )
    # All random: only the picks need scores (to show them), not the whole pool.
    picks = mix(ids, count, share, rng) if share >= 1.0 else None
    to_score = ids if picks is None else [article for article, _ in picks]
    scores: dict[int, list[Score]] = {article: [] for article in ids}
    if served:
        scored = score_pool(subject, to_score, served, progress=progress)
        scores.update(scored.scores)
        notes.extend(scored.notes)
        served = {a: item for a, item in served.items() if a not in scored.left_out}
        if not served and picks is None:
            share, why_random = 1.0, "random pick (no published version could score)"
            notes.append("no published version could score this subject: the queue is random")
    values = _uncertainties(scores)
    if picks is None:
        # Most uncertain first; unscored articles (too short to score) last; ties by id.
        ranked = sorted(ids, key=lambda a: (-values.get(a, -1.0), a))
        picks = mix(ranked, count, share, rng)
    items = _items(picks, scores, values, why_random)
    versions = {algorithm: item.version for algorithm, item in served.items()}
    return Queue(items, len(ids), labels, positives, versions, tuple(notes))
