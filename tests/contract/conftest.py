"""A GregoryAI-shaped database (gregoryai_schema.sql) on the test session's PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import MANAGE

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

    def manage(
        self, *argv: str, models_dir: Path | None = None, timeout: int = 300, **settings: str
    ) -> subprocess.CompletedProcess:
        """Our job's command as a process against this database, with the pod's settings."""
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "gregory_train.settings",
            **settings,
        }
        if models_dir is not None:
            env["GREGORY_MODELS_DIR"] = str(models_dir)
        env.pop("GREGORY_TRIGGERED_BY", None)
        return subprocess.run(
            [sys.executable, str(MANAGE), *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
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
