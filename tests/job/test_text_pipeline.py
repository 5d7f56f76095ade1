"""The text pipeline a version was trained on (summariser on or off, which weights, which limits)
is in its metrics.json; prediction serves a version only under the same pipeline, and the gate
never compares two versions trained on different texts."""

from __future__ import annotations

import json
import os
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gregory.ml.core import layout
from gregory.ml.data import summariser
from gregory.models import MLPredictions, PredictionRunLog
from tests.support.articles import sample_as_import_csv

ALGO = "lgbm_tfidf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def tiny_bart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gregory_dev.tiny_models import build_tiny_models

    configured = os.environ.get("GREGORY_TINY_MODELS_DIR")
    out = Path(configured) if configured else tmp_path_factory.mktemp("tiny-models")
    return build_tiny_models(out)["bart"]


def command(name: str, *argv: str) -> str:
    out = StringIO()
    call_command(name, *argv, stdout=out, stderr=StringIO())
    return out.getvalue()


def train(*argv: str) -> str:
    return command("train_models", "--team", "demo", "--algo", ALGO, *argv)


def predict(*argv: str) -> str:
    return command("predict_articles", "--team", "demo", "--algo", ALGO, *argv)


def metrics_path(version: str) -> Path:
    return layout.algorithm_dir("demo", "ms", ALGO) / version / layout.METRICS_FILE


def metrics_of(version: str) -> dict:
    return json.loads(metrics_path(version).read_text())


def rewrite_metrics(version: str, **changes) -> None:
    metrics = metrics_of(version)
    for key, value in changes.items():
        if value is None:
            metrics.pop(key, None)
        else:
            metrics[key] = value
    metrics_path(version).write_text(json.dumps(metrics))


@pytest.fixture
def sample(subject, tmp_path, models_dir):
    csv_path = sample_as_import_csv(tmp_path / "sample.csv")
    command("import_articles", str(csv_path), "--team", "demo", "--subject", "ms")
    return subject


def bart_on(settings, model: Path) -> dict:
    settings.GREGORY_SUMMARISER = "bart"
    settings.GREGORY_SUMMARISER_MODEL = str(model)
    return summariser.text_pipeline()


# --- what is recorded -------------------------------------------------------------------------


def test_off_is_recorded_as_off(settings):
    settings.GREGORY_SUMMARISER = "off"
    assert summariser.text_pipeline() == {"summariser": "off"}


def test_a_local_summariser_is_known_by_its_content(settings, tmp_path, tiny_bart, monkeypatch):
    monkeypatch.setenv("GREGORY_DEVICE", "cpu")  # on CUDA the batching is a token budget
    first = bart_on(settings, tiny_bart)
    assert first["summariser"] == "on" and first["model"] == str(tiny_bart)
    assert first["revision"].startswith("sha256:")
    assert (first["max_input_tokens"], first["max_summary_tokens"]) == (1024, 300)
    assert first["batch_size"] == summariser.DEFAULT_BATCH_SIZE
    # The same weights mounted elsewhere are the same pipeline ...
    moved = tmp_path / "elsewhere"
    shutil.copytree(tiny_bart, moved)
    assert summariser.pipeline_difference(first, bart_on(settings, moved)) is None
    # ... and weights replaced in place are not.
    weights = moved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    changed = bart_on(settings, moved)
    assert changed["revision"] != first["revision"]
    assert summariser.pipeline_difference(first, changed) is not None


def test_a_hub_summariser_is_known_by_the_commit_the_cache_holds(settings, tmp_path, monkeypatch):
    from huggingface_hub import constants

    repo = tmp_path / "hub" / "models--gregory-test--bart"
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    (repo / "snapshots" / COMMIT / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    settings.GREGORY_SUMMARISER = "bart"
    settings.GREGORY_SUMMARISER_MODEL = "gregory-test/bart"
    settings.GREGORY_SUMMARISER_REVISION = ""
    assert summariser.text_pipeline()["revision"] == COMMIT  # unpinned: main, as cached
    settings.GREGORY_SUMMARISER_REVISION = "v2"  # a tag the cache does not hold
    assert summariser.text_pipeline()["revision"] == "v2"


@pytest.mark.parametrize(
    ("recorded", "words"),
    [
        ({"summariser": "off"}, "summariser off vs summariser"),
        ({**{"summariser": "on", "model": "m", "revision": COMMIT}}, "m@0123456789ab"),
        ("garbled", "unreadable text pipeline record"),
    ],
)
def test_differences_are_one_line(settings, tiny_bart, recorded, words):
    current = bart_on(settings, tiny_bart)
    difference = summariser.pipeline_difference(recorded, current)
    assert difference is not None and words in difference and "\n" not in difference
    # Batch size is recorded, not compared: it only moves generation's float noise.
    assert summariser.pipeline_difference({**current, "batch_size": 1}, current) is None


# --- prediction and the gate, on the real sample ---------------------------------------------


@pytest.mark.postgres
def test_training_records_the_pipeline_and_prediction_refuses_another(sample, settings, tiny_bart):
    train("--version", "v1")
    assert metrics_of("v1")[summariser.PIPELINE_KEY] == {"summariser": "off"}
    # The summariser switched on after training: the version would be served BART summaries.
    bart_on(settings, tiny_bart)
    with pytest.raises(CommandError, match="1 of 1 prediction runs failed"):
        predict()
    row = PredictionRunLog.objects.get(run_type="predict")
    assert row.success is False and row.run_finished is not None
    assert "v1 was trained on another text pipeline (summariser off vs summariser " in (
        row.error_message
    )
    assert not MLPredictions.objects.exists()
    # Back to the pipeline it was trained on: served.
    settings.GREGORY_SUMMARISER = "off"
    assert "Finished lgbm_tfidf" in predict()
    assert MLPredictions.objects.filter(model_version="v1").exists()


@pytest.mark.postgres
def test_a_version_without_a_record_is_served_with_a_warning(sample):
    train("--version", "v1")
    rewrite_metrics("v1", **{summariser.PIPELINE_KEY: None})
    out = predict("--verbose", "2")
    assert "v1 does not record its text pipeline" in out
    assert MLPredictions.objects.filter(model_version="v1").exists()


@pytest.mark.postgres
def test_the_gate_does_not_compare_across_text_pipelines(sample, settings, tiny_bart):
    train("--version", "v1")
    # v1 as a run with BART on would have recorded it; v2 is trained with the summariser off.
    rewrite_metrics("v1", **{summariser.PIPELINE_KEY: bart_on(settings, tiny_bart)})
    settings.GREGORY_SUMMARISER = "off"
    out = train("--version", "v2")
    metrics = metrics_of("v2")
    assert metrics["decision"] == "REVIEW" and metrics["gate_current_version"] == "v1"
    [reason] = [r for r in metrics["decision_reasons"] if "text pipeline" in r]
    assert reason.startswith("version v1 was trained on another text pipeline (summariser ")
    assert reason.endswith("vs summariser off): not comparable, and not served under this one")
    assert "gate_roc_auc_diff" not in metrics and "gate_compared_with" not in metrics
    current = json.loads((metrics_path("v1").parent.parent / layout.CURRENT_FILE).read_text())
    assert current["version"] == "v1"
    assert "Decision for lgbm_tfidf for demo/ms v2: REVIEW" in out


@pytest.mark.postgres
def test_the_gate_compares_with_a_version_that_records_no_pipeline_and_says_so(sample):
    train("--version", "v1")
    rewrite_metrics("v1", **{summariser.PIPELINE_KEY: None})
    train("--version", "v2")
    metrics = metrics_of("v2")
    assert metrics["gate_compared_with"] == "v1" and "gate_roc_auc_diff" in metrics
    assert metrics["gate_text_pipeline"] == "version v1 records no text pipeline"


def test_the_summary_cache_knows_a_local_summariser_by_its_content(settings, tmp_path, tiny_bart):
    # A checkpoint replaced in place must not be answered with the old one's summaries.
    moved = tmp_path / "bart"
    shutil.copytree(tiny_bart, moved)
    settings.GREGORY_SUMMARY_CACHE_DIR = str(tmp_path / "cache")
    bart_on(settings, moved)
    before = summariser._cache(None)
    assert before is not None and before.revision == summariser.text_pipeline()["revision"]
    weights = moved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    after = summariser._cache(None)
    assert after is not None and after.key("a text") != before.key("a text")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_version_is_served_under_the_pipeline_it_was_trained_on(
    subject, manage_argv, job_env, tmp_path, tiny_bart
):
    # Two processes, the weights mounted at two paths: the same pipeline, served.
    import subprocess

    from gregory_dev.demo import write_demo_csv

    # A small demo set: the tiny BART summarises every text twice (train, then predict).
    csv_path = write_demo_csv(tmp_path / "demo.csv", n_articles=60)
    command("import_articles", str(csv_path), "--team", "demo", "--subject", "ms")
    elsewhere = tmp_path / "mounted-elsewhere"
    shutil.copytree(tiny_bart, elsewhere)
    env = {**job_env, "GREGORY_SUMMARISER": "bart", "GREGORY_SUMMARISER_MODEL": str(tiny_bart)}
    argv = ["--team", "demo", "--algo", ALGO]
    done = subprocess.run(
        [*manage_argv, "train_models", *argv, "--version", "v1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    recorded = metrics_of("v1")[summariser.PIPELINE_KEY]
    assert recorded["summariser"] == "on" and recorded["revision"].startswith("sha256:")
    done = subprocess.run(
        [*manage_argv, "predict_articles", *argv],
        env={**env, "GREGORY_SUMMARISER_MODEL": str(elsewhere)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert MLPredictions.objects.filter(model_version="v1").exists()
