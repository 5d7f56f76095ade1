"""`gregory-launch`: the TUI (default) and its non-interactive twins submit, status, history,
logs, cancel; review and label for reviewers (launcher/review_cli.py).

Exit statuses (EPILOG, in `--help`): 0 done, 1 a run failed or the database/cluster could not be
reached (one line on stderr, never a traceback; `-v` adds it), 2 usage or configuration error
(the same rules as train_models itself; a malformed DATABASE_URL, kubeconfig or
GREGORY_LAUNCHER_DIR), 3 no run of that name, 130 Ctrl+C left a followed run going on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from gregory import exit_codes
from gregory.flags import FlagError
from gregory.scope import selected_pairs
from launcher import db, history, listing, review_cli
from launcher.backends.base import (
    Backend,
    BackendError,
    Partial,
    RunNotFound,
    RunState,
    Submission,
)
from launcher.backends.select import CHOICES, choose, make_backend
from launcher.errors import (
    DETACHED,
    NO_SUCH_RUN,
    ConfigurationError,
    LauncherError,
    OneLineArgumentParser,
)
from launcher.operations import JOBS, Operations, command_preview
from launcher.outcomes import run_outcome
from launcher.safe_text import Output, PlainWriter, error_line

EPILOG = """\
exit status:
  0    done; logs/submit --follow: the run succeeded
  1    a run failed, was cancelled or lost; or the database or cluster could not be reached
  2    usage or configuration error: the same command fails the same way again
  3    no run of that name (logs, status, cancel)
  130  Ctrl+C: detached from a followed run, which goes on

examples:
  gregory-launch submit --team demo --subject ms-research --dry-run
  gregory-launch submit --team demo --follow      # Ctrl+C detaches; the run goes on
  gregory-launch status --team demo --state failed
  gregory-launch history -o json                  # every run with its test ROC-AUC
  gregory-launch logs RUN; echo $?                # 0 succeeded, 1 failed, 3 no such run
  printf '123 y\\n124 n\\n' | gregory-launch label --team demo --subject ms-research -
"""
COMMANDS = ("submit", "status", "history", "logs", "cancel", "review", "label")
TRACEBACK_HELP = "on an error, also print the full text (a traceback) after its one line"
# Part of Job names (DNS-1123) and of local run directories.
RUN_ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$")


def build_parser(job: str = "train") -> argparse.ArgumentParser:
    """The CLI; `submit` takes the flags of `job`'s command (see `job_of`)."""
    parser = OneLineArgumentParser(
        prog="gregory-launch",
        description="Start and watch GregoryAI training and prediction runs "
        "(TUI without a subcommand).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--backend",
        choices=CHOICES,
        help="where runs go (default: $GREGORY_BACKEND, else kubernetes when a kubeconfig or "
        "in-cluster config exists, else local)",
    )
    parser.add_argument("-v", "--traceback", action="store_true", help=TRACEBACK_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("tui", help="the terminal UI (default)")
    _add_submit(commands, job)
    _add_status(commands)
    _add_logs_and_cancel(commands)
    review_cli.add_parsers(commands)
    for sub in commands.choices.values():
        # After the command too (`gregory-launch review … -v`); SUPPRESS keeps the top level's.
        sub.add_argument(
            "-v", "--traceback", action="store_true", default=argparse.SUPPRESS, help=TRACEBACK_HELP
        )
    return parser


def _add_submit(commands: argparse._SubParsersAction, job: str) -> None:
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


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return number


def _add_filters(parser: argparse.ArgumentParser, limit_help: str) -> None:
    parser.add_argument("--team", metavar="SLUG", help="only this team's")
    parser.add_argument(
        "--state",
        choices=listing.STATES,
        help="only runs in this state or rows with this outcome (ok and succeeded are one)",
    )
    parser.add_argument("--limit", type=_positive, metavar="N", help=limit_help)


def _add_status(commands: argparse._SubParsersAction) -> None:
    status = commands.add_parser(
        "status",
        help="the launcher's runs, their PredictionRunLog rows with their test ROC-AUC, and "
        "the other recent rows",
    )
    status.add_argument("run", nargs="?", help="only this run")
    _add_filters(status, "the N newest runs (and at most N other rows)")
    status.add_argument(
        "-o",
        "--output",
        choices=("table", "wide", "json"),
        default="table",
        help="table (default); wide: also each row's end, duration, trigger and the run's "
        "detail; json: every run with its rows and their metrics, for scripts",
    )
    past = commands.add_parser(
        "history",
        help="every PredictionRunLog row (any trigger, training and prediction), newest "
        "first, with its version's test metrics",
        description="QUERY: the TUI History screen's search, e.g. `algo:lstm state:failed "
        "oom`; keys: " + ", ".join(history.KEYS) + ".",
    )
    past.add_argument("query", nargs="*", metavar="QUERY", help="key:value terms and words")
    _add_filters(past, "the N newest rows")
    past.add_argument(
        "-o",
        "--output",
        choices=("table", "wide", "json"),
        default="table",
        help="table (default); wide: also F1, training size, duration and trigger; json: "
        "every row with its test ROC-AUC, decision and whole metrics.json",
    )


def _add_logs_and_cancel(commands: argparse._SubParsersAction) -> None:
    logs = commands.add_parser(
        "logs",
        help="print a run's log, then its state; exit 0 if it succeeded, 1 if it failed",
    )
    logs.add_argument("run")
    logs.add_argument(
        "--no-follow", dest="follow", action="store_false", help="print what is there and exit"
    )
    cancel = commands.add_parser("cancel", help="stop a run")
    cancel.add_argument("run")


def job_of(argv: Sequence[str]) -> str:
    """The job `submit --command` names, read before the real parser is built for its flags.

    An unknown name falls back to train; the real parser then refuses it with the choices.
    """
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("--command")
    known, _ = early.parse_known_args(list(argv))
    return known.command if known.command in JOBS else "train"


def make_operations(backend_name: str | None, err: Output) -> Operations:
    choice = choose(backend_name)
    backend = make_backend(choice)
    operations = Operations(backend, choice.reason)
    # A diagnostic, not output: `status -o json | jq` must see JSON only.
    print(f"backend: {operations.describe()}", file=err)
    return operations


def repeated_option(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The first single-valued option given twice (argparse silently keeps the last), as a
    one-line reason."""
    command = next(
        (arg for arg in argv if arg in COMMANDS),
        None,
    )
    if command is None:
        return None
    sub = next(
        action.choices[command]
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    seen: dict[str, list[str]] = {}
    for action in sub._actions:
        if not action.option_strings or action.nargs not in (None, "?"):
            continue
        if not isinstance(action, argparse._StoreAction):
            continue
        for index, arg in enumerate(argv):
            name, _, inline = arg.partition("=")
            if name in action.option_strings:
                value = inline if inline else (argv[index + 1] if index + 1 < len(argv) else "")
                seen.setdefault(action.option_strings[-1], []).append(value)
    for flag, values in seen.items():
        if len(values) > 1:
            return f"{flag} given {len(values)} times ({', '.join(values)}); give it once"
    return None


def cmd_submit(
    operations: Operations, options: argparse.Namespace, out: Output, err: Output
) -> int:
    try:
        flags = JOBS[options.job].from_options(vars(options)).validate()
        teams = db.teams()
        planned = operations.plan(flags, teams)
        pairs = selected_pairs(flags, teams)
    except FlagError as error:
        raise LauncherError(str(error), exit_codes.USAGE) from error
    # Checked before the plan is shown: --dry-run must refuse what the real submit refuses.
    run_id = run_id_from(options.run_id)
    refused = operations.refused(flags)
    blocked = operations.unsplittable(flags, teams)
    if blocked and len(blocked) == len(pairs):
        # Every run would fail once started: submit nothing. Retrying cannot help until
        # someone labels more, hence the usage status.
        raise LauncherError("\n".join(item.line for item in blocked), exit_codes.USAGE)
    if blocked:
        # Where a run is one subject, the ones that cannot train are left out; a run of a
        # whole team trains the others and records these as failed.
        names = {(item.team, item.subject) for item in blocked}
        planned = [item for item in planned if (item.team, item.subject) not in names]
        refused = [*refused, *(item.line for item in blocked)]
    for line in refused:
        print(f"warning: {line}", file=err)
    # As train_models: a team or subject left out makes the submission a failure.
    status = exit_codes.RUN_FAILED if refused else exit_codes.OK
    if options.plan_only:
        for item in planned:
            print(f"would submit: {command_preview(item)}", file=out)
        return status

    def report(submission: Submission) -> None:
        run = submission.run
        verb = "already submitted" if submission.already_existed else "submitted"
        scope = f"{run.team}/{run.subject or '*'}"
        print(f"{verb} {run.name} ({scope}, {run.state})", file=out, flush=True)

    submissions = operations.submit(planned, run_id, report)
    if not options.follow:
        return status
    failed = False
    following = [submission.run.name for submission in submissions]
    try:
        while following:
            name = following[0]
            print(f"--- {name}", file=out)
            print_logs(operations.backend, name, follow=True, out=out)
            final = wait_finished(operations.backend, name)
            print(f"--- {name}: {run_outcome(str(final.state), final.detail)}", file=out)
            following.pop(0)
            failed |= final.state is not RunState.SUCCEEDED
    except KeyboardInterrupt:
        return detach(following, err)
    return exit_codes.RUN_FAILED if failed else status


def detach(names: Sequence[str], err: Output) -> int:
    """Ctrl+C while following: the launcher stops watching at once; the runs go on."""
    for name in names:
        print(f"the run goes on: gregory-launch logs {name}", file=err, flush=True)
    return DETACHED


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


def print_logs(backend: Backend, name: str, *, follow: bool, out: Output) -> None:
    stream = backend.stream_logs(name, follow=follow)
    # A terminal shows the line being written in place; a pipe gets complete lines only.
    live = out.isatty()
    # Our own redraw codes pass; the log's text goes through the stream's filter (PlainWriter).
    raw = getattr(out, "raw", out.write)
    redrawing = False
    try:
        for line in stream:
            if isinstance(line, Partial):
                if live:
                    raw("\r\x1b[K")
                    out.write(line)
                    out.flush()
                    redrawing = True
                continue
            if redrawing:
                raw("\r\x1b[K")
                redrawing = False
            print(line, file=out, flush=True)
    finally:
        # Ctrl+C included: the caller detaches (the run goes on), the stream's thread stops.
        stream.stop()


def cmd_status(
    operations: Operations, options: argparse.Namespace, out: Output, err: Output
) -> int:
    filters = listing.Filters(options.team, options.state, options.limit)
    overview = operations.overview()
    if options.run is not None and not any(v.run.name == options.run for v in overview.runs):
        raise LauncherError(f"no run named {options.run!r}", NO_SUCH_RUN)
    filtered = options.team is not None or options.state is not None
    nothing = "no run or row matches --team/--state" if filtered else ""
    shown = listing.filter_overview(overview, options.run, filters)
    listing.render_status(shown, out, options.output, nothing)
    if overview.db_error:
        print(f"gregory-launch: no PredictionRunLog rows: {overview.db_error}", file=err)
        return exit_codes.RUN_FAILED
    return exit_codes.OK


def cmd_history(operations: Operations, options: argparse.Namespace, out: Output) -> int:
    query = history.parse_query(" ".join(options.query))
    if query.problem:
        raise LauncherError(query.problem, exit_codes.USAGE)
    filters = listing.Filters(options.team, options.state, options.limit)
    entries = listing.filter_entries(operations.history(limit=None), query, filters)
    listing.render_history(entries, out, options.output)
    return exit_codes.OK


def cmd_logs(operations: Operations, options: argparse.Namespace, out: Output, err: Output) -> int:
    try:
        print_logs(operations.backend, options.run, follow=options.follow, out=out)
    except KeyboardInterrupt:
        return detach([options.run], err)
    run = operations.backend.status(options.run)
    print(f"--- {run.name}: {run_outcome(str(run.state), run.detail)}", file=out)
    if not run.state.finished:
        return 0  # --no-follow on a running run: nothing to report yet
    return 0 if run.state is RunState.SUCCEEDED else exit_codes.RUN_FAILED


def run_command(options: argparse.Namespace, out: Output, err: Output) -> int:
    if options.command in ("review", "label"):
        # The database alone: no backend is chosen, so no "backend:" line either.
        return review_cli.run(options, out, err)
    operations = make_operations(options.backend, err)
    if options.command == "submit":
        return cmd_submit(operations, options, out, err)
    if options.command == "status":
        return cmd_status(operations, options, out, err)
    if options.command == "history":
        return cmd_history(operations, options, out)
    if options.command == "logs":
        return cmd_logs(operations, options, out, err)
    if options.command == "cancel":
        operations.backend.cancel(options.run)
        print(f"cancelling {options.run}", file=out)
        return 0
    raise AssertionError(options.command)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    stdout = out or sys.stdout
    # Names, titles and errors come from the database, the models dir and the cluster: no
    # escape sequence or control character in them reaches the terminal.
    plain_out = PlainWriter(stdout)
    plain_err = PlainWriter(err or sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(job_of(argv))
    options = parser.parse_args(argv)
    if problem := repeated_option(parser, argv):
        print(f"gregory-launch: error: {problem}", file=plain_err)
        return exit_codes.USAGE
    verbose = bool(getattr(options, "traceback", False))

    def fail(error: BaseException, lines: Sequence[str], code: int) -> int:
        # One line each, the traceback of what caused it only with -v.
        for line in lines or [""]:
            print(f"gregory-launch: error: {line}", file=plain_err)
        if verbose:
            plain_err.write("".join(traceback.format_exception(error)))
        return code

    try:
        db.check_configuration()
        if options.command in (None, "tui"):
            from launcher.app import run_tui

            return run_tui(options.backend)
        return run_command(options, plain_out, plain_err)
    except LauncherError as error:
        return fail(error, str(error).splitlines(), error.code)
    except RunNotFound as error:
        return fail(error, [error_line(error)], NO_SUCH_RUN)
    except (BackendError, db.DatabaseUnavailable) as error:
        # A fan-out's refusals (launcher.operations.SubmitRefused): one line each.
        code = (
            exit_codes.USAGE
            if isinstance(error, ConfigurationError | db.DatabaseMisconfigured)
            else 1
        )
        return fail(error, str(error).splitlines(), code)
    except BrokenPipeError:
        # `gregory-launch status | head -1`: the reader had what it wanted, which is not an
        # error; stdout goes to /dev/null so the flush at exit does not raise again.
        if stdout is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # Not foreseen: still one line on an operator's screen, the full text behind -v.
        line = f"{type(error).__name__}: {error_line(error)}"
        hint = "" if verbose else " (gregory-launch -v … shows the traceback)"
        return fail(error, [f"{line}{hint}"], exit_codes.RUN_FAILED)


if __name__ == "__main__":
    sys.exit(main())
