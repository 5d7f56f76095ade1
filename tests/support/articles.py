"""Labelled articles for the test database, and the real sample as an import_articles CSV."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
from collections.abc import Sequence
from pathlib import Path

from django.utils import timezone

from gregory.ml.data.splits import SEED
from gregory.models import Articles, ArticleSubjectRelevance, Subject
from tests.support.data import SAMPLE_CSV

# Every article gets its own link, so titles may repeat without breaking (title, link) unique.
_LINK_NUMBERS = itertools.count()


def add_articles(
    subject: Subject,
    labels: Sequence[bool | None],
    *,
    age_days: Sequence[int] | int = 1,
    # Long enough to pass GregoryAI's 10-word minimum after cleaning.
    title: str = "article {i} on a multiple sclerosis cohort, relevant={label}",
    summary: str | None = "summary {i}: patients, methods, outcomes and findings of the study",
) -> list[Articles]:
    now = timezone.now()
    ages = [age_days] * len(labels) if isinstance(age_days, int) else list(age_days)
    articles = Articles.objects.bulk_create(
        [
            Articles(
                title=title.format(i=i, label=label),
                link=f"https://example.org/articles/{next(_LINK_NUMBERS)}",
                summary=None if summary is None else summary.format(i=i, label=label),
            )
            for i, label in enumerate(labels)
        ]
    )
    # discovery_date is auto_now_add: the insert stamps now, an update sets the ages.
    for article, age in zip(articles, ages, strict=True):
        article.discovery_date = now - dt.timedelta(days=age)
    Articles.objects.bulk_update(articles, ["discovery_date"])
    ArticleSubjectRelevance.objects.bulk_create(
        [
            ArticleSubjectRelevance(article=a, subject=subject, is_relevant=label)
            for a, label in zip(articles, labels, strict=True)
        ]
    )
    return articles


def sample_as_import_csv(path: Path, seed: int = SEED) -> Path:
    """The real sample in import_articles' format: the first 12 words as title, the rest as the
    summary (prediction leaves a title alone out, as GregoryAI does; cleaned, the model text is
    the same as the whole text as a title), dates over 60 days."""
    rng = random.Random(seed)
    today = dt.date.today()
    with SAMPLE_CSV.open(newline="") as source, path.open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["link", "title", "summary", "relevant", "discovery_date"])
        # article_id repeats in the sample, so the row number makes the link.
        for number, row in enumerate(csv.DictReader(source)):
            day = today - dt.timedelta(days=rng.randint(0, 60))
            link = f"urn:gregory-import:ms-{number}"
            words = row["text_processed"].split()
            title, summary = " ".join(words[:12]), " ".join(words[12:])
            writer.writerow([link, title, summary, row["relevant"], day])
    return path
