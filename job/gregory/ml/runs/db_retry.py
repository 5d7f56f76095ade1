"""Database writes and reads that outlive a restart: a lost connection is reopened and the call
retried for up to DB_RETRY_SECONDS (a PostgreSQL failover or restart takes seconds to a minute;
SQLite gives up a lock after 30 s)."""

from __future__ import annotations

import contextlib
import logging

import tenacity
from django.db import InterfaceError, OperationalError, connection

from gregory.reasons import first_line

log = logging.getLogger(__name__)
DB_RETRY_SECONDS = 120.0


def _reconnect(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("database unavailable (%s); reconnecting", first_line(error) if error else "?")
    # Django keeps a broken connection until told: drop it, so the retry opens a new one.
    with contextlib.suppress(Exception):
        connection.close()


database_retry = tenacity.retry(
    retry=tenacity.retry_if_exception_type((OperationalError, InterfaceError)),
    wait=tenacity.wait_exponential(multiplier=0.5, max=10),
    stop=tenacity.stop_after_delay(DB_RETRY_SECONDS),
    before_sleep=_reconnect,
    reraise=True,
)
