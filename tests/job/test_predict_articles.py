"""predict_articles on a version train_models published from the real sample, in-process and as
the real job in a subprocess."""

import json
import re
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gregory.ml.core import layout
from gregory.ml.data import dataset, summariser
from gregory.ml.store import loading
from gregory.models import Articles, MLPredictions, PredictionRunLog
from tests.support import derived_oracle
from tests.support.articles import add_articles
from tests.support.review import review_sample_csv

UNLABELLED = 40
ALGO_DIR = ("demo", "ms", "lgbm_tfidf")


def sample_csv(path, unlabelled=UNLABELLED):
    """The real sample as an import CSV; nobody has reviewed the last rows yet."""
    return review_sample_csv(path, unlabelled)


def command(name, *argv, verbose=1):
    out = StringIO()
    call_command(name, *argv, "--verbose", str(verbose), stdout=out, stderr=StringIO())
    return out.getvalue()


def predict(*argv, verbose=1):
    return command("predict_articles", "--team", "demo", *argv, verbose=verbose)


@pytest.fixture
def trained_unreviewed() -> int:
    return UNLABELLED


def predict_rows():
    return PredictionRunLog.objects.filter(run_type="predict")


def with_summary():
    """The articles prediction considers: a title alone is left out, as GregoryAI does."""
    return Articles.objects.exclude(summary__isnull=True).exclude(summary="")


def expected_scores(version_dir):
    """What the published version gives for the subject's articles, prepared as the job does."""
    ids = list(with_summary().order_by("article_id").values_list("article_id", flat=True))
    prepared = dataset.prepare_articles(dataset.articles_by_id(ids), summariser.summarise_bulk)
    scores = loading.load_version(version_dir).predict_proba(prepared.texts)
    return dict(zip(prepared.article_ids, scores.tolist(), strict=True))


@pytest.mark.postgres
def test_scores_unscored_articles_exactly_as_the_loaded_version_does(trained):
    algo_dir = layout.algorithm_dir(*ALGO_DIR)
    version = loading.newest_version(algo_dir)
    out = predict("--algo", "lgbm_tfidf")
    expected = expected_scores(algo_dir / version)
    rows = MLPredictions.objects.filter(subject=trained)
    assert sorted(rows.values_list("article_id", flat=True)) == sorted(expected)
    unlabelled = trained.articlesubjectrelevance_set.filter(is_relevant__isnull=True)
    assert unlabelled.count() == UNLABELLED
    unlabelled = unlabelled.filter(article__in=with_summary())
    assert set(unlabelled.values_list("article_id", flat=True)) <= set(expected)
    # The sample's one 12-word text is all title once split: it is left out.
    assert with_summary().count() == Articles.objects.count() - 1
    for row in rows:
        assert (row.algorithm, row.model_version) == ("lgbm_tfidf", version)
        assert row.probability_score == pytest.approx(expected[row.article_id], abs=1e-9)
        assert row.predicted_relevant == (row.probability_score >= 0.8)
    assert 0 < rows.filter(predicted_relevant=True).count() < rows.count()
    log = predict_rows().get()
    assert (log.success, log.algorithm, log.model_version) == (True, "lgbm_tfidf", version)
    assert log.triggered_by == "predict_articles" and log.error_message is None
    assert log.run_finished >= log.run_started
    assert f"Started lgbm_tfidf for demo/ms (version {version})" in out
    assert f"wrote {len(expected)} predictions" in out

    again = predict("--algo", "lgbm_tfidf")
    assert MLPredictions.objects.count() == len(expected)
    assert "0 articles to score, 0 scored, wrote 0 predictions" in again
    assert list(predict_rows().values_list("success", flat=True)) == [True, True]


def test_a_newer_version_scores_again_and_an_older_one_can_be_named(trained):
    first = loading.newest_version(layout.algorithm_dir(*ALGO_DIR))
    predict("--algo", "lgbm_tfidf")
    n = MLPredictions.objects.count()
    command("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    second = loading.newest_version(layout.algorithm_dir(*ALGO_DIR))
    assert second == f"{first}_2"
    predict("--algo", "lgbm_tfidf")
    assert MLPredictions.objects.filter(model_version=second).count() == n
    predict("--algo", "lgbm_tfidf", "--model-version", first)
    assert MLPredictions.objects.count() == 2 * n


def test_versions_are_ordered_by_date_and_staging_entries_never_count(tmp_path):
    algo_dir = tmp_path / "lgbm_tfidf"
    for name in ("20250518_2", "manual", "20250518_10", "20250517_3", "20250518", ".staging-2026"):
        (algo_dir / name).mkdir(parents=True)
    (algo_dir / "20991231").write_text("a file, not a version")
    assert layout.published_versions(algo_dir) == [
        "manual",
        "20250517_3",
        "20250518",
        "20250518_2",
        "20250518_10",
    ]
    assert loading.newest_version(algo_dir) == "20250518_10"
    assert loading.version_dir(algo_dir, "manual") == algo_dir / "manual"
    with pytest.raises(loading.VersionNotFound, match="version 20991231 is not published in"):
        loading.version_dir(algo_dir, "20991231")
    with pytest.raises(loading.VersionNotFound, match="no published version in"):
        loading.newest_version(tmp_path / "lstm")
    with pytest.raises(loading.VersionNotFound, match="has no metrics.json"):
        loading.load_version(algo_dir / "manual")


def test_the_loader_reads_what_the_version_records(trained):
    algo_dir = layout.algorithm_dir(*ALGO_DIR)
    predictor = loading.load_version(algo_dir / loading.newest_version(algo_dir))
    assert (predictor.algorithm, predictor.threshold) == ("lgbm_tfidf", 0.8)
    assert predictor.version == loading.newest_version(algo_dir)
    assert predictor.predict_proba([]).shape == (0,)


def test_a_version_prepared_another_way_is_refused(trained):
    algo_dir = layout.algorithm_dir(*ALGO_DIR)
    other = algo_dir / "other-prep"
    shutil.copytree(algo_dir / loading.newest_version(algo_dir), other)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics.update(text_preparation="lowercase-only", text_preparation_version=1)
    (other / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(CommandError, match="1 of 1 prediction runs failed"):
        predict("--algo", "lgbm_tfidf", "--model-version", "other-prep")
    log = predict_rows().get()
    assert log.success is False and "lowercase-only" in log.error_message
    assert not MLPredictions.objects.exists()


def test_dry_run_writes_nothing_and_says_what_it_would(trained):
    out = predict("--algo", "lgbm_tfidf", "--dry-run")
    assert not MLPredictions.objects.exists()
    assert not predict_rows().exists()
    n = with_summary().count()
    assert "(dry run: nothing is written)" in out and f"would write {n} predictions" in out


def test_an_unknown_model_version_fails_its_run_and_exits_one(trained):
    with pytest.raises(CommandError, match="1 of 1 prediction runs failed") as caught:
        predict("--algo", "lgbm_tfidf", "--model-version", "nope")
    assert caught.value.returncode == 1
    log = predict_rows().get()
    assert log.success is False and log.run_finished is not None
    assert "version nope is not published in" in log.error_message
    assert "\n" not in log.error_message
    assert not MLPredictions.objects.exists()


def test_a_run_without_a_model_fails_and_the_others_go_on(trained):
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 prediction runs failed") as caught:
        call_command("predict_articles", "--team", "demo", "--algo", "lgbm_tfidf,lstm", stdout=out)
    assert caught.value.returncode == 1
    runs = {row.algorithm: row for row in predict_rows()}
    assert runs["lgbm_tfidf"].success is True and runs["lstm"].success is False
    assert runs["lstm"].error_message.startswith("no published version in")
    assert MLPredictions.objects.filter(algorithm="lgbm_tfidf").count() == with_summary().count()
    assert "Failed lstm for demo/ms: no published version in" in out.getvalue()


def test_short_texts_are_skipped_and_counted_and_a_title_alone_is_not_a_candidate(trained):
    (short,) = add_articles(trained, [None], title="Too short", summary="to score")
    long_title = "a title of many words on relapsing multiple sclerosis and its treatment"
    (title_only,) = add_articles(trained, [None], title=long_title, summary=None)
    for article in (short, title_only):
        article.subjects.add(trained)
    out = predict("--algo", "lgbm_tfidf", verbose=2)
    assert MLPredictions.objects.count() == with_summary().count() - 1
    assert not MLPredictions.objects.filter(article__in=[short, title_only]).exists()
    assert f"{with_summary().count()} articles to score" in out
    assert "Skipped 1 articles of lgbm_tfidf for demo/ms: fewer than 10 words" in out


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ([], "give --team"),
        (["--team", "nope"], "unknown team 'nope'"),
        (["--team", "demo", "--algo", "svm"], "unknown algorithm svm"),
        (["--team", "demo", "--model-version", "../x"], "--model-version"),
        (["--team", "demo", "--all-articles", "--lookback-days", "3"], "exclude each other"),
    ],
)
def test_usage_errors_exit_two_and_write_nothing(trained, argv, reason):
    with pytest.raises(CommandError, match=reason) as caught:
        call_command("predict_articles", *argv, stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 2
    assert "\n" not in str(caught.value)
    assert not predict_rows().exists() and not MLPredictions.objects.exists()


def test_verbosity_levels(trained):
    assert predict("--algo", "lgbm_tfidf", "--dry-run", verbose=0) == ""
    table = predict("--algo", "lgbm_tfidf", "--dry-run", verbose=3).splitlines()[-3:]
    assert table[0].split() == [
        "team/subject",
        "algorithm",
        "version",
        "status",
        *("candidates", "scored", "written", "refreshed", "relevant", "dropped", "changed"),
    ]
    n = str(with_summary().count())
    assert table[2].split()[:6] == ["demo/ms", "lgbm_tfidf", table[2].split()[2], "ok", n, n]


@pytest.mark.postgres
def test_the_real_job_as_a_subprocess(manage_argv, job_env, tmp_path):
    def run(*argv):
        return subprocess.run(
            [*manage_argv, *argv], env=job_env, capture_output=True, text=True, timeout=300
        )

    csv_path = sample_csv(tmp_path / "sample.csv")
    done = run("import_articles", "--create", "--team", "demo", "--subject", "ms", str(csv_path))
    assert done.returncode == 0, done.stderr
    done = run("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    assert done.returncode == 0, done.stderr
    done = run("predict_articles", "--team", "demo", "--algo", "lgbm_tfidf")
    assert done.returncode == 0, done.stderr
    assert "Finished lgbm_tfidf for demo/ms" in done.stdout
    assert MLPredictions.objects.count() == with_summary().count()
    assert predict_rows().get().success is True
    done = run("predict_articles", "--team", "demo", "--model-version", "a/b")
    assert done.returncode == 2
    assert "--model-version" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert predict_rows().count() == 1


def promote(version):
    argv = ["--subject", "ms", "--algo", "lgbm_tfidf", "--version", version, "--reason", "test"]
    out = StringIO()
    call_command("promote_version", "--team", "demo", *argv, stdout=out)
    assert f"version {version}" in out.getvalue()


def latest_rows():
    """Per article, the row readers take: the greatest created_date (then id)."""
    rows = MLPredictions.objects.filter(algorithm="lgbm_tfidf").order_by("created_date", "id")
    return {row.article_id: row for row in rows}


def readers_see(version, scores):
    """Every scored article's latest row is `version`'s and ml_score and relevant follow it."""
    latest = latest_rows()
    assert {row.model_version for row in latest.values()} == {version}
    assert {a: row.probability_score for a, row in latest.items()} == pytest.approx(scores)
    ml_scores = dict(Articles.objects.filter(pk__in=scores).values_list("pk", "ml_score"))
    assert ml_scores == pytest.approx(scores)
    with connection.cursor() as cursor:
        assert derived_oracle.mismatches(cursor, scores) == []


@pytest.mark.postgres
def test_a_promotion_back_to_an_older_version_is_what_readers_see(
    subject, models_dir, tmp_path, monkeypatch
):
    csv_path = sample_csv(tmp_path / "sample.csv")
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    train = ["train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--version"]
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "night-1")
    command(*train, "v1")
    promote("v1")
    predict("--algo", "lgbm_tfidf")
    v1 = {a: row.probability_score for a, row in latest_rows().items()}
    n = len(v1)
    readers_see("v1", v1)

    # A reviewer labels the unreviewed articles: the next night's version scores differently.
    unreviewed = subject.articlesubjectrelevance_set.filter(is_relevant__isnull=True)
    for i, row in enumerate(unreviewed.all()):
        row.is_relevant = i % 2 == 0
        row.save()
    assert not unreviewed.all().exists()
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "night-2")
    command(*train, "v2")
    promote("v2")
    out = predict("--algo", "lgbm_tfidf")
    assert f"wrote {n} predictions ({n} new, 0 refreshed;" in out
    v2 = {a: row.probability_score for a, row in latest_rows().items()}
    readers_see("v2", v2)
    moved = {a for a in v1 if v1[a] != pytest.approx(v2[a])}
    assert len(moved) > n // 2

    # Back to v1: its rows exist and cannot be written twice, so they are refreshed.
    promote("v1")
    out = predict("--algo", "lgbm_tfidf")
    assert f"{n} articles to score, {n} scored, wrote {n} predictions (0 new, {n} refreshed;" in out
    readers_see("v1", v1)
    assert MLPredictions.objects.count() == 2 * n
    pairs = MLPredictions.objects.values_list("article_id", "model_version")
    assert len(set(pairs)) == 2 * n
    changed = int(re.search(r"relevant changed for (\d+) articles", out).group(1))
    assert len(moved) <= changed <= n
    assert "0 articles to score" in predict("--algo", "lgbm_tfidf")

    # And forward again, the same way.
    promote("v2")
    out = predict("--algo", "lgbm_tfidf")
    assert f"(0 new, {n} refreshed;" in out
    readers_see("v2", v2)
    assert MLPredictions.objects.count() == 2 * n
