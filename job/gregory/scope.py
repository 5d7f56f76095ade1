"""Which (team, subject) pairs a flag set selects, checked against the database (spec §2 scope)."""

from __future__ import annotations

from gregory.flags import TrainFlags
from gregory.models import Subject, Team


class ScopeError(ValueError):
    """The flags name a team or subject the database does not have."""


def resolve_scope(flags: TrainFlags) -> list[Subject]:
    """Subjects to train, team by team in slug order; raises ScopeError for unknown slugs."""
    subjects = Subject.objects.select_related("team").order_by("team__slug", "subject_slug")
    if flags.all_teams:
        selected = list(subjects.filter(team__is_active=True))
        if not selected:
            raise ScopeError("no active team has a subject to train")
        return selected
    team = Team.objects.filter(slug=flags.team).first()
    if team is None:
        raise ScopeError(f"unknown team {flags.team!r}")
    if flags.subject is not None:
        subject = subjects.filter(team=team, subject_slug=flags.subject).first()
        if subject is None:
            raise ScopeError(f"team {team.slug!r} has no subject {flags.subject!r}")
        return [subject]
    selected = list(subjects.filter(team=team))
    if not selected:
        raise ScopeError(f"team {team.slug!r} has no subjects")
    return selected
