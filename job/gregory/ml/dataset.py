"""Data assembly (spec §3): one subject's labelled articles as texts, in one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.utils import timezone

from gregory.ml.splits import TextSplit
from gregory.models import ArticleSubjectRelevance, Subject

Summarise = Callable[[Sequence[str]], list[str]]


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


def _relevance_rows(subject: Subject, since: dt.datetime | None, labelled: bool) -> RawArticles:
    rows = ArticleSubjectRelevance.objects.filter(subject=subject, is_relevant__isnull=not labelled)
    if since is not None:
        rows = rows.filter(article__discovery_date__gte=since)
    # One query with a join; ordered so the split sees the same input order on every database.
    values = rows.order_by("article_id").values_list(
        "article_id", "article__title", "article__summary", "is_relevant"
    )
    ids, titles, summaries, labels = [], [], [], []
    for article_id, title, summary, is_relevant in values.iterator(chunk_size=5000):
        ids.append(article_id)
        titles.append(title or "")
        summaries.append(summary or "")
        labels.append(None if is_relevant is None else int(is_relevant))
    return RawArticles(ids, titles, summaries, labels)


def labelled_articles(subject: Subject, since: dt.datetime | None) -> RawArticles:
    """Articles with a reviewed (non-NULL) relevance for this subject, discovered since `since`."""
    return _relevance_rows(subject, since, labelled=True)


def unlabelled_articles(subject: Subject, since: dt.datetime | None) -> RawArticles:
    """The subject's articles nobody has reviewed yet (is_relevant NULL): the pseudo-label pool."""
    return _relevance_rows(subject, since, labelled=False)


def compose_texts(raw: RawArticles, summarise: Summarise) -> list[str]:
    """Title + generated summary; title alone where the article has no summary."""
    with_summary = [i for i, summary in enumerate(raw.summaries) if summary.strip()]
    generated = summarise([raw.summaries[i] for i in with_summary]) if with_summary else []
    texts = list(raw.titles)
    for i, summary in zip(with_summary, generated, strict=True):
        texts[i] = f"{raw.titles[i]}\n{summary}" if summary.strip() else raw.titles[i]
    return texts


def as_split(raw: RawArticles, texts: list[str]) -> TextSplit:
    labels = np.asarray([label or 0 for label in raw.labels], dtype=np.int8)
    return TextSplit(texts=texts, labels=labels, article_ids=list(raw.article_ids))
