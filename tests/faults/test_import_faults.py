"""import_articles on bad files, run as the real command: one line per bad row, exit 2, nothing
written; and the faults a CSV can hide that used to pass (merged rows, short rows) or to erase
(empty cells)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team
from tests.faults.conftest import Run, assert_one_line_error

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HEADER = b"link,title,summary,relevant,discovery_date\n"
GOOD = b"https://example.org/1,First,Sum one,1,2026-11-01\n"


def import_file(manage: Run, path: Path, *extra: str):
    return manage(
        "import_articles", "--team", "demo", "--subject", "ms", "--create", *extra, str(path)
    )


def nothing_written() -> bool:
    return not (
        Articles.objects.exists()
        or ArticleSubjectRelevance.objects.exists()
        or Team.objects.exists()
        or Subject.objects.exists()
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (HEADER + GOOD + b"https://example.org/2,Caf\xe9,s,1,\n", ["line 3", "not UTF-8"]),
        (HEADER + GOOD + b"https://example.org/2,T,s,1,2026-13-45\n", ["line 3", "2026-13-45"]),
        (
            HEADER + GOOD + b"https://example.org/2,T,s,1,2026-11-01T10:00:00+25:00\n",
            ["line 3", "UTC offset"],
        ),
        (
            HEADER + GOOD + b"https://example.org/2,T," + b"x" * 200_000 + b",1,\n",
            ["line 3", "longer than the limit"],
        ),
        # A quote that never closes used to swallow every row after it into one field.
        (
            HEADER + GOOD + b'https://example.org/2,"T,s,1,\nhttps://example.org/3,U,s,0,\n',
            ["line 3", "never closes"],
        ),
        # Fewer fields than the header used to import the row unreviewed.
        (HEADER + GOOD + b"https://example.org/2,T,s\n", ["line 3", "3 fields", "has 5"]),
        (HEADER + GOOD + b"https://example.org/2,T,s,1,,extra\n", ["line 3", "6 fields"]),
        # PostgreSQL refuses both as a bare "database error"; they are caught first, by column.
        (HEADER + GOOD + b"https://example.org/2,T,a\x00b,1,\n", ["line 3", "summary", "NUL"]),
        (
            HEADER + GOOD + b"https://example.org/" + b"x" * 2000 + b",T,s,1,\n",
            ["line 3", "column link", "over its limit of 2000"],
        ),
    ],
    ids=[
        "not-utf8",
        "impossible-date",
        "bad-utc-offset",
        "field-over-csv-limit",
        "unterminated-quote",
        "short-row",
        "long-row",
        "nul-byte",
        "over-long-link",
    ],
)
def test_a_bad_row_is_one_line_naming_it_and_nothing_is_written(manage, tmp_path, body, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    done = import_file(manage, path)
    line = assert_one_line_error(done, 2, *words, "nothing imported")
    assert str(path) in line
    assert nothing_written()


def test_every_bad_row_is_named_in_one_message(manage, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(
        HEADER
        + b"https://example.org/1,First,s,maybe,\n"
        + GOOD
        + b"https://example.org/3,Third,s,1,yesterday\n"
        + b"https://example.org/4,Fourth\n"
    )
    done = import_file(manage, path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].endswith("3 bad rows; nothing imported")
    assert [line.split(": ", 1)[0].rsplit(", ", 1)[1] for line in lines[1:]] == [
        "line 2",
        "line 4",
        "line 5",
    ]
    assert nothing_written()


def test_the_unterminated_quote_is_named_where_it_opens(manage, tmp_path):
    # A legal quoted field over two lines first, then the quote that never closes on line 5.
    path = tmp_path / "bad.csv"
    path.write_bytes(
        HEADER
        + b'https://example.org/1,First,"two\nlines, ""quoted""",1,\n'
        + b"https://example.org/2,Second,s,0,\n"
        + b'https://example.org/3,Third,"opens,1,\n'
        + b"https://example.org/4,Fourth,s,0,\n"
    )
    assert_one_line_error(import_file(manage, path), 2, "line 5", "never closes")
    assert nothing_written()


def test_a_byte_order_mark_and_quoted_lines_are_read(manage, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + HEADER.replace(b"\n", b"\r\n")
        + b'https://example.org/1,First,"two\r\nlines, ""quoted""",1,\r\n'
    )
    done = import_file(manage, path)
    assert done.returncode == 0, done.stderr
    article = Articles.objects.get()
    assert article.summary == 'two\r\nlines, "quoted"'
    assert article.article_subject_relevances.get().is_relevant is True


def test_an_empty_cell_keeps_what_is_stored(subject, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(HEADER + GOOD)
    call_command("import_articles", str(path), team="demo", subject="ms", stdout=StringIO())
    # The same article again with only its identity: no label, summary or date to change.
    path.write_bytes(HEADER + b"https://example.org/1,First,,,\n")
    out = StringIO()
    call_command("import_articles", str(path), team="demo", subject="ms", stdout=out)
    assert "0 new, 1 updated" in out.getvalue()
    article = Articles.objects.get()
    assert article.summary == "Sum one"
    assert article.discovery_date.date().isoformat() == "2026-11-01"
    assert article.article_subject_relevances.get().is_relevant is True
    # A value still replaces what is stored, and an empty label stays unreviewed when new.
    path.write_bytes(
        HEADER + b"https://example.org/1,First,Sum two,0,\nhttps://example.org/2,New,s,,\n"
    )
    call_command("import_articles", str(path), team="demo", subject="ms", stdout=StringIO())
    labels = dict(ArticleSubjectRelevance.objects.values_list("article__link", "is_relevant"))
    assert labels == {"https://example.org/1": False, "https://example.org/2": None}
    assert Articles.objects.get(link="https://example.org/1").summary == "Sum two"


def test_a_file_that_cannot_be_read_is_one_line(manage, tmp_path):
    (tmp_path / "dir.csv").mkdir()
    assert_one_line_error(import_file(manage, tmp_path / "dir.csv"), 2, "no such file")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_one_line_error(import_file(manage, empty), 2, "empty file")
    twice = tmp_path / "twice.csv"
    twice.write_bytes(b"link,title,summary,relevant,title\nu:1,a,s,1,b\n")
    assert_one_line_error(import_file(manage, twice), 2, "column(s) title appear more than once")
    assert nothing_written()


def test_a_slug_longer_than_its_column_is_refused_before_any_write(manage, tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(HEADER + GOOD)
    long_slug = "t" * 51
    done = manage("import_articles", "--team", long_slug, "--subject", "ms", "--create", str(path))
    assert_one_line_error(done, 2, f"--team '{long_slug}' is longer than 50 characters")
    assert nothing_written()
