import datetime as dt

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gregory.ml.data import dataset
from gregory.models import Articles, MLPredictions, Subject
from tests.support.articles import add_articles


def test_window_and_label_rule(subject):
    add_articles(subject, [True, False], age_days=10)
    add_articles(subject, [True, False], age_days=200)  # outside the 90-day window
    add_articles(subject, [None, None], age_days=10)  # not reviewed
    other = Subject.objects.create(
        team=subject.team, subject_name="o", subject_slug="other", auto_predict=True
    )
    add_articles(other, [True, True], age_days=1)  # another subject's labels
    recent = dataset.labelled_articles(subject, dataset.window_start(90))
    assert recent.labels == [1, 0]
    everything = dataset.labelled_articles(subject, dataset.window_start(None))
    assert everything.labels == [1, 0, 1, 0]
    narrow = dataset.labelled_articles(subject, dataset.window_start(5))
    assert narrow.labels == []
    pool = dataset.unlabelled_articles(subject, dataset.window_start(90))
    assert pool.labels == [None, None]


LONG_TITLE = "Natalizumab lowered relapse rates in relapsing multiple sclerosis over two years"


def test_texts_are_prepared_and_labels_follow_the_articles_that_kept_one(subject):
    add_articles(subject, [True], title="<b>Title A</b> " + LONG_TITLE, summary="<p>long</p>")
    short = add_articles(subject, [False], title="Too short", summary="")
    add_articles(subject, [False], title="Title C " + LONG_TITLE, summary=None)
    raw = dataset.labelled_articles(subject, None)
    seen = []

    def shout(texts):
        seen.extend(texts)
        return [f"GENERATED {t.upper()}" for t in texts]

    prepared = dataset.prepare_articles(raw, shout)
    assert seen == ["long"]  # HTML stripped first; empty summaries never reach the summariser
    words = "natalizumab lowered relapse rates relapsing multiple sclerosis two years"
    assert prepared.texts == [f"title {words} generated long", f"title c {words}"]
    assert prepared.labels == [1, 0]
    assert prepared.article_ids == [raw.article_ids[0], raw.article_ids[2]]
    assert prepared.dropped_ids == [short[0].pk]
    split = dataset.as_split(prepared)
    assert split.labels.dtype == np.int8 and split.labels.tolist() == [1, 0]
    assert split.article_ids == prepared.article_ids and split.texts == prepared.texts


def test_candidates_are_linked_articles_with_a_summary_whose_latest_score_is_not_ours(subject):
    linked = add_articles(subject, [None, True, None, None], age_days=3)
    old = add_articles(subject, [None], age_days=200)
    for article in [*linked, *old]:
        article.subjects.add(subject)
    # A relevance row alone does not link (GregoryAI's candidates come from Articles.subjects).
    (relevance_only,) = add_articles(subject, [None], age_days=3)
    # A title alone is not what the models were trained on: GregoryAI leaves it out too.
    title_only = Articles.objects.create(title="t", link="https://example.org/t", summary=None)
    empty = Articles.objects.create(title="e", link="https://example.org/e", summary="")
    title_only.subjects.add(subject)
    empty.subjects.add(subject)
    other = Subject.objects.create(
        team=subject.team, subject_name="o", subject_slug="other", auto_predict=True
    )
    for article in add_articles(other, [None]):
        article.subjects.add(other)
    at = timezone.now()

    def scored(article, version, minutes):
        row = MLPredictions.objects.create(
            subject=subject, article=article, model_version=version, algorithm="lgbm_tfidf"
        )
        created = at + dt.timedelta(minutes=minutes)
        MLPredictions.objects.filter(pk=row.pk).update(created_date=created)

    scored(linked[1], "v1", 0)  # v1's row is the latest: nothing to do for v1
    scored(linked[2], "v1", 0)
    scored(linked[2], "v2", 5)  # v2 scored it since: v1, promoted back, scores it again
    scored(linked[3], "v1", 5)
    scored(linked[3], None, 5)  # GregoryAI's own row at the same instant: v1 makes sure
    since = dataset.window_start(90)
    with CaptureQueriesContext(connection) as queries:
        ids = dataset.article_ids_to_score(subject, since, "lgbm_tfidf", "v1")
    assert len(queries) == 1
    assert ids == [linked[0].pk, linked[2].pk, linked[3].pk]
    assert dataset.article_ids_to_score(subject, since, "lgbm_tfidf", "v2") == [
        linked[0].pk,
        linked[1].pk,
        linked[3].pk,
    ]
    # Another algorithm has scored nothing yet; --all-articles reaches the old one.
    everything = dataset.article_ids_to_score(subject, None, "lstm", "v1")
    assert everything == sorted(a.pk for a in [*linked, *old])
    fetched = dataset.articles_by_id(ids)
    assert fetched.article_ids == ids and fetched.labels == [None, None, None]
    assert relevance_only.pk not in everything and fetched.summaries[0].startswith("summary")


@pytest.mark.postgres
@pytest.mark.parametrize("n", [10, 300])
def test_assembly_query_count_does_not_grow_with_articles(subject, n, django_assert_num_queries):
    add_articles(subject, [i % 2 == 0 for i in range(n)])
    with django_assert_num_queries(1):
        raw = dataset.labelled_articles(subject, dataset.window_start(90))
    assert len(raw.labels) == n


def test_chunked_iteration_stays_one_query_per_chunk(subject):
    add_articles(subject, [i % 3 == 0 for i in range(12_000)])
    with CaptureQueriesContext(connection) as queries:
        raw = dataset.labelled_articles(subject, None)
    assert len(raw.article_ids) == 12_000
    assert raw.article_ids == sorted(raw.article_ids)
    assert len(queries) <= 3


@pytest.mark.postgres
def test_tests_run_on_the_database_asked_for(db, database_kind):
    from django.db import connection

    assert connection.vendor == {"sqlite": "sqlite", "postgres": "postgresql"}[database_kind]
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone() == (1,)
