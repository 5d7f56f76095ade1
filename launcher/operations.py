"""What the operator can do, from the CLI or the TUI alike: plan and submit flag sets, see the
runs joined to their PredictionRunLog rows, and the history of every row."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from gregory.flags import FlagError, JobFlags, PredictFlags, TrainFlags, parse_algos
from gregory.scope import TeamScope, plan, selected_pairs
from launcher import db, history
from launcher.backends.base import (
    JOB_MODULE,
    Backend,
    BackendError,
    RunInfo,
    RunState,
    Submission,
    new_run_id,
)
from launcher.outcomes import row_outcome

F = TypeVar("F", bound=JobFlags)
# Training splits a subject's labelled articles 70/15/15, stratified, each part holding both
# classes (gregory.ml.data.splits.stratified_split, which the launcher cannot import). Measured
# on it: with fewer than MIN_PER_CLASS of a class it always fails, whatever the other class's
# count; from SAFE_PER_CLASS it never does (5 works for some totals only).
MIN_PER_CLASS = 5
SAFE_PER_CLASS = 6
# What the launcher can submit, by the name `submit --command` takes.
JOBS: dict[str, type[JobFlags]] = {"train": TrainFlags, "predict": PredictFlags}


@dataclass(frozen=True)
class RowView:
    row: db.RunRow
    # ok / failed / cancelled / running / lost: "lost" when the row says running but its run
    # has ended.
    outcome: str
    # The metrics.json of the version a training row published ({} otherwise).
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def roc_auc(self) -> str:
        """`0.912 [0.880-0.940]`, or `-`."""
        return history.roc_auc_text(self.metrics)


@dataclass(frozen=True)
class RunView:
    run: RunInfo
    rows: tuple[RowView, ...] = ()
    # A running run's last log line: the algorithm it trains, its epoch bar.
    progress: str = ""


@dataclass(frozen=True)
class Overview:
    runs: tuple[RunView, ...]
    # Rows no known run claims (started by hand, by another machine, or runs since cleaned up).
    other_rows: tuple[RowView, ...] = field(default=())
    # Set when the database could not be read: the runs still come from the backend (its
    # registry and logs do not need the database), only their rows are missing.
    db_error: str | None = None


def command_preview(flags: JobFlags) -> str:
    """The job's command for one submission, shell-quoted for display only (never executed)."""
    return shlex.join(["python", "-m", JOB_MODULE, flags.command, *flags.to_argv()])


def refuse_taken_version(flags: TrainFlags, teams: Sequence[TeamScope]) -> None:
    """FlagError when `--version` is already published (or being written) anywhere it would
    go: the job would refuse it only once its run had started."""
    from gregory.ml.core.layout import algorithm_dir
    from gregory.ml.store.publishing import version_exists

    version = flags.version
    assert version is not None
    db.setup_django()  # the models directory is the job's setting
    for team, subject in selected_pairs(flags, teams):
        for algorithm in parse_algos(flags.algos):
            if version_exists(algorithm_dir(team, subject, algorithm), version):
                raise FlagError(
                    f"version {version} already exists for {team}/{subject} {algorithm}"
                )


@dataclass(frozen=True)
class Unsplittable:
    """A subject whose labelled articles training cannot split: a class under MIN_PER_CLASS.

    Counted before preparation, which may drop articles too short to keep: the refusal is
    certain, never a guess."""

    team: str
    subject: str
    relevant: int
    not_relevant: int
    window_days: int | None

    @property
    def line(self) -> str:
        """The counts and what to do, in one line."""
        where = "" if self.window_days is None else f" in the last {self.window_days} days"
        widen = "" if self.window_days is None else " or widen the window (--all-articles)"
        total = self.relevant + self.not_relevant
        return (
            f"{self.team}/{self.subject}: {total} labelled articles{where} ({self.relevant} "
            f"relevant, {self.not_relevant} not): training needs at least {SAFE_PER_CLASS} of "
            f"each to split train/validation/test; label more (F5 Review, or gregory-launch "
            f"review --team {self.team} --subject {self.subject}){widen}"
        )


class SubmitRefused(BackendError):
    """Some batches of a submission were refused, the others submitted (`submitted`).

    One line per distinct refusal, naming its scopes: a team without its LocalQueue is one line
    whatever its number of subjects, since the refusal names the team.
    """

    def __init__(self, lines: list[str], submitted: list[Submission]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.submitted = submitted


@dataclass
class Operations:
    """The operations on one backend; `reason` says why that backend was chosen."""

    backend: Backend
    reason: str = ""

    def describe(self) -> str:
        text = self.backend.describe()
        return f"{text}: {self.reason}" if self.reason else text

    def plan(self, flags: F, known: Sequence[TeamScope] | None = None) -> list[F]:
        """Validate against the contract, the database and the models directory; one flag set
        per submission."""
        teams = db.teams() if known is None else known
        planned = plan(
            flags,
            teams,
            split_subjects=self.backend.split_subjects,
            split_teams=self.backend.split_teams,
        )
        for item in planned:
            if isinstance(item, TrainFlags) and item.version is not None:
                refuse_taken_version(item, teams)
        return planned

    def refused(self, flags: JobFlags) -> list[str]:
        """A line for each selected team or subject whose stored slug is not a slug: planning
        leaves them out, and the operator should hear of it."""
        from gregory.scope import refused_slugs

        return refused_slugs(flags, db.teams())

    def unsplittable(
        self, flags: JobFlags, known: Sequence[TeamScope] | None = None
    ) -> list[Unsplittable]:
        """The selected subjects a training run could not split (labelled articles in the
        flags' window, a class under MIN_PER_CLASS of them): their runs would fail once started.
        Reads the database: call it from a worker in the TUI. Prediction needs no labels:
        always []."""
        if not isinstance(flags, TrainFlags):
            return []
        pairs = selected_pairs(flags, db.teams() if known is None else known)
        counts = db.label_counts(pairs, flags.window_days)
        # A subject with no label at all is left to the job, which fails its runs saying so:
        # labels may still be on their way (an import, a queued Job that starts later).
        return [
            Unsplittable(team, subject, relevant, other, flags.window_days)
            for (team, subject), (relevant, other) in counts.items()
            if relevant + other > 0 and min(relevant, other) < MIN_PER_CLASS
        ]

    def submit(
        self,
        planned: Sequence[JobFlags],
        run_id: str | None = None,
        report: Callable[[Submission], None] | None = None,
    ) -> list[Submission]:
        """Submit planned flag sets under one run id (one fan-out, one id).

        `report` hears of each submission as it happens. A batch the backend refuses (a team
        without its Kueue queue, an API error) does not hold back the others: they are all
        tried, then SubmitRefused names each refused scope.
        """
        run_id = run_id or new_run_id()
        done: list[Submission] = []
        refused: dict[str, list[str]] = {}  # message → the scopes refused with it
        first: BackendError | None = None
        for batch in self.backend.batches(planned):
            try:
                done.append(self.backend.submit_batch(batch, run_id))
            except BackendError as error:
                first = first or error
                scope = f"{batch[0].team or '*'}/{batch[0].subject or '*'}"
                refused.setdefault(str(error), []).append(scope)
                continue
            if report is not None:
                report(done[-1])
        if not refused:
            return done
        if not done and len(refused) == 1 and first is not None:
            # All refused alike: the backend's own error, with its kind (a setting → exit 2).
            raise first
        raise SubmitRefused(
            [f"{', '.join(scopes)}: {message}" for message, scopes in refused.items()], done
        )

    def progress(self, run: RunInfo) -> str:
        if run.state is not RunState.RUNNING:
            return ""
        try:
            return self.backend.progress(run.name)
        except BackendError:
            return ""

    def history(self, *, limit: int | None = 500) -> list[history.Entry]:
        """Every recent PredictionRunLog row (all of them with limit None), any trigger, with
        its version's metrics."""
        try:
            runs = self.backend.list_runs()
        except BackendError:  # the rows are still worth showing without their runs
            runs = []
        return history.build(db.run_rows(limit=limit, every_type=True), runs)

    def overview(self, *, other_rows: int = 20) -> Overview:
        runs = self.backend.list_runs()
        names = {run.name: run for run in runs}
        by_run: dict[str, list[db.RunRow]] = {}
        try:
            for row in db.run_rows(triggered_by=names) if names else []:
                by_run.setdefault(row.triggered_by or "", []).append(row)
            others = [
                row
                for row in db.run_rows(limit=other_rows + len(by_run) * 10)
                if row.triggered_by not in names
            ][:other_rows]
        except db.DatabaseUnavailable as error:
            views = tuple(RunView(run, (), self.progress(run)) for run in runs)
            return Overview(views, db_error=str(error))
        # Unreachable now: shown as they are, closed next time.
        with contextlib.suppress(db.DatabaseUnavailable):
            by_run, others = self._close_lost(names, by_run, others)
        views = tuple(
            RunView(
                run,
                tuple(_view(row, run) for row in by_run.get(run.name, [])),
                self.progress(run),
            )
            for run in runs
        )
        return Overview(views, tuple(_view(row, None) for row in others))

    def _close_lost(
        self, runs: dict[str, RunInfo], by_run: dict[str, list[db.RunRow]], others: list[db.RunRow]
    ) -> tuple[dict[str, list[db.RunRow]], list[db.RunRow]]:
        """Record in the database what the launcher can see: an open row whose run has ended
        (or, for runs on this machine, whose heartbeat says so) is closed as lost."""
        ended: dict[int, tuple[str, datetime | None]] = {}
        for name, rows in by_run.items():
            run = runs[name]
            for row in rows:
                if row.success is None and run.state.finished:
                    how = "vanished" if run.state is RunState.LOST else f"ended ({run.state})"
                    ended[row.id] = (f"run {name} {how} without closing its row", run.finished)
        judge = [row.id for row in others if row.success is None]
        if not self.backend.shares_models_dir:
            judge = []  # their heartbeats are on the cluster's volume, not here
        if not ended and not judge:
            return by_run, others
        closed = {row.id: row for row in db.close_lost(ended, judge)}

        def updated(row: db.RunRow) -> db.RunRow:
            return closed.get(row.id, row)

        return (
            {name: [updated(row) for row in rows] for name, rows in by_run.items()},
            [updated(row) for row in others],
        )


def _view(row: db.RunRow, run: RunInfo | None) -> RowView:
    return RowView(row, row_outcome(row, run), history.row_metrics(row))
