"""demo_data: a CSV that import_articles takes as it is; never next to GregoryAI's database."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gregory.models import Articles


def test_demo_csv_imports_and_reimports_without_duplicates(db, tmp_path):
    path = tmp_path / "demo.csv"
    call_command("demo_data", "--out", str(path), "--articles", "30", stdout=StringIO())
    with path.open(newline="") as handle:
        assert next(csv.reader(handle))[0] == "link"
    for _ in range(2):
        call_command(
            "import_articles", str(path), "--create", team="demo", subject="ms", stdout=StringIO()
        )
    assert Articles.objects.count() == 30


@pytest.mark.postgres
def test_gregoryai_database_is_refused(db, tmp_path):
    # GregoryAI's team table has organization_id; ours never does.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE gregory_team ADD COLUMN organization_id integer NULL")
    path = tmp_path / "demo.csv"
    with pytest.raises(CommandError, match="GregoryAI's own database") as caught:
        call_command("demo_data", "--out", str(path), stdout=StringIO())
    assert caught.value.returncode == 1
    assert not path.exists()
