"""On GregoryAI's own schema, the real train_models and predict_articles (subprocesses) leave every
scored article's ml_score and relevant as GregoryAI's rules say (tests/support/derived_oracle.py),
among rows GregoryAI's own models wrote before, other subjects' rows and a reviewer's mark."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.contract.seeding import add_team
from tests.contract.test_gregoryai_schema import SUBJECT, TEAM, fill_like_gregoryai
from tests.support import derived_oracle

pytestmark = pytest.mark.postgres

NOW = dt.datetime.now(dt.UTC)


def add_subject(conn, slug: str, auto_predict: bool, consensus: str, team_slug: str) -> int:
    (team,) = conn.execute("SELECT id FROM gregory_team WHERE slug = %s", (team_slug,)).fetchone()
    (subject,) = conn.execute(
        "INSERT INTO subjects (subject_name, description, subject_slug, auto_predict, "
        "ml_consensus_type, team_id) VALUES (%s, NULL, %s, %s, %s, %s) RETURNING id",
        (slug, slug, auto_predict, consensus, team),
    ).fetchone()
    return subject


def gregoryais_row(conn, article, subject, algorithm, score, hours_ago, version="20250801"):
    """A row as GregoryAI's own predict_articles writes it (its Keras models, a date version)."""
    conn.execute(
        "INSERT INTO gregory_mlpredictions (created_date, subject_id, article_id, model_version, "
        "algorithm, probability_score, predicted_relevant) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            NOW - dt.timedelta(hours=hours_ago),
            subject,
            article,
            version,
            algorithm,
            score,
            None if score is None else score >= 0.8,
        ),
    )


def seed(conn, ids: dict[str, list[int]]) -> dict[str, int]:
    """GregoryAI's earlier BERT and LSTM rows on the unreviewed articles, an opted-out subject
    linked to some of them that would flag them, a subject of another team that scores them
    without being linked, and a reviewer's mark through the opted-out subject."""
    (subject,) = conn.execute(
        "UPDATE subjects SET ml_consensus_type = 'majority' WHERE subject_slug = %s RETURNING id",
        (SUBJECT,),
    ).fetchone()
    off = add_subject(conn, "opted-out", False, "any", TEAM)
    add_team(conn, "elsewhere")
    unlinked = add_subject(conn, "unlinked", True, "any", "elsewhere")
    pool = sorted([*ids["unreviewed"], *ids["m2m_only"]])
    for i, article in enumerate(pool):
        gregoryais_row(conn, article, subject, "pubmed_bert", [0.95, 0.4, 0.85][i % 3], 48)
        gregoryais_row(conn, article, subject, "lstm", [0.9, 0.82, 0.1, None][i % 4], 24)
        # A newer LSTM row from another GregoryAI version: the latest one is what counts.
        if i % 7 == 0:
            gregoryais_row(conn, article, subject, "lstm", 0.05, 12, version="20250901")
        if i % 5 == 0:
            conn.execute(
                "INSERT INTO articles_subjects (articles_id, subject_id) VALUES (%s, %s)",
                (article, off),
            )
            gregoryais_row(conn, article, off, "lgbm_tfidf", 0.99, 6)
        if i % 6 == 0:
            gregoryais_row(conn, article, unlinked, "lgbm_tfidf", 0.97, 6)
    conn.execute(
        "INSERT INTO gregory_articlesubjectrelevance (article_id, subject_id, is_relevant) "
        "VALUES (%s, %s, true)",
        (pool[1], off),
    )
    return {"subject": subject, "off": off}


def test_scored_articles_fields_are_gregoryais_rules(gregoryai, models_dir):
    def job(*argv: str) -> str:
        done = gregoryai.manage(
            *argv,
            "--team",
            TEAM,
            "--algo",
            "lgbm_tfidf",
            models_dir=models_dir,
            GREGORY_SUMMARISER="off",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    with gregoryai.connect() as conn:
        ids = fill_like_gregoryai(conn)
        subjects = seed(conn, ids)
        job("train_models", "--all-articles")
        out = job("predict_articles", "--all-articles")

        scored = {
            article
            for (article,) in conn.execute(
                "SELECT article_id FROM gregory_mlpredictions "
                "WHERE subject_id = %s AND algorithm = 'lgbm_tfidf'",
                (subjects["subject"],),
            ).fetchall()
        }
        assert len(scored) > 300
        with conn.cursor() as cursor:
            assert derived_oracle.mismatches(cursor, scored) == []
            stored = derived_oracle.read_fields(cursor)
        # Every scored article has a score; the rules flag some and not others.
        assert all(stored[a][0] is not None for a in scored)
        flags = [stored[a][1] for a in scored]
        assert any(flags) and not all(flags)
        changed = sum(1 for a in scored if stored[a] != (None, False))
        assert f"ml_score or relevant changed for {changed} articles" in out
        # The opted-out subject got no run and no row of ours (GregoryAI's are older than NOW).
        (rows_on_off,) = conn.execute(
            "SELECT count(*) FROM gregory_mlpredictions WHERE subject_id = %s "
            "AND created_date > %s",
            (subjects["off"], NOW),
        ).fetchone()
        (runs_on_off,) = conn.execute(
            "SELECT count(*) FROM gregory_predictionrunlog WHERE subject_id = %s",
            (subjects["off"],),
        ).fetchone()
        assert (rows_on_off, runs_on_off) == (0, 0)
