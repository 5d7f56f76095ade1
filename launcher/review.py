"""The launcher's side of reviewing: the job's queue and label writes, and who labelled what.

The ranking lives in `gregory.ml.review.ranking`, writes in `gregory.labels`; this module
resolves the team and subject with the job's own scope rules, runs them with Django set up
(`db`), and appends
each label and undo to `labels.jsonl` in the launcher's directory: GregoryAI's tables keep
only the label, never who gave it.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gregory.flags import TrainFlags
from launcher import db
from launcher.backends.local import default_root

if TYPE_CHECKING:
    # For types alone: at run time the ranking is imported once a queue is asked for.
    from gregory.ml.review.ranking import Queue

LOG_FILE = "labels.jsonl"
# The offer to retrain comes after this many new labels: one batch of the measured loop.
RETRAIN_AFTER = 30


def reviewer() -> str:
    """Who is labelling: $GREGORY_REVIEWER, else the login name."""
    return os.environ.get("GREGORY_REVIEWER") or getpass.getuser()


def scope_flags(
    team: str, subject: str, *, lookback_days: int | None = None, all_articles: bool = False
) -> TrainFlags:
    """The (validated) flags naming one subject and its window; FlagError if malformed."""
    return TrainFlags(
        team=team, subject=subject, lookback_days=lookback_days, all_articles=all_articles
    ).validate()


def _subject(flags: TrainFlags):
    """The one subject the flags name, refused (ScopeError) by the job's own scope rules; one
    whose auto_predict is off is reviewable (labelling trains nothing)."""
    from gregory.models import Subject
    from gregory.scope import load_teams, selected_pairs

    ((team, subject),) = selected_pairs(flags, load_teams(), with_opted_out=True)
    return Subject.objects.select_related("team").get(team__slug=team, subject_slug=subject)


@db._database
def load_queue(
    flags: TrainFlags,
    *,
    count: int,
    strategy: str,
    random_share: float,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Queue:
    """The review queue of the flags' subject; `progress` is told (scored, to score) while
    articles without a stored prediction are scored."""
    # Scoring must not fetch a model mid-review (the TUI's F5 and `review` alike): without a
    # word from the environment the hub is not asked, so a cached model still loads and a
    # missing one fails at once, in one line, instead of after ~30 s of retries. Set before
    # the import: huggingface_hub reads it once.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gregory.ml.data import dataset
    from gregory.ml.review import ranking

    return ranking.build_queue(
        _subject(flags),
        dataset.window_start(flags.window_days),
        count=count,
        strategy=strategy,
        random_share=random_share,
        seed=seed,
        progress=progress,
    )


@db._database
def write_label(flags: TrainFlags, article_id: int, relevant: bool):
    """Record one label (gregory.labels.record); AlreadyLabelled/NotInSubject propagate."""
    import gregory.labels as labels

    written = labels.record(_subject(flags), article_id, relevant)
    log_action(flags, "label", written.article_id, written.relevant)
    return written


@db._database
def undo_label(flags: TrainFlags, written) -> bool:
    """Back to unreviewed, if the pair still holds this session's label."""
    import gregory.labels as labels

    undone = labels.undo(_subject(flags), written)
    if undone:
        log_action(flags, "undo", written.article_id, written.relevant)
    return undone


def log_path() -> Path:
    return default_root() / LOG_FILE


def log_action(flags: TrainFlags, action: str, article_id: int, relevant: bool) -> None:
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "by": reviewer(),
        "action": action,
        "team": flags.team,
        "subject": flags.subject,
        "article_id": article_id,
        "relevant": relevant,
    }
    # One short line per append: concurrent reviewers' lines do not interleave.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


@dataclass
class Session:
    """One reviewer's sitting on one subject: what they wrote, so undo touches only that."""

    flags: TrainFlags
    written: list = field(default_factory=list)
    skipped: int = 0

    @property
    def labelled(self) -> int:
        return len(self.written)

    @property
    def positives(self) -> int:
        return sum(1 for item in self.written if item.relevant)

    @property
    def offer_retrain(self) -> bool:
        return self.labelled > 0 and self.labelled % RETRAIN_AFTER == 0

    def label(self, article_id: int, relevant: bool):
        written = write_label(self.flags, article_id, relevant)
        self.written.append(written)
        return written

    def undo(self):
        """Undo the last label of this session: (what it was, whether NULL was restored)."""
        if not self.written:
            return None, False
        written = self.written.pop()
        return written, undo_label(self.flags, written)
