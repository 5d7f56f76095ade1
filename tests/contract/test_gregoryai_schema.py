"""The job against GregoryAI's own schema (gregoryai_schema.sql), with none of our migrations.

(a) every table and column our migrations create exists in GregoryAI's schema with the same type
and nullability; (b) the real job trains and predicts in a database filled the way GregoryAI
fills it, writing GregoryAI's rows and adding no table of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from django.apps import apps
from django.db import connection

from tests.contract.seeding import add_team
from tests.support.data import SAMPLE_CSV

pytestmark = pytest.mark.postgres

UNLABELLED = 40
TEAM, SUBJECT = "ms-team", "ms"


def our_tables() -> list[str]:
    models = apps.get_app_config("gregory").get_models(include_auto_created=True)
    return sorted(model._meta.db_table for model in models)


def columns(conn, table: str) -> dict[str, tuple]:
    """name → (Django field type, PostgreSQL type oid, varchar length, nullable), as Django's
    introspection sees it; the oid tells apart what one field type covers (real and double)."""
    with conn.cursor() as cursor:
        description = conn.introspection.get_table_description(cursor, table)
    shapes = {}
    for info in description:
        kind = conn.introspection.get_field_type(info.type_code, info)
        size = info.display_size if kind == "CharField" else None
        shapes[info.name] = (kind, info.type_code, size, bool(info.null_ok))
    return shapes


def django_connection(database):
    from django.db.utils import ConnectionHandler

    settings = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database.name,
        "USER": database.user,
        "PASSWORD": "",
        "HOST": database.host,
        "PORT": database.port,
    }
    return ConnectionHandler({"default": settings})["default"]


def test_our_tables_and_columns_are_gregoryais(db, gregoryai):
    theirs = django_connection(gregoryai)
    try:
        with theirs.cursor() as cursor:
            their_tables = set(theirs.introspection.table_names(cursor))
        with connection.cursor() as cursor:
            created = set(connection.introspection.table_names(cursor))
        tables = our_tables()
        assert set(tables) == {
            "gregory_team",
            "subjects",
            "articles",
            "articles_subjects",
            "articles_teams",
            "gregory_articlesubjectrelevance",
            "gregory_mlpredictions",
            "gregory_predictionrunlog",
        }
        assert set(tables) <= created
        problems = []
        for table in tables:
            if table not in their_tables:
                problems.append(f"{table}: GregoryAI has no such table")
                continue
            mine, gregoryais = columns(connection, table), columns(theirs, table)
            for name, shape in mine.items():
                if name not in gregoryais:
                    problems.append(f"{table}.{name}: GregoryAI has no such column")
                elif shape != gregoryais[name]:
                    problems.append(f"{table}.{name}: ours {shape}, GregoryAI's {gregoryais[name]}")
        assert problems == []
    finally:
        theirs.close()


def fill_like_gregoryai(conn) -> dict[str, list[int]]:
    """The real sample as GregoryAI holds articles: a short title, the rest as the summary (every
    third one in JATS markup, as feeds deliver it), every NOT NULL column given; the last rows
    unreviewed, half of those linked to the subject through Articles.subjects only."""
    now = dt.datetime.now(dt.UTC)
    with SAMPLE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids: dict[str, list[int]] = {"labelled": [], "unreviewed": [], "m2m_only": []}
    with conn.transaction():
        team = add_team(conn, TEAM, "MS team")
        (subject,) = conn.execute(
            "INSERT INTO subjects (subject_name, description, subject_slug, auto_predict, "
            "ml_consensus_type, team_id) VALUES ('MS research', NULL, %s, true, 'any', %s) "
            "RETURNING id",
            (SUBJECT, team),
        ).fetchone()
        for number, row in enumerate(rows):
            words = row["text_processed"].split()
            body = " ".join(words[12:])
            (article,) = conn.execute(
                "INSERT INTO articles (title, link, summary, discovery_date, doi_lookup_attempts, "
                "authors_attempts, details_attempts, kind, retracted, relevant) "
                "VALUES (%s, %s, %s, %s, 0, 0, 0, 'science paper', false, false) "
                "RETURNING article_id",
                (
                    " ".join(words[:12]),
                    f"https://doi.org/10.0000/ms-{number}",
                    f"<jats:p>{body}</jats:p>" if number % 3 == 0 else body,
                    now - dt.timedelta(days=number % 300),
                ),
            ).fetchone()
            conn.execute(
                "INSERT INTO articles_subjects (articles_id, subject_id) VALUES (%s, %s)",
                (article, subject),
            )
            conn.execute(
                "INSERT INTO articles_teams (articles_id, team_id) VALUES (%s, %s)",
                (article, team),
            )
            unreviewed = number >= len(rows) - UNLABELLED
            if unreviewed and number % 2:
                ids["m2m_only"].append(article)
                continue
            conn.execute(
                "INSERT INTO gregory_articlesubjectrelevance (article_id, subject_id, is_relevant) "
                "VALUES (%s, %s, %s)",
                (article, subject, None if unreviewed else row["relevant"] == "1"),
            )
            ids["unreviewed" if unreviewed else "labelled"].append(article)
    return ids


def public_tables(conn) -> set[str]:
    found = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return {name for (name,) in found}


def test_the_job_trains_and_predicts_in_gregoryais_database(gregoryai, models_dir):
    def job(*argv):
        done = gregoryai.manage(
            *argv, "--team", TEAM, "--algo", "lgbm_tfidf", models_dir=models_dir
        )
        assert done.returncode == 0, done.stderr
        return done

    with gregoryai.connect() as conn:
        ids = fill_like_gregoryai(conn)
        before = public_tables(conn)

        job("train_models", "--all-articles")
        ((version, success, algorithm, triggered_by),) = conn.execute(
            "SELECT model_version, success, algorithm, triggered_by "
            "FROM gregory_predictionrunlog WHERE run_type = 'train'"
        ).fetchall()
        assert (success, algorithm, triggered_by) == (True, "lgbm_tfidf", "train_models")
        metrics_file = models_dir / TEAM / SUBJECT / "lgbm_tfidf" / version / "metrics.json"
        metrics = json.loads(metrics_file.read_text())
        assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == len(ids["labelled"])

        job("predict_articles", "--all-articles")
        scored = {
            article: rest
            for article, *rest in conn.execute(
                "SELECT article_id, algorithm, model_version, probability_score, "
                "predicted_relevant, created_date FROM gregory_mlpredictions"
            ).fetchall()
        }
        # A title alone is left out, as GregoryAI does: the sample's one 12-word text.
        with_summary = {
            article
            for (article,) in conn.execute(
                "SELECT article_id FROM articles WHERE summary <> ''"
            ).fetchall()
        }
        linked = {*ids["labelled"], *ids["unreviewed"], *ids["m2m_only"]}
        assert len(linked - with_summary) == 1
        assert set(scored) == linked & with_summary
        for article in {*ids["unreviewed"], *ids["m2m_only"]} & with_summary:
            algo, model_version, probability, relevant, created = scored[article]
            assert (algo, model_version) == ("lgbm_tfidf", version)
            assert 0.0 <= probability <= 1.0 and relevant == (probability >= 0.8)
            assert created is not None
        ((success, error),) = conn.execute(
            "SELECT success, error_message FROM gregory_predictionrunlog "
            "WHERE run_type = 'predict' AND model_version = %s",
            (version,),
        ).fetchall()
        assert (success, error) == (True, None)

        after = public_tables(conn)
        assert after == before and "django_migrations" not in after
