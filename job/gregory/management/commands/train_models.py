"""train_models: train the relevance classifiers per team, subject and algorithm."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gregory import exit_codes
from gregory.flags import FlagError, TrainFlags, add_arguments
from gregory.management.database import database_errors_as_command_errors
from gregory.ml import runs
from gregory.ml.publishing import VersionTakenError
from gregory.scope import ScopeError, resolve_scope


class Command(BaseCommand):
    help = (
        "Train the relevance classifiers (pubmed_bert, lgbm_tfidf, lstm) for a team's subjects, "
        "publish versioned artifacts under GREGORY_MODELS_DIR and log every run in "
        "PredictionRunLog. Exit status: 0 all runs succeeded, 1 a run failed, 2 usage error."
    )

    def add_base_argument(self, parser, *args, **kwargs) -> None:
        # --version names a model version here; Django's own --version would shadow it.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if not parser.called_from_command_line:
            # call_command: a bad flag is a usage error (2) there too, not Django's generic 1.
            def usage_error(message: str):
                raise CommandError(message, returncode=exit_codes.USAGE)

            parser.error = usage_error
        return parser

    def add_arguments(self, parser) -> None:
        add_arguments(parser)

    def handle(self, *args, **options) -> None:
        with database_errors_as_command_errors():
            try:
                flags = TrainFlags.from_options(options).validate()
                subjects = resolve_scope(flags)
            except (FlagError, ScopeError) as error:
                raise CommandError(str(error), returncode=exit_codes.USAGE) from None
            from gregory.ml import training

            try:
                training.check_version_free(flags, subjects)
            except VersionTakenError as error:
                raise CommandError(str(error), returncode=exit_codes.USAGE) from None
            self.verbose = flags.verbose
            try:
                outcomes = training.train_subjects(flags, subjects, self.say)
            except runs.Interrupted as stop:
                raise CommandError(
                    f"interrupted by {stop}", returncode=exit_codes.for_signal(stop.signum)
                ) from None
        if flags.verbose >= 3:
            for line in training.summary_table(outcomes):
                self.stdout.write(line)
        failed = [outcome for outcome in outcomes if not outcome.success]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(outcomes)} training runs failed",
                returncode=exit_codes.RUN_FAILED,
            )

    def say(self, level: int, message: str, style: runs.Style | None = None) -> None:
        if self.verbose >= level:
            styled = getattr(self.style, style.upper()) if style else str
            self.stdout.write(styled(message))
