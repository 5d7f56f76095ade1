"""`gregory-launch`: the TUI (default) and its non-interactive twins submit, status, logs, cancel.

Exit statuses: 0 done, 1 a run failed or the database/cluster could not be reached (one line on
stderr, never a traceback), 2 usage error (the same rules as train_models itself).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from gregory import exit_codes
from gregory.flags import FlagError
from launcher import db
from launcher.backends.base import Backend, BackendError, RunState, Submission
from launcher.backends.select import CHOICES, choose, make_backend
from launcher.engine import JOBS, Engine, Overview, command_preview

# Part of Job names (DNS-1123) and of local run directories.
RUN_ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$")


class LauncherError(Exception):
    """A failure to report in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def build_parser(job: str = "train") -> argparse.ArgumentParser:
    """The CLI; `submit` takes the flags of `job`'s command (see `job_of`)."""
    parser = argparse.ArgumentParser(
        prog="gregory-launch",
        description="Start and watch GregoryAI training and prediction runs "
        "(TUI without a subcommand).",
    )
    parser.add_argument(
        "--backend",
        choices=CHOICES,
        help="where runs go (default: $GREGORY_BACKEND, else kubernetes when a kubeconfig or "
        "in-cluster config exists, else local)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("tui", help="the terminal UI (default)")
    submit = commands.add_parser(
        "submit",
        help="validate a flag set and submit it (one run per team, or per team/subject on "
        "Kubernetes)",
        description="Takes the flags of train_models (or, with --command predict, of "
        "predict_articles); --all-teams is the nightly fan-out.",
        # predict_articles has a --dry-run of its own (score, write nothing); the launcher's
        # (plan, submit nothing) is added last and replaces it.
        conflict_handler="resolve",
    )
    submit.add_argument(
        "--command",
        dest="job",
        choices=tuple(JOBS),
        default="train",
        help="train: train_models (default); predict: predict_articles",
    )
    # The very definition the command itself parses with: same flags, same parsing.
    JOBS[job].add_arguments(submit)
    submit.add_argument(
        "--dry-run",
        dest="plan_only",
        action="store_true",
        help="validate and show the plan, submit nothing",
    )
    submit.add_argument(
        "--run-id",
        metavar="ID",
        help="name the runs with this id instead of a fresh one, so submitting again is "
        "'already submitted'; {date} becomes the UTC date (the CronJobs: nightly-{date}, "
        "nightly-predict-{date})",
    )
    submit.add_argument(
        "--follow",
        action="store_true",
        help="stream the logs until the runs end; exit 1 if any failed",
    )
    status = commands.add_parser("status", help="runs and their PredictionRunLog rows")
    status.add_argument("run", nargs="?", help="only this run")
    logs = commands.add_parser("logs", help="print a run's log")
    logs.add_argument("run")
    logs.add_argument(
        "--no-follow", dest="follow", action="store_false", help="print what is there and exit"
    )
    cancel = commands.add_parser("cancel", help="stop a run")
    cancel.add_argument("run")
    return parser


def job_of(argv: Sequence[str]) -> str:
    """The job `submit --command` names, read before the real parser is built for its flags.

    An unknown name falls back to train; the real parser then refuses it with the choices.
    """
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--command")
    known, _ = early.parse_known_args(list(argv))
    return known.command if known.command in JOBS else "train"


def make_engine(backend_name: str | None, out: TextIO) -> Engine:
    choice = choose(backend_name)
    backend = make_backend(choice)
    engine = Engine(backend, choice.reason)
    print(f"backend: {engine.describe()}", file=out)
    return engine


def cmd_submit(engine: Engine, options: argparse.Namespace, out: TextIO) -> int:
    try:
        flags = JOBS[options.job].from_options(vars(options)).validate()
        planned = engine.plan(flags)
    except FlagError as error:
        raise LauncherError(str(error), exit_codes.USAGE) from error
    if options.plan_only:
        for item in planned:
            print(f"would submit: {command_preview(item)}", file=out)
        return 0

    def report(submission: Submission) -> None:
        run = submission.run
        verb = "already submitted" if submission.already_existed else "submitted"
        scope = f"{run.team}/{run.subject or '*'}"
        print(f"{verb} {run.name} ({scope}, {run.state})", file=out, flush=True)

    submissions = engine.submit(planned, run_id_from(options.run_id), report)
    if not options.follow:
        return 0
    failed = False
    for submission in submissions:
        name = submission.run.name
        print(f"--- {name}", file=out)
        print_logs(engine.backend, name, follow=True, out=out)
        final = wait_finished(engine.backend, name)
        print(f"--- {name}: {final.state} ({final.detail})", file=out)
        failed |= final.state is not RunState.SUCCEEDED
    return 1 if failed else 0


def run_id_from(template: str | None) -> str | None:
    if template is None:
        return None
    run_id = template.replace("{date}", datetime.now(UTC).strftime("%Y%m%d"))
    if not RUN_ID_RE.match(run_id):
        raise LauncherError(
            f"--run-id {run_id!r} must be 1-24 lower-case letters, digits and '-'", exit_codes.USAGE
        )
    return run_id


def wait_finished(backend: Backend, name: str):
    wait = getattr(backend, "wait", None)
    if wait is not None:
        return wait(name)
    import time

    while not (run := backend.status(name)).state.finished:
        time.sleep(2)
    return run


def print_logs(backend: Backend, name: str, *, follow: bool, out: TextIO) -> None:
    stream = backend.stream_logs(name, follow=follow)
    try:
        for line in stream:
            print(line, file=out, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stream.stop()


def render_overview(overview: Overview, out: TextIO, only: str | None = None) -> None:
    def rows_table(views, indent: str) -> None:
        for view in views:
            row = view.row
            finished = row.finished.strftime("%Y-%m-%d %H:%M:%S") if row.finished else "-"
            error = f"  {row.error}" if row.error else ""
            print(
                f"{indent}{row.team}/{row.subject}  {row.algorithm or '?':<11}  "
                f"{view.outcome:<7}  {row.started:%Y-%m-%d %H:%M:%S}  {finished}  "
                f"{row.model_version or '-'}{error}",
                file=out,
            )

    runs = [view for view in overview.runs if only in (None, view.run.name)]
    if only is not None and not runs:
        raise LauncherError(f"no run named {only!r}")
    if not runs:
        print("no runs submitted from this launcher yet", file=out)
    for view in runs:
        run = view.run
        print(
            f"{run.name}  {run.state}  {run.created:%Y-%m-%d %H:%M:%S}  {run.detail}",
            file=out,
        )
        if not view.rows:
            print("    (no PredictionRunLog rows yet)", file=out)
        rows_table(view.rows, "    ")
    if only is None and overview.other_rows:
        print("other recent PredictionRunLog rows:", file=out)
        rows_table(overview.other_rows, "    ")


def run_command(options: argparse.Namespace, out: TextIO) -> int:
    engine = make_engine(options.backend, out)
    if options.command == "submit":
        return cmd_submit(engine, options, out)
    if options.command == "status":
        render_overview(engine.overview(), out, only=options.run)
        return 0
    if options.command == "logs":
        print_logs(engine.backend, options.run, follow=options.follow, out=out)
        return 0
    if options.command == "cancel":
        engine.backend.cancel(options.run)
        print(f"cancelling {options.run}", file=out)
        return 0
    raise AssertionError(options.command)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    argv = sys.argv[1:] if argv is None else list(argv)
    options = build_parser(job_of(argv)).parse_args(argv)
    try:
        if options.command in (None, "tui"):
            from launcher.app import run_tui

            return run_tui(options.backend)
        return run_command(options, out)
    except LauncherError as error:
        print(f"gregory-launch: error: {error}", file=sys.stderr)
        return error.code
    except (BackendError, db.DatabaseUnavailable) as error:
        print(f"gregory-launch: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `gregory-launch status | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
