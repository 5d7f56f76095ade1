"""train_models through call_command: the command's contract, on SQLite and (marked) PostgreSQL."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gregory.ml.evaluation.metrics import classification_metrics
from gregory.ml.store.loading import load_version
from gregory.ml.trainers.lgbm_tfidf import LgbmTfidfTrainer
from gregory.models import PredictionRunLog, Subject, Team
from tests.support.articles import add_articles

TODAY = timezone.now().strftime("%Y%m%d")


def train(*argv, verbose=1):
    out, err = StringIO(), StringIO()
    call_command("train_models", *argv, "--verbose", str(verbose), stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def labelled(subject, demo_csv):
    call_command("import_articles", str(demo_csv), team="demo", subject="ms", stdout=StringIO())
    return subject


@pytest.mark.postgres
def test_trains_publishes_and_logs(labelled, models_dir, monkeypatch):
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "gregory-train-demo-ms-abc")
    out = train("--team", "demo", "--algo", "lgbm_tfidf")
    version_dir = models_dir / "demo" / "ms" / "lgbm_tfidf" / TODAY
    assert sorted(p.name for p in version_dir.iterdir()) == [
        "calibrator.joblib",
        "confusion.png",
        "learning_curves.png",
        "lgbm_classifier.joblib",
        "metrics.json",
        "pr.png",
        "reliability.png",
        "report.html",
        "roc.png",
        "split.json",
        "tfidf_vectorizer.joblib",
        "training_history.json",
    ]
    metrics = json.loads((version_dir / "metrics.json").read_text())
    for split in ("val", "test"):
        for name in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"):
            assert 0.0 <= metrics[f"{split}_{name}"] <= 1.0
    assert metrics["prob_threshold"] == 0.8 and metrics["window_days"] == 90
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] > 150
    assert metrics["lib_lightgbm"]
    assert metrics["test_roc_auc"] > 0.8  # the demo data is learnable
    log = PredictionRunLog.objects.get()
    assert (log.algorithm, log.run_type, log.success) == ("lgbm_tfidf", "train", True)
    assert log.model_version == TODAY and log.run_finished >= log.run_started
    assert log.triggered_by == "gregory-train-demo-ms-abc" and log.error_message is None
    assert f"Started lgbm_tfidf for demo/ms (version {TODAY})" in out
    assert "Finished lgbm_tfidf for demo/ms" in out
    reloaded = LgbmTfidfTrainer.load(version_dir)
    assert reloaded.predict_proba(["relapsing multiple sclerosis lesions"]).shape == (1,)


def test_second_run_same_day_gets_suffix(labelled, models_dir):
    train("--team", "demo", "--algo", "lgbm_tfidf")
    train("--team", "demo", "--algo", "lgbm_tfidf")
    algo_dir = models_dir / "demo" / "ms" / "lgbm_tfidf"
    versions = sorted(p.name for p in algo_dir.iterdir() if p.is_dir())
    assert versions == [TODAY, f"{TODAY}_2"]
    # Beside the versions only the promotion pointer (and its dot lock file).
    assert sorted(p.name for p in algo_dir.iterdir() if p.is_file()) == [
        ".current.lock",
        "current.json",
    ]
    assert sorted(PredictionRunLog.objects.values_list("model_version", flat=True)) == versions


def test_manual_version_and_refusal_to_overwrite(labelled, models_dir):
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "v1")
    assert (models_dir / "demo" / "ms" / "lgbm_tfidf" / "v1" / "metrics.json").is_file()
    with pytest.raises(CommandError, match="version v1 already exists") as caught:
        train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "v1")
    assert caught.value.returncode == 2
    assert PredictionRunLog.objects.count() == 1


def test_threshold_changes_threshold_metrics_only(labelled, models_dir):
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "low", "--prob-threshold", "0.2")
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "high", "--prob-threshold", "0.9")
    base = models_dir / "demo" / "ms" / "lgbm_tfidf"
    low = json.loads((base / "low" / "metrics.json").read_text())
    high = json.loads((base / "high" / "metrics.json").read_text())
    assert low["test_roc_auc"] == high["test_roc_auc"]
    assert low["test_recall"] >= high["test_recall"]
    assert (low["prob_threshold"], high["prob_threshold"]) == (0.2, 0.9)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ([], "give --team"),
        (["--subject", "ms"], "--subject needs --team"),
        (["--team", "demo", "--all-articles", "--lookback-days", "5"], "exclude each other"),
        (["--team", "nope"], "unknown team 'nope'"),
        (["--team", "demo", "--subject", "nope"], "has no subject 'nope'"),
        (["--team", "demo", "--algo", "svm"], "unknown algorithm svm"),
        (["--team", "demo", "--prob-threshold", "2"], "between 0 and 1"),
        (["--team", "demo", "--verbose", "7"], "0, 1, 2 or 3"),
        (["--team", "demo", "--version", "a/b"], "--version"),
    ],
)
def test_usage_errors_write_nothing(labelled, models_dir, argv, reason):
    with pytest.raises(CommandError, match=reason) as caught:
        call_command("train_models", *argv, stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 2
    assert "\n" not in str(caught.value)
    assert not PredictionRunLog.objects.exists()
    assert list(models_dir.iterdir()) == []


def test_unstratifiable_subject_fails_its_runs_and_the_command_goes_on(team, models_dir, demo_csv):
    call_command(
        "import_articles",
        str(demo_csv),
        team="demo",
        subject="good",
        create=True,
        stdout=StringIO(),
    )
    sparse = Subject.objects.create(
        team=team, subject_name="Sparse", subject_slug="a-sparse", auto_predict=True
    )
    add_articles(sparse, [True, True, False, False, False])
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 training runs failed") as caught:
        call_command("train_models", "--team", "demo", "--algo", "lgbm_tfidf", stdout=out)
    assert caught.value.returncode == 1
    failed = PredictionRunLog.objects.get(subject=sparse)
    assert failed.success is False and failed.run_finished is not None
    assert "StratificationError" in failed.error_message and "Traceback" in failed.error_message
    assert failed.model_version == TODAY
    assert PredictionRunLog.objects.get(subject__subject_slug="good").success is True
    assert not (models_dir / "demo" / "a-sparse" / "lgbm_tfidf").exists() or not any(
        (models_dir / "demo" / "a-sparse" / "lgbm_tfidf").iterdir()
    )
    assert "Failed lgbm_tfidf for demo/a-sparse: cannot stratify" in out.getvalue()


def test_window_decides_which_articles_train(subject, models_dir):
    add_articles(subject, [i % 2 == 0 for i in range(40)], age_days=10)
    add_articles(subject, [i % 2 == 0 for i in range(60)], age_days=120)
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "w90")
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "all", "--all-articles")
    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "w200", "--lookback-days", "200")
    base = models_dir / "demo" / "ms" / "lgbm_tfidf"

    def total(version):
        m = json.loads((base / version / "metrics.json").read_text())
        return m["n_train"] + m["n_val"] + m["n_test"]

    assert (total("w90"), total("all"), total("w200")) == (40, 100, 100)


def test_all_teams_trains_every_active_team(labelled, models_dir, demo_csv):
    call_command(
        "import_articles", str(demo_csv), team="other", subject="s", create=True, stdout=StringIO()
    )
    Team.objects.create(name="Idle", slug="idle", is_active=False)
    train("--all-teams", "--team", "ignored", "--algo", "lgbm_tfidf")
    runs = PredictionRunLog.objects.order_by("team__slug")
    assert [(r.team.slug, r.subject.subject_slug, r.success) for r in runs] == [
        ("demo", "ms", True),
        ("other", "s", True),
    ]


def test_verbosity_levels(labelled, models_dir):
    assert train("--team", "demo", "--algo", "lgbm_tfidf", verbose=0) == ""
    level1 = train("--team", "demo", "--algo", "lgbm_tfidf", verbose=1).splitlines()
    assert [line.split(" for ")[0] for line in level1] == [
        "Started lgbm_tfidf",
        "Finished lgbm_tfidf",
        "Decision",
    ]
    assert "DEPLOY" in level1[2]
    level3 = train("--team", "demo", "--algo", "lgbm_tfidf", verbose=3).splitlines()
    header = level3[3].split()
    assert header[:5] == ["team/subject", "algorithm", "version", "status", "n_train"]
    assert "test_roc_auc" in header
    row = level3[5].split()
    assert row[:4] == ["demo/ms", "lgbm_tfidf", f"{TODAY}_3", "ok"]
    assert 0.0 <= float(row[header.index("test_roc_auc")]) <= 1.0


def test_warnings_appear_from_level_two(team, models_dir):
    sparse = Subject.objects.create(
        team=team, subject_name="S", subject_slug="s", auto_predict=True
    )
    add_articles(sparse, [True, False])
    for level, expect_warning in ((1, False), (2, True)):
        out = StringIO()
        with pytest.raises(CommandError):
            call_command(
                "train_models",
                "--team",
                "demo",
                "--algo",
                "lgbm_tfidf",
                "--verbose",
                str(level),
                stdout=out,
            )
        assert ("Warning: skipped lgbm_tfidf for demo/s" in out.getvalue()) == expect_warning


def test_trained_version_reproduces_its_test_probabilities(labelled, models_dir):
    from gregory.flags import TrainFlags
    from gregory.ml.algorithm_run import SubjectData

    train("--team", "demo", "--algo", "lgbm_tfidf", "--version", "r")
    splits = SubjectData(labelled, TrainFlags(team="demo"), models_dir).splits()
    version_dir = models_dir / "demo" / "ms" / "lgbm_tfidf" / "r"
    metrics = json.loads((version_dir / "metrics.json").read_text())
    # The raw model reproduces the uncalibrated figures, the loader (calibrator applied) the
    # figures the threshold is judged by: both exactly.
    raw = LgbmTfidfTrainer.load(version_dir).evaluate(splits.test, 0.8, prefix="test_")
    assert {f"{k}_uncalibrated": v for k, v in raw.items()} == {
        f"{k}_uncalibrated": metrics[f"{k}_uncalibrated"] for k in raw
    }
    predictor = load_version(version_dir)
    calibrated = predictor.predict_proba(splits.test.texts)
    fresh = classification_metrics(splits.test.labels, calibrated, 0.8, prefix="test_")
    assert fresh == {k: metrics[k] for k in fresh}
    assert np.array_equal(
        predictor.raw_proba(splits.test.texts),
        LgbmTfidfTrainer.load(version_dir).predict_proba(splits.test.texts),
    )
    assert np.all(np.isfinite(calibrated))
