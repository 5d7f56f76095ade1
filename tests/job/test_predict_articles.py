"""predict_articles on a version train_models published from the real sample, in-process and as
the real job in a subprocess."""

import json
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gregory.ml import dataset, layout, loading, summariser
from gregory.models import Articles, MLPredictions, PredictionRunLog
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
def trained(subject, models_dir, tmp_path):
    """The sample imported for demo/ms and one lgbm_tfidf version trained on it."""
    csv_path = sample_csv(tmp_path / "sample.csv")
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    command("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    return subject


def predict_rows():
    return PredictionRunLog.objects.filter(run_type="predict")


def expected_scores(version_dir):
    """What the published version gives for the subject's articles, prepared as the job does."""
    ids = list(Articles.objects.order_by("article_id").values_list("article_id", flat=True))
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
    assert set(unlabelled.values_list("article_id", flat=True)) <= set(expected)
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
    assert "0 unscored articles, 0 scored, wrote 0 predictions" in again
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
    n = Articles.objects.count()
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
    assert MLPredictions.objects.filter(algorithm="lgbm_tfidf").count() == Articles.objects.count()
    assert "Failed lstm for demo/ms: no published version in" in out.getvalue()


def test_short_texts_are_skipped_and_counted(trained):
    add_articles(trained, [None], title="Too short to score", summary=None)
    out = predict("--algo", "lgbm_tfidf", verbose=2)
    assert MLPredictions.objects.count() == Articles.objects.count() - 1
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
        *("candidates", "scored", "written", "relevant", "dropped"),
    ]
    n = str(Articles.objects.count())
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
    assert MLPredictions.objects.count() == Articles.objects.count()
    assert predict_rows().get().success is True
    done = run("predict_articles", "--team", "demo", "--model-version", "a/b")
    assert done.returncode == 2
    assert "--model-version" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert predict_rows().count() == 1
