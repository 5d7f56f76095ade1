"""A slug that is not one, read from the database (GregoryAI's admin does not stop it), never
becomes a path, a Job name or a run directory: that team or subject is refused by name, the
others still run, and the exit status says something was refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gregory.flags import TrainFlags, is_slug
from gregory.models import PredictionRunLog, Subject, Team
from gregory.scope import ScopeError, plan, resolve_scope
from launcher import db as launcher_db
from launcher.backends.local import LocalBackend
from launcher.operations import Operations
from tests.faults.conftest import GREGORY_LAUNCH, run_process
from tests.support.articles import add_articles

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ESCAPE = "../../escape"
LABELS = [True, False] * 20


def team_with_subject(team_slug: str, subject_slug: str) -> Subject:
    team = Team.objects.create(name=team_slug, slug=team_slug)
    subject = Subject.objects.create(
        team=team, subject_name="S", subject_slug=subject_slug, auto_predict=True
    )
    add_articles(subject, LABELS)
    return subject


def tree(root: Path, leave_out: Path) -> set[Path]:
    return {path for path in root.rglob("*") if leave_out not in (path, *path.parents)}


@pytest.fixture
def bad_slugs(transactional_db) -> None:
    team_with_subject("demo", "ms")
    team_with_subject(ESCAPE, "ms")
    good = team_with_subject("other", "fine")
    Subject.objects.create(
        team=good.team, subject_name="S", subject_slug="../up", auto_predict=True
    )


def test_train_models_refuses_bad_slugs_and_trains_the_rest(
    bad_slugs, manage_argv, job_env, tmp_path
):
    models = tmp_path / "a" / "b" / "models"
    models.mkdir(parents=True)
    before = tree(tmp_path, models)
    done = run_process(
        [*manage_argv, "train_models", "--all-teams", "--algo", "lgbm_tfidf"],
        {**job_env, "GREGORY_MODELS_DIR": str(models)},
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    stderr = done.stderr.strip().splitlines()
    refusals = [
        f"team {ESCAPE!r} refused: its slug in the database is not a slug",
        "subject '../up' of team 'other' refused: its slug in the database is not a slug",
    ]
    for refusal in refusals:
        assert any(line.startswith(refusal) for line in stderr[:-1]), done.stderr
        assert refusal in stderr[-1]
    # Nothing outside the models directory, and only good slugs inside it.
    assert tree(tmp_path, models) == before
    assert not (tmp_path.parent / "escape").exists()
    published = sorted(str(p.relative_to(models)) for p in models.glob("*/*/lgbm_tfidf"))
    assert published == ["demo/ms/lgbm_tfidf", "other/fine/lgbm_tfidf"]
    assert sorted(PredictionRunLog.objects.values_list("team__slug", "success")) == [
        ("demo", True),
        ("other", True),
    ]


def test_a_team_whose_every_subject_is_refused_is_a_usage_error(
    transactional_db, manage_argv, job_env
):
    team_with_subject("lonely", "../up")
    done = run_process(
        [*manage_argv, "train_models", "--team", "lonely", "--algo", "lgbm_tfidf"], job_env
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "CommandError: subject '../up' of team 'lonely' refused: its slug in the database is "
        "not a slug (letters, digits, - and _)"
    ]
    with pytest.raises(ScopeError, match="subject '../up' of team 'lonely' refused"):
        resolve_scope(TrainFlags(team="lonely"))
    assert not PredictionRunLog.objects.exists()


def test_the_launcher_plans_no_job_or_run_directory_from_a_bad_slug(bad_slugs, tmp_path):
    flags = TrainFlags(all_teams=True, algos=("lgbm_tfidf",))
    teams = launcher_db.teams()
    # Kubernetes: one Job per team/subject, named after both.
    per_subject = plan(flags, teams, split_subjects=True)
    assert [(f.team, f.subject) for f in per_subject] == [("demo", "ms"), ("other", "fine")]
    # Local: the same fan-out per team when split, else one `--all-teams` run the job checks.
    per_team = plan(flags, teams, split_subjects=False)
    assert [(f.team, f.subject) for f in per_team] == [("demo", None), ("other", None)]
    local = LocalBackend(tmp_path / "launcher")
    planned = Operations(local).plan(flags)
    assert planned == [flags]
    for item in [*per_subject, *per_team]:
        assert is_slug(item.team or "") and item.subject in (None, "ms", "fine")


def test_a_slug_with_a_trailing_newline_is_not_a_slug() -> None:
    # `$` matches before a final newline: the check must take the whole value.
    assert not is_slug("demo\n")
    assert is_slug("demo")


def test_the_launcher_names_what_it_leaves_out(bad_slugs, job_env, tmp_path):
    env = {**job_env, "GREGORY_BACKEND": "local", "GREGORY_LAUNCHER_DIR": str(tmp_path / "l")}
    argv = [GREGORY_LAUNCH, "submit", "--all-teams", "--algo", "lgbm_tfidf", "--dry-run"]
    done = run_process(argv, env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[1:] == [
        f"warning: team {ESCAPE!r} refused: its slug in the database is not a slug "
        "(letters, digits, - and _)",
        "warning: subject '../up' of team 'other' refused: its slug in the database is not a "
        "slug (letters, digits, - and _)",
    ]
    assert done.stdout.startswith("would submit: python -m gregory_train train_models")
