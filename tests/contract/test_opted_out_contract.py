"""In GregoryAI's own database, a subject whose auto_predict is off (GregoryAI's default) gets
no training run, no prediction run and no prediction from the real job, while its team's other
subject is trained and scored; naming it is refused in one line with exit 2."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess

import pytest

from tests.contract.seeding import add_team
from tests.support.data import SAMPLE_CSV

pytestmark = pytest.mark.postgres

TEAM = "ms-team"
ROWS = 120  # enough labelled articles of both classes for a stratified split


def fill(conn) -> dict[str, int]:
    """Team ms-team with subject `ms` (auto_predict on) and `ms-off` (off), both holding the
    first ROWS sample articles, labelled, the last 20 unreviewed."""
    now = dt.datetime.now(dt.UTC)
    with SAMPLE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:ROWS]
    with conn.transaction():
        team = add_team(conn, TEAM, "MS team")
        subjects = {}
        for slug, auto_predict in (("ms", True), ("ms-off", False)):
            (subjects[slug],) = conn.execute(
                "INSERT INTO subjects (subject_name, description, subject_slug, auto_predict, "
                "ml_consensus_type, team_id) VALUES (%s, NULL, %s, %s, 'any', %s) RETURNING id",
                (slug, slug, auto_predict, team),
            ).fetchone()
        for number, row in enumerate(rows):
            words = row["text_processed"].split()
            (article,) = conn.execute(
                "INSERT INTO articles (title, link, summary, discovery_date, doi_lookup_attempts, "
                "authors_attempts, details_attempts, kind, retracted, relevant) "
                "VALUES (%s, %s, %s, %s, 0, 0, 0, 'science paper', false, false) "
                "RETURNING article_id",
                (
                    " ".join(words[:12]),
                    f"https://doi.org/10.0000/opted-{number}",
                    " ".join(words[12:]),
                    now - dt.timedelta(days=number % 60),
                ),
            ).fetchone()
            conn.execute(
                "INSERT INTO articles_teams (articles_id, team_id) VALUES (%s, %s)",
                (article, team),
            )
            for subject in subjects.values():
                conn.execute(
                    "INSERT INTO articles_subjects (articles_id, subject_id) VALUES (%s, %s)",
                    (article, subject),
                )
                conn.execute(
                    "INSERT INTO gregory_articlesubjectrelevance "
                    "(article_id, subject_id, is_relevant) VALUES (%s, %s, %s)",
                    (article, subject, None if number >= ROWS - 20 else row["relevant"] == "1"),
                )
    return subjects


def test_an_opted_out_subject_gets_no_runs_and_no_predictions(gregoryai, models_dir) -> None:
    def job(*argv: str) -> subprocess.CompletedProcess:
        return gregoryai.manage(*argv, "--algo", "lgbm_tfidf", models_dir=models_dir)

    with gregoryai.connect() as conn:
        subjects = fill(conn)
        refused = job("train_models", "--team", TEAM, "--subject", "ms-off")
        assert refused.returncode == 2
        assert refused.stderr.strip().splitlines() == [
            "CommandError: subject 'ms-off' of team 'ms-team' is skipped: auto_predict is off "
            "in GregoryAI; turn it on to train or score it"
        ]
        for command in ("train_models", "predict_articles"):
            done = job(command, "--team", TEAM, "--all-articles", "--verbose", "2")
            assert done.returncode == 0, done.stderr
            assert "skipped subject ms-off of team ms-team: auto_predict is off" in done.stdout
        done = job("predict_articles", "--all-teams", "--all-articles")
        assert done.returncode == 0, done.stderr

        def count(table: str, subject: int) -> int:
            query = f"SELECT count(*) FROM {table} WHERE subject_id = %s"
            return conn.execute(query, (subject,)).fetchone()[0]

        assert count("gregory_predictionrunlog", subjects["ms-off"]) == 0
        assert count("gregory_mlpredictions", subjects["ms-off"]) == 0
        assert count("gregory_predictionrunlog", subjects["ms"]) == 3  # train, 2 predicts
        assert count("gregory_mlpredictions", subjects["ms"]) > 0
        assert not (models_dir / TEAM / "ms-off").exists()
