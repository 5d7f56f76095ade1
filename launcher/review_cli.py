"""`gregory-launch review` (the queue, for scripts) and `gregory-launch label` (one label, or
a batch of "ARTICLE_ID y|n" lines from stdin).

Exit statuses as for the rest of the CLI: 0 done; 1 a label was already given by someone
else (left unchanged) or the database is unreachable; 2 usage (malformed or unknown team,
subject or article; a malformed batch line, before anything is written).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING

from gregory import exit_codes
from gregory.flags import DEFAULT_WINDOW_DAYS, FlagError
from launcher.errors import LauncherError
from launcher.safe_text import Output, one_line

if TYPE_CHECKING:
    from launcher.review import Queue

# The Review screen's keys are y and n: the CLI takes them too.
ANSWERS = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}
ANSWER_WORDS = "y, yes or true; n, no or false"
# The job's modules that load a model a setting names: a failure inside one names the setting.
MODEL_SETTINGS = {
    "gregory.ml.data.summariser": ("the summariser", "GREGORY_SUMMARISER_MODEL"),
    "gregory.ml.trainers.pubmed_bert": ("the BERT model", "GREGORY_BERT_MODEL"),
}
# Seconds between two progress lines while the queue scores articles itself.
PROGRESS_EVERY = 2.0
# Seconds without a line after which one says the scoring is still going.
QUIET_EVERY = 5.0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {value}")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, not {value}")
    return number


def answer(value: str) -> bool:
    try:
        return ANSWERS[value.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {ANSWER_WORDS}") from None


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--team", required=True, metavar="SLUG")
    parser.add_argument("--subject", required=True, metavar="SLUG")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    from gregory.ml.review import queue_defaults

    queue = commands.add_parser(
        "review",
        help="the subject's unreviewed articles, those the current models are least sure of "
        "first (the TUI's Review screen labels them: F5)",
    )
    _scope_arguments(queue)
    queue.add_argument(
        "--count",
        type=_positive,
        default=queue_defaults.DEFAULT_COUNT,
        metavar="N",
        help="default 20",
    )
    queue.add_argument(
        "--strategy",
        choices=queue_defaults.STRATEGIES,
        default=queue_defaults.UNCERTAINTY,
        help="uncertainty (default: with a random share, all random below "
        f"{queue_defaults.COLD_START_LABELS} labels) or random",
    )
    queue.add_argument(
        "--random-share",
        type=_share,
        default=queue_defaults.DEFAULT_RANDOM_SHARE,
        metavar="X",
        help=f"share of random picks in the uncertainty queue (default "
        f"{queue_defaults.DEFAULT_RANDOM_SHARE})",
    )
    queue.add_argument("--seed", type=int, help="seed of the random picks (default: fresh)")
    window = queue.add_mutually_exclusive_group()
    window.add_argument(
        "--all-articles",
        action="store_true",
        help=f"every article instead of the last {DEFAULT_WINDOW_DAYS} days",
    )
    window.add_argument(
        "--lookback-days", type=_positive, metavar="N", help="the last N days of discovery_date"
    )
    queue.add_argument("-o", "--output", choices=("table", "json"), default="table")

    label = commands.add_parser(
        "label",
        help="record a label where the article is still unreviewed: one (--article, "
        "--relevant), or a batch of 'ARTICLE_ID y|n' lines from stdin (-)",
    )
    _scope_arguments(label)
    label.add_argument("--article", type=int, metavar="ID")
    label.add_argument(
        "--relevant", type=answer, metavar="y|n", help=f"{ANSWER_WORDS} (case ignored)"
    )
    label.add_argument(
        "batch",
        nargs="?",
        metavar="-",
        help="read 'ARTICLE_ID y|n' lines from stdin (blank lines and # comments skipped); "
        "every line is checked before any label is written",
    )


def queue_json(queue: Queue) -> dict:
    return {
        "unreviewed": queue.unreviewed,
        "labels": queue.labels,
        "positives": queue.positives,
        "versions": queue.versions,
        "notes": list(queue.notes),
        "articles": [
            {
                "article_id": item.article_id,
                "title": item.title,
                "probabilities": {s.algorithm: round(s.probability, 4) for s in item.scores},
                "uncertainty": None if item.uncertainty is None else round(item.uncertainty, 4),
                "reason": item.reason,
                "random_pick": item.random_pick,
            }
            for item in queue.items
        ],
    }


def print_queue(queue: Queue, out: Output) -> None:
    versions = ", ".join(f"{a} {v}" for a, v in queue.versions.items()) or "none"
    print(
        f"{queue.unreviewed} unreviewed, {queue.labels} labels ({queue.positives} relevant); "
        f"versions: {one_line(versions)}",
        file=out,
    )
    for note in queue.notes:
        print(f"note: {one_line(note)}", file=out)
    for item in queue.items:
        scores = " ".join(f"{s.algorithm}={s.probability:.2f}" for s in item.scores) or "-"
        title = one_line(item.title)
        title = title if len(title) <= 70 else title[:69] + "…"
        print(f"{item.article_id:>8}  {scores:<40}  {title}", file=out)
        print(f"{'':>8}  {one_line(item.reason)}", file=out)


class ProgressLines:
    """The queue's scoring progress as lines on stderr: what is to score, then how far, at
    most one line every PROGRESS_EVERY seconds, and the last. The job tells progress once per
    batch and one batch (summarising included) can take many seconds: while it does, a line
    every `quiet` seconds says how long it has been, so a silent terminal never means stuck."""

    def __init__(self, err: Output, quiet: float = QUIET_EVERY) -> None:
        self.err = err
        self.quiet = quiet
        self.last = 0.0
        self.started = 0.0
        self.done = self.total = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker: threading.Thread | None = None

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()

    def say(self, line: str) -> None:
        with self.lock:
            self.last = time.monotonic()
            print(line, file=self.err, flush=True)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        self.done, self.total = done, total
        if done == 0:
            self.started = now
            self.say(
                f"review: scoring {total} articles that have no stored prediction of the "
                "served versions (predict_articles stores them)"
            )
            if self.ticker is None:
                self.ticker = threading.Thread(target=self._tick, daemon=True)
                self.ticker.start()
        elif done == total or now - self.last >= PROGRESS_EVERY:
            self.say(f"review: scored {done} of {total}")
        if done == total:
            self.stop.set()

    def _tick(self) -> None:
        while not self.stop.wait(self.quiet / 4):
            if time.monotonic() - self.last >= self.quiet and not self.stop.is_set():
                elapsed = time.monotonic() - self.started
                self.say(
                    f"review: scored {self.done} of {self.total} so far ({elapsed:.0f} s; "
                    "summarising and scoring a batch)"
                )


def model_failure(error: BaseException) -> str | None:
    """One line saying which setting names the model that failed to load, and what to do; None
    when `error` was not raised while the job loaded a model a setting names."""
    from gregory.ml.core.config import setting

    for frame, _ in traceback.walk_tb(error.__traceback__):
        found = MODEL_SETTINGS.get(frame.f_globals.get("__name__", ""))
        if found is None:
            continue
        what, name = found
        return (
            f"{what} cannot be loaded from {name}={one_line(setting(name))} "
            f"({one_line(error)}): set {name} to a local checkpoint directory, or to a hub id "
            "in this machine's cache (HF_HUB_OFFLINE=0 lets review download it), the one the "
            "served versions were trained with (`make tiny-models` builds small offline ones; "
            "the Makefile's targets set them)"
        )
    return None


def read_batch(lines: Iterable[str]) -> list[tuple[int, bool]]:
    """(article, relevant) of each 'ARTICLE_ID y|n' line; LauncherError (usage) naming the first
    malformed line, so a batch is written whole or not at all."""
    labels = []
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            article, said = words
            labels.append((int(article), ANSWERS[said.lower()]))
        except (ValueError, KeyError):
            raise LauncherError(
                f"stdin line {number}: {one_line(line)!r} is not 'ARTICLE_ID y|n' ({ANSWER_WORDS})",
                exit_codes.USAGE,
            ) from None
    return labels


def _labels(options: argparse.Namespace) -> list[tuple[int, bool]]:
    """The labels the command line asks for: one, or the batch on stdin."""
    single = options.article is not None or options.relevant is not None
    if options.batch is not None:
        if options.batch != "-" or single:
            raise LauncherError(
                "label takes --article and --relevant, or - to read a batch from stdin",
                exit_codes.USAGE,
            )
        return read_batch(sys.stdin)
    if options.article is None or options.relevant is None:
        raise LauncherError(
            "label needs --article ID and --relevant y|n (or - to read a batch from stdin)",
            exit_codes.USAGE,
        )
    return [(options.article, options.relevant)]


def write_labels(
    options: argparse.Namespace, labels: list[tuple[int, bool]], out: Output, err: Output
) -> int:
    """Each label in turn; one refused (already labelled, not the subject's) is one line on
    stderr and the others are still written. The status of the worst refusal."""
    from gregory.labels import AlreadyLabelled, LabelError
    from launcher import review

    flags = review.scope_flags(options.team, options.subject, all_articles=True)
    status = exit_codes.OK
    for article, relevant in labels:
        try:
            written = review.write_label(flags, article, relevant)
        except LabelError as error:
            if len(labels) == 1:
                raise
            code = exit_codes.RUN_FAILED if isinstance(error, AlreadyLabelled) else exit_codes.USAGE
            status = max(status, code)
            print(f"gregory-launch: error: {one_line(error)}", file=err, flush=True)
            continue
        made = " (new relevance row)" if written.created_row else ""
        said = "relevant" if written.relevant else "not relevant"
        print(
            f"labelled article {written.article_id} {said} for "
            f"{options.team}/{options.subject}{made}",
            file=out,
            flush=True,
        )
    return status


def run(options: argparse.Namespace, out: Output, err: Output | None = None) -> int:
    from gregory.labels import AlreadyLabelled, LabelError
    from gregory.ml.store.provenance import VersionUnusable
    from launcher import review

    try:
        if options.command == "review":
            flags = review.scope_flags(
                options.team,
                options.subject,
                lookback_days=options.lookback_days,
                all_articles=options.all_articles,
            )
            with ProgressLines(err or sys.stderr) as progress:
                queue = review.load_queue(
                    flags,
                    count=options.count,
                    strategy=options.strategy,
                    random_share=options.random_share,
                    seed=options.seed,
                    progress=progress,
                )
            if options.output == "json":
                json.dump(queue_json(queue), out, indent=2)
                print(file=out)
            else:
                print_queue(queue, out)
            return 0
        return write_labels(options, _labels(options), out, err or sys.stderr)
    except FlagError as error:
        raise LauncherError(str(error), exit_codes.USAGE) from error
    except ModuleNotFoundError as error:
        # The slim launcher image has no ML stack: the queue is scored where the job's extras are.
        raise LauncherError(
            f"{options.command} needs the job's ML stack ({error.name} is not installed): "
            "pip install 'gregory-train[train]'",
            exit_codes.USAGE,
        ) from error
    except VersionUnusable as error:
        # The queue leaves a damaged algorithm out with a note; this is a store it cannot read.
        raise LauncherError(one_line(error), 1) from error
    except AlreadyLabelled as error:
        raise LauncherError(str(error), 1) from error
    except LabelError as error:
        raise LauncherError(str(error), exit_codes.USAGE) from error
    except Exception as error:
        # Scoring the rest loads the summariser: a model that cannot load (no hub, a wrong
        # path) names its setting; anything else is one line too, the traceback behind -v.
        if line := model_failure(error):
            raise LauncherError(f"{options.command}: {line}", exit_codes.USAGE) from error
        if isinstance(error, OSError):
            raise LauncherError(f"{options.command}: {one_line(error)}", 1) from error
        raise
