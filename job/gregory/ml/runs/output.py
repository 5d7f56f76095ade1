"""What a run tells the operator: the Say callback, each run's Outcome, the summary table and
the one-line failure report. The command decides where the words go and how they are coloured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gregory.models import PredictionRunLog, Subject
from gregory.reasons import first_line

Style = Literal["success", "warning", "error"]
# (verbosity level, message, style)
Say = Callable[[int, str, Style | None], None]


@dataclass
class Outcome:
    """What one (subject, algorithm) run came to, for the summary and the exit status."""

    subject: Subject
    algorithm: str
    version: str
    success: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def scope(self) -> str:
        return f"{self.subject.team.slug}/{self.subject.subject_slug}"


def summary_table(
    outcomes: Sequence[Outcome], columns: Sequence[str], cell: Callable[[Any], str]
) -> list[str]:
    """One aligned line per run: its scope, algorithm, version, status, then `columns` of its
    metrics formatted by `cell` ("-" where a run has none), for verbosity 3."""
    header = ["team/subject", "algorithm", "version", "status", *columns]
    rows = [
        [
            o.scope,
            o.algorithm,
            o.version or "-",
            "ok" if o.success else "FAILED",
            *(cell(o.metrics[c]) if c in o.metrics else "-" for c in columns),
        ]
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]


def report_failure(label: str, error: Exception, row: PredictionRunLog | None, say: Say) -> str:
    """Tell the operator a run failed, in one line, and where its traceback is; the reason."""
    reason = first_line(error)
    say(1, f"Failed {label}: {reason}", "error")
    if row is not None:
        say(
            2,
            f"Warning: skipped {label}; the traceback is in PredictionRunLog #{row.pk}",
            "warning",
        )
    return reason
