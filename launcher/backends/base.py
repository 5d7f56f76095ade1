"""The one small interface every backend offers: submit, list runs, status, stream logs, cancel.

A *run* is one submission of a job command (train_models or predict_articles): locally for one
team or every team in turn, on Kubernetes for one team and subject. Its name doubles as the
job's `GREGORY_TRIGGERED_BY`, so PredictionRunLog rows join their run without a table of ours.
"""

from __future__ import annotations

import secrets
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from gregory.flags import JobFlags
from launcher.safe_text import plain

# What every backend runs: `python -m gregory_train <command> …` (the training image's entrypoint).
JOB_MODULE = "gregory_train"


class RunState(StrEnum):
    # Accepted but held back (a suspended Job): no pod will be made until it is resumed.
    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    # Kubernetes has decided the Job fails (FailureTarget) and is ending its pods.
    FAILING = "failing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The process or Job vanished without recording an outcome (killed -9, OOM, node lost).
    LOST = "lost"
    # Its record cannot be read (a damaged meta.json): nothing says whether it still runs.
    UNKNOWN = "unknown"

    @property
    def finished(self) -> bool:
        return self not in (
            RunState.QUEUED,
            RunState.PENDING,
            RunState.RUNNING,
            RunState.FAILING,
            RunState.UNKNOWN,
        )


class BackendError(RuntimeError):
    """A backend that cannot do what was asked; the message is one line for the operator."""


class RunNotFound(BackendError):
    pass


@dataclass(frozen=True)
class RunInfo:
    name: str
    team: str
    subject: str | None
    state: RunState
    created: datetime
    finished: datetime | None = None
    # One line on why the run is in its state (exit code, Job condition, pod waiting reason).
    detail: str = ""
    argv: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submission:
    run: RunInfo
    # True when the backend already had this run (Kubernetes answered 409): nothing new started.
    already_existed: bool = False


class Partial(str):
    """The line being written: no newline yet, or a progress bar redrawing itself with `\r`.

    A stream yields it again as it changes and then the complete line; viewers show it as one
    updating line, and a pipe can skip it.
    """


# Yielded by a chunk source when it has nothing more for now: the time to show a Partial.
IDLE = b""


def last_redraw(line: str) -> str:
    """A progress bar redraws itself with carriage returns; keep only what it shows last."""
    return line.rstrip("\r").rsplit("\r", 1)[-1]


def last_line(tail: bytes) -> str:
    """The last non-empty line of a log's tail, as a terminal shows it last."""
    for line in reversed(tail.split(b"\n")):
        text = last_redraw(line.decode("utf-8", "replace")).strip()
        if text:
            return text
    return ""


def lines_of(chunks: Iterator[bytes]) -> Iterator[str]:
    """Complete lines of a byte stream, with a Partial for the unfinished one whenever the
    source goes idle (IDLE)."""
    pending = b""
    shown: str | None = None
    for chunk in chunks:
        if chunk is IDLE or not chunk:
            if pending:
                text = last_redraw(pending.decode("utf-8", "replace"))
                if text != shown:
                    shown = text
                    yield Partial(text)
            continue
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            shown = None
            yield last_redraw(line.decode("utf-8", "replace"))
    if pending:
        yield last_redraw(pending.decode("utf-8", "replace"))


@dataclass
class LogStream:
    """Lines of a run's log; `stop()` from any thread ends the iteration promptly."""

    lines: Iterator[str]
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[str]:
        return self.lines

    def stop(self) -> None:
        self.stop_event.set()


def new_run_id() -> str:
    """Short, sortable and unique enough: UTC minute plus 4 hex digits (DNS-1123 safe)."""
    return datetime.now(UTC).strftime("%m%d%H%M") + "-" + secrets.token_hex(2)


class Backend(ABC):
    name: str = "backend"
    # Kubernetes runs one Job per team/subject and the scheduler queues them; locally one
    # process works through everything it is given in turn, so a fan-out over
    # every team stays one process instead of several fighting for the machine's cores.
    split_subjects: bool = False
    split_teams: bool = False
    # Runs here share the launcher's models directory, so their heartbeats can be read.
    shares_models_dir: bool = False
    # Where `notice` lines go (the TUI sets its notifications); None: standard error.
    listener: Callable[[str], None] | None = None

    def notice(self, line: str) -> None:
        """One line for the operator about something the backend does meanwhile (a retry)."""
        if self.listener is not None:
            self.listener(line)
        else:
            print(f"gregory-launch: {plain(line)}", file=sys.stderr, flush=True)

    def batches(self, planned: Sequence[JobFlags]) -> list[list[JobFlags]]:
        """Planned flag sets grouped into runs: one each, unless a backend runs some in turn."""
        return [[flags] for flags in planned]

    def submit_batch(self, batch: Sequence[JobFlags], run_id: str) -> Submission:
        """One run for a group from `batches`."""
        (flags,) = batch
        return self.submit(flags, run_id)

    def progress(self, name: str) -> str:
        """What a running run's log shows last (the algorithm it trains, an epoch bar); "" when
        the backend cannot tell cheaply."""
        return ""

    @abstractmethod
    def describe(self) -> str:
        """Which backend this is and where it runs, for 'say which one is in use'."""

    @abstractmethod
    def submit(self, flags: JobFlags, run_id: str) -> Submission:
        """Start the flags' command for one planned, validated flag set."""

    @abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run this backend knows, newest first."""

    @abstractmethod
    def status(self, name: str) -> RunInfo:
        """One run; raises RunNotFound."""

    @abstractmethod
    def stream_logs(self, name: str, *, follow: bool = True) -> LogStream:
        """The run's output; with follow, keeps going until the run ends or stop() is called."""

    @abstractmethod
    def cancel(self, name: str) -> None:
        """Stop the run; the job marks its running PredictionRunLog row failed on SIGTERM."""
