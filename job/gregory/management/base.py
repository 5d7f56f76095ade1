"""What train_models and predict_articles share: flags in, runs out, one exit-status rule.

A command built on `JobCommand` only names its flag contract, calls its package function and
prints; usage errors (exit 2) are told apart from failed runs (exit 1) and signals (128+N), so a
Kubernetes podFailurePolicy can act on each.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.management.base import CommandError

from gregory import exit_codes
from gregory.flags import FlagError, JobFlags
from gregory.management.database import database_errors_as_command_errors
from gregory.management.usage import OneLineUsageErrors
from gregory.ml.core import config
from gregory.ml.core.devices import DeviceUnavailable, check_required_device
from gregory.ml.runs import output, signals
from gregory.models import Subject
from gregory.reasons import interrupted
from gregory.scope import ScopeError, resolve


class UsageError(ValueError):
    """A check of the command's own that found the request unusable before any run started."""


class JobCommand(OneLineUsageErrors):
    flags_class: type[JobFlags]
    # How the failures line names the runs: "1 of 3 training runs failed".
    runs_noun: str

    def add_arguments(self, parser) -> None:
        self.flags_class.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        with database_errors_as_command_errors():
            try:
                flags = self.flags_class.from_options(options).validate()
                # Before any row or version: a GPU pod without a usable GPU fails now.
                check_required_device()
                config.check_settings()  # a mistyped setting fails now, not hours in
                scope = resolve(flags)
                self.verbose = flags.verbose
                for reason in scope.refused:  # said before the runs, which may take hours
                    self.stderr.write(reason)
                for line in scope.skipped:  # auto_predict off: GregoryAI's choice, no failure
                    self.say(2, line)
                outcomes = self.run(flags, scope.subjects)
            except (
                FlagError,
                ScopeError,
                UsageError,
                DeviceUnavailable,
                config.SettingError,
            ) as error:
                raise CommandError(str(error), returncode=exit_codes.USAGE) from None
            except signals.Interrupted as stop:
                raise CommandError(
                    interrupted(stop), returncode=exit_codes.for_signal(stop.signum)
                ) from None
        if flags.verbose >= 3:
            for line in self.summary(outcomes):
                self.stdout.write(line)
        failed = [outcome for outcome in outcomes if not outcome.success]
        problems = [f"{len(failed)} of {len(outcomes)} {self.runs_noun} failed"] if failed else []
        problems += scope.refused
        if problems:
            raise CommandError("; ".join(problems), returncode=exit_codes.RUN_FAILED)

    def run(self, flags, subjects: Sequence[Subject]) -> list[output.Outcome]:
        raise NotImplementedError

    def summary(self, outcomes: Sequence[output.Outcome]) -> list[str]:
        raise NotImplementedError

    def say(self, level: int, message: str, style: output.Style | None = None) -> None:
        if self.verbose >= level:
            styled = getattr(self.style, style.upper()) if style else str
            self.stdout.write(styled(message))
