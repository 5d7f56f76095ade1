"""The review queue and label writes on a subject trained by the real train_models, on SQLite
and PostgreSQL: ranking by the promoted version, stored predictions, the random share and cold
start, writes only where unreviewed, undo, and two reviewers racing."""

from __future__ import annotations

import datetime as dt
import json
import threading
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from gregory import labels
from gregory.ml.core import layout
from gregory.ml.data import dataset, summariser
from gregory.ml.review import ranking
from gregory.ml.review.queue_policy import uncertainty
from gregory.ml.store import loading
from gregory.models import Articles, ArticleSubjectRelevance, MLPredictions, Subject, Team
from tests.support.articles import add_articles

pytestmark = pytest.mark.postgres
UNREVIEWED = 60


@pytest.fixture
def trained_unreviewed() -> int:
    return UNREVIEWED


def unreviewed_ids(subject: Subject) -> list[int]:
    return sorted(
        ArticleSubjectRelevance.objects.filter(
            subject=subject, is_relevant__isnull=True
        ).values_list("article_id", flat=True)
    )


def loader_probabilities(subject: Subject, ids: list[int]) -> tuple[dict[int, float], float]:
    """What the promoted version gives these articles, prepared as predict_articles does."""
    algo_dir = layout.algorithm_dir("demo", subject.subject_slug, "lgbm_tfidf")
    predictor = loading.load_version(loading.version_dir(algo_dir))
    prepared = dataset.prepare_articles(dataset.articles_by_id(ids), summariser.summarise_bulk)
    scores = predictor.predict_proba(prepared.texts)
    return dict(zip(prepared.article_ids, scores.tolist(), strict=True)), predictor.threshold


def test_the_queue_puts_what_the_promoted_model_is_least_sure_of_first(trained) -> None:
    queue = ranking.build_queue(trained, None, count=UNREVIEWED, seed=1)
    pool = unreviewed_ids(trained)
    assert queue.unreviewed == UNREVIEWED
    assert sorted(item.article_id for item in queue.items) == pool
    assert queue.labels == ArticleSubjectRelevance.objects.exclude(is_relevant=None).count()
    assert set(queue.versions) == {"lgbm_tfidf"}

    expected, threshold = loader_probabilities(trained, pool)
    for item in queue.items:
        (score,) = item.scores
        assert score.probability == pytest.approx(expected[item.article_id])
        assert score.threshold == threshold
    values = uncertainty(np.array([[p] for p in expected.values()]), np.array([threshold]))
    ranked = [item for item in queue.items if not item.random_pick]
    assert queue.items[0] is ranked[0]
    assert ranked[0].uncertainty == pytest.approx(values.max())
    assert [i.uncertainty for i in ranked] == sorted((i.uncertainty for i in ranked), reverse=True)
    assert ranked[0].reason.startswith("uncertain: lgbm_tfidf")
    # One pick in five is random, whatever its uncertainty.
    assert [item.random_pick for item in queue.items[:10]] == [False] * 4 + [True] + [False] * 4 + [
        True
    ]
    assert queue.items[4].reason == "random pick (for diversity)"


def test_stored_predictions_of_the_promoted_version_are_used(trained) -> None:
    call_command(
        "predict_articles",
        "--team",
        "demo",
        "--algo",
        "lgbm_tfidf",
        "--verbose",
        "0",
        stdout=StringIO(),
    )
    version = ranking.promoted_versions(trained)["lgbm_tfidf"]
    target = unreviewed_ids(trained)[-1]
    rows = MLPredictions.objects.filter(subject=trained, model_version=version)
    assert rows.filter(article_id=target).update(probability_score=0.8) == 1
    queue = ranking.build_queue(trained, None, count=5, seed=1)
    assert queue.items[0].article_id == target
    assert queue.items[0].scores[0].probability == 0.8
    assert queue.items[0].uncertainty == 1.0


def test_an_absent_relevance_row_is_unreviewed_and_a_label_creates_it(trained) -> None:
    target = unreviewed_ids(trained)[0]
    ArticleSubjectRelevance.objects.filter(subject=trained, article_id=target).delete()
    queue = ranking.build_queue(trained, None, count=UNREVIEWED, seed=1)
    assert target in {item.article_id for item in queue.items}

    written = labels.record(trained, target, True)
    assert written.created_row
    assert ArticleSubjectRelevance.objects.get(subject=trained, article_id=target).is_relevant
    again = ranking.build_queue(trained, None, count=UNREVIEWED, seed=1)
    assert target not in {item.article_id for item in again.items}


def test_the_window_bounds_the_queue(trained) -> None:
    old = unreviewed_ids(trained)[0]
    Articles.objects.filter(pk=old).update(
        discovery_date=dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    )
    inside = ranking.build_queue(trained, dataset.window_start(90), count=UNREVIEWED)
    assert old not in {item.article_id for item in inside.items}
    assert inside.unreviewed == UNREVIEWED - 1
    assert ranking.build_queue(trained, None, count=UNREVIEWED).unreviewed == UNREVIEWED


def test_cold_start_and_the_random_strategy_pick_at_random(trained) -> None:
    cold = ranking.build_queue(trained, None, count=10, cold_start_labels=10_000)
    assert all(item.random_pick for item in cold.items)
    # Picked at random, still shown with what the model thinks of them.
    assert all(len(item.scores) == 1 and item.uncertainty is not None for item in cold.items)
    assert cold.items[0].reason == f"random pick (cold start: {cold.labels} labels < 10000)"
    assert cold.notes == (
        f"cold start: {cold.labels} labels, fewer than 10000: the queue is random",
    )
    chosen = ranking.build_queue(trained, None, count=10, strategy="random")
    assert all(item.random_pick for item in chosen.items)
    assert chosen.items[0].reason == "random pick (--strategy random)"


def test_without_a_published_version_the_queue_is_random(subject: Subject, models_dir) -> None:
    add_articles(subject, [True, False] * 10 + [None] * 8)
    queue = ranking.build_queue(subject, None, count=5, seed=3)
    assert queue.versions == {}
    assert len(queue.items) == 5
    assert all(item.random_pick and not item.scores for item in queue.items)
    assert queue.notes == ("no published version scores this subject yet: the queue is random",)


def test_html_is_stripped_from_what_the_reviewer_reads(subject: Subject, models_dir) -> None:
    add_articles(
        subject,
        [None],
        title="<b>Relapses</b> &amp; lesions",
        summary="<jats:p>Background</jats:p>",
    )
    (item,) = ranking.build_queue(subject, None, count=1).items
    assert (item.title, item.summary) == ("Relapses & lesions", "Background")


def test_a_label_is_written_only_where_nobody_labelled_yet(trained) -> None:
    target = unreviewed_ids(trained)[0]
    first = labels.record(trained, target, True)
    assert not first.created_row
    with pytest.raises(labels.AlreadyLabelled) as refused:
        labels.record(trained, target, False)
    assert str(refused.value) == (
        f"article {target} is already labelled relevant for demo/ms; left unchanged"
    )
    assert ArticleSubjectRelevance.objects.get(subject=trained, article_id=target).is_relevant


def test_an_article_outside_the_subject_is_refused(subject: Subject, models_dir) -> None:
    other_team = Team.objects.create(name="Other", slug="other")
    other = Subject.objects.create(
        team=other_team, subject_name="X", subject_slug="x", auto_predict=True
    )
    (article,) = add_articles(other, [None])
    with pytest.raises(labels.NotInSubject, match=f"article {article.pk} is not an article of"):
        labels.record(subject, article.pk, True)
    with pytest.raises(labels.NotInSubject):
        labels.record(subject, 999_999, True)
    assert not ArticleSubjectRelevance.objects.filter(subject=subject).exists()


def test_undo_restores_null_only_for_the_label_it_wrote(trained) -> None:
    first, second = unreviewed_ids(trained)[:2]
    written = labels.record(trained, first, False)
    assert labels.undo(trained, written)
    assert (
        ArticleSubjectRelevance.objects.get(subject=trained, article_id=first).is_relevant is None
    )

    written = labels.record(trained, second, False)
    # Someone relabels it in GregoryAI's admin meanwhile: undo must not erase their label.
    ArticleSubjectRelevance.objects.filter(subject=trained, article_id=second).update(
        is_relevant=True
    )
    assert not labels.undo(trained, written)
    assert ArticleSubjectRelevance.objects.get(subject=trained, article_id=second).is_relevant


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_racing_on_a_missing_row_one_wins_the_other_is_told(team) -> None:
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    (article,) = add_articles(subject, [None])
    # Linked to the subject, never reviewed, no relevance row: both reviewers create it.
    article.subjects.add(subject)
    ArticleSubjectRelevance.objects.filter(article=article).delete()
    start = threading.Barrier(2)
    results: dict[bool, object] = {}

    def reviewer(relevant: bool) -> None:
        start.wait()
        try:
            results[relevant] = labels.record(subject, article.pk, relevant)
        except labels.AlreadyLabelled as error:
            results[relevant] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=reviewer, args=(value,)) for value in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [value for value, result in results.items() if isinstance(result, labels.Written)]
    losers = [result for result in results.values() if isinstance(result, labels.AlreadyLabelled)]
    assert len(winners) == 1 and len(losers) == 1, results
    (row,) = ArticleSubjectRelevance.objects.filter(subject=subject, article=article)
    assert row.is_relevant is winners[0]
    assert losers[0].current is winners[0]


def store(subject: Subject, version: str, probabilities: dict[int, float]) -> None:
    """The served version's rows, as predict_articles writes them."""
    MLPredictions.objects.bulk_create(
        MLPredictions(
            subject=subject,
            article_id=article,
            model_version=version,
            algorithm="lgbm_tfidf",
            probability_score=probability,
            predicted_relevant=probability >= 0.8,
        )
        for article, probability in probabilities.items()
    )


def test_a_large_pool_is_ranked_from_its_stored_rows_without_loading_a_model(trained) -> None:
    add_articles(trained, [None] * 700)
    pool = unreviewed_ids(trained)
    version = ranking.promoted_versions(trained)["lgbm_tfidf"]
    rng = np.random.default_rng(5)
    stored = dict(zip(pool, rng.random(len(pool)).round(3).tolist(), strict=True))
    store(trained, version, stored)
    # Nothing is left to score: weights that cannot load are never read.
    algo_dir = layout.algorithm_dir("demo", "ms", "lgbm_tfidf")
    (algo_dir / version / "lgbm_classifier.joblib").write_bytes(b"")
    told: list[tuple[int, int]] = []

    queue = ranking.build_queue(
        trained, None, count=50, random_share=0.0, seed=1, progress=lambda *a: told.append(a)
    )
    assert told == [] and queue.notes == ()
    assert queue.versions == {"lgbm_tfidf": version}
    threshold = queue.items[0].scores[0].threshold
    values = uncertainty(np.array([[p] for p in stored.values()]), np.array([threshold]))
    expected = sorted(zip(stored, values.tolist(), strict=True), key=lambda av: (-av[1], av[0]))
    assert [item.article_id for item in queue.items] == [a for a, _ in expected[:50]]
    assert all(item.scores[0].probability == stored[item.article_id] for item in queue.items)


def test_articles_without_a_stored_row_are_scored_in_batches_with_progress(
    trained, monkeypatch
) -> None:
    pool = unreviewed_ids(trained)
    version = ranking.promoted_versions(trained)["lgbm_tfidf"]
    store(trained, version, dict.fromkeys(pool[:20], 0.8))
    monkeypatch.setattr(ranking, "BATCH_SIZE", 16)
    told: list[tuple[int, int]] = []

    queue = ranking.build_queue(
        trained, None, count=UNREVIEWED, seed=1, progress=lambda *a: told.append(a)
    )
    assert told == [(0, 40), (16, 40), (32, 40), (40, 40)]
    expected, _ = loader_probabilities(trained, pool[20:])
    by_id = {item.article_id: item.scores[0].probability for item in queue.items}
    assert all(by_id[article] == 0.8 for article in pool[:20])
    assert all(by_id[a] == pytest.approx(p) for a, p in expected.items())


def damage_other_algorithm(how: str, models_dir) -> tuple[str, str]:
    """Damage pubmed_bert's side of demo/ms in one way (its version a copy of lgbm_tfidf's
    served one); (what the note must name, how lgbm_tfidf's version is named)."""
    source = layout.algorithm_dir("demo", "ms", "lgbm_tfidf")
    version = loading.version_dir(source).name
    algo_dir = layout.algorithm_dir("demo", "ms", "pubmed_bert")
    algo_dir.mkdir(parents=True)
    pointer = algo_dir / layout.CURRENT_FILE
    if how == "truncated pointer":
        pointer.write_text('{"version": "2026')
        return str(pointer), version
    if how == "empty pointer":
        pointer.write_text("{}")
        return str(pointer), version
    if how == "pointer to a bare directory":
        (algo_dir / "20991231").mkdir()
        pointer.write_text(json.dumps({"version": "20991231"}))
        return str(algo_dir / "20991231"), version
    metrics = json.loads((source / version / layout.METRICS_FILE).read_text())
    (algo_dir / "v1").mkdir()
    metrics["algorithm"] = "pubmed_bert"
    assert how == "metrics without a threshold"
    del metrics["prob_threshold"]
    (algo_dir / "v1" / layout.METRICS_FILE).write_text(json.dumps(metrics))
    return str(algo_dir / "v1" / layout.METRICS_FILE), version


@pytest.mark.parametrize(
    "how",
    [
        "truncated pointer",
        "empty pointer",
        "pointer to a bare directory",
        "metrics without a threshold",
    ],
)
def test_a_damaged_algorithm_is_left_out_with_one_note_and_the_others_rank(
    trained, models_dir, how: str
) -> None:
    named, version = damage_other_algorithm(how, models_dir)
    queue = ranking.build_queue(trained, None, count=10, seed=1)
    assert queue.versions == {"lgbm_tfidf": version}
    (note,) = queue.notes
    assert note.startswith("pubmed_bert") and named in note
    assert "\n" not in note
    assert not queue.items[0].random_pick and queue.items[0].scores


def test_truncated_weights_leave_their_algorithm_out_and_the_queue_still_comes(trained) -> None:
    algo_dir = layout.algorithm_dir("demo", "ms", "lgbm_tfidf")
    path = loading.version_dir(algo_dir)
    weights = path / "lgbm_classifier.joblib"
    weights.write_bytes(weights.read_bytes()[:100])
    queue = ranking.build_queue(trained, None, count=10, seed=1)
    assert queue.versions == {}
    note, fallback = queue.notes
    assert note.startswith("lgbm_tfidf left out: ") and str(path) in note
    assert fallback == "no published version could score this subject: the queue is random"
    assert len(queue.items) == 10
    assert all(item.random_pick and not item.scores for item in queue.items)
    assert queue.items[0].reason == "random pick (no published version could score)"
