"""A database that cannot be reached, or lacks the schema, is one line for the operator."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.core.management.base import CommandError
from django.db import DatabaseError

from gregory import exit_codes


def describe(error: DatabaseError) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"the database has no gregory schema yet ({text}): run `manage.py migrate`"
    return f"database error: {text}"


@contextlib.contextmanager
def database_errors_as_command_errors() -> Iterator[None]:
    # Exit 1, not the usage status 2: a database that is down may be up at the Job's next try.
    try:
        yield
    except DatabaseError as error:
        raise CommandError(describe(error), returncode=exit_codes.RUN_FAILED) from None


def is_gregoryai_database() -> bool:
    """True when DATABASE_URL is GregoryAI's own database, which the job may read and train from
    but must not fill with demo or imported rows: its team table has organization_id, a column
    only GregoryAI creates (our models leave it out)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if "gregory_team" not in connection.introspection.table_names(cursor):
            return False
        description = connection.introspection.get_table_description(cursor, "gregory_team")
    return any(column.name == "organization_id" for column in description)
