"""A GregoryAI-shaped database (gregoryai_schema.sql) on the test session's PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCHEMA = Path(__file__).with_name("gregoryai_schema.sql")
NAME = "gregoryai_contract"


@dataclass(frozen=True)
class GregoryAIDatabase:
    host: str
    port: str
    user: str
    name: str

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}"

    def connect(self, dbname: str | None = None):
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=dbname or self.name,
            autocommit=True,
        )


@pytest.fixture
def gregoryai(database_kind: str, django_db_setup) -> Iterator[GregoryAIDatabase]:
    """A fresh database next to the test database, holding GregoryAI's tables and nothing else."""
    if database_kind != "postgres":
        pytest.skip("GregoryAI's schema is PostgreSQL's: run with --database postgres")
    from django.db import connection

    s = connection.settings_dict
    database = GregoryAIDatabase(s["HOST"], s["PORT"], s["USER"], NAME)
    with database.connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{NAME}"')
    with database.connect() as conn:
        conn.execute(SCHEMA.read_text())
    try:
        yield database
    finally:
        with database.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
