"""`gregory-launch review -o json` and `label` as real subprocesses, against a subject that the
real train_models trained; the label then reaches the next train_models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gregory.models import ArticleSubjectRelevance
from tests.support.launcher import make_scope
from tests.support.review import review_sample_csv

pytestmark = pytest.mark.postgres
LAUNCH = str(Path(sys.executable).parent / "gregory-launch")
UNREVIEWED = 40


@pytest.fixture
def env(job_env: dict[str, str], launcher_dir: Path) -> dict[str, str]:
    return {**job_env, "GREGORY_LAUNCHER_DIR": str(launcher_dir), "GREGORY_REVIEWER": "ana"}


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def job(manage_argv: list[str], env: dict[str, str], *argv: str) -> None:
    done = run([*manage_argv, *argv], env)
    assert done.returncode == 0, done.stderr


def launch(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return run([LAUNCH, *argv], env)


def label(env: dict[str, str], article: int, relevant: str) -> subprocess.CompletedProcess:
    """`gregory-launch label` for one article of demo/ms."""
    scope = ("--team", "demo", "--subject", "ms")
    return launch(env, "label", *scope, "--article", str(article), "--relevant", relevant)


def split_ids(models_dir: Path) -> tuple[str, set[int]]:
    algo_dir = models_dir / "demo" / "ms" / "lgbm_tfidf"
    version = json.loads((algo_dir / "current.json").read_text())["version"]
    split = json.loads((algo_dir / version / "split.json").read_text())
    return version, {a for part in ("train", "validation", "test") for a in split[part]}


def test_review_ranks_label_records_and_the_next_training_uses_it(
    env, manage_argv, models_dir: Path, launcher_dir: Path, tmp_path: Path
) -> None:
    csv_path = review_sample_csv(tmp_path / "sample.csv", UNREVIEWED)
    job(
        manage_argv,
        env,
        "import_articles",
        "--create",
        "--team",
        "demo",
        "--subject",
        "ms",
        str(csv_path),
    )
    job(manage_argv, env, "train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    first_version, first_ids = split_ids(models_dir)

    done = launch(env, "review", "--team", "demo", "--subject", "ms", "--count", "10", "-o", "json")
    assert done.returncode == 0, done.stderr
    # Nothing stored yet (predict_articles has not run): the queue scores the pool, and says so.
    assert done.stderr == (
        f"review: scoring {UNREVIEWED} articles that have no stored prediction of the served "
        f"versions (predict_articles stores them)\nreview: scored {UNREVIEWED} of {UNREVIEWED}\n"
    )
    queue = json.loads(done.stdout)
    articles = queue["articles"]
    assert (queue["unreviewed"], len(articles)) == (UNREVIEWED, 10)
    assert queue["versions"] == {"lgbm_tfidf": first_version}
    unreviewed = set(
        ArticleSubjectRelevance.objects.filter(is_relevant=None).values_list(
            "article_id", flat=True
        )
    )
    assert {a["article_id"] for a in articles} <= unreviewed
    ranked = [a for a in articles if not a["random_pick"]]
    assert articles[0] is ranked[0]
    assert [a["uncertainty"] for a in ranked] == sorted(
        (a["uncertainty"] for a in ranked), reverse=True
    )
    # The least sure of the whole pool, not only of these ten.
    done = launch(
        env,
        "review",
        "--team",
        "demo",
        "--subject",
        "ms",
        "--count",
        "100",
        "--random-share",
        "0",
        "-o",
        "json",
    )
    whole = json.loads(done.stdout)["articles"]
    assert max(a["uncertainty"] for a in whole) == articles[0]["uncertainty"]
    assert set(articles[0]["probabilities"]) == {"lgbm_tfidf"}
    assert articles[0]["reason"].startswith("uncertain: lgbm_tfidf")

    target = articles[0]["article_id"]
    assert target not in first_ids
    done = label(env, target, "yes")
    assert (done.returncode, done.stdout) == (
        0,
        f"labelled article {target} relevant for demo/ms\n",
    )
    row = ArticleSubjectRelevance.objects.get(article_id=target)
    assert row.is_relevant is True
    (entry,) = [
        json.loads(line) for line in (launcher_dir / "labels.jsonl").read_text().splitlines()
    ]
    assert (entry["by"], entry["action"], entry["article_id"], entry["relevant"]) == (
        "ana",
        "label",
        target,
        True,
    )

    # A second reviewer, who saw the same queue: told, and the first label stays.
    done = label(env, target, "no")
    assert done.returncode == 1
    assert done.stderr == (
        f"gregory-launch: error: article {target} is already labelled relevant for demo/ms; "
        "left unchanged\n"
    )
    row.refresh_from_db()
    assert row.is_relevant is True

    job(manage_argv, env, "train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--no-gate")
    algo_dir = models_dir / "demo" / "ms" / "lgbm_tfidf"
    newest = sorted(p for p in algo_dir.iterdir() if p.is_dir())[-1]
    split = json.loads((newest / "split.json").read_text())
    used = {a for part in ("train", "validation", "test") for a in split[part]}
    assert used == first_ids | {target}


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["review", "--team", "demo", "--subject", "nope"], 2, "team 'demo' has no subject 'nope'"),
        (["review", "--team", "x/y", "--subject", "ms"], 2, "--team 'x/y'"),
        (
            [
                "label",
                "--team",
                "demo",
                "--subject",
                "ms",
                "--article",
                "999999",
                "--relevant",
                "yes",
            ],
            2,
            "article 999999 is not an article of demo/ms",
        ),
        (["review", "--team", "demo", "--subject", "ms", "--count", "0"], 2, "--count"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(env, argv, code, message) -> None:
    make_scope("demo", "ms")
    done = launch(env, *argv)
    assert done.returncode == code
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 or "usage:" in done.stderr
    assert "Traceback" not in done.stderr
    assert not ArticleSubjectRelevance.objects.exists()


# A feed title that would set the window title, clear the screen and ring the bell if printed
# raw; the brackets are no markup anywhere.
HOSTILE_TITLE = "\x1b]0;pwned\x07\x1b[2J[bold]Relapse[/bold]\x9b31m rates\x07 in a cohort {i}"


def test_a_damaged_pointer_is_one_note_and_escapes_never_reach_the_terminal(
    env, models_dir: Path, tmp_path: Path
) -> None:
    from gregory.models import Subject
    from tests.support.articles import add_articles
    from tests.support.review import import_and_train

    import_and_train(tmp_path, 20)
    subject = Subject.objects.get(team__slug="demo", subject_slug="ms")
    (article,) = add_articles(
        subject, [None], title=HOSTILE_TITLE, summary="cohort \x1b[8mhidden\x1b[0m findings"
    )
    pointer = models_dir / "demo" / "ms" / "lgbm_tfidf" / "current.json"
    pointer.write_text('{"version": "v')

    done = launch(env, "review", "--team", "demo", "--subject", "ms", "--count", "30")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert not any(c in done.stdout for c in "\x1b\x07\x9b")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("21 unreviewed, ") and lines[0].endswith("; versions: none")
    (damaged,) = [line for line in lines if "current.json" in line]
    assert damaged.startswith("note: lgbm_tfidf left out: ") and str(pointer) in damaged
    (row,) = [line for line in lines if line.lstrip().startswith(f"{article.pk} ")]
    assert row == f"{article.pk:>8}  {'-':<40}  [bold]Relapse[/bold] rates in a cohort 0"

    # JSON keeps the text as it is, every control character escaped by the encoder.
    done = launch(env, "review", "--team", "demo", "--subject", "ms", "--count", "30", "-o", "json")
    assert done.returncode == 0 and "\x1b" not in done.stdout and "\x07" not in done.stdout
    titles = {a["article_id"]: a["title"] for a in json.loads(done.stdout)["articles"]}
    assert titles[article.pk] == HOSTILE_TITLE.format(i=0)
