"""import_articles and demo_data refuse GregoryAI's own database: one line, exit 1, no rows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("command", ["import_articles", "demo_data"])
def test_gregoryai_database_is_refused(gregoryai, tmp_path, command):
    csv_path = tmp_path / "articles.csv"
    csv_path.write_text("link,title,summary,relevant\nhttps://example.org/1,t,s,1\n")
    argv = {
        "import_articles": ["--create", "--team", "t", "--subject", "s", str(csv_path)],
        "demo_data": ["--out", str(tmp_path / "demo.csv")],
    }[command]
    done = gregoryai.manage(command, *argv, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "GregoryAI's own database" in done.stderr
    assert not (tmp_path / "demo.csv").exists()
    with gregoryai.connect() as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("articles", "gregory_team", "subjects")
        ]
    assert counts == [0, 0, 0]
