"""Two nightly runs of train_models on the real sample, the gate between them, the `current`
pointer they move, predict_articles reading it and promote_version moving it by hand."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from gregory.ml.core import layout
from gregory.ml.data import dataset, summariser
from gregory.ml.evaluation.report import PLOTS
from gregory.ml.store import loading
from gregory.models import MLPredictions
from tests.support.articles import sample_as_import_csv

ALGO = "lgbm_tfidf"
INTERVALS = [f"test_{m}_ci_{e}" for m in ("roc_auc", "pr_auc", "f1") for e in ("low", "high")]
CALIBRATION_FIGURES = [
    "calibration",
    "test_brier",
    "test_brier_uncalibrated",
    "test_ece",
    "test_ece_uncalibrated",
    "test_f1_uncalibrated",
    "test_roc_auc_uncalibrated",
    "val_best_f1_threshold",
]


def run(name, *argv):
    out = StringIO()
    call_command(name, *argv, stdout=out, stderr=StringIO())
    return out.getvalue()


def train(*argv):
    return run("train_models", "--team", "demo", "--algo", ALGO, "--verbose", "1", *argv)


@pytest.fixture
def sample(subject, tmp_path, models_dir):
    csv_path = sample_as_import_csv(tmp_path / "sample.csv")
    run("import_articles", str(csv_path), "--team", "demo", "--subject", "ms")
    return subject


def algo_dir():
    return layout.algorithm_dir("demo", "ms", ALGO)


def metrics_of(version):
    return json.loads((algo_dir() / version / layout.METRICS_FILE).read_text())


def current():
    return json.loads((algo_dir() / layout.CURRENT_FILE).read_text())


def expected_scores(version):
    ids = list(MLPredictions.objects.values_list("article_id", flat=True))
    prepared = dataset.prepare_articles(dataset.articles_by_id(ids), summariser.summarise_bulk)
    predictor = loading.load_version(algo_dir() / version)
    calibrated = predictor.predict_proba(prepared.texts)
    raw = predictor.raw_proba(prepared.texts)
    return dict(zip(prepared.article_ids, calibrated.tolist(), strict=True)), raw


def test_two_runs_gate_promote_and_predict_from_current(sample, monkeypatch):
    # Two nights, two Jobs: a retry of the same Job would not train again.
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "nightly-job-1")
    first_out = train("--version", "v1")
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "nightly-job")
    second_out = train("--version", "v2")
    first, second = metrics_of("v1"), metrics_of("v2")
    for metrics in (first, second):
        for key in INTERVALS + CALIBRATION_FIGURES:
            assert key in metrics, key
        assert metrics["test_roc_auc_ci_low"] <= metrics["test_roc_auc"]
        assert metrics["test_roc_auc"] <= metrics["test_roc_auc_ci_high"]
        # About 50 validation articles: too few to calibrate, so raw scores are served.
        assert (metrics["score_scale"], metrics["calibration"]) == ("raw", "none")
        assert metrics["decision"] in ("DEPLOY", "REVIEW", "FAIL") and metrics["decision_reasons"]
    assert first["decision"] == "DEPLOY" and "nothing to compare" in first["decision_reasons"][1]
    assert "Decision for lgbm_tfidf for demo/ms v1: DEPLOY" in first_out
    # Same data, same seed: the second version is compared with the first on its whole test
    # split (the first never trained on it) and is not worse.
    assert second["gate_compared_with"] == "v1"
    assert second["gate_n_comparable"] == second["n_test"]
    assert second["decision"] == "DEPLOY" and "not shown to be worse than version v1" in second_out
    pointer = current()
    assert (pointer["version"], pointer["previous"], pointer["by"]) == ("v2", "v1", "nightly-job")
    assert [h["version"] for h in pointer["history"]] == ["v1", "v2"]

    # split.json: disjoint labelled splits, the sizes metrics.json records.
    split = json.loads((algo_dir() / "v2" / layout.SPLIT_FILE).read_text())
    sets = [set(split[name]) for name in ("train", "validation", "test")]
    assert [len(s) for s in sets] == [second["n_train"], second["n_val"], second["n_test"]]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert split["pseudo_labelled"] == []

    # Every version has its report: each plot as a file and in the page, the decision on top.
    for version, metrics in (("v1", first), ("v2", second)):
        page = (algo_dir() / version / layout.REPORT_FILE).read_text()
        for plot in PLOTS:
            png = algo_dir() / version / f"{plot}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
            assert f'data-plot="{plot}"' in page and f'href="{plot}.png"' in page
        assert f'<p class="decision" id="decision">{metrics["decision"]}</p>' in page
        assert page.index(metrics["decision"]) < page.index("data-plot")
    second_page = (algo_dir() / "v2" / layout.REPORT_FILE).read_text()
    assert "Compared with promoted version v1" in second_page
    # v1's own figures beside v2's, read from the published v1 next to v2's staging directory.
    assert '<th class="previous">promoted version v1' in second_page
    assert f'<td class="previous">{first["test_recall"]:.3f}</td>' in second_page
    assert "Promoted: this version replaces version v1 for predictions." in second_page

    # predict_articles uses `current` and writes the version's scores, on its score_scale.
    run("predict_articles", "--team", "demo", "--algo", ALGO)
    rows = MLPredictions.objects.all()
    assert rows and {r.model_version for r in rows} == {"v2"}
    expected, raw = expected_scores("v2")
    assert {r.article_id: r.probability_score for r in rows} == expected
    assert np.allclose(raw, list(expected.values()))  # score_scale "raw": the model's own

    # promote_version moves it back by hand; the next prediction run uses v1.
    out = run(
        "promote_version",
        "--team",
        "demo",
        "--subject",
        "ms",
        "--algo",
        ALGO,
        "--version",
        "v1",
        "--reason",
        "rollback test",
    )
    assert "Promoted lgbm_tfidf for demo/ms: version v1 (was v2) by nightly-job" in out
    assert current()["version"] == "v1" and current()["history"][-1]["reason"] == "rollback test"
    run("predict_articles", "--team", "demo", "--algo", ALGO)
    assert MLPredictions.objects.filter(model_version="v1").count() == len(expected)
    # --model-version still wins over the pointer.
    assert loading.version_dir(algo_dir(), "v2") == algo_dir() / "v2"


def test_no_gate_records_skipped_and_leaves_current(sample):
    train("--version", "v1")
    out = train("--version", "v2", "--no-gate")
    metrics = metrics_of("v2")
    assert metrics["decision"] == "SKIPPED" and "gate_compared_with" not in metrics
    assert "Decision for lgbm_tfidf for demo/ms v2: SKIPPED" in out
    assert current()["version"] == "v1"
    assert loading.version_dir(algo_dir()) == algo_dir() / "v1"


def test_a_calibrator_flagging_nothing_is_reviewed_never_deployed(sample):
    # At 0.9999 the calibrated validation probabilities (Platt's smoothed targets stay below it)
    # flag nothing: REVIEW, and as nothing was promoted before, nothing is promoted now.
    train("--version", "v1", "--prob-threshold", "0.9999")
    metrics = metrics_of("v1")
    assert metrics["val_n_flagged"] == 0
    assert metrics["decision"] == "REVIEW"
    assert "no validation article reaches the threshold" in metrics["decision_reasons"][0]
    assert not (algo_dir() / layout.CURRENT_FILE).exists()
    # With no pointer prediction falls back to the newest version, and says it was not promoted.
    out = run("predict_articles", "--team", "demo", "--algo", ALGO, "--verbose", "2")
    assert "Warning: version v1 was not promoted (gate REVIEW)" in out
    # A second, deployable version is compared with nothing promoted: the floor decides.
    train("--version", "v2")
    assert metrics_of("v2")["decision"] == "DEPLOY" and current()["version"] == "v2"


def test_review_without_a_pointer_pins_the_version_being_served(sample):
    train("--version", "v1", "--no-gate")  # an ungated version: no pointer, the newest serves
    assert not (algo_dir() / layout.CURRENT_FILE).exists()
    train("--version", "v2", "--prob-threshold", "0.9999")
    assert metrics_of("v2")["decision"] == "REVIEW"
    assert current()["version"] == "v1"
    assert loading.version_dir(algo_dir()) == algo_dir() / "v1"


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--version", "nope"], "version nope is not published"),
        (["--version", ".staging-v1"], "--version"),
        (["--version", "v1", "--algo", "svm"], "unknown algorithm svm"),
    ],
)
def test_promote_version_refuses_unknown_versions(sample, argv, reason):
    train("--version", "v1")
    before = current()
    args = ["--team", "demo", "--subject", "ms", "--algo", ALGO, *argv]
    with pytest.raises(CommandError, match=reason) as caught:
        call_command("promote_version", *args, stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 2 and "\n" not in str(caught.value)
    assert current() == before


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (layout.SPLIT_FILE, "has no split.json: its training articles are unknown"),
        ("lgbm_classifier.joblib", "could not be loaded"),
    ],
)
def test_an_uncomparable_promoted_version_leads_to_review(sample, damage, reason):
    # A version from before split.json existed, or one whose artifacts are gone.
    train("--version", "v1")
    (algo_dir() / "v1" / damage).unlink()
    train("--version", "v2")
    metrics = metrics_of("v2")
    assert metrics["decision"] == "REVIEW" and metrics["gate_current_version"] == "v1"
    assert reason in metrics["decision_reasons"][0]
    assert current()["version"] == "v1"
