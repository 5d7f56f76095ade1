"""Which (team, subject) pairs a flag set selects, and how a submission of it is split.

One definition for train_models, predict_articles and the launcher. Inactive teams (soft-deleted
in GregoryAI) are never listed, trained or scored: `--all-teams` skips them and a `--team`
naming one is refused as inactive. Slugs given as flags are checked by the flag contract
(`JobFlags.problems`); slugs read from the database are checked here, before any becomes a path,
a Job name or a run directory: a team or subject whose slug is not one is left out of the plan
and named in `refused_slugs`, and the other teams still run.

As in GregoryAI, a subject whose `auto_predict` is off is neither trained nor scored:
`--all-teams` and `--team` leave it out (`skipped_lines` says so, for verbose output), and a
`--subject` naming it is refused with the reason. Only the review queue, which labels articles
and trains nothing, still lists such subjects (`with_opted_out`): labelling a subject before
turning auto_predict on is how its first model gets labels.

The planning functions are pure over a `TeamScope` snapshot, so the TUI can re-plan on every
keystroke without a query; only `load_teams` and `resolve_scope` read the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from gregory.flags import FlagError, JobFlags, is_slug

if TYPE_CHECKING:
    from gregory.models import Subject

F = TypeVar("F", bound=JobFlags)


class ScopeError(FlagError):
    """The flags name a team or subject the database does not have, an inactive team, or a
    subject whose auto_predict is off; or they leave no subject to run.

    A FlagError too: like a malformed flag, retrying the same flags cannot help.
    """


@dataclass(frozen=True)
class TeamScope:
    """A team as planning sees it: its slug, name, subject slugs (sorted) and whether active.

    `subjects` are those with auto_predict on, the only ones trained or scored; `opted_out`
    those with it off, kept so that naming one is refused with the reason.
    """

    slug: str
    name: str
    subjects: tuple[str, ...]
    active: bool = True
    opted_out: tuple[str, ...] = ()

    @property
    def every_subject(self) -> tuple[str, ...]:
        """Every subject of the team, opted out or not (what the review queue lists)."""
        return tuple(sorted((*self.subjects, *self.opted_out)))


def active_teams(teams: Iterable[TeamScope]) -> list[TeamScope]:
    """The teams that may be listed, trained or scored, in slug order."""
    return sorted((team for team in teams if team.active), key=lambda team: team.slug)


NOT_A_SLUG = "its slug in the database is not a slug (letters, digits, - and _)"


def opted_out_line(team: str, subject: str) -> str:
    """Why a subject named explicitly is neither trained nor scored."""
    return (
        f"subject {subject!r} of team {team!r} is skipped: auto_predict is off in GregoryAI; "
        "turn it on to train or score it"
    )


def _every_pair(
    flags: JobFlags, teams: Iterable[TeamScope], *, with_opted_out: bool = False
) -> list[tuple[str, str]]:
    """(team, subject) slugs the flags select, bad slugs included; ScopeError if none.

    Subjects with auto_predict off are left out unless `with_opted_out`.
    """

    def listed(team: TeamScope) -> tuple[str, ...]:
        return team.every_subject if with_opted_out else team.subjects

    if flags.all_teams:
        active = active_teams(teams)
        pairs = [(team.slug, subject) for team in active for subject in listed(team)]
        if not pairs:
            skipped = sum(len(team.opted_out) for team in active)
            if skipped:
                raise ScopeError(
                    f"no active team has a subject with auto_predict on ({skipped} skipped: "
                    "auto_predict is off in GregoryAI)"
                )
            raise ScopeError("no active team has a subject")
        return pairs
    team = next((team for team in teams if team.slug == flags.team), None)
    if team is None:
        raise ScopeError(f"unknown team {flags.team!r}")
    if not team.active:
        raise ScopeError(f"team {team.slug!r} is inactive")
    if flags.subject is not None:
        if flags.subject in listed(team):
            return [(team.slug, flags.subject)]
        if flags.subject in team.opted_out:
            raise ScopeError(opted_out_line(team.slug, flags.subject))
        raise ScopeError(f"team {team.slug!r} has no subject {flags.subject!r}")
    if not listed(team):
        if team.opted_out:
            raise ScopeError(
                f"team {team.slug!r} has no subject with auto_predict on (all "
                f"{len(team.opted_out)} skipped: auto_predict is off in GregoryAI; turn it on "
                "to train or score them)"
            )
        raise ScopeError(f"team {team.slug!r} has no subjects")
    return [(team.slug, subject) for subject in listed(team)]


def skipped_lines(flags: JobFlags, teams: Iterable[TeamScope]) -> list[str]:
    """A line per subject the flags' teams hold but leave out because auto_predict is off."""
    if flags.all_teams:
        selected = active_teams(teams)
    elif flags.subject is not None:
        return []  # naming one is refused, not skipped
    else:
        selected = [team for team in teams if team.slug == flags.team and team.active]
    return [
        f"skipped subject {subject} of team {team.slug}: auto_predict is off"
        for team in selected
        for subject in team.opted_out
    ]


def refused_slugs(flags: JobFlags, teams: Iterable[TeamScope]) -> list[str]:
    """One line per selected team, or subject of a usable team, whose slug cannot be used."""
    reasons: dict[str, None] = {}
    for team, subject in _every_pair(flags, teams):
        if not is_slug(team):
            reasons[f"team {team!r} refused: {NOT_A_SLUG}"] = None
        elif not is_slug(subject):
            reasons[f"subject {subject!r} of team {team!r} refused: {NOT_A_SLUG}"] = None
    return list(reasons)


def selected_pairs(
    flags: JobFlags, teams: Iterable[TeamScope], *, with_opted_out: bool = False
) -> list[tuple[str, str]]:
    """(team, subject) slugs the flags select, team by team in slug order, without those whose
    slugs `refused_slugs` names; ScopeError if none is left. Subjects with auto_predict off are
    left out (refused when named) unless `with_opted_out`: the review queue's scope."""
    teams = list(teams)
    every = _every_pair(flags, teams, with_opted_out=with_opted_out)
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
    """Every team with its subjects, inactive teams and opted-out subjects included so that
    naming one is refused with the reason."""
    # Imported here: the launcher plans with this module before Django is set up.
    from gregory.models import Team

    teams = Team.all_objects.prefetch_related("subjects").order_by("slug")
    scopes = []
    for team in teams:
        subjects = team.subjects.all()
        scopes.append(
            TeamScope(
                slug=team.slug,
                name=team.name,
                subjects=tuple(sorted(s.subject_slug for s in subjects if s.auto_predict)),
                active=team.is_active,
                opted_out=tuple(sorted(s.subject_slug for s in subjects if not s.auto_predict)),
            )
        )
    return scopes


@dataclass(frozen=True)
class Resolved:
    """The subjects to run, a line for each selected one refused for its slug, and a line for
    each left out because auto_predict is off (said only at higher verbosity: not a failure)."""

    subjects: list[Subject]
    refused: list[str]
    skipped: list[str] = field(default_factory=list)


def resolve(flags: JobFlags) -> Resolved:
    """`resolve_scope`, with the refusals the command reports."""
    teams = load_teams()
    return Resolved(
        _subjects(selected_pairs(flags, teams)),
        refused_slugs(flags, teams),
        skipped_lines(flags, teams),
    )


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
