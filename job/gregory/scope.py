"""Which (team, subject) pairs a flag set selects, and how a submission of it is split.

One definition for train_models, predict_articles and the launcher. Inactive teams (soft-deleted
in GregoryAI) are never listed, trained or scored: `--all-teams` skips them and a `--team`
naming one is refused as inactive. Slugs given as flags are checked by the flag contract
(`JobFlags.problems`); slugs read from the database are checked here, before any becomes a path,
a Job name or a run directory: a team or subject whose slug is not one is left out of the plan
and named in `refused_slugs`, and the other teams still run.

The planning functions are pure over a `TeamScope` snapshot, so the TUI can re-plan on every
keystroke without a query; only `load_teams` and `resolve_scope` read the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from gregory.flags import FlagError, JobFlags, is_slug

if TYPE_CHECKING:
    from gregory.models import Subject

F = TypeVar("F", bound=JobFlags)


class ScopeError(FlagError):
    """The flags name a team or subject the database does not have, or an inactive team.

    A FlagError too: like a malformed flag, retrying the same flags cannot help.
    """


@dataclass(frozen=True)
class TeamScope:
    """A team as planning sees it: its slug, name, subject slugs (sorted) and whether active."""

    slug: str
    name: str
    subjects: tuple[str, ...]
    active: bool = True


def active_teams(teams: Iterable[TeamScope]) -> list[TeamScope]:
    """The teams that may be listed, trained or scored, in slug order."""
    return sorted((team for team in teams if team.active), key=lambda team: team.slug)


NOT_A_SLUG = "its slug in the database is not a slug (letters, digits, - and _)"


def _every_pair(flags: JobFlags, teams: Iterable[TeamScope]) -> list[tuple[str, str]]:
    """(team, subject) slugs the flags select, bad slugs included; ScopeError if none."""
    if flags.all_teams:
        pairs = [(team.slug, subject) for team in active_teams(teams) for subject in team.subjects]
        if not pairs:
            raise ScopeError("no active team has a subject")
        return pairs
    team = next((team for team in teams if team.slug == flags.team), None)
    if team is None:
        raise ScopeError(f"unknown team {flags.team!r}")
    if not team.active:
        raise ScopeError(f"team {team.slug!r} is inactive")
    if flags.subject is not None:
        if flags.subject not in team.subjects:
            raise ScopeError(f"team {team.slug!r} has no subject {flags.subject!r}")
        return [(team.slug, flags.subject)]
    if not team.subjects:
        raise ScopeError(f"team {team.slug!r} has no subjects")
    return [(team.slug, subject) for subject in team.subjects]


def refused_slugs(flags: JobFlags, teams: Iterable[TeamScope]) -> list[str]:
    """One line per selected team, or subject of a usable team, whose slug cannot be used."""
    reasons: dict[str, None] = {}
    for team, subject in _every_pair(flags, teams):
        if not is_slug(team):
            reasons[f"team {team!r} refused: {NOT_A_SLUG}"] = None
        elif not is_slug(subject):
            reasons[f"subject {subject!r} of team {team!r} refused: {NOT_A_SLUG}"] = None
    return list(reasons)


def selected_pairs(flags: JobFlags, teams: Iterable[TeamScope]) -> list[tuple[str, str]]:
    """(team, subject) slugs the flags select, team by team in slug order, without those whose
    slugs `refused_slugs` names; ScopeError if none is left."""
    teams = list(teams)
    every = _every_pair(flags, teams)
    pairs = [(team, subject) for team, subject in every if is_slug(team) and is_slug(subject)]
    if not pairs:
        raise ScopeError("; ".join(refused_slugs(flags, teams)))
    return pairs


def plan(
    flags: F,
    teams: Sequence[TeamScope],
    *,
    split_subjects: bool,
    split_teams: bool = True,
) -> list[F]:
    """A valid flag set → one flag set of the same class per submission.

    `--all-teams` stays one submission unless `split_teams`; otherwise there is one per team, or
    one per team/subject with `split_subjects`. Every slug in the result comes from `teams`, so
    nothing unchecked reaches a Job spec or a subprocess.
    """
    flags.validate()
    pairs = selected_pairs(flags, teams)
    if flags.all_teams and not split_teams:
        return [flags]
    if split_subjects:
        return [flags.for_scope(team, subject) for team, subject in pairs]
    if flags.subject is not None:
        return [flags.for_scope(pairs[0][0], flags.subject)]
    return [flags.for_scope(team) for team in dict.fromkeys(team for team, _ in pairs)]


def load_teams() -> list[TeamScope]:
    """Every team with its subjects, inactive ones included so they can be refused by name."""
    # Imported here: the launcher plans with this module before Django is set up.
    from gregory.models import Team

    teams = Team.all_objects.prefetch_related("subjects").order_by("slug")
    return [
        TeamScope(
            slug=team.slug,
            name=team.name,
            subjects=tuple(sorted(subject.subject_slug for subject in team.subjects.all())),
            active=team.is_active,
        )
        for team in teams
    ]


@dataclass(frozen=True)
class Resolved:
    """The subjects to run, and a line for each selected one refused for its slug."""

    subjects: list[Subject]
    refused: list[str]


def resolve(flags: JobFlags) -> Resolved:
    """`resolve_scope`, with the refusals the command reports."""
    teams = load_teams()
    return Resolved(_subjects(selected_pairs(flags, teams)), refused_slugs(flags, teams))


def resolve_scope(flags: JobFlags) -> list[Subject]:
    """The subjects a (valid) flag set selects, team by team in slug order; raises ScopeError."""
    return _subjects(selected_pairs(flags, load_teams()))


def _subjects(pairs: list[tuple[str, str]]) -> list[Subject]:
    from gregory.models import Subject

    subjects = Subject.objects.select_related("team").filter(
        team__slug__in={team for team, _ in pairs}
    )
    by_pair = {(subject.team.slug, subject.subject_slug): subject for subject in subjects}
    return [by_pair[pair] for pair in pairs]
