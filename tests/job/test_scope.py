"""One scope rule for the job and the launcher: inactive teams are not listed, trained or scored,
and a --team naming one is refused as inactive, by every path that judges a flag set; subjects
whose auto_predict is off are left out the same way, and refused with the reason when named."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.flags import FlagError, PredictFlags, TrainFlags
from gregory.scope import (
    ScopeError,
    TeamScope,
    active_teams,
    plan,
    resolve_scope,
    selected_pairs,
    skipped_lines,
)
from launcher import db as launcher_db
from launcher.backends.local import LocalBackend
from launcher.cli import main
from launcher.operations import Operations
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
        Operations(LocalBackend(tmp_path)).plan(flags)


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


# -- auto_predict: GregoryAI trains and scores only the subjects that opted in ----------------

OPTED_OUT = (
    "subject 'ms-off' of team 'demo' is skipped: auto_predict is off in GregoryAI; "
    "turn it on to train or score it"
)
KNOWN = [
    TeamScope("demo", "Demo", ("ms-imaging", "ms-research"), opted_out=("ms-off",)),
    TeamScope("quiet", "Quiet", (), opted_out=("cardio", "neuro")),
]


@pytest.fixture
def opted(db) -> None:
    make_scope("demo", "ms-research", "ms-imaging", opted_out=("ms-off",))
    make_scope("quiet", opted_out=("cardio", "neuro"))


def test_planning_leaves_opted_out_subjects_out_and_refuses_them_by_name() -> None:
    every = plan(TrainFlags(all_teams=True), KNOWN, split_subjects=True)
    assert [(f.team, f.subject) for f in every] == [("demo", "ms-imaging"), ("demo", "ms-research")]
    per_team = plan(PredictFlags(team="demo"), KNOWN, split_subjects=True)
    assert [f.subject for f in per_team] == ["ms-imaging", "ms-research"]
    assert skipped_lines(TrainFlags(team="demo"), KNOWN) == [
        "skipped subject ms-off of team demo: auto_predict is off"
    ]
    assert skipped_lines(TrainFlags(all_teams=True), KNOWN) == [
        "skipped subject ms-off of team demo: auto_predict is off",
        "skipped subject cardio of team quiet: auto_predict is off",
        "skipped subject neuro of team quiet: auto_predict is off",
    ]
    for flag_class in (TrainFlags, PredictFlags):
        with pytest.raises(ScopeError) as refused:
            plan(flag_class(team="demo", subject="ms-off"), KNOWN, split_subjects=False)
        assert str(refused.value) == OPTED_OUT
    with pytest.raises(ScopeError, match=r"^team 'quiet' has no subject with auto_predict on \("):
        plan(TrainFlags(team="quiet"), KNOWN, split_subjects=True)
    # Not the refusal of a subject that does not exist.
    with pytest.raises(ScopeError, match="^team 'demo' has no subject 'ms-gone'$"):
        plan(TrainFlags(team="demo", subject="ms-gone"), KNOWN, split_subjects=True)
    nobody = [TeamScope("quiet", "Quiet", (), opted_out=("cardio",))]
    with pytest.raises(ScopeError, match=r"^no active team has a subject with auto_predict on"):
        plan(TrainFlags(all_teams=True), nobody, split_subjects=True)


def test_the_review_queue_scope_keeps_opted_out_subjects() -> None:
    assert KNOWN[0].every_subject == ("ms-imaging", "ms-off", "ms-research")
    flags = TrainFlags(team="demo", subject="ms-off")
    assert selected_pairs(flags, KNOWN, with_opted_out=True) == [("demo", "ms-off")]
    with pytest.raises(ScopeError):
        selected_pairs(flags, KNOWN)


def test_load_teams_reads_auto_predict(opted) -> None:
    demo, quiet = launcher_db.teams()
    assert (demo.subjects, demo.opted_out) == (("ms-imaging", "ms-research"), ("ms-off",))
    assert (quiet.subjects, quiet.opted_out) == ((), ("cardio", "neuro"))
    subjects = resolve_scope(TrainFlags(all_teams=True, algos=LGBM))
    assert [s.subject_slug for s in subjects] == ["ms-imaging", "ms-research"]


def test_the_launcher_plan_and_the_nightly_fan_out_leave_opted_out_subjects_out(
    opted, tmp_path
) -> None:
    operations = Operations(LocalBackend(tmp_path))
    with pytest.raises(FlagError) as refused:
        operations.plan(TrainFlags(team="demo", subject="ms-off"))
    assert str(refused.value) == OPTED_OUT
    out = StringIO()
    code = main(["--backend", "local", "submit", "--dry-run", "--all-teams"], out=out)
    assert code == exit_codes.OK
    # The local backend runs --all-teams as one job: the job itself leaves them out.
    assert out.getvalue().count("would submit:") == 1
    per_subject = plan(TrainFlags(all_teams=True), launcher_db.teams(), split_subjects=True)
    assert [f.subject for f in per_subject] == ["ms-imaging", "ms-research"]


def test_the_cli_refuses_a_named_opted_out_subject_in_one_line(opted, capsys) -> None:
    argv = ["--backend", "local", "submit", "--dry-run", "--team", "demo", "--subject", "ms-off"]
    assert main(argv, out=StringIO()) == exit_codes.USAGE
    assert capsys.readouterr().err.splitlines()[1:] == [f"gregory-launch: error: {OPTED_OUT}"]
    assert main(["--backend", "local", "submit", "--dry-run", "--team", "quiet"]) == 2
    (line,) = capsys.readouterr().err.splitlines()[1:]
    assert line.startswith("gregory-launch: error: team 'quiet' has no subject with auto_predict")


def test_review_and_label_accept_an_opted_out_subject(opted, launcher_dir) -> None:
    from gregory.models import ArticleSubjectRelevance, Subject
    from tests.support.articles import add_articles

    (article,) = add_articles(Subject.objects.get(subject_slug="ms-off"), [None])
    scope = ["--team", "demo", "--subject", "ms-off"]
    out = StringIO()
    assert main(["review", *scope, "-o", "json"], out=out) == exit_codes.OK
    assert [a["article_id"] for a in json.loads(out.getvalue())["articles"]] == [article.pk]
    label = ["label", *scope, "--article", str(article.pk), "--relevant", "yes"]
    assert main(label, out=StringIO()) == exit_codes.OK
    assert ArticleSubjectRelevance.objects.get(article=article).is_relevant is True
