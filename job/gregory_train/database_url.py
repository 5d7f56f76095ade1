"""DATABASE_URL → Django's DATABASES entry, or one line saying what is wrong with it.

The URL is never echoed: it usually carries the password.
"""

from __future__ import annotations

from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def database_settings(url: str) -> dict[str, Any]:
    if not url.strip():
        raise ImproperlyConfigured("DATABASE_URL is set but empty")
    try:
        settings = dj_database_url.parse(url, conn_max_age=0)
    except dj_database_url.UnknownSchemeError as error:
        raise ImproperlyConfigured(
            f"DATABASE_URL: scheme {error.args[0]!r} is not a database "
            "(use sqlite:///<path> or postgres://<user>@<host>/<name>)"
        ) from None
    except ValueError:  # dj_database_url.ParseError, or a port that is not a number
        raise ImproperlyConfigured(
            "DATABASE_URL is not a valid URL (are special characters in the password "
            "percent-encoded?)"
        ) from None
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        # Concurrent runs (the launcher, two Jobs on one node) share the file: wait, not fail.
        settings.setdefault("OPTIONS", {})["timeout"] = 30
    return dict(settings)
