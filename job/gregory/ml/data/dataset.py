"""Data assembly: a subject's articles, from the database to the texts the models see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from gregory.ml.data import text
from gregory.ml.data.splits import TextSplit
from gregory.models import Articles, ArticleSubjectRelevance, MLPredictions, Subject

Summarise = text.Summarise


def window_start(window_days: int | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """Earliest discovery_date included; None when every article counts (--all-articles)."""
    if window_days is None:
        return None
    return (now or timezone.now()) - dt.timedelta(days=window_days)


@dataclass
class RawArticles:
    article_ids: list[int]
    titles: list[str]
    summaries: list[str]
    labels: list[int | None]


@dataclass
class PreparedArticles:
    """The articles that kept a text after preparation, with their ids and labels aligned."""

    article_ids: list[int]
    texts: list[str]
    labels: list[int | None]
    # Left out: too few words once cleaned.
    dropped_ids: list[int]


def _rows(values, with_label: bool) -> RawArticles:
    ids, titles, summaries, labels = [], [], [], []
    for row in values.iterator(chunk_size=5000):
        ids.append(row[0])
        titles.append(row[1] or "")
        summaries.append(row[2] or "")
        labels.append(None if not with_label or row[3] is None else int(row[3]))
    return RawArticles(ids, titles, summaries, labels)


def _relevance_rows(subject: Subject, since: dt.datetime | None, labelled: bool) -> RawArticles:
    rows = ArticleSubjectRelevance.objects.filter(subject=subject, is_relevant__isnull=not labelled)
    if since is not None:
        rows = rows.filter(article__discovery_date__gte=since)
    # One query with a join; ordered so the split sees the same input order on every database.
    values = rows.order_by("article_id").values_list(
        "article_id", "article__title", "article__summary", "is_relevant"
    )
    return _rows(values, with_label=True)


def labelled_articles(subject: Subject, since: dt.datetime | None) -> RawArticles:
    """Articles with a reviewed (non-NULL) relevance for this subject, discovered since `since`."""
    return _relevance_rows(subject, since, labelled=True)


def unlabelled_articles(subject: Subject, since: dt.datetime | None) -> RawArticles:
    """The subject's articles nobody has reviewed yet (is_relevant NULL): the pseudo-label pool."""
    return _relevance_rows(subject, since, labelled=False)


def article_ids_to_score(
    subject: Subject, since: dt.datetime | None, algorithm: str, model_version: str
) -> list[int]:
    """The subject's articles in the window whose latest score for this algorithm is not this
    version's: never scored, or scored since (or at the same instant) by another version.

    GregoryAI's candidates: articles linked through Articles.subjects (a relevance row alone does
    not make one), with a summary; a title alone is not what the models were trained on. The
    second case is a promotion back to an older version: its rows exist but readers take the
    newer version's, so those articles are scored again (predicting refreshes the old rows).
    """
    linked = Articles.subjects.through.objects.filter(subject=subject).values("articles_id")
    this_version = MLPredictions.objects.filter(
        subject=subject, algorithm=algorithm, model_version=model_version
    )
    ours = this_version.filter(article=OuterRef("pk"))
    # exclude() keeps rows with a NULL model_version: GregoryAI's own are "another version" too.
    superseding = MLPredictions.objects.filter(
        article=OuterRef("pk"),
        subject=subject,
        algorithm=algorithm,
        created_date__gte=Subquery(
            this_version.filter(article=OuterRef("article")).values("created_date")[:1]
        ),
    ).exclude(model_version=model_version)
    rows = (
        Articles.objects.filter(article_id__in=linked)
        .exclude(Q(summary__isnull=True) | Q(summary=""))
        .filter(~Exists(ours) | Exists(superseding))
    )
    if since is not None:
        rows = rows.filter(discovery_date__gte=since)
    return list(rows.order_by("article_id").values_list("article_id", flat=True))


def articles_by_id(ids: Sequence[int]) -> RawArticles:
    """Titles and summaries of these articles, in id order, in one query; no labels."""
    values = (
        Articles.objects.filter(article_id__in=list(ids))
        .order_by("article_id")
        .values_list("article_id", "title", "summary")
    )
    return _rows(values, with_label=False)


def prepare_articles(raw: RawArticles, summarise: Summarise) -> PreparedArticles:
    """The model texts of these articles (ml.data.text), dropping those with too few words."""
    prepared = text.prepare(raw.titles, raw.summaries, summarise)
    return PreparedArticles(
        article_ids=[raw.article_ids[i] for i in prepared.kept],
        texts=prepared.texts,
        labels=[raw.labels[i] for i in prepared.kept],
        dropped_ids=[raw.article_ids[i] for i in prepared.dropped],
    )


class PreparedTexts:
    """One subject's prepared texts by article id: each article is prepared (and summarised) once
    however many algorithms or batches of that subject ask for it; dropped ones are remembered."""

    def __init__(
        self, summarise: Summarise, load: Callable[[Sequence[int]], RawArticles] = articles_by_id
    ) -> None:
        self.summarise = summarise
        self.load = load
        self._texts: dict[int, str | None] = {}

    def prepare(self, raw: RawArticles) -> PreparedArticles:
        """`raw` prepared, the articles not seen before through the summariser and the cleaning."""
        new = [n for n, article in enumerate(raw.article_ids) if article not in self._texts]
        if new:
            fresh = RawArticles(
                [raw.article_ids[n] for n in new],
                [raw.titles[n] for n in new],
                [raw.summaries[n] for n in new],
                [raw.labels[n] for n in new],
            )
            prepared = prepare_articles(fresh, self.summarise)
            self._texts.update(dict.fromkeys(fresh.article_ids))
            self._texts.update(zip(prepared.article_ids, prepared.texts, strict=True))
        kept = [n for n, article in enumerate(raw.article_ids) if self._texts[article] is not None]
        return PreparedArticles(
            article_ids=[raw.article_ids[n] for n in kept],
            texts=[self._texts[raw.article_ids[n]] or "" for n in kept],
            labels=[raw.labels[n] for n in kept],
            dropped_ids=[a for a in raw.article_ids if self._texts[a] is None],
        )

    def by_id(self, ids: Sequence[int]) -> PreparedArticles:
        """These articles prepared, in the order given; those not seen before are loaded first."""
        missing = [i for i in ids if i not in self._texts]
        if missing:
            self.prepare(self.load(missing))
            self._texts.update((i, None) for i in missing if i not in self._texts)  # deleted
        kept = [i for i in ids if self._texts[i] is not None]
        return PreparedArticles(
            article_ids=kept,
            texts=[self._texts[i] or "" for i in kept],
            labels=[None] * len(kept),
            dropped_ids=[i for i in ids if self._texts[i] is None],
        )


def as_split(prepared: PreparedArticles) -> TextSplit:
    """A TextSplit of prepared articles; unreviewed ones (the pseudo-label pool) count as 0."""
    labels = np.asarray([label or 0 for label in prepared.labels], dtype=np.int8)
    return TextSplit(
        texts=list(prepared.texts), labels=labels, article_ids=list(prepared.article_ids)
    )
