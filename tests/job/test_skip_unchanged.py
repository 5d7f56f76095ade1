"""train_models --skip-unchanged (the nightly's flag) and --model-version, through call_command.

A run whose training-data fingerprint equals the current version's trains, publishes and
reserves nothing and leaves one closed, successful PredictionRunLog row saying so; any change to
what the model would learn from (a label, the window, the recorded fingerprint) trains again.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gregory.flags import TrainFlags
from gregory.ml import fingerprint
from gregory.ml.algorithm_run import SubjectData
from gregory.models import ArticleSubjectRelevance, PredictionRunLog, Subject
from tests.support.articles import add_articles

TODAY = timezone.now().strftime("%Y%m%d")
LGBM = ("--team", "demo", "--algo", "lgbm_tfidf")
SKIPPED = re.compile(
    r"Skipped lgbm_tfidf for demo/ms: training data unchanged since version (\S+) "
    r"\(fingerprint ([0-9a-f]{12})…\)"
)


def train(*argv: str) -> str:
    out = StringIO()
    call_command("train_models", *LGBM, *argv, stdout=out, stderr=StringIO())
    return out.getvalue()


def algo_dir(models_dir: Path) -> Path:
    return models_dir / "demo" / "ms" / "lgbm_tfidf"


def published(models_dir: Path) -> list[str]:
    return sorted(p.name for p in algo_dir(models_dir).iterdir() if p.is_dir())


def metrics(models_dir: Path, version: str) -> dict:
    return json.loads((algo_dir(models_dir) / version / "metrics.json").read_text())


def current(models_dir: Path) -> dict:
    return json.loads((algo_dir(models_dir) / "current.json").read_text())


@pytest.fixture
def labelled(subject: Subject, demo_csv: Path) -> Subject:
    # Learnable demo articles, discovered over the last 60 days: inside the default window.
    call_command("import_articles", str(demo_csv), team="demo", subject="ms", stdout=StringIO())
    return subject


def flip_one_label(subject: Subject) -> None:
    row = ArticleSubjectRelevance.objects.filter(subject=subject).order_by("article_id").first()
    row.is_relevant = not row.is_relevant
    row.save(update_fields=["is_relevant"])


@pytest.mark.postgres
def test_second_night_over_unchanged_labels_trains_nothing(labelled, models_dir):
    train()
    first = metrics(models_dir, TODAY)
    assert re.fullmatch(r"[0-9a-f]{64}", first[fingerprint.KEY])
    pointer_before = current(models_dir)

    out = train("--skip-unchanged")

    (line,) = out.splitlines()
    assert line.startswith("Skipped") and "Started" not in out
    assert published(models_dir) == [TODAY]
    assert not [p for p in algo_dir(models_dir).iterdir() if p.name.startswith(".staging")]
    assert current(models_dir) == pointer_before
    skip = PredictionRunLog.objects.order_by("-pk").first()
    sentence = skip.error_message
    match = SKIPPED.fullmatch(sentence)
    assert match and match[1] == TODAY and first[fingerprint.KEY].startswith(match[2])
    assert line.startswith(sentence + " (run #")
    assert (skip.run_type, skip.success, skip.model_version) == ("train", True, TODAY)
    assert skip.run_finished is not None and skip.run_finished >= skip.run_started
    assert skip.triggered_by == "train_models"

    # No name was reserved: without the flag the next version is the day's second one.
    train()
    assert published(models_dir) == [TODAY, f"{TODAY}_2"]
    assert PredictionRunLog.objects.filter(success=True).count() == 3


def test_a_changed_label_trains(labelled, models_dir):
    train()
    flip_one_label(labelled)
    out = train("--skip-unchanged")
    assert "Skipped" not in out and f"Started lgbm_tfidf for demo/ms (version {TODAY}_2)" in out
    assert published(models_dir) == [TODAY, f"{TODAY}_2"]
    assert (
        metrics(models_dir, TODAY)[fingerprint.KEY]
        != metrics(models_dir, f"{TODAY}_2")[fingerprint.KEY]
    )
    # The new version is now the current one, and its data has not changed since.
    assert "Skipped" in train("--skip-unchanged")


def test_a_changed_window_trains_though_the_articles_are_the_same(labelled, models_dir):
    train()
    out = train("--skip-unchanged", "--lookback-days", "365")
    assert "Skipped" not in out
    first, second = metrics(models_dir, TODAY), metrics(models_dir, f"{TODAY}_2")
    assert first["n_train"] == second["n_train"]  # every demo article is in both windows
    assert first[fingerprint.KEY] != second[fingerprint.KEY]


def test_a_new_labelled_article_trains(labelled, models_dir):
    train()
    add_articles(labelled, [True], age_days=1)
    assert "Skipped" not in train("--skip-unchanged")
    assert published(models_dir) == [TODAY, f"{TODAY}_2"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda m: {k: v for k, v in m.items() if k != fingerprint.KEY}, id="no-key"),
        pytest.param(lambda m: {**m, fingerprint.KEY: 7}, id="not-a-string"),
        pytest.param(None, id="unreadable"),
    ],
)
def test_a_version_without_a_readable_fingerprint_never_matches(labelled, models_dir, damage):
    train()
    path = algo_dir(models_dir) / TODAY / "metrics.json"
    if damage is None:
        path.write_text("{not json")
    else:
        path.write_text(json.dumps(damage(json.loads(path.read_text()))))
    out = train("--skip-unchanged")
    assert "Skipped" not in out and f"Finished lgbm_tfidf for demo/ms: version {TODAY}_2" in out


def test_current_and_newest_versions_are_compared(labelled, models_dir):
    train("--version", "a")  # DEPLOY: current → a
    flip_one_label(labelled)
    train("--version", "b", "--no-gate")  # published, current stays a
    assert current(models_dir)["version"] == "a"
    flip_one_label(labelled)  # the data is a's again
    assert SKIPPED.match(train("--skip-unchanged"))[1] == "a"
    # The data is b's: b is not current, but training would only make b again.
    flip_one_label(labelled)
    assert SKIPPED.match(train("--skip-unchanged"))[1] == "b"
    # New data matches neither: it trains, and --no-gate leaves a current.
    add_articles(labelled, [True], age_days=1)
    assert "Skipped" not in train("--skip-unchanged", "--version", "c", "--no-gate")
    assert published(models_dir) == ["a", "b", "c"]
    assert current(models_dir)["version"] == "a"


def test_without_the_flag_unchanged_data_trains(labelled, models_dir):
    train()
    train()
    assert published(models_dir) == [TODAY, f"{TODAY}_2"]
    assert (
        metrics(models_dir, TODAY)[fingerprint.KEY]
        == metrics(models_dir, f"{TODAY}_2")[fingerprint.KEY]
    )


def test_a_subject_that_cannot_be_prepared_fails_as_without_the_flag(team, labelled, models_dir):
    sparse = Subject.objects.create(
        team=team, subject_name="Sparse", subject_slug="sparse", auto_predict=True
    )
    add_articles(sparse, [True, True, False, False, False])
    with pytest.raises(CommandError, match="1 of 2 training runs failed"):
        train()
    # Nothing current for the sparse subject: it tries again and fails the same way; ms skips.
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 training runs failed"):
        call_command("train_models", *LGBM, "--skip-unchanged", stdout=out, stderr=StringIO())
    assert "Skipped lgbm_tfidf for demo/ms" in out.getvalue()
    assert "Failed lgbm_tfidf for demo/sparse: cannot stratify" in out.getvalue()


def test_the_fingerprint_is_computed_from_data_prepared_once(labelled, models_dir, monkeypatch):
    from gregory.ml.data import dataset

    calls = []
    real = dataset.prepare_articles

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    # Counting only: the real preparation still runs.
    monkeypatch.setattr(dataset, "prepare_articles", counting)
    data = SubjectData(labelled, TrainFlags(team="demo"))
    assert data.fingerprint("lgbm_tfidf") == data.fingerprint("lgbm_tfidf")
    assert data.fingerprint("lgbm_tfidf") != data.fingerprint("lstm")
    data.splits()
    assert len(calls) == 1


def test_model_version_is_gregoryais_spelling_of_version(labelled, models_dir):
    out = train("--model-version", "v9")
    assert "(version v9)" in out and published(models_dir) == ["v9"]
    assert PredictionRunLog.objects.get().model_version == "v9"
    with pytest.raises(CommandError, match="version v9 already exists") as caught:
        train("--model-version", "v9")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="--version 'a/b'") as caught:
        train("--model-version", "a/b")
    assert caught.value.returncode == 2 and "\n" not in str(caught.value)


def test_help_names_both_flags(capsys):
    with pytest.raises(SystemExit):
        call_command("train_models", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "--model-version V, --version V" in text
    assert "GregoryAI's spelling of --version" in text
    assert "--skip-unchanged" in text


def test_a_retried_pod_of_the_job_tells_a_skip_from_a_publish(labelled, models_dir, monkeypatch):
    train()
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", "gregory-train-demo-ms-nightly")
    assert SKIPPED.match(train("--skip-unchanged"))
    assert PredictionRunLog.objects.order_by("-pk").first().triggered_by.endswith("nightly")
    again = train("--skip-unchanged")
    assert again.startswith(
        "Skipped lgbm_tfidf for demo/ms: this Job (gregory-train-demo-ms-nightly) found the "
        f"data unchanged since version {TODAY} (run #"
    )
    assert published(models_dir) == [TODAY]
