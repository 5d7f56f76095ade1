"""One scope rule for the job and the launcher: inactive teams are not listed, trained or scored,
and a --team naming one is refused as inactive, by every path that judges a flag set."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.flags import FlagError, PredictFlags, TrainFlags
from gregory.scope import ScopeError, TeamScope, active_teams, plan, resolve_scope
from launcher import db as launcher_db
from launcher.backends.local import LocalBackend
from launcher.cli import main
from launcher.engine import Engine
from tests.support.launcher import make_scope

LGBM = ("lgbm_tfidf",)


@pytest.fixture
def teams(db) -> None:
    make_scope("demo", "ms-research", "ms-imaging")
    idle = make_scope("idle", "cardio")
    idle.is_active = False
    idle.save(update_fields=["is_active"])


@pytest.mark.parametrize("flag_class", [TrainFlags, PredictFlags])
def test_an_inactive_team_is_refused_by_name(teams, tmp_path, flag_class) -> None:
    flags = flag_class(team="idle", algos=LGBM)
    with pytest.raises(ScopeError, match=r"^team 'idle' is inactive$"):
        resolve_scope(flags)
    with pytest.raises(FlagError, match=r"^team 'idle' is inactive$"):
        Engine(LocalBackend(tmp_path)).plan(flags)


def test_the_job_and_the_cli_refuse_an_inactive_team_as_a_usage_error(
    teams, launcher_dir, models_dir, capsys
) -> None:
    with pytest.raises(CommandError, match="team 'idle' is inactive") as raised:
        call_command("train_models", "--team", "idle", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == exit_codes.USAGE
    code = main(["--backend", "local", "submit", "--dry-run", "--team", "idle"], out=StringIO())
    assert code == exit_codes.USAGE
    # The backend line, then the one line of the refusal.
    assert capsys.readouterr().err.splitlines()[1:] == [
        "gregory-launch: error: team 'idle' is inactive"
    ]


def test_all_teams_skips_inactive_teams(teams) -> None:
    flags = TrainFlags(all_teams=True, algos=LGBM)
    subjects = resolve_scope(flags)
    assert [(s.team.slug, s.subject_slug) for s in subjects] == [
        ("demo", "ms-imaging"),
        ("demo", "ms-research"),
    ]
    per_job = plan(flags, launcher_db.teams(), split_subjects=True)
    assert [(f.team, f.subject) for f in per_job] == [
        ("demo", "ms-imaging"),
        ("demo", "ms-research"),
    ]


def test_inactive_teams_are_loaded_for_refusal_but_not_listed(teams) -> None:
    loaded = launcher_db.teams()
    assert [(t.slug, t.active) for t in loaded] == [("demo", True), ("idle", False)]
    assert [t.slug for t in active_teams(loaded)] == ["demo"]


def test_planning_keeps_the_flag_class_and_splits_as_asked() -> None:
    known = [
        TeamScope("demo", "Demo", ("ms-imaging", "ms-research")),
        TeamScope("empty", "Empty", ()),
        TeamScope("other", "Other", ("cardio",)),
    ]
    flags = PredictFlags(all_teams=True, model_version="20260102", algos=LGBM)
    per_team = plan(flags, known, split_subjects=False)
    # A team without subjects has nothing to submit.
    assert per_team == [flags.for_scope("demo"), flags.for_scope("other")]
    assert all(isinstance(f, PredictFlags) for f in per_team)
    assert plan(flags, known, split_subjects=False, split_teams=False) == [flags]
    one = plan(PredictFlags(team="demo", subject="ms-research"), known, split_subjects=False)
    assert one == [PredictFlags(team="demo", subject="ms-research")]
    with pytest.raises(ScopeError, match="^team 'empty' has no subjects$"):
        plan(TrainFlags(team="empty"), known, split_subjects=True)
    with pytest.raises(ScopeError, match="^no active team has a subject$"):
        plan(
            TrainFlags(all_teams=True),
            [TeamScope("x", "X", ("s",), active=False)],
            split_subjects=True,
        )
    with pytest.raises(FlagError, match="not a slug"):
        plan(TrainFlags(team="bad slug!"), known, split_subjects=True)
