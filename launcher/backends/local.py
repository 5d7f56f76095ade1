"""Local backend: the job as a subprocess on this machine, with a small run registry on disk.

    <root>/runs/<run>/meta.json    what was started: argv, team, subject, supervisor pid
    <root>/runs/<run>/log          everything the job printed
    <root>/runs/<run>/result.json  exit status, written by the supervisor when the job ends
    <root>/runs/<run>/cancelled    present when the operator asked to cancel

The job runs as `python -m gregory_train <command> …` from the installed package (no checkout
needed) under `launcher.backends.runner`, a supervisor in its own session, so it survives the
TUI closing and its outcome is still recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from gregory.atomic_write import write_atomic
from gregory.flags import JobFlags, PredictFlags, TrainFlags
from gregory.reasons import first_line
from launcher.backends.base import (
    IDLE,
    JOB_MODULE,
    Backend,
    BackendError,
    LogStream,
    RunInfo,
    RunNotFound,
    RunState,
    Submission,
    last_line,
    lines_of,
)
from launcher.db import job_home
from launcher.errors import ConfigurationError

# The job's commands, run by this interpreter from the installed package.
JOB_ARGV = (sys.executable, "-m", JOB_MODULE)
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")  # a directory name
POLL_SECONDS = 0.2
# A run recorded but without a pid this long after: its launcher died while starting it.
STARTING_SECONDS = 60
# Run names start with this per command, so a prediction's log and rows never pass for training.
NAME_PREFIXES = {TrainFlags.command: "", PredictFlags.command: "predict-"}


_SET_BY = " (set GREGORY_LAUNCHER_DIR to a writable directory)"


def unusable_directory(path: Path) -> str | None:
    """Why `path` cannot hold the run registry, if it already cannot: it, or the nearest of
    its parents that exists, is not a directory."""
    for existing in (path, *path.parents):
        if existing.exists():
            if existing.is_dir():
                return None
            return f"{path} cannot be created: {existing} is a file, not a directory"
    return None


def default_root() -> Path:
    """$GREGORY_LAUNCHER_DIR, else `var/launcher` in the job's home, beside its other state."""
    if os.environ.get("GREGORY_LAUNCHER_DIR"):
        return Path(os.environ["GREGORY_LAUNCHER_DIR"])
    return job_home() / "var" / "launcher"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid`, or None if it is gone; tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if not Path("/proc/self/stat").exists():  # no procfs: fall back to a bare liveness probe
            try:
                os.kill(pid, 0)
            except OSError:
                return None
            return "?"
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # exited, not yet reaped
        return None
    return fields[19]


class LocalBackend(Backend):
    name = "local"
    split_subjects = False
    shares_models_dir = True

    def __init__(
        self,
        root: Path | None = None,
        *,
        manage_argv: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root or default_root()
        if problem := unusable_directory(self.root):
            raise ConfigurationError(f"launcher directory {problem}{_SET_BY}")
        self.runs_dir = self.root / "runs"
        # What runs a management command; tests put a stand-in job here.
        self.manage_argv = manage_argv or list(JOB_ARGV)
        self.env = env
        # Supervisors we started ourselves: polled so they do not linger as zombies.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "local (subprocesses on this machine)"

    # -- registry -------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        if not RUN_NAME_RE.match(name):
            raise RunNotFound(f"no run named {name!r}")
        return self.runs_dir / name

    def _read(self, run_dir: Path) -> RunInfo:
        try:
            return self._read_record(run_dir)
        except (OSError, ValueError, KeyError, TypeError) as error:
            return _damaged(run_dir, error)

    def _read_record(self, run_dir: Path) -> RunInfo:
        meta = json.loads((run_dir / "meta.json").read_text())
        result_path = run_dir / "result.json"
        finished = None
        if result_path.exists():
            result = json.loads(result_path.read_text())
            code = int(result["returncode"])
            finished = datetime.fromisoformat(result["finished"])
            if (run_dir / "cancelled").exists():
                state, detail = RunState.CANCELLED, f"cancelled (exit {code})"
            elif code == 0:
                state, detail = RunState.SUCCEEDED, "exit 0"
            else:
                state, detail = RunState.FAILED, _describe_exit(code)
        else:
            with self._lock:
                child = self._children.get(meta["name"])
            if child is not None:
                child.poll()
            if meta["pid"] is None:  # recorded, its process being started
                age = datetime.now(UTC) - datetime.fromisoformat(meta["created"])
                state, detail = RunState.PENDING, "starting"
                # The launcher that started it died before it could record the pid.
                if age.total_seconds() > STARTING_SECONDS:
                    state, detail = RunState.LOST, "started, its process never recorded"
            elif _process_start(meta["pid"]) == meta["pid_start"]:
                state, detail = RunState.RUNNING, f"pid {meta['pid']}"
            elif (result_path).exists():  # finished between the two looks
                return self._read(run_dir)
            else:
                state, detail = RunState.LOST, "process gone without an exit status"
        return RunInfo(
            name=meta["name"],
            team=meta["team"],
            subject=meta["subject"],
            state=state,
            created=datetime.fromisoformat(meta["created"]),
            finished=finished,
            detail=detail,
            argv=tuple(meta["argv"]),
        )

    # -- interface --------------------------------------------------------------------------

    def batches(self, planned: Sequence[JobFlags]) -> list[list[JobFlags]]:
        # Subjects of one team ticked in the TUI: one run, in turn, like "every subject" is.
        groups: dict[object, list[JobFlags]] = {}
        for flags in planned:
            key = replace(flags, subject=None) if flags.subject is not None else id(flags)
            groups.setdefault(key, []).append(flags)
        return list(groups.values())

    def submit(self, flags: JobFlags, run_id: str) -> Submission:
        return self.submit_batch([flags], run_id)

    def submit_batch(self, batch: Sequence[JobFlags], run_id: str) -> Submission:
        for flags in batch:
            flags.validate()
        name = _run_name(batch, run_id)
        run_dir = self._dir(name)
        try:
            run_dir.mkdir(parents=True)
        except FileExistsError:
            return Submission(self.status(name), already_existed=True)
        except OSError as error:
            raise ConfigurationError(
                f"cannot create a run directory under {self.runs_dir}: "
                f"{error.strerror or error}{_SET_BY}"
            ) from error
        argvs = [[*self.manage_argv, item.command, *item.to_argv()] for item in batch]
        meta = _new_meta(name, batch, argvs)
        # Recorded before anything starts: a directory that cannot take the record (full,
        # read-only) must not leave a process running that `status` cannot see.
        try:
            (run_dir / "log").touch()
            _write_meta(run_dir, meta)
        except OSError as error:
            _remove_run_dir(run_dir)
            raise BackendError(
                _unrecorded(name, self.runs_dir, error, "nothing started")
            ) from error
        process = self._start_supervisor(name, run_dir, argvs)
        self._record_process(name, run_dir, meta, process)
        return Submission(self._read(run_dir))

    def _start_supervisor(
        self, name: str, run_dir: Path, argvs: list[list[str]]
    ) -> subprocess.Popen[bytes]:
        """The runner that runs the run's commands in turn (launcher/backends/runner.py)."""
        env = dict(self.env if self.env is not None else os.environ)
        env.update(GREGORY_TRIGGERED_BY=name, PYTHONUNBUFFERED="1")
        chain = [arg for command in argvs for arg in ("--", *command)]
        supervisor = [sys.executable, "-m", "launcher.backends.runner", str(run_dir), *chain]
        try:
            process = subprocess.Popen(
                supervisor,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl+C in the TUI must not reach the job
            )
        except OSError as error:
            _remove_run_dir(run_dir)
            raise BackendError(f"cannot start run {name}: {error.strerror or error}") from error
        with self._lock:
            self._children[name] = process
        return process

    def _record_process(
        self, name: str, run_dir: Path, meta: dict, process: subprocess.Popen[bytes]
    ) -> None:
        """Write the started process into the run's record, or stop it if that fails."""
        meta.update(pid=process.pid, pid_start=_process_start(process.pid))
        try:
            _write_meta(run_dir, meta)
        except OSError as error:
            # The space went between the two writes: undo the start rather than run unseen.
            # The supervisor leads its own session, so the group takes the job with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            with self._lock:
                self._children.pop(name, None)
            _remove_run_dir(run_dir)
            raise BackendError(
                _unrecorded(name, self.runs_dir, error, "its process was stopped")
            ) from error

    def list_runs(self) -> list[RunInfo]:
        if not self.runs_dir.is_dir():
            return []
        runs = [
            self._read(path) for path in self.runs_dir.iterdir() if (path / "meta.json").exists()
        ]
        return sorted(runs, key=lambda run: (run.created, run.name), reverse=True)

    def status(self, name: str) -> RunInfo:
        run_dir = self._dir(name)
        if not (run_dir / "meta.json").exists():
            raise RunNotFound(f"no run named {name!r} in {self.runs_dir}")
        return self._read(run_dir)

    def progress(self, name: str) -> str:
        try:
            with open(self._dir(name) / "log", "rb") as log:
                log.seek(max(log.seek(0, os.SEEK_END) - 4096, 0))
                return last_line(log.read())
        except OSError:
            return ""

    def stream_logs(self, name: str, *, follow: bool = True) -> LogStream:
        self.status(name)  # RunNotFound early, in the caller's thread
        stop = threading.Event()
        return LogStream(self._follow(name, follow, stop), stop)

    def _follow(self, name: str, follow: bool, stop: threading.Event) -> Iterator[str]:
        for line in lines_of(self._chunks(name, follow, stop)):
            if stop.is_set():
                return
            yield line

    def _chunks(self, name: str, follow: bool, stop: threading.Event) -> Iterator[bytes]:
        path = self._dir(name) / "log"
        with open(path, "rb") as log:
            while not stop.is_set():
                chunk = log.read(65536)
                if chunk:
                    yield chunk
                    continue
                # At the end of the file: done unless the run may still write more.
                if not follow or self.status(name).state.finished:
                    rest = log.read()
                    if rest:
                        yield rest
                        continue
                    break
                yield IDLE  # caught up: an unfinished line is worth showing now
                stop.wait(POLL_SECONDS)

    def cancel(self, name: str) -> None:
        run = self.status(name)
        if run.state.finished:
            raise BackendError(f"run {name} already {run.state}")
        run_dir = self._dir(name)
        pid = json.loads((run_dir / "meta.json").read_text())["pid"]
        if pid is None:
            raise BackendError(f"run {name} is still starting; cancel it again in a moment")
        (run_dir / "cancelled").touch()
        # A supervisor that has just started may not handle SIGTERM yet (it would die and
        # leave the job running): wait until it reports the job started.
        deadline = time.monotonic() + 10
        while not (run_dir / "child.pid").exists() and time.monotonic() < deadline:
            if self.status(name).state.finished:
                break
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # the supervisor forwards it to the job

    def wait(self, name: str, timeout: float | None = None) -> RunInfo:
        """Block until the run has finished (used by `submit --follow` and the tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.status(name)
            if run.state.finished:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise BackendError(f"run {name} still {run.state} after {timeout}s")
            time.sleep(POLL_SECONDS)


def _damaged(run_dir: Path, error: Exception) -> RunInfo:
    """A run whose record cannot be read: listed with the reason, so one damaged directory does
    not hide every other run; its state is unknown, so no row of it is closed as lost."""
    try:
        created = datetime.fromtimestamp(run_dir.stat().st_mtime, UTC)
    except OSError:
        created = datetime.fromtimestamp(0, UTC)
    return RunInfo(
        name=run_dir.name,
        team="?",
        subject=None,
        state=RunState.UNKNOWN,
        created=created,
        detail=f"its record in {run_dir} cannot be read: {first_line(error)}",
    )


def _run_name(batch: Sequence[JobFlags], run_id: str) -> str:
    """The run's name (its directory): the command, the team and its subjects, the run id."""
    flags = batch[0]
    if flags.all_teams:
        scope = "all-teams"
    elif flags.team is None:
        raise BackendError("give a team or all teams")
    elif len(batch) > 1:
        scope = f"{flags.team}-{len(batch)}-subjects"
    else:
        scope = f"{flags.team}-{flags.subject or 'all'}"
    return f"{NAME_PREFIXES[flags.command]}{scope}-{run_id}"


def _new_meta(name: str, batch: Sequence[JobFlags], argvs: list[list[str]]) -> dict:
    """The run's record (meta.json) before its process is started."""
    flags = batch[0]
    subjects = [item.subject for item in batch]
    return {
        "name": name,
        "team": "*" if flags.all_teams else flags.team,
        "subject": None if flags.all_teams else ",".join(s for s in subjects if s) or None,
        "argv": argvs[0],
        # Every command of the run, in the order they run (one per ticked subject).
        "argvs": argvs,
        # None until the process is started: `status` shows such a run as starting.
        "pid": None,
        "pid_start": None,
        "created": datetime.now(UTC).isoformat(),
    }


def _write_meta(run_dir: Path, meta: dict) -> None:
    """meta.json, whole or not at all (gregory.atomic_write)."""
    write_atomic(run_dir / "meta.json", json.dumps(meta, indent=2))


def _remove_run_dir(run_dir: Path) -> None:
    """A run that never started leaves nothing behind (removing only frees space)."""
    shutil.rmtree(run_dir, ignore_errors=True)


def _unrecorded(name: str, runs_dir: Path, error: OSError, what: str) -> str:
    return (
        f"cannot record run {name} in {runs_dir}: {error.strerror or error}; {what}"
        f"{_SET_BY.replace('(set', '(free space or set')}"
    )


def _describe_exit(code: int) -> str:
    if code < 0 or code > 128:
        signum = -code if code < 0 else code - 128
        try:
            return f"exit {code} ({signal.Signals(signum).name})"
        except ValueError:
            return f"exit {code}"
    return {1: "exit 1 (a run failed)", 2: "exit 2 (usage error)"}.get(code, f"exit {code}")
