"""`gregory-launch submit` refuses before submitting what would fail once started: a subject
whose labels training cannot split."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest

from launcher.cli import main
from launcher.operations import MIN_PER_CLASS, SAFE_PER_CLASS, Operations
from tests.support.launcher import make_scope, sleeper_backend


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(["--backend", "local", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def labelled(transactional_db, launcher_dir: Path) -> Path:
    from gregory.models import Subject
    from tests.support.articles import add_articles

    make_scope("demo", "one-class", "enough")
    add_articles(Subject.objects.get(subject_slug="one-class"), [True] * 7)
    add_articles(Subject.objects.get(subject_slug="enough"), [True] * 6 + [False] * 6 + [None])
    # Outside the default 90-day window: counts only with --all-articles.
    add_articles(Subject.objects.get(subject_slug="one-class"), [False] * 6, age_days=400)
    return launcher_dir


def test_a_one_class_subject_is_refused_by_dry_run_with_the_counts(labelled) -> None:
    code, out, err = run(["submit", "--dry-run", "--team", "demo", "--subject", "one-class"])
    assert (code, out) == (2, "")
    (line,) = [line for line in err.splitlines() if "error" in line]
    assert line.startswith(
        "gregory-launch: error: demo/one-class: 7 labelled articles in the last 90 days "
        "(7 relevant, 0 not): training needs at least 6 of each"
    )
    assert "gregory-launch review --team demo --subject one-class" in line
    assert "--all-articles" in line
    # The whole window holds both classes: the same subject is planned.
    code, out, _ = run(
        ["submit", "--dry-run", "--team", "demo", "--subject", "one-class", "--all-articles"]
    )
    assert code == 0 and out.startswith("would submit: ")


def test_a_team_trains_its_other_subjects_with_a_warning(labelled) -> None:
    code, out, warning = run(["submit", "--dry-run", "--team", "demo"])
    # Locally a run is one team: it is submitted, and the one-class subject named as failing.
    assert code == 1
    assert out.startswith("would submit: ") and "--team demo" in out
    assert "warning: demo/one-class: 7 labelled articles" in warning
    assert "demo/enough" not in warning


def test_prediction_needs_no_labels(labelled) -> None:
    flags_argv = ["--command", "predict", "--team", "demo", "--subject", "one-class"]
    code, out, _ = run(["submit", "--dry-run", *flags_argv])
    assert code == 0 and out.startswith("would submit: ")


def test_the_counts_are_per_subject_and_window(labelled, launcher_dir: Path) -> None:
    from gregory.flags import TrainFlags

    operations = Operations(sleeper_backend(launcher_dir))
    blocked = operations.unsplittable(TrainFlags(team="demo"))
    assert [(b.subject, b.relevant, b.not_relevant) for b in blocked] == [("one-class", 7, 0)]
    assert operations.unsplittable(TrainFlags(team="demo", all_articles=True)) == []


def test_the_launchers_minimum_is_the_job_splits() -> None:
    from gregory.ml.data import splits as job_splits
    from gregory.ml.data.splits import StratificationError, stratified_split

    assert job_splits.MIN_PER_CLASS == MIN_PER_CLASS

    def splits(relevant: int, other: int) -> bool:
        labels = [1] * relevant + [0] * other
        try:
            stratified_split(["text"] * len(labels), labels, list(range(len(labels))))
        except StratificationError:
            return False
        return True

    for other in (MIN_PER_CLASS, 20, 53, 200, 1000):
        assert not splits(MIN_PER_CLASS - 1, other), other
        assert splits(SAFE_PER_CLASS, other), other


def test_a_subject_without_any_label_is_left_to_the_job(labelled, launcher_dir: Path) -> None:
    from gregory.flags import TrainFlags

    make_scope("new-team", "unlabelled")
    operations = Operations(sleeper_backend(launcher_dir))
    assert operations.unsplittable(TrainFlags(team="new-team")) == []
