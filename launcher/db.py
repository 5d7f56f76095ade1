"""The launcher's window on the database: teams and subjects to choose from, PredictionRunLog rows.

Django's ORM is synchronous, so the TUI calls these from thread workers; each call closes its
connection afterwards because a worker thread's connection would otherwise outlive the thread.
Any failure to reach the database becomes `DatabaseUnavailable` with a one-line message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from gregory.flags import SLUG_RE, FlagError, TrainFlags

REPO = Path(__file__).resolve().parents[1]
P = ParamSpec("P")
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or is not set up; the message says which in one line."""


def setup_django() -> None:
    """Configure Django once (settings from DATABASE_URL like the job itself)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    job_dir = str(REPO / "job")
    if (REPO / "job").is_dir() and job_dir not in sys.path:
        sys.path.insert(0, job_dir)
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _database(func: Callable[P, T]) -> Callable[P, T]:
    """Run `func` with Django set up; turn database failures into DatabaseUnavailable."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            setup_django()
        except Exception as error:  # settings or driver problems are just as fatal here
            raise DatabaseUnavailable(f"database not configured: {_one_line(error)}") from error
        from django.core.exceptions import ImproperlyConfigured
        from django.db import DatabaseError, connection

        try:
            return func(*args, **kwargs)
        except (DatabaseError, ImproperlyConfigured) as error:
            where = connection.settings_dict.get("NAME") or "?"
            text = _one_line(error)
            if "no such table" in text or ("relation" in text and "does not exist" in text):
                text += " (run: python job/manage.py migrate)"
            raise DatabaseUnavailable(
                f"database unavailable ({connection.vendor} {where}): {text}"
            ) from error
        finally:
            # Inside a transaction (a test's) the connection is not ours to close.
            if not connection.in_atomic_block:
                connection.close()

    return wrapper


@dataclass(frozen=True)
class TeamChoice:
    slug: str
    name: str
    subjects: tuple[str, ...]


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

    @property
    def outcome(self) -> str:
        return {None: "running", True: "ok", False: "failed"}[self.success]


@_database
def teams() -> list[TeamChoice]:
    from gregory.models import Team

    return [
        TeamChoice(
            slug=team.slug,
            name=team.name,
            subjects=tuple(sorted(subject.subject_slug for subject in team.subjects.all())),
        )
        for team in Team.objects.filter(is_active=True)
        .prefetch_related("subjects")
        .order_by("slug")
    ]


def check_scope(flags: TrainFlags, known: Iterable[TeamChoice]) -> None:
    """Team and subject must match the slug pattern and exist; raises FlagError otherwise."""
    if flags.all_teams:
        return
    for flag, value in (("--team", flags.team), ("--subject", flags.subject)):
        if value is not None and not SLUG_RE.match(value):
            raise FlagError(f"{flag} {value!r} is not a slug (letters, digits, - and _)")
    by_slug = {team.slug: team for team in known}
    team = by_slug.get(flags.team or "")
    if team is None:
        raise FlagError(f"unknown team {flags.team!r}")
    if flags.subject is not None and flags.subject not in team.subjects:
        raise FlagError(f"team {team.slug!r} has no subject {flags.subject!r}")


def plan(
    flags: TrainFlags,
    known: list[TeamChoice],
    *,
    split_subjects: bool,
    split_teams: bool = True,
) -> list[TrainFlags]:
    """Validated flag set → one flag set per submission (all teams, per team, or team/subject).

    Every slug in the result comes from the database, so nothing unchecked reaches a Job spec
    or a subprocess.
    """
    flags.validate()
    check_scope(flags, known)
    if flags.all_teams and not split_teams:
        if not any(team.subjects for team in known):
            raise FlagError("nothing to train: the chosen teams have no subjects")
        return [flags]
    if flags.all_teams:
        scopes = [(team, None) for team in known]
    else:
        team = next(team for team in known if team.slug == flags.team)
        scopes = [(team, flags.subject)]
    planned: list[TrainFlags] = []
    for team, subject in scopes:
        if subject is not None:
            planned.append(flags.for_scope(team.slug, subject))
        elif split_subjects:
            planned += [flags.for_scope(team.slug, name) for name in team.subjects]
        else:
            planned.append(flags.for_scope(team.slug))
    if not planned:
        raise FlagError("nothing to train: the chosen teams have no subjects")
    return planned


@_database
def run_rows(triggered_by: Iterable[str] | None = None, limit: int = 2000) -> list[RunRow]:
    """PredictionRunLog training rows, newest first; only those of the given runs if named."""
    from gregory.models import PredictionRunLog

    query = PredictionRunLog.objects.filter(run_type="train").select_related("team", "subject")
    if triggered_by is not None:
        query = query.filter(triggered_by__in=list(triggered_by))
    return [
        RunRow(
            id=row.pk,
            team=row.team.slug,
            subject=row.subject.subject_slug,
            algorithm=getattr(row, "algorithm", None),
            model_version=row.model_version,
            success=row.success,
            started=row.run_started,
            finished=row.run_finished,
            error=(row.error_message or "").strip().splitlines()[-1] if row.error_message else None,
            triggered_by=row.triggered_by,
        )
        for row in query.order_by("-run_started", "-pk")[:limit]
    ]
