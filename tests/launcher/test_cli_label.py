"""`gregory-launch label`: the Review screen's y/n, and a batch of labels from stdin."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

import pytest

from launcher.cli import main
from tests.support.launcher import make_scope

SCOPE = ["label", "--team", "demo", "--subject", "ms"]


@pytest.fixture
def articles(transactional_db, launcher_dir: Path) -> list[int]:
    from gregory.models import Subject
    from tests.support.articles import add_articles

    make_scope("demo", "ms")
    made = add_articles(Subject.objects.get(subject_slug="ms"), [None, None, None, True])
    return [article.pk for article in made]


def run(argv: list[str], stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = StringIO(), StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def labels() -> dict[int, bool | None]:
    from gregory.models import ArticleSubjectRelevance

    return dict(ArticleSubjectRelevance.objects.values_list("article_id", "is_relevant"))


@pytest.mark.parametrize(("said", "relevant"), [("y", True), ("N", False), ("true", True)])
def test_label_takes_the_review_screens_keys(articles, said, relevant) -> None:
    code, out, err = run([*SCOPE, "--article", str(articles[0]), "--relevant", said])
    assert (code, err) == (0, "")
    assert out.startswith(f"labelled article {articles[0]} ")
    assert labels()[articles[0]] is relevant


def test_a_batch_from_stdin_is_written_line_by_line(articles, monkeypatch) -> None:
    first, second, third, done = articles
    batch = f"# from a spreadsheet\n{first} y\n\n{second}\tNo\n{done} n\n{third} yes\n"
    code, out, err = run([*SCOPE, "-"], batch, monkeypatch)
    # The article already labelled is refused in one line; the others are written.
    assert code == 1
    assert out.splitlines() == [
        f"labelled article {first} relevant for demo/ms",
        f"labelled article {second} not relevant for demo/ms",
        f"labelled article {third} relevant for demo/ms",
    ]
    (line,) = err.splitlines()
    assert line.startswith(f"gregory-launch: error: article {done} is already labelled")
    assert labels() == {first: True, second: False, third: True, done: True}


def test_a_malformed_batch_writes_nothing(articles, monkeypatch) -> None:
    code, out, err = run([*SCOPE, "-"], f"{articles[0]} y\n{articles[1]} maybe\n", monkeypatch)
    assert (code, out) == (2, "")
    assert err == (
        f"gregory-launch: error: stdin line 2: '{articles[1]} maybe' is not 'ARTICLE_ID y|n' "
        "(y, yes or true; n, no or false)\n"
    )
    assert labels()[articles[0]] is None


def test_label_needs_one_label_or_the_batch(articles) -> None:
    code, _, err = run([*SCOPE, "--article", str(articles[0])])
    assert code == 2 and "label needs --article ID and --relevant y|n" in err
    code, _, err = run([*SCOPE, "--article", str(articles[0]), "--relevant", "y", "-"])
    assert code == 2 and "or - to read a batch from stdin" in err
