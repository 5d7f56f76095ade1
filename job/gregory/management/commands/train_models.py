"""train_models: train the relevance classifiers per team, subject and algorithm."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gregory.flags import EXIT_RUN_FAILED, EXIT_USAGE, FlagError, TrainFlags, add_arguments
from gregory.management.database import database_errors_as_command_errors
from gregory.ml.publishing import algorithm_dir, reserve, version_exists
from gregory.models import PredictionRunLog, Subject

if TYPE_CHECKING:
    from gregory.ml.pipeline import SubjectData
from gregory.scope import ScopeError, resolve_scope

SUMMARY_METRICS = ("val_f1", "test_accuracy", "test_f1", "test_roc_auc", "test_pr_auc")


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived; a BaseException, so no trainer's `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class Outcome:
    subject: Subject
    algorithm: str
    version: str
    success: bool
    metrics: dict
    error: str = ""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into Interrupted so the current run can be marked and cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Command(BaseCommand):
    help = (
        "Train the relevance classifiers (pubmed_bert, lgbm_tfidf, lstm) for a team's subjects, "
        "publish versioned artifacts under GREGORY_MODELS_DIR and log every run in "
        "PredictionRunLog. Exit status: 0 all runs succeeded, 1 a run failed, 2 usage error."
    )

    def add_base_argument(self, parser, *args, **kwargs) -> None:
        # The spec's --version names a model version; Django's own --version would shadow it.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if not parser.called_from_command_line:
            # call_command: a bad flag is a usage error (2) there too, not Django's generic 1.
            def usage_error(message: str):
                raise CommandError(message, returncode=EXIT_USAGE)

            parser.error = usage_error
        return parser

    def add_arguments(self, parser) -> None:
        add_arguments(parser)

    def handle(self, *args, **options) -> None:
        with database_errors_as_command_errors():
            self._handle(options)

    def _handle(self, options: dict) -> None:
        try:
            flags = TrainFlags.from_options(options).validate()
            subjects = resolve_scope(flags)
        except (FlagError, ScopeError) as error:
            raise CommandError(str(error), returncode=EXIT_USAGE) from None
        models_dir = Path(settings.GREGORY_MODELS_DIR)
        if flags.version:
            for subject in subjects:
                for algorithm in flags.algos:
                    algo_dir = self._algo_dir(models_dir, subject, algorithm)
                    if version_exists(algo_dir, flags.version):
                        raise CommandError(
                            f"version {flags.version} already exists in {algo_dir}",
                            returncode=EXIT_USAGE,
                        )
        # Imported after validation: a usage error should not pay for numpy/scipy/sklearn.
        from gregory.ml.pipeline import SubjectData

        self.flags = flags
        self.triggered_by = os.environ.get("GREGORY_TRIGGERED_BY") or "train_models"
        outcomes: list[Outcome] = []
        with stop_on_signals():
            try:
                for subject in subjects:
                    data = SubjectData(subject, flags, models_dir, progress=flags.verbose >= 1)
                    for algorithm in flags.algos:
                        outcomes.append(self._run(subject, algorithm, data, models_dir))
            except Interrupted as stop:
                raise CommandError(f"interrupted by {stop}", returncode=128 + stop.signum) from None
        if flags.verbose >= 3:
            self._print_summary(outcomes)
        failed = [outcome for outcome in outcomes if not outcome.success]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(outcomes)} training runs failed", returncode=EXIT_RUN_FAILED
            )

    @staticmethod
    def _algo_dir(models_dir: Path, subject: Subject, algorithm: str) -> Path:
        return algorithm_dir(models_dir, subject.team.slug, subject.subject_slug, algorithm)

    def _say(self, level: int, message: str, style=None) -> None:
        if self.flags.verbose >= level:
            self.stdout.write(style(message) if style else message)

    def _run(
        self, subject: Subject, algorithm: str, data: SubjectData, models_dir: Path
    ) -> Outcome:
        label = f"{algorithm} for {subject.team.slug}/{subject.subject_slug}"
        # The row exists before any work, so a crash at any later point is visible as a run.
        log = PredictionRunLog.objects.create(
            team=subject.team,
            subject=subject,
            model_version="",
            algorithm=algorithm,
            run_type="train",
            success=None,
            triggered_by=self.triggered_by,
        )
        reservation = None
        try:
            reservation = reserve(
                self._algo_dir(models_dir, subject, algorithm), version=self.flags.version
            )
            log.model_version = reservation.version
            log.save(update_fields=["model_version"])
            self._say(1, f"Started {label} (version {reservation.version})")
            from gregory.ml.pipeline import train_algorithm

            result = train_algorithm(
                algorithm, data, reservation, self.flags, progress=self.flags.verbose >= 1
            )
        except Interrupted as stop:
            self._fail(log, f"interrupted by {stop} during training")
            if reservation is not None:
                reservation.discard()
            self._say(1, f"Interrupted {label} by {stop}", self.style.ERROR)
            raise
        except Exception as error:
            self._fail(log, "".join(traceback.format_exception(error)).rstrip())
            if reservation is not None:
                reservation.discard()
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            self._say(1, f"Failed {label}: {reason}", self.style.ERROR)
            self._say(
                2,
                f"Warning: skipped {label}; the traceback is in PredictionRunLog #{log.pk}",
                self.style.WARNING,
            )
            return Outcome(subject, algorithm, log.model_version, False, {}, reason)
        log.success = True
        log.run_finished = timezone.now()
        log.pseudo_labels_added = (
            result.metrics.get("n_pseudo_labelled") if self.flags.pseudo_label else None
        )
        log.save(update_fields=["success", "run_finished", "pseudo_labels_added"])
        roc_auc = result.metrics.get("test_roc_auc")
        self._say(
            1,
            f"Finished {label}: version {reservation.version}, test roc_auc {roc_auc:.3f} "
            f"→ {result.path}",
            self.style.SUCCESS,
        )
        return Outcome(subject, algorithm, reservation.version, True, result.metrics)

    @staticmethod
    def _fail(log: PredictionRunLog, message: str) -> None:
        log.success = False
        log.run_finished = timezone.now()
        log.error_message = message
        log.save(update_fields=["success", "run_finished", "error_message"])

    def _print_summary(self, outcomes: list[Outcome]) -> None:
        header = ["team/subject", "algorithm", "version", "status", "n_train", *SUMMARY_METRICS]
        rows = []
        for o in outcomes:
            scope = f"{o.subject.team.slug}/{o.subject.subject_slug}"
            status = "ok" if o.success else "FAILED"
            values = [f"{o.metrics[m]:.3f}" if m in o.metrics else "-" for m in SUMMARY_METRICS]
            n_train = str(o.metrics.get("n_train", "-"))
            rows.append([scope, o.algorithm, o.version or "-", status, n_train, *values])
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        line = "  ".join
        self.stdout.write(line(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        self.stdout.write(line("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line(c.ljust(w) for c, w in zip(row, widths, strict=True)))
