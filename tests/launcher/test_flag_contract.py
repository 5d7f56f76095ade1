"""One table of flag sets, fed to every side that judges them.

- `TrainFlags.from_argv` (the launcher's model, no database),
- the launcher's planning with the database (`Operations.plan`: slugs must exist),
- `gregory-launch submit --dry-run` (the same parser definition, plus the database),
- `train_models` itself through `call_command`.

Valid sets use `--algo lgbm_tfidf` on a subject with no labelled articles: the command accepts
them and its run fails (CommandError returncode 1), which is told apart from a usage error (2).
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.flags import FlagError, TrainFlags
from gregory.scope import plan
from launcher.backends.local import LocalBackend
from launcher.cli import main
from launcher.operations import Operations
from tests.support.launcher import make_scope

LGBM = ["--algo", "lgbm_tfidf"]
VALID = [
    ["--team", "demo", *LGBM],
    ["--team", "demo", "--subject", "ms-research", *LGBM],
    ["--all-teams", *LGBM],
    ["--all-teams", "--team", "nope", "--subject", "gone", *LGBM],  # --all-teams ignores them
    ["--team", "demo", "--all-articles", *LGBM],
    ["--team", "demo", "--lookback-days", "30", *LGBM],
    ["--team", "demo", "--algo", "lgbm_tfidf,lgbm_tfidf"],
    ["--team", "demo", "--prob-threshold", "0.5", "--version", "v1.0", "--verbose", "3", *LGBM],
    ["--team", "demo", "--verbose", "0", *LGBM],
    ["--team", "demo", "--skip-unchanged", *LGBM],
    ["--team", "demo", "--model-version", "v2", *LGBM],  # GregoryAI's spelling of --version
]
# Broken whatever the database holds.
INVALID = [
    [],
    [*LGBM],
    ["--subject", "ms-research", *LGBM],
    ["--team", "demo", "--all-articles", "--lookback-days", "10", *LGBM],
    ["--team", "demo", "--algo", "bogus"],
    ["--team", "demo", "--algo", "lgbm_tfidf,bogus"],
    ["--team", "demo", "--algo", ""],
    ["--team", "demo", "--lookback-days", "0", *LGBM],
    ["--team", "demo", "--lookback-days", "ten", *LGBM],
    ["--team", "demo", "--prob-threshold", "1.5", *LGBM],
    ["--team", "demo", "--prob-threshold", "abc", *LGBM],
    ["--team", "demo", "--verbose", "4", *LGBM],
    ["--team", "demo", "--version", "../escape", *LGBM],
    ["--team", "demo", "--model-version", "../escape", *LGBM],
    ["--team", "demo", "--skip-unchanged=yes", *LGBM],
    ["--team", "bad slug!", *LGBM],
    ["--team", "demo", "--subject", "a/b", *LGBM],
    ["--team", "demo", "--no-such-flag", *LGBM],
]
# Well formed, but naming what the database does not have: a usage error too.
UNKNOWN = [
    ["--team", "nope", *LGBM],
    ["--team", "demo", "--subject", "nope", *LGBM],
]

CASES = (
    [pytest.param(argv, "valid", id="valid:" + " ".join(argv)) for argv in VALID]
    + [pytest.param(argv, "invalid", id="invalid:" + " ".join(argv)) for argv in INVALID]
    + [pytest.param(argv, "unknown", id="unknown:" + " ".join(argv)) for argv in UNKNOWN]
)


@pytest.fixture
def demo(db) -> None:
    make_scope("demo", "ms-research")


@pytest.mark.parametrize(("argv", "kind"), CASES)
def test_flag_model(argv: list[str], kind: str) -> None:
    if kind == "invalid":
        with pytest.raises(FlagError):
            TrainFlags.from_argv(argv)
    else:
        flags = TrainFlags.from_argv(argv)
        # Rendering and parsing again gives the same argv: nothing is lost on the way to a Job.
        assert TrainFlags.from_argv(flags.to_argv()).to_argv() == flags.to_argv()


@pytest.mark.parametrize(("argv", "kind"), CASES)
def test_launcher_planning(argv: list[str], kind: str, demo, tmp_path) -> None:
    operations = Operations(LocalBackend(tmp_path))
    if kind == "valid":
        flags = TrainFlags.from_argv(argv)
        planned = operations.plan(flags)
        if flags.all_teams:
            assert planned == [flags]  # locally one process trains every team in turn
        else:
            assert planned and all(flags.team == "demo" for flags in planned)
    else:
        with pytest.raises(FlagError):
            operations.plan(TrainFlags.from_argv(argv))


@pytest.mark.parametrize(("argv", "kind"), CASES)
def test_cli_dry_run(argv: list[str], kind: str, demo, launcher_dir, capsys) -> None:
    out = StringIO()
    try:
        code = main(["--backend", "local", "submit", "--dry-run", *argv], out=out)
    except SystemExit as exit:  # argparse refuses malformed values before our code runs
        code = exit.code
    assert code == (0 if kind == "valid" else exit_codes.USAGE)
    if kind == "valid":
        scope = "--all-teams" if "--all-teams" in argv else "--team demo"
        assert f"would submit: python -m gregory_train train_models {scope}" in out.getvalue()
    else:
        err = capsys.readouterr().err
        assert "Traceback" not in err
        # One line says what is wrong (argparse prints its usage lines above it).
        assert (
            err.strip()
            .splitlines()[-1]
            .startswith(("gregory-launch: error:", "gregory-launch submit: error:"))
        )


@pytest.mark.parametrize(("argv", "kind"), CASES)
def test_train_models_command(argv: list[str], kind: str, demo, models_dir) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("train_models", *argv, stdout=StringIO(), stderr=StringIO())
    expected = exit_codes.RUN_FAILED if kind == "valid" else exit_codes.USAGE
    assert raised.value.returncode == expected, raised.value


def test_all_teams_is_one_local_run_but_one_job_per_subject(db) -> None:
    from launcher import db as launcher_db

    make_scope("demo", "ms-research", "ms-imaging")
    make_scope("other", "cardio")
    known = launcher_db.teams()
    flags = TrainFlags.from_argv(["--all-teams", *LGBM])
    local = plan(flags, known, split_subjects=False, split_teams=False)
    assert local == [flags]
    per_job = plan(flags, known, split_subjects=True, split_teams=True)
    assert [(f.team, f.subject) for f in per_job] == [
        ("demo", "ms-imaging"),
        ("demo", "ms-research"),
        ("other", "cardio"),
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--team", "demo"], "--team demo"),
        (
            ["--team", "demo", "--subject", "ms-research", "--model-version", "20260102"],
            "--team demo --subject ms-research --model-version 20260102",
        ),
        (["--all-teams", "--lookback-days", "7", *LGBM], "--all-teams --lookback-days 7 --algo"),
    ],
)
def test_cli_dry_run_of_a_prediction_shows_predict_articles(
    argv: list[str], expected: str, demo, launcher_dir
) -> None:
    out = StringIO()
    code = main(["--backend", "local", "submit", "--command", "predict", "--dry-run", *argv], out)
    assert code == 0
    assert f"would submit: python -m gregory_train predict_articles {expected}" in out.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["--command", "predict", "--team", "demo", "--pseudo-label"],  # a training flag
        ["--command", "predict", "--team", "demo", "--version", "v1"],
        ["--command", "predict", "--team", "demo", "--skip-unchanged"],
        ["--command", "predict", "--team", "demo", "--model-version", "../x"],
        ["--command", "predict", "--team", "nope"],
        ["--command", "score", "--team", "demo"],
    ],
)
def test_cli_refuses_a_bad_prediction_or_flags_of_the_other_command(
    argv: list[str], demo, launcher_dir
) -> None:
    try:
        code = main(["--backend", "local", "submit", "--dry-run", *argv], out=StringIO())
    except SystemExit as exit:  # argparse refuses unknown flags before our code runs
        code = exit.code
    assert code == exit_codes.USAGE


def test_skip_unchanged_and_model_version_reach_the_job() -> None:
    flags = TrainFlags.from_argv(["--all-teams", "--skip-unchanged", "--model-version", "v3"])
    assert flags.skip_unchanged and flags.version == "v3"
    # What the launcher hands each team/subject Job (and the local subprocess).
    argv = flags.for_scope("demo", "ms-research").to_argv()
    scope = ["--team", "demo", "--subject", "ms-research"]
    assert argv == [*scope, "--version", "v3", "--skip-unchanged"]
    assert TrainFlags.from_argv(argv) == flags.for_scope("demo", "ms-research")
    assert "--skip-unchanged" not in TrainFlags(team="demo").to_argv()  # off unless asked


def test_cli_dry_run_forwards_skip_unchanged_and_the_version(demo, launcher_dir) -> None:
    out = StringIO()
    argv = ["--team", "demo", "--model-version", "v4", "--skip-unchanged", *LGBM]
    assert main(["--backend", "local", "submit", "--dry-run", *argv], out=out) == 0
    assert "--version v4 --skip-unchanged" in out.getvalue()


def test_version_given_under_both_spellings_is_refused_once(demo, launcher_dir, capsys) -> None:
    argv = ["--team", "demo", "--version", "v1", "--model-version", "v2", *LGBM]
    code = main(["--backend", "local", "submit", "--dry-run", *argv], out=StringIO())
    assert code == exit_codes.USAGE
    assert "given 2 times (v1, v2)" in capsys.readouterr().err
