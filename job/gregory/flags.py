"""The train_models CLI contract as one typed value (spec §2, §9).

Pure Python on purpose: the launcher imports it without Django or torch, and the command's
parser is built from the same `add_arguments`, so both sides accept and refuse the same flags.
Checks that need the database (do the slugs exist?) live with the callers that have one.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

ALGORITHMS: tuple[str, ...] = ("pubmed_bert", "lgbm_tfidf", "lstm")
DEFAULT_WINDOW_DAYS = 90
DEFAULT_THRESHOLD = 0.8
DEFAULT_VERBOSE = 1
# Exit statuses of train_models, distinct so a Kubernetes podFailurePolicy can tell them apart.
EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_USAGE = 2

SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")
# A version becomes a directory name: no separators, no leading dot (dot entries are staging).
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FlagError(ValueError):
    """A flag set that breaks the CLI contract; the message is one line for the operator."""


def parse_algos(value: str | Sequence[str]) -> tuple[str, ...]:
    """`a,b,c` (or a sequence) → known algorithm names in the order given, duplicates dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [item.strip() for item in items if item.strip()]
    if not names:
        raise FlagError("--algo needs at least one of " + ", ".join(ALGORITHMS))
    unknown = [name for name in names if name not in ALGORITHMS]
    if unknown:
        raise FlagError(
            f"unknown algorithm {', '.join(unknown)}; choose from {', '.join(ALGORITHMS)}"
        )
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class TrainFlags:
    team: str | None = None
    subject: str | None = None
    all_teams: bool = False
    all_articles: bool = False
    lookback_days: int | None = None
    algos: tuple[str, ...] = field(default=ALGORITHMS)
    prob_threshold: float = DEFAULT_THRESHOLD
    version: str | None = None
    pseudo_label: bool = False
    verbose: int = DEFAULT_VERBOSE

    def problems(self) -> list[str]:
        """Every rule this flag set breaks, in CLI order; empty when valid."""
        found: list[str] = []
        if not self.all_teams:
            if self.team is None and self.subject is None:
                found.append("give --team <slug> or --all-teams")
            elif self.team is None:
                found.append("--subject needs --team")
        if not self.all_teams:
            for flag, value in (("--team", self.team), ("--subject", self.subject)):
                if value is not None and not SLUG_RE.match(value):
                    found.append(f"{flag} {value!r} is not a slug (letters, digits, - and _)")
        if self.all_articles and self.lookback_days is not None:
            found.append("--all-articles and --lookback-days exclude each other")
        if self.lookback_days is not None and self.lookback_days < 1:
            found.append("--lookback-days must be a positive number of days")
        try:
            parse_algos(self.algos)
        except FlagError as error:
            found.append(str(error))
        if not 0.0 < self.prob_threshold < 1.0:
            found.append("--prob-threshold must lie strictly between 0 and 1")
        if self.version is not None and not VERSION_RE.match(self.version):
            found.append(
                f"--version {self.version!r} must be 1-64 letters, digits, '.', '_' or '-' "
                "and start with a letter or digit"
            )
        if self.verbose not in (0, 1, 2, 3):
            found.append("--verbose must be 0, 1, 2 or 3")
        return found

    def validate(self) -> TrainFlags:
        problems = self.problems()
        if problems:
            raise FlagError(problems[0])
        return self

    @property
    def window_days(self) -> int | None:
        """Days of discovery_date to include; None means every labelled article."""
        if self.all_articles:
            return None
        return self.lookback_days if self.lookback_days is not None else DEFAULT_WINDOW_DAYS

    def to_argv(self) -> list[str]:
        """The train_models arguments for this flag set, defaults left out, as an argv list."""
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
        if tuple(self.algos) != ALGORITHMS:
            argv += ["--algo", ",".join(self.algos)]
        if self.prob_threshold != DEFAULT_THRESHOLD:
            argv += ["--prob-threshold", repr(float(self.prob_threshold))]
        if self.version is not None:
            argv += ["--version", self.version]
        if self.pseudo_label:
            argv.append("--pseudo-label")
        if self.verbose != DEFAULT_VERBOSE:
            argv += ["--verbose", str(self.verbose)]
        return argv

    def for_scope(self, team: str, subject: str | None = None) -> TrainFlags:
        """The same options narrowed to one team (and subject): how a fan-out splits a run."""
        return replace(self, all_teams=False, team=team, subject=subject)

    @classmethod
    def from_options(cls, options: dict) -> TrainFlags:
        """From parsed options (argparse namespace vars or Django's options dict)."""
        algos = options.get("algo")
        return cls(
            team=options.get("team"),
            subject=options.get("subject"),
            all_teams=bool(options.get("all_teams")),
            all_articles=bool(options.get("all_articles")),
            lookback_days=options.get("lookback_days"),
            algos=ALGORITHMS if algos is None else tuple(algos),
            prob_threshold=options.get("prob_threshold", DEFAULT_THRESHOLD),
            version=options.get("version"),
            pseudo_label=bool(options.get("pseudo_label")),
            verbose=options.get("verbose", DEFAULT_VERBOSE),
        )

    @classmethod
    def from_argv(cls, argv: Sequence[str]) -> TrainFlags:
        """Parse and validate like train_models does; raises FlagError with the one-line reason."""
        parser = _RaisingParser(prog="train_models", add_help=False)
        add_arguments(parser)
        namespace = parser.parse_args(list(argv))
        return cls.from_options(vars(namespace)).validate()


def _algo_type(value: str) -> tuple[str, ...]:
    try:
        return parse_algos(value)
    except FlagError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of spec §2; the command and `TrainFlags.from_argv` share this definition."""
    scope = parser.add_argument_group("scope")
    scope.add_argument("--team", metavar="SLUG", help="team slug; alone, trains all its subjects")
    scope.add_argument(
        "--subject", metavar="SLUG", help="subject slug within --team (needs --team)"
    )
    scope.add_argument(
        "--all-teams",
        action="store_true",
        help="train every subject of every active team (ignores --team and --subject)",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--all-articles",
        action="store_true",
        help=f"use every labelled article instead of the last {DEFAULT_WINDOW_DAYS} days",
    )
    data.add_argument(
        "--lookback-days",
        type=int,
        metavar="N",
        help=f"use articles discovered in the last N days (default {DEFAULT_WINDOW_DAYS}; "
        "excludes --all-articles)",
    )
    data.add_argument(
        "--pseudo-label",
        action="store_true",
        help="add PubMed BERT pseudo-labels of the subject's unreviewed articles to training",
    )
    training = parser.add_argument_group("training")
    training.add_argument(
        "--algo",
        type=_algo_type,
        metavar="A,B",
        help=f"comma-separated subset of {','.join(ALGORITHMS)} (default: all three)",
    )
    training.add_argument(
        "--prob-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="X",
        help=f"probability cut-off for metrics and the persisted threshold "
        f"(default {DEFAULT_THRESHOLD})",
    )
    training.add_argument(
        "--version",
        metavar="V",
        help="version name instead of YYYYMMDD[_n]; refused if it already exists",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=DEFAULT_VERBOSE,
        metavar="N",
        help="0 quiet, 1 progress (default), 2 also warnings and skips, 3 also a summary table",
    )


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise FlagError(message)
