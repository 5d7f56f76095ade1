"""promote_version: point an algorithm's `current` at a published version by hand (or back)."""

from __future__ import annotations

from django.core.management.base import CommandError

from gregory import exit_codes
from gregory.flags import FlagError, parse_algos, slug_problem, version_problem
from gregory.management.usage import OneLineUsageErrors


class Command(OneLineUsageErrors):
    help = (
        "Promote a published version: predict_articles uses it from now on. The move, who made "
        "it and why are kept in current.json's history. Exit status 2 for an unknown version, "
        "one that is not complete (a file missing or damaged: the version is loaded first), or "
        "one gregory-train did not write (GregoryAI's own, in a shared models directory). A "
        "damaged current.json is replaced (kept aside as current.json.damaged-<time>)."
    )

    def add_base_argument(self, parser, *args, **kwargs) -> None:
        # --version names a model version here; Django's own --version would shadow it.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--team", required=True, metavar="SLUG")
        parser.add_argument("--subject", required=True, metavar="SLUG")
        parser.add_argument("--algo", required=True, metavar="A")
        parser.add_argument("--version", required=True, metavar="V")
        parser.add_argument("--reason", default="promoted by hand", help="kept in the history")

    def handle(self, *args, **options) -> None:
        from gregory.ml.core import layout
        from gregory.ml.store import loading, promotion

        team, subject, version = options["team"], options["subject"], options["version"]
        try:
            (algorithm,) = parse_algos(options["algo"])
        except FlagError as error:
            raise self._usage(str(error)) from None
        except ValueError:
            raise self._usage("--algo names one algorithm") from None
        for problem in (
            slug_problem("--team", team),
            slug_problem("--subject", subject),
            version_problem("--version", version),
        ):
            if problem:
                raise self._usage(problem)
        algo_dir = layout.algorithm_dir(team, subject, algorithm)
        if version not in layout.published_versions(algo_dir):
            raise self._usage(f"version {version} is not published in {algo_dir}")
        try:
            # Loaded whole, as predict_articles would: what becomes current must be servable,
            # not a foreign version, an empty directory or one with a truncated file.
            loading.load_version(algo_dir / version, algorithm)
        except loading.VersionUnusable as error:
            raise self._usage(str(error)) from None
        by = promotion.who()
        pointer = promotion.write_current(algo_dir, version, by, options["reason"])
        self.stdout.write(
            f"Promoted {algorithm} for {team}/{subject}: version {version} "
            f"(was {pointer['previous']}) by {by}"
        )

    @staticmethod
    def _usage(message: str) -> CommandError:
        return CommandError(message, returncode=exit_codes.USAGE)
