"""Shared fixtures: the test database (SQLite file or a real PostgreSQL server), the job's env,
the launcher's run registry, team demo with subject ms, and `trained` (that subject trained on
the real sample).

`pytest` runs on SQLite; `pytest --database postgres -m postgres` starts a throwaway PostgreSQL
server (tests/pg_server.py) and runs the same tests marked `postgres` against it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.db import database_url, forget_connection
from tests.support.paths import MANAGE

if TYPE_CHECKING:
    # Imported where used: Django is not set up yet when this file loads.
    from gregory.models import Subject, Team


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="database the tests run against (postgres starts a local server)",
    )


@pytest.fixture(scope="session")
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--database")


# The PostgreSQL server of this session, when there is one (fault tests restart it).
RUNNING_SERVERS: list = []


@pytest.fixture
def postgres_server(database_kind: str, django_db_modify_db_settings):
    """The session's PostgreSQL server, for tests that stop and start it."""
    if database_kind != "postgres":
        pytest.skip("needs the PostgreSQL server: runs in the --database postgres pass")
    return RUNNING_SERVERS[-1]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if database_kind == "postgres":
        from tests.pg_server import PostgresServer

        server = PostgresServer(tmp_path_factory.mktemp("pg"))
        server.start()
        RUNNING_SERVERS.append(server)
        db.update(
            ENGINE="django.db.backends.postgresql",
            NAME="gregory",
            USER=server.user,
            PASSWORD="",
            HOST=server.host,
            PORT=str(server.port),
            OPTIONS={},
        )
        forget_connection("default")
        try:
            yield
        finally:
            server.stop()
    else:
        # A file, not :memory:, so the job started as a subprocess sees the same database.
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
        yield


@pytest.fixture
def models_dir(tmp_path: Path, settings) -> Path:
    """A fresh models directory, set for in-process calls and handed to subprocesses."""
    path = tmp_path / "models"
    path.mkdir()
    settings.GREGORY_MODELS_DIR = path
    return path


@pytest.fixture
def launcher_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local run registry, and no cluster config so auto-selection picks local."""
    path = tmp_path / "launcher"
    monkeypatch.setenv("GREGORY_LAUNCHER_DIR", str(path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("GREGORY_BACKEND", raising=False)
    return path


@pytest.fixture
def job_env(transactional_db, models_dir: Path) -> dict[str, str]:
    """Environment for running the real job as a subprocess against the test database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        GREGORY_MODELS_DIR=str(models_dir),
        DJANGO_SETTINGS_MODULE="gregory_train.settings",
        PYTHONUNBUFFERED="1",
    )
    env.pop("GREGORY_TRIGGERED_BY", None)
    return env


@pytest.fixture
def manage_argv() -> list[str]:
    """argv prefix that runs job/manage.py with this interpreter."""
    return [sys.executable, str(MANAGE)]


@pytest.fixture
def team(db) -> Team:
    from gregory.models import Team

    return Team.objects.create(name="Demo", slug="demo")


@pytest.fixture
def subject(team: Team) -> Subject:
    """Subject ms of team demo, auto_predict on (tests/faults and tests/deep define their own)."""
    from gregory.models import Subject

    return Subject.objects.create(
        team=team, subject_name="MS research", subject_slug="ms", auto_predict=True
    )


@pytest.fixture
def trained_unreviewed() -> int:
    """How many of the sample's last rows `trained` leaves unreviewed; a module may override."""
    return 30


@pytest.fixture
def trained_version() -> str | None:
    """The name of the version `trained` publishes: None names it by date, as the job does;
    tests/launcher overrides it with `v1` so its screens stay the same from day to day."""
    return None


@pytest.fixture
def trained(
    subject: Subject,
    models_dir: Path,
    tmp_path: Path,
    trained_unreviewed: int,
    trained_version: str | None,
) -> Subject:
    """The real sample imported for demo/ms, its last rows unreviewed, and one lgbm_tfidf
    version from the real train_models (tests/support/review.py)."""
    from tests.support.review import import_sample_and_train

    import_sample_and_train(tmp_path, trained_unreviewed, trained_version)
    return subject


@pytest.fixture(autouse=True)
def _no_summariser_model(settings, monkeypatch) -> None:
    """Core tests run without a summariser model; tests/deep points the settings at tiny ones."""
    settings.GREGORY_SUMMARISER = "off"
    monkeypatch.setenv("GREGORY_SUMMARISER", "off")


# Figures tests measure on real data (e.g. the sample's test roc_auc), printed after the run.
REPORTED: list[str] = []


@pytest.fixture
def report():
    return REPORTED.append


def pytest_terminal_summary(terminalreporter) -> None:
    if REPORTED:
        terminalreporter.section("measured on real data")
        for line in REPORTED:
            terminalreporter.write_line(line)
