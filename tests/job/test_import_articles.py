from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gregory.models import Articles, ArticleSubjectRelevance


def do_import(path, **options):
    out = StringIO()
    call_command("import_articles", str(path), team="demo", subject="ms", stdout=out, **options)
    return out.getvalue()


@pytest.mark.postgres
def test_import_links_labels_and_reimport_updates(subject, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "link,title,summary,relevant,discovery_date\n"
        "https://example.org/1,First,Sum one,1,2026-11-01\n"
        "https://example.org/2,Second,,0,2026-11-02T10:00:00\n"
        "https://example.org/3,Third,Sum three,,\n"
    )
    assert "3 articles" in do_import(path)
    rel = dict(ArticleSubjectRelevance.objects.values_list("article__link", "is_relevant"))
    assert rel == {
        "https://example.org/1": True,
        "https://example.org/2": False,
        "https://example.org/3": None,
    }
    second = Articles.objects.get(link="https://example.org/2")
    assert second.summary is None and second.discovery_date.hour == 10
    assert list(second.subjects.all()) == [subject] and list(second.teams.all()) == [subject.team]
    path.write_text("link,title,summary,relevant\nhttps://example.org/1,First,Sum v2,0\n")
    assert "0 new, 1 updated" in do_import(path)
    assert Articles.objects.count() == 3
    first = Articles.objects.get(link="https://example.org/1")
    assert first.summary == "Sum v2"
    assert first.article_subject_relevances.get().is_relevant is False


def test_the_same_link_under_another_title_is_another_article(subject, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("link,title,summary,relevant\nhttps://example.org/1,First,s,1\n")
    do_import(path)
    path.write_text("link,title,summary,relevant\nhttps://example.org/1,First v2,s,0\n")
    assert "1 new, 0 updated" in do_import(path)
    assert sorted(Articles.objects.values_list("title", flat=True)) == ["First", "First v2"]


def test_a_row_without_a_link_takes_one_from_its_id(subject, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "external_id,article_id,link,title,summary,relevant\n"
        "x1,,,First,s,1\n"
        ",42,,Second,s,0\n"
        "x3,,https://example.org/3,Third,s,\n"
    )
    do_import(path)
    assert sorted(Articles.objects.values_list("link", flat=True)) == [
        "https://example.org/3",
        "urn:gregory-import:42",
        "urn:gregory-import:x1",
    ]
    path.write_text("external_id,title,summary,relevant\nx1,First,s,0\n")
    assert "0 new, 1 updated" in do_import(path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("link,title,summary,relevant\nu:1,ok,s,1\nu:2,bad,s,maybe\n", "line 3: relevant must be"),
        ("link,title,summary,relevant\nu:1,ok,s,1\nu:2,,s,0\n", "line 3: title is empty"),
        (
            "link,title,summary,relevant,discovery_date\nu:1,ok,s,1,yesterday\n",
            "line 2: discovery_date",
        ),
        ("link,title,summary\nu:1,ok,s\n", "missing column(s) relevant"),
        ("title,summary,relevant\nok,s,1\n", "missing column(s) link (or external_id or"),
        ("link,title,summary,relevant\nu:1,ok,s,1\n,no link,s,0\n", "line 3: link is empty"),
        ("link,title,summary,relevant\nu:1,t,s,1\nu:1,t,s,0\n", "line 3: title and link 'u:1'"),
        ("external_id,title,summary,relevant\na,t,s,1\na,t,s,0\n", "repeat line 2"),
    ],
)
def test_bad_file_imports_nothing(subject, tmp_path, body, reason):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(
        CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        do_import(path)
    assert caught.value.returncode == 2
    assert not Articles.objects.exists() and not ArticleSubjectRelevance.objects.exists()


def test_unknown_team_needs_create(db, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("link,title,summary,relevant\nu:1,t,s,1\n")
    with pytest.raises(CommandError, match="unknown team 'demo'"):
        do_import(path)
    do_import(path, create=True)
    assert Articles.objects.get().article_subject_relevances.get().subject.subject_slug == "ms"


@pytest.mark.postgres
def test_gregoryai_database_is_refused(subject, tmp_path):
    # GregoryAI's team table has organization_id; ours never does.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE gregory_team ADD COLUMN organization_id integer NULL")
    path = tmp_path / "a.csv"
    path.write_text("link,title,summary,relevant\nu:1,t,s,1\n")
    with pytest.raises(CommandError, match="GregoryAI's own database") as caught:
        do_import(path)
    assert caught.value.returncode == 1
    assert not Articles.objects.exists()
