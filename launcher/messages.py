"""Results of thread workers, posted back to the screens as small dataclass messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from gregory.scope import TeamScope
from launcher.backends.base import Submission
from launcher.history import Entry
from launcher.operations import Overview


@dataclass
class TeamsLoaded(Message):
    teams: list[TeamScope]


@dataclass
class Failed(Message):
    """A worker could not do its job; `text` is the one line to show."""

    what: str
    text: str
    # The whole error (traceback and causes) for Ctrl+E; empty when the line says it all.
    details: str = ""


@dataclass
class Submitted(Message):
    submissions: list[Submission]


@dataclass
class OverviewLoaded(Message):
    overview: Overview
    # The test ROC-AUC of each training row's version, by row id, where it has one.
    roc_auc: dict[int, str] = field(default_factory=dict)


@dataclass
class LogLines(Message):
    lines: list[str]


@dataclass
class LogEnded(Message):
    reason: str


@dataclass
class Cancelled(Message):
    name: str


@dataclass
class DetailsLoaded(Message):
    entry: Entry


@dataclass
class HistoryLoaded(Message):
    entries: list[Entry]


@dataclass
class LabelsChecked(Message):
    """Which planned subjects training could not split (a class with too few labels)."""

    # What was checked (the form's plan), so a late answer to an older plan is ignored.
    key: tuple[tuple[str | None, str | None, int | None], ...]
    lines: list[str]
    # Every selected subject is blocked: nothing would train.
    every: bool
