"""Flag values the job cannot act on are refused before any row or version: one line, exit 2.

A value that passes the checks must also survive the run: `--lookback-days` up to what a date
can hold, slugs that stay arguments in the argv the launcher builds, and the launcher's
`--run-id` checked by `--dry-run` as by a real submission.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gregory.flags import FlagError, PredictFlags, TrainFlags, is_slug, max_lookback_days
from gregory.ml.data import dataset
from gregory.models import Articles, PredictionRunLog, Subject
from tests.faults.conftest import GREGORY_LAUNCH, Run, assert_one_line_error, run_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def versions_in(models_dir: Path) -> list[Path]:
    return [p for p in models_dir.glob("*/*/*/*") if not p.name.startswith(".")]


@pytest.mark.parametrize("command", ["train_models", "predict_articles"])
def test_a_lookback_beyond_what_a_date_holds_is_refused_before_any_row(
    manage: Run, subject: Subject, models_dir: Path, command: str
):
    done = manage(command, "--team", "demo", "--algo", "lgbm_tfidf", "--lookback-days", "800000")
    assert_one_line_error(done, 2, "--lookback-days 800000 reaches before year 1", "at most")
    assert not PredictionRunLog.objects.exists()
    assert not versions_in(models_dir)  # no version name burnt


def test_the_longest_lookback_allowed_is_a_window_the_database_can_query(subject: Subject):
    top = max_lookback_days()
    assert TrainFlags(team="demo", lookback_days=top).validate().window_days == top
    with pytest.raises(FlagError, match="reaches before year 1"):
        TrainFlags(team="demo", lookback_days=top + 1).validate()
    since = dataset.window_start(top)
    assert since is not None and since.year == 1
    # The query every run makes with it: no overflow in Python or in the database.
    assert Articles.objects.filter(discovery_date__gte=since).count() == 0
    assert dataset.article_ids_to_score(subject, since, "lgbm_tfidf", "v1") == []


def test_the_bound_follows_the_calendar() -> None:
    assert max_lookback_days(dt.date(1, 1, 3)) == 1
    assert max_lookback_days(dt.date(2026, 12, 4)) == (dt.date(2026, 12, 4) - dt.date.min).days - 1


@pytest.mark.parametrize("value", ["-x", "-", "--all-teams", "-demo"])
def test_a_slug_cannot_start_with_a_dash(value: str) -> None:
    assert not is_slug(value)
    for flags_class in (TrainFlags, PredictFlags):
        with pytest.raises(FlagError, match="no leading -"):
            flags_class(team=value).validate()
        with pytest.raises(FlagError, match="no leading -"):
            flags_class(team="demo", subject=value).validate()
    assert is_slug("x-") and is_slug("a-b") and is_slug("_x")


def test_a_stored_slug_starting_with_a_dash_is_refused_and_never_reaches_an_argv(
    manage: Run, subject: Subject
):
    Subject.objects.create(
        team=subject.team, subject_name="S", subject_slug="-x", auto_predict=True
    )
    done = manage("train_models", "--team", "demo", "--subject=-x", "--algo", "lgbm_tfidf")
    assert_one_line_error(done, 2, "--subject '-x' is not a slug", "no leading -")
    assert not PredictionRunLog.objects.exists()


def test_dry_run_checks_the_run_id(job_env: dict[str, str], subject: Subject, tmp_path: Path):
    env = {**job_env, "GREGORY_BACKEND": "local", "GREGORY_LAUNCHER_DIR": str(tmp_path / "l")}
    argv = [GREGORY_LAUNCH, "submit", "--team", "demo", "--dry-run", "--run-id", "Bad_ID"]
    done = run_process(argv, env)
    backend, *rest = done.stderr.strip().splitlines()
    assert backend.startswith("backend: local")
    done.stderr = "\n".join(rest)
    assert_one_line_error(done, 2, "--run-id 'Bad_ID' must be")
    assert "would submit" not in done.stdout
    good = run_process([*argv[:-1], "nightly-{date}"], env)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("would submit: ")
