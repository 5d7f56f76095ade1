"""The CLI contracts of train_models and predict_articles, each as one typed value.

Pure Python on purpose: the launcher imports it without Django or torch, and each command's
parser is built from the same `add_*_arguments`, so both sides accept and refuse the same flags.
Checks that need the database (do the slugs exist?) live in `gregory.scope`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Self

from gregory.algorithms import ALGORITHM_NAMES

DEFAULT_WINDOW_DAYS = 90
DEFAULT_THRESHOLD = 0.8
DEFAULT_VERBOSE = 1

# No leading "-": the launcher puts slugs in an argv, where one would read as an option.
SLUG_RE = re.compile(r"^[a-zA-Z0-9_][-a-zA-Z0-9_]{0,99}$")
# A version becomes a directory name: no separators, no leading dot (dot entries are staging).
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FlagError(ValueError):
    """A flag set that breaks the CLI contract; the message is one line for the operator."""


def is_slug(value: str) -> bool:
    """A team or subject slug as it may appear in a path, a Job name or a label."""
    return bool(SLUG_RE.fullmatch(value))  # fullmatch: `$` would let a trailing newline in


def slug_problem(flag: str, value: str) -> str | None:
    if is_slug(value):
        return None
    rule = (
        "letters, digits, - and _; no leading -"
        if value.startswith("-")
        else "letters, digits, - and _"
    )
    return f"{flag} {value!r} is not a slug ({rule})"


def max_lookback_days(today: dt.date | None = None) -> int:
    """The longest window a date can hold: back to 2 January of year 1 (a day spare for time
    zones); beyond it the window's start overflows in every run, after its rows are made."""
    return ((today or dt.date.today()) - dt.date(1, 1, 2)).days


def parse_algos(value: str | Sequence[str]) -> tuple[str, ...]:
    """`a,b,c` (or a sequence) → known algorithm names in the order given, duplicates dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip() for item in items if item.strip()]
    if not names:
        raise FlagError("--algo needs at least one of " + ", ".join(ALGORITHM_NAMES))
    unknown = [name for name in names if name not in ALGORITHM_NAMES]
    if unknown:
        raise FlagError(
            f"unknown algorithm {', '.join(unknown)}; choose from {', '.join(ALGORITHM_NAMES)}"
        )
    return tuple(dict.fromkeys(names))


def version_problem(flag: str, value: str | None) -> str | None:
    if value is None or VERSION_RE.fullmatch(value):
        return None
    return (
        f"{flag} {value!r} must be 1-64 letters, digits, '.', '_' or '-' "
        "and start with a letter or digit"
    )


@dataclass(frozen=True)
class JobFlags:
    """What both commands share: the scope, the article window, the algorithms, the output."""

    command: ClassVar[str]

    team: str | None = None
    subject: str | None = None
    all_teams: bool = False
    all_articles: bool = False
    lookback_days: int | None = None
    algos: tuple[str, ...] = field(default=ALGORITHM_NAMES)
    prob_threshold: float = DEFAULT_THRESHOLD
    verbose: int = DEFAULT_VERBOSE

    def problems(self) -> list[str]:
        """Every rule this flag set breaks, in CLI order; empty when valid."""
        found: list[str] = []
        if not self.all_teams:
            if self.team is None and self.subject is None:
                found.append("give --team <slug> or --all-teams")
            elif self.team is None:
                found.append("--subject needs --team")
            for flag, value in (("--team", self.team), ("--subject", self.subject)):
                if value is not None and (problem := slug_problem(flag, value)):
                    found.append(problem)
        if self.all_articles and self.lookback_days is not None:
            found.append("--all-articles and --lookback-days exclude each other")
        if self.lookback_days is not None and self.lookback_days < 1:
            found.append("--lookback-days must be a positive number of days")
        elif self.lookback_days is not None and self.lookback_days > (top := max_lookback_days()):
            found.append(
                f"--lookback-days {self.lookback_days} reaches before year 1: at most {top} "
                "(--all-articles takes every article)"
            )
        try:
            parse_algos(self.algos)
        except FlagError as error:
            found.append(str(error))
        if not 0.0 < self.prob_threshold < 1.0:
            found.append("--prob-threshold must lie strictly between 0 and 1")
        if self.verbose not in (0, 1, 2, 3):
            found.append("--verbose must be 0, 1, 2 or 3")
        return found

    def validate(self) -> Self:
        problems = self.problems()
        if problems:
            raise FlagError(problems[0])
        return self

    @property
    def window_days(self) -> int | None:
        """Days of discovery_date to include; None means every article."""
        if self.all_articles:
            return None
        return self.lookback_days if self.lookback_days is not None else DEFAULT_WINDOW_DAYS

    def to_argv(self) -> list[str]:
        """The command's arguments for this flag set, defaults left out, as an argv list."""
        argv: list[str] = []
        if self.all_teams:
            argv.append("--all-teams")
        else:
            if self.team is not None:
                argv += ["--team", self.team]
            if self.subject is not None:
                argv += ["--subject", self.subject]
        if self.all_articles:
            argv.append("--all-articles")
        if self.lookback_days is not None:
            argv += ["--lookback-days", str(self.lookback_days)]
        if tuple(self.algos) != ALGORITHM_NAMES:
            argv += ["--algo", ",".join(self.algos)]
        if self.prob_threshold != DEFAULT_THRESHOLD:
            argv += ["--prob-threshold", repr(float(self.prob_threshold))]
        argv += self._own_argv()
        if self.verbose != DEFAULT_VERBOSE:
            argv += ["--verbose", str(self.verbose)]
        return argv

    def _own_argv(self) -> list[str]:
        return []

    def for_scope(self, team: str, subject: str | None = None) -> Self:
        """The same options narrowed to one team (and subject): how a fan-out splits a run."""
        return replace(self, all_teams=False, team=team, subject=subject)

    @classmethod
    def from_options(cls, options: dict) -> Self:
        """From parsed options (argparse namespace vars or Django's options dict)."""
        algos = options.get("algo")
        values = {
            "team": options.get("team"),
            "subject": options.get("subject"),
            "all_teams": bool(options.get("all_teams")),
            "all_articles": bool(options.get("all_articles")),
            "lookback_days": options.get("lookback_days"),
            "algos": ALGORITHM_NAMES if algos is None else tuple(algos),
            "prob_threshold": options.get("prob_threshold", DEFAULT_THRESHOLD),
            "verbose": options.get("verbose", DEFAULT_VERBOSE),
        }
        # Subclass fields keep their defaults unless the options carry a value.
        for own in {f.name for f in fields(cls)} - set(values):
            if options.get(own) is not None:
                values[own] = options[own]
        return cls(**values)

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> Self:
        """Parse and validate like the command does; raises FlagError with the one-line reason."""
        parser = _RaisingParser(prog=cls.command, add_help=False)
        cls.add_arguments(parser)
        namespace = parser.parse_args(list(argv))
        return cls.from_options(vars(namespace)).validate()

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class TrainFlags(JobFlags):
    command: ClassVar[str] = "train_models"

    version: str | None = None
    pseudo_label: bool = False
    # Skip the deploy gate: the decision is SKIPPED and the promoted version stays where it is.
    no_gate: bool = False
    # Train nothing where the training-data fingerprint equals the current version's (nightly).
    skip_unchanged: bool = False

    def problems(self) -> list[str]:
        found = super().problems()
        if problem := version_problem("--version", self.version):
            found.append(problem)
        return found

    def _own_argv(self) -> list[str]:
        argv: list[str] = []
        if self.version is not None:
            argv += ["--version", self.version]
        if self.pseudo_label:
            argv.append("--pseudo-label")
        if self.no_gate:
            argv.append("--no-gate")
        if self.skip_unchanged:
            argv.append("--skip-unchanged")
        return argv

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)


@dataclass(frozen=True)
class PredictFlags(JobFlags):
    command: ClassVar[str] = "predict_articles"

    model_version: str | None = None
    dry_run: bool = False

    def problems(self) -> list[str]:
        found = super().problems()
        if problem := version_problem("--model-version", self.model_version):
            found.append(problem)
        return found

    def _own_argv(self) -> list[str]:
        argv: list[str] = []
        if self.model_version is not None:
            argv += ["--model-version", self.model_version]
        if self.dry_run:
            argv.append("--dry-run")
        return argv

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        add_predict_arguments(parser)


def _algo_type(value: str) -> tuple[str, ...]:
    try:
        return parse_algos(value)
    except FlagError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _add_common(parser: argparse.ArgumentParser, verb: str) -> argparse._ArgumentGroup:
    scope = parser.add_argument_group("scope")
    scope.add_argument("--team", metavar="SLUG", help=f"team slug; alone, {verb} all its subjects")
    scope.add_argument(
        "--subject", metavar="SLUG", help="subject slug within --team (needs --team)"
    )
    scope.add_argument(
        "--all-teams",
        action="store_true",
        help=f"{verb} every subject of every active team (ignores --team and --subject)",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--all-articles",
        action="store_true",
        help=f"use every article instead of the last {DEFAULT_WINDOW_DAYS} days",
    )
    data.add_argument(
        "--lookback-days",
        type=int,
        metavar="N",
        help=f"use articles discovered in the last N days (default {DEFAULT_WINDOW_DAYS}; "
        "excludes --all-articles)",
    )
    models = parser.add_argument_group("models")
    models.add_argument(
        "--algo",
        type=_algo_type,
        metavar="A,B",
        help=f"comma-separated subset of {','.join(ALGORITHM_NAMES)} (default: all three)",
    )
    models.add_argument(
        "--prob-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="X",
        help=f"probability at or above which an article counts as relevant "
        f"(default {DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=DEFAULT_VERBOSE,
        metavar="N",
        help="0 quiet, 1 progress (default), 2 also warnings and skips, 3 also a summary table",
    )
    return models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """train_models' flags; the command and `TrainFlags.from_argv` share this definition."""
    models = _add_common(parser, "train")
    parser.add_argument(
        "--pseudo-label",
        action="store_true",
        help="add PubMed BERT pseudo-labels of the subject's unreviewed articles to training",
    )
    models.add_argument(
        # --model-version: GregoryAI's own train_models spells it so (predict_articles too).
        "--model-version",
        "--version",
        dest="version",
        metavar="V",
        help="version name instead of YYYYMMDD[_n]; refused if it already exists "
        "(--model-version is GregoryAI's spelling of --version)",
    )
    models.add_argument(
        "--no-gate",
        action="store_true",
        help="skip the deploy gate: publish with decision SKIPPED, leave the promoted version",
    )
    models.add_argument(
        "--skip-unchanged",
        action="store_true",
        help="train nothing for a subject and algorithm whose training data (articles, labels, "
        "texts, settings) is unchanged since its current version; the nightly run sets it",
    )


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    """predict_articles' flags; the command and `PredictFlags.from_argv` share this definition."""
    models = _add_common(parser, "score")
    models.add_argument(
        "--model-version",
        metavar="V",
        help="published version to use (default: the promoted one, else the newest, of each "
        "algorithm)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="score and report, but write nothing to the database",
    )


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise FlagError(message)
