"""The test database as the job sees it."""

from __future__ import annotations

import contextlib


def database_url() -> str:
    """The URL of the test database the current test uses (call inside a db test)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def forget_connection(alias: str) -> None:
    """Drop a connection object made before the settings changed: its backend class is fixed."""
    from django.db import connections

    connections.close_all()
    with contextlib.suppress(AttributeError):  # never opened
        del connections[alias]
