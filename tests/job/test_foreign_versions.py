"""A models directory shared with GregoryAI's own Keras artifacts: a version directory this
project did not write (same file names, a metrics.json naming no algorithm) is never served,
and every reader refuses it by name in one line."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.ml.core import layout
from gregory.ml.review import ranking
from gregory.ml.store import loading, promotion
from gregory.models import MLPredictions, PredictionRunLog, Subject
from launcher.operations import Operations
from launcher.screens.detail import DetailScreen
from tests.support.launcher import add_row, sleeper_backend

FOREIGN = "20990101"  # named as GregoryAI names versions, and newer than ours


def algo_dir() -> Path:
    return layout.algorithm_dir("demo", "ms", "lgbm_tfidf")


def refusal() -> str:
    return (
        f"version {FOREIGN} in {algo_dir()} was not written by gregory-train "
        "(its metrics.json names no algorithm): refused"
    )


def command(name: str, *argv: str) -> str:
    out = StringIO()
    call_command(name, *argv, stdout=out, stderr=StringIO())
    return out.getvalue()


def predict(*argv: str) -> str:
    return command("predict_articles", "--team", "demo", "--algo", "lgbm_tfidf", *argv)


@pytest.fixture
def trained_version() -> str:
    return "v1"


@pytest.fixture
def shared(trained: Subject) -> Path:
    """Our version v1 of demo/ms, and beside it a version as GregoryAI's own training leaves it."""
    foreign = algo_dir() / FOREIGN
    foreign.mkdir()
    (foreign / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "f1": 0.8}))
    (foreign / "lgbm_classifier.joblib").write_bytes(b"not a joblib file")
    (foreign / "model.keras").write_bytes(b"PK\x03\x04 a Keras archive")
    return foreign


def test_the_newest_version_is_ours_and_predict_serves_it(shared) -> None:
    (algo_dir() / layout.CURRENT_FILE).unlink()  # no pointer: the newest is served
    assert layout.published_versions(algo_dir())[-1] == FOREIGN
    assert loading.newest_version(algo_dir()) == "v1"
    predict()
    assert set(MLPredictions.objects.values_list("model_version", flat=True)) == {"v1"}
    assert PredictionRunLog.objects.filter(run_type="predict").get().success is True


def test_loading_it_is_refused_by_name(shared) -> None:
    with pytest.raises(loading.ForeignVersion) as refused:
        loading.load_version(shared)
    assert str(refused.value) == refusal()
    assert isinstance(refused.value, loading.VersionNotFound)
    only_foreign = shared.parent.parent / "lstm"
    only_foreign.mkdir()
    (only_foreign / FOREIGN).mkdir()
    (only_foreign / FOREIGN / "metrics.json").write_text("[1, 2]")
    with pytest.raises(loading.VersionNotFound, match=r"\(1 not written by gregory-train\)$"):
        loading.newest_version(only_foreign)


@pytest.mark.postgres
def test_predict_with_it_named_fails_in_one_line_and_closes_its_row(shared) -> None:
    with pytest.raises(CommandError, match="^1 of 1 prediction runs failed$") as failed:
        predict("--model-version", FOREIGN, "--verbose", "1")
    assert failed.value.returncode == exit_codes.RUN_FAILED
    row = PredictionRunLog.objects.filter(run_type="predict").get()
    assert (row.success, row.error_message) == (False, refusal())
    assert row.run_finished is not None
    assert not MLPredictions.objects.exists()


def test_a_pointer_set_to_it_by_hand_is_refused_by_predict_review_and_the_gate(shared) -> None:
    promotion.write_current(algo_dir(), FOREIGN, "test", "by hand")
    with pytest.raises(CommandError, match="^1 of 1 prediction runs failed$"):
        predict()
    assert PredictionRunLog.objects.filter(run_type="predict").get().error_message == refusal()
    subject = Subject.objects.get(subject_slug="ms")
    queue = ranking.build_queue(subject, None, seed=1)
    assert queue.versions == {}
    assert f"lgbm_tfidf: {refusal()}" in queue.notes
    assert len(queue.items) == 20
    command("train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--version", "v2")
    metrics = json.loads((algo_dir() / "v2" / layout.METRICS_FILE).read_text())
    assert metrics["decision"] == "REVIEW"
    assert refusal() in metrics["decision_reasons"]


def test_the_review_queue_scores_with_ours(shared) -> None:
    (algo_dir() / layout.CURRENT_FILE).unlink()
    queue = ranking.build_queue(Subject.objects.get(subject_slug="ms"), None, seed=1)
    assert queue.versions == {"lgbm_tfidf": "v1"}
    assert all(score.version == "v1" for item in queue.items for score in item.scores)


@pytest.mark.postgres
def test_promote_version_refuses_it(shared) -> None:
    before = promotion.read_current(algo_dir())
    argv = ["--team", "demo", "--subject", "ms", "--algo", "lgbm_tfidf", "--version", FOREIGN]
    with pytest.raises(CommandError) as refused:
        command("promote_version", *argv)
    assert refused.value.returncode == exit_codes.USAGE
    assert str(refused.value) == refusal()
    assert promotion.read_current(algo_dir()) == before


def test_the_launcher_history_and_details_name_it_refused(shared, tmp_path: Path) -> None:
    add_row("demo", "ms", version=FOREIGN, triggered_by="gregoryai-train")
    entry = next(
        e
        for e in Operations(sleeper_backend(tmp_path / "runs")).history()
        if e.row.model_version == FOREIGN
    )
    assert (entry.foreign, entry.decision, entry.metrics, entry.report) == (
        refusal(),
        "foreign",
        {},
        None,
    )
    assert f"Refused:      {refusal()}" in DetailScreen(entry).describe_lines()
