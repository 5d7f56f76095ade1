import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gregory.ml import dataset
from gregory.models import Subject
from tests.support.articles import add_articles


def test_window_and_label_rule(subject):
    add_articles(subject, [True, False], age_days=10)
    add_articles(subject, [True, False], age_days=200)  # outside the 90-day window
    add_articles(subject, [None, None], age_days=10)  # not reviewed
    other = Subject.objects.create(team=subject.team, subject_name="o", subject_slug="other")
    add_articles(other, [True, True], age_days=1)  # another subject's labels
    recent = dataset.labelled_articles(subject, dataset.window_start(90))
    assert recent.labels == [1, 0]
    everything = dataset.labelled_articles(subject, dataset.window_start(None))
    assert everything.labels == [1, 0, 1, 0]
    narrow = dataset.labelled_articles(subject, dataset.window_start(5))
    assert narrow.labels == []
    pool = dataset.unlabelled_articles(subject, dataset.window_start(90))
    assert pool.labels == [None, None]


def test_text_is_title_plus_generated_summary_or_title_alone(subject):
    add_articles(subject, [True], title="Title A", summary="long summary")
    add_articles(subject, [False], title="Title B", summary="")
    add_articles(subject, [False], title="Title C", summary=None)
    raw = dataset.labelled_articles(subject, None)
    seen = []

    def shout(texts):
        seen.extend(texts)
        return [t.upper() for t in texts]

    texts = dataset.compose_texts(raw, shout)
    assert texts == ["Title A\nLONG SUMMARY", "Title B", "Title C"]
    assert seen == ["long summary"]  # empty summaries never reach the summariser
    split = dataset.as_split(raw, texts)
    assert split.labels.dtype == np.int8 and split.labels.tolist() == [1, 0, 0]


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
