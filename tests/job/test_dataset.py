import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gregory.ml import dataset
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


def test_unscored_articles_are_linked_either_way_once_each_and_in_the_window(subject):
    by_relevance = add_articles(subject, [None, True], age_days=3)
    old = add_articles(subject, [None], age_days=200)
    # Linked through Articles.subjects only, and through both ways at once.
    m2m_only = Articles.objects.create(title="m2m only", link="https://example.org/m2m")
    m2m_only.subjects.add(subject)
    by_relevance[0].subjects.add(subject)
    other = Subject.objects.create(
        team=subject.team, subject_name="o", subject_slug="other", auto_predict=True
    )
    add_articles(other, [None])
    MLPredictions.objects.create(
        subject=subject, article=by_relevance[1], model_version="v1", algorithm="lgbm_tfidf"
    )
    since = dataset.window_start(90)
    with CaptureQueriesContext(connection) as queries:
        ids = dataset.unscored_article_ids(subject, since, "lgbm_tfidf", "v1")
    assert len(queries) == 1
    assert ids == [by_relevance[0].pk, m2m_only.pk]
    # Another version or algorithm has scored nothing yet; --all-articles reaches the old one.
    assert dataset.unscored_article_ids(subject, since, "lgbm_tfidf", "v2") == sorted(
        [by_relevance[0].pk, by_relevance[1].pk, m2m_only.pk]
    )
    assert old[0].pk in dataset.unscored_article_ids(subject, None, "lstm", "v1")
    fetched = dataset.articles_by_id(ids)
    assert fetched.article_ids == ids and fetched.labels == [None, None]
    assert fetched.titles[1] == "m2m only" and fetched.summaries[1] == ""


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
