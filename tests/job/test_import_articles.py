from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from gregory.models import Articles, ArticleSubjectRelevance


def do_import(path, **options):
    out = StringIO()
    call_command("import_articles", str(path), team="demo", subject="ms", stdout=out, **options)
    return out.getvalue()


@pytest.mark.postgres
def test_import_links_labels_and_reimport_updates(subject, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "external_id,title,summary,relevant,discovery_date\n"
        "x1,First,Sum one,1,2026-11-01\n"
        "x2,Second,,0,2026-11-02T10:00:00\n"
        "x3,Third,Sum three,,\n"
    )
    assert "3 articles" in do_import(path)
    rel = dict(ArticleSubjectRelevance.objects.values_list("article__external_id", "is_relevant"))
    assert rel == {"x1": True, "x2": False, "x3": None}
    second = Articles.objects.get(external_id="x2")
    assert second.summary is None and second.discovery_date.hour == 10
    assert list(second.subjects.all()) == [subject] and list(second.teams.all()) == [subject.team]
    path.write_text("external_id,title,summary,relevant\nx1,First v2,Sum,0\n")
    assert "0 new, 1 updated" in do_import(path)
    assert Articles.objects.count() == 3
    first = Articles.objects.get(external_id="x1")
    assert first.title == "First v2" and first.relevances.get().is_relevant is False


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("title,summary,relevant\nok,s,1\nbad,s,maybe\n", "line 3: relevant must be"),
        ("title,summary,relevant\nok,s,1\n,s,0\n", "line 3: title is empty"),
        ("title,summary,relevant,discovery_date\nok,s,1,yesterday\n", "line 2: discovery_date"),
        ("title,summary\nok,s\n", "missing column(s) relevant"),
        ("external_id,title,summary,relevant\na,t,s,1\na,t,s,0\n", "line 3: external_id 'a'"),
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
    path.write_text("title,summary,relevant\nt,s,1\n")
    with pytest.raises(CommandError, match="unknown team 'demo'"):
        do_import(path)
    do_import(path, create=True)
    assert Articles.objects.get().relevances.get().subject.subject_slug == "ms"
