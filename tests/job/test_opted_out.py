"""Subjects whose auto_predict is off are neither trained nor scored, as in GregoryAI: the real
commands leave them out of --team and --all-teams, and refuse them by name when named."""

from __future__ import annotations

import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.models import MLPredictions, PredictionRunLog, Subject, Team
from tests.support.review import review_sample_csv

REFUSAL = (
    "subject 'ms-off' of team 'demo' is skipped: auto_predict is off in GregoryAI; "
    "turn it on to train or score it"
)
SKIPPED = "skipped subject ms-off of team demo: auto_predict is off"


def command(name: str, *argv: str, verbose: int = 1) -> str:
    out = StringIO()
    call_command(name, *argv, "--verbose", str(verbose), stdout=out, stderr=StringIO())
    return out.getvalue()


def set_auto_predict(slug: str, on: bool) -> None:
    Subject.objects.filter(subject_slug=slug).update(auto_predict=on)


@pytest.fixture
def subjects(db, models_dir: Path, tmp_path: Path) -> None:
    """demo/ms (auto_predict on) and demo/ms-off (off), both holding the real sample."""
    team = Team.objects.create(name="Demo", slug="demo")
    Subject.objects.create(team=team, subject_name="MS", subject_slug="ms", auto_predict=True)
    Subject.objects.create(team=team, subject_name="Off", subject_slug="ms-off")
    csv_path = review_sample_csv(tmp_path / "sample.csv", 40)
    for slug in ("ms", "ms-off"):
        call_command("import_articles", str(csv_path), team="demo", subject=slug, stdout=StringIO())


def test_gregoryais_default_is_off(subjects) -> None:
    assert Subject._meta.get_field("auto_predict").default is False
    assert not Subject.objects.get(subject_slug="ms-off").auto_predict


@pytest.mark.postgres
@pytest.mark.parametrize("name", ["train_models", "predict_articles"])
def test_naming_an_opted_out_subject_is_refused_in_one_line(subjects, name) -> None:
    with pytest.raises(CommandError) as refused:
        command(name, "--team", "demo", "--subject", "ms-off", "--algo", "lgbm_tfidf")
    assert refused.value.returncode == exit_codes.USAGE
    assert str(refused.value) == REFUSAL
    assert not PredictionRunLog.objects.exists()


@pytest.mark.postgres
def test_the_real_job_refuses_it_with_exit_2_and_no_traceback(
    subjects, job_env, manage_argv
) -> None:
    argv = ["train_models", "--team", "demo", "--subject", "ms-off", "--algo", "lgbm_tfidf"]
    done = subprocess.run(
        [*manage_argv, *argv], env=job_env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == exit_codes.USAGE, done.stderr
    assert done.stderr.strip().splitlines() == [f"CommandError: {REFUSAL}"]
    assert not PredictionRunLog.objects.exists()


@pytest.mark.postgres
def test_a_team_trains_and_scores_only_its_subjects_with_auto_predict_on(
    subjects, models_dir
) -> None:
    # ms-off once opted in: it has a published version when it opts out.
    set_auto_predict("ms-off", True)
    command("train_models", "--team", "demo", "--algo", "lgbm_tfidf", verbose=0)
    assert (models_dir / "demo" / "ms-off" / "lgbm_tfidf").is_dir()
    set_auto_predict("ms-off", False)
    trained = PredictionRunLog.objects.filter(subject__subject_slug="ms-off").count()

    quiet = command("train_models", "--team", "demo", "--algo", "lgbm_tfidf", verbose=1)
    assert SKIPPED not in quiet
    told = command("predict_articles", "--team", "demo", "--algo", "lgbm_tfidf", verbose=2)
    assert SKIPPED in told.splitlines()
    runs = PredictionRunLog.objects.filter(subject__subject_slug="ms-off")
    assert runs.count() == trained  # no training or prediction run since it opted out
    assert not MLPredictions.objects.filter(subject__subject_slug="ms-off").exists()
    assert MLPredictions.objects.filter(subject__subject_slug="ms").exists()
    assert PredictionRunLog.objects.filter(subject__subject_slug="ms", run_type="predict").get()

    command("predict_articles", "--all-teams", "--algo", "lgbm_tfidf", verbose=0)
    assert not MLPredictions.objects.filter(subject__subject_slug="ms-off").exists()


def test_a_team_whose_every_subject_opted_out_is_told_so(subjects) -> None:
    set_auto_predict("ms", False)
    with pytest.raises(CommandError) as refused:
        command("train_models", "--team", "demo")
    assert refused.value.returncode == exit_codes.USAGE
    assert str(refused.value) == (
        "team 'demo' has no subject with auto_predict on (all 2 skipped: auto_predict is off in "
        "GregoryAI; turn it on to train or score them)"
    )
    with pytest.raises(CommandError, match=r"^no active team has a subject with auto_predict on"):
        command("predict_articles", "--all-teams")
    assert not PredictionRunLog.objects.exists()


def test_import_articles_creates_subjects_to_train_and_sets_auto_predict(
    db, tmp_path: Path
) -> None:
    csv_path = review_sample_csv(tmp_path / "sample.csv", 0)

    def load(*argv: str) -> str:
        err = StringIO()
        call_command("import_articles", str(csv_path), *argv, stdout=StringIO(), stderr=err)
        return err.getvalue()

    assert load("--team", "new", "--subject", "fresh", "--create") == ""
    assert Subject.objects.get(subject_slug="fresh").auto_predict
    note = load("--team", "new", "--subject", "fresh", "--auto-predict", "off")
    assert not Subject.objects.get(subject_slug="fresh").auto_predict
    assert note.strip() == (
        "note: subject 'fresh' of team 'new' has auto_predict off: train_models and "
        "predict_articles skip it (--auto-predict on turns it on)"
    )
    # Without the flag an existing subject keeps the operator's choice.
    load("--team", "new", "--subject", "fresh")
    assert not Subject.objects.get(subject_slug="fresh").auto_predict
    assert load("--team", "new", "--subject", "fresh", "--auto-predict", "on") == ""
    assert Subject.objects.get(subject_slug="fresh").auto_predict
