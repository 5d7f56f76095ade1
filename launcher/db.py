"""The launcher's window on the database: the teams to plan with, PredictionRunLog rows, and
the one write the launcher makes: closing as lost the open rows of runs it sees are over.

Scope rules and planning live in `gregory.scope`; this module sets Django up, runs the few
queries the launcher needs and turns any failure to reach the database into
`DatabaseUnavailable` with one line, worded by the job's own `describe`. Django's ORM is
synchronous, so the TUI calls these from thread workers; each call closes its connection
afterwards because a worker thread's connection would otherwise outlive the thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from gregory.reasons import INTERRUPTED_PREFIX, lost
from gregory.scope import TeamScope
from launcher.safe_text import error_line

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or is not set up; the message says which in one line."""


class DatabaseMisconfigured(DatabaseUnavailable):
    """DATABASE_URL (or the settings it feeds) cannot work: retrying cannot help."""


def setup_django() -> None:
    """Configure Django once, with the job's settings (DATABASE_URL like the job itself)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _setup() -> None:
    try:
        setup_django()
    except Exception as error:  # settings or driver problems are just as fatal here
        raise DatabaseMisconfigured(f"database not configured: {error_line(error)}") from error


def check_configuration() -> None:
    """DatabaseMisconfigured now, before anything else, if DATABASE_URL cannot work."""
    _setup()


def job_home() -> Path:
    """The job's home (its settings' BASE_DIR), whose `var/` holds its local state."""
    _setup()
    from django.conf import settings

    return Path(settings.BASE_DIR)


def _database(func: Callable[P, T]) -> Callable[P, T]:
    """Run `func` with Django set up; turn database failures into DatabaseUnavailable."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        _setup()
        from django.core.exceptions import ImproperlyConfigured
        from django.db import DatabaseError, connection

        from gregory.management.database import describe

        try:
            return func(*args, **kwargs)
        except (DatabaseError, ImproperlyConfigured) as error:
            where = connection.settings_dict.get("NAME") or "?"
            text = describe(error) if isinstance(error, DatabaseError) else error_line(error)
            raise DatabaseUnavailable(
                f"database unavailable ({connection.vendor} {where}): {text}"
            ) from error
        finally:
            # Inside a transaction (a test's) the connection is not ours to close.
            if not connection.in_atomic_block:
                connection.close()

    return wrapper


@dataclass(frozen=True)
class RunRow:
    """One PredictionRunLog row, flattened for display."""

    id: int
    team: str
    subject: str
    algorithm: str | None
    model_version: str
    success: bool | None
    started: datetime
    finished: datetime | None
    error: str | None
    triggered_by: str | None
    run_type: str = "train"
    # The whole error_message (a traceback, or one line); `error` is its headline.
    error_text: str | None = None

    @property
    def outcome(self) -> str:
        """running, ok, failed, or cancelled: a run stopped by SIGTERM/SIGINT (a cancel, Ctrl+C)
        closes its row "interrupted by SIGTERM" (gregory.reasons.interrupted)."""
        if self.success is False and (self.error or "").startswith(INTERRUPTED_PREFIX):
            return "cancelled"
        return {None: "running", True: "ok", False: "failed"}[self.success]


# Lines of a Python traceback that frame the error rather than say it.
_FRAMING = (
    "Traceback (most recent call last):",
    "The above exception was the direct cause",
    "During handling of the above exception",
)


def headline(text: str) -> str:
    """The line that says what went wrong: the first one that is not traceback framing.

    The last line is often a hint (a URL, "see the log") rather than the error itself.
    """
    lines = [line.rstrip() for line in text.strip().splitlines()]
    for line in lines:
        if line and not line[0].isspace() and not line.startswith(_FRAMING):
            return line
    return next((line.strip() for line in lines if line.strip()), "")


@_database
def teams() -> list[TeamScope]:
    """Every team with its subjects (inactive ones too: planning refuses them by name)."""
    from gregory.scope import load_teams

    return load_teams()


@_database
def run_rows(
    triggered_by: Iterable[str] | None = None,
    limit: int | None = 2000,
    *,
    every_type: bool = False,
) -> list[RunRow]:
    """PredictionRunLog rows, newest first: those of the given runs (training or prediction),
    else the most recent training rows (of both types with `every_type`); all with limit None."""
    from gregory.models import PredictionRunLog

    query = PredictionRunLog.objects.select_related("team", "subject")
    if triggered_by is not None:
        query = query.filter(triggered_by__in=list(triggered_by))
    elif not every_type:
        query = query.filter(run_type="train")
    return [_run_row(row) for row in query.order_by("-run_started", "-pk")[:limit]]


def _run_row(row) -> RunRow:
    return RunRow(
        id=row.pk,
        team=row.team.slug,
        subject=row.subject.subject_slug,
        algorithm=row.algorithm,
        model_version=row.model_version,
        success=row.success,
        started=row.run_started,
        finished=row.run_finished,
        error=headline(row.error_message) if row.error_message else None,
        triggered_by=row.triggered_by,
        run_type=row.run_type,
        error_text=row.error_message or None,
    )


@_database
def close_lost(ended: dict[int, tuple[str, datetime | None]], judge: Iterable[int]) -> list[RunRow]:
    """Close as failed the open rows whose runs are over: those `ended` gives a reason (and an
    end time) for, and those of `judge` whose heartbeat in this machine's models directory says
    so. Returns every one of those rows that is closed now, by this call or by another (a
    second screen refreshing at the same moment), as it stands in the database."""
    import gregory.ml.runs.liveness as liveness
    from gregory.models import PredictionRunLog

    ids = [*ended, *judge]
    for row in PredictionRunLog.objects.filter(pk__in=ids, success__isnull=True):
        reason, when = ended.get(row.pk) or (liveness.judge(row), None)
        if reason is not None:
            liveness.mark_lost(row, lost(reason), when)
    closed = PredictionRunLog.objects.filter(pk__in=ids, success__isnull=False)
    return [_run_row(row) for row in closed.select_related("team", "subject")]


@_database
def label_counts(
    pairs: Iterable[tuple[str, str]], window_days: int | None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(relevant, not relevant) reviewed articles of each team/subject discovered in the last
    `window_days` days (every article with None): what training would split. A pair with no
    label at all counts (0, 0)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from gregory.models import ArticleSubjectRelevance

    pairs = list(pairs)
    counts = {pair: (0, 0) for pair in pairs}
    if not pairs:
        return counts
    rows = ArticleSubjectRelevance.objects.filter(
        is_relevant__isnull=False,
        subject__team__slug__in={team for team, _ in pairs},
        subject__subject_slug__in={subject for _, subject in pairs},
    )
    if window_days is not None:
        # As the job's dataset.window_start, a moment earlier: the run starts after this check.
        since = timezone.now() - timedelta(days=window_days)
        rows = rows.filter(article__discovery_date__gte=since)
    totals = rows.order_by().values_list("subject__team__slug", "subject__subject_slug")
    totals = totals.annotate(
        relevant=Count("pk", filter=Q(is_relevant=True)),
        other=Count("pk", filter=Q(is_relevant=False)),
    )
    for team, subject, relevant, other in totals:
        if (team, subject) in counts:
            counts[(team, subject)] = (relevant, other)
    return counts
