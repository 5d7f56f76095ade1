"""What `gregory-launch status` and `history` print: aligned tables with a header (rich lays
them out; the text stays plain, no colour or escape, whatever the terminal) and JSON for scripts.

Both filter the same way: `--team`, `--state` (a run's state or a row's outcome; `ok` and
`succeeded` are one), `--limit`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from typing import Any

from gregory.algorithms import ALGORITHM_NAMES
from launcher import db, history
from launcher.backends.base import RunState
from launcher.operations import Overview, RowView, RunView
from launcher.safe_text import Output, one_line

# Every word `--state` takes: the runs' states and the rows' outcomes.
STATES = tuple(dict.fromkeys([*(str(state) for state in RunState), "ok", "cancelled"]))


# Columns as wide as their longest possible value, so they sit still from one call to the next.
MIN_WIDTHS = {"ALGORITHM": max(len(name) for name in ALGORITHM_NAMES)}


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of a table: a header, then the rows, columns two spaces apart, never wrapped."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="")
    for header in headers:
        grid.add_column(header, no_wrap=True, overflow="ignore", min_width=MIN_WIDTHS.get(header))
    for row in rows:
        # Text, not str: a name such as "[bold]" is data, never markup.
        grid.add_row(*(Text(one_line(cell)) for cell in row))
    buffer = StringIO()
    console = Console(
        file=buffer, width=100_000, color_system=None, force_terminal=False, highlight=False
    )
    console.print(grid)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


def time_text(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def same_state(wanted: str, *states: str) -> bool:
    """`--state` against a run's state and a row's outcome; ok and succeeded are one."""
    alias = {"ok": "succeeded"}
    return alias.get(wanted, wanted) in {alias.get(state, state) for state in states}


@dataclass(frozen=True)
class Filters:
    team: str | None = None
    state: str | None = None
    limit: int | None = None


# -- status ---------------------------------------------------------------------------------


def filter_overview(overview: Overview, only: str | None, filters: Filters) -> Overview:
    """The runs (and the other rows) the filters keep; a run kept for its state keeps all its
    rows, one kept for a row keeps the rows that match."""
    runs: list[RunView] = []
    for view in overview.runs:
        if only is not None and view.run.name != only:
            continue
        rows = tuple(row for row in view.rows if filters.team in (None, row.row.team))
        if filters.team is not None and view.run.team != filters.team and not rows:
            continue
        if filters.state is not None and not same_state(filters.state, str(view.run.state)):
            rows = tuple(row for row in rows if same_state(filters.state, row.outcome))
            if not rows:
                continue
        runs.append(RunView(view.run, rows, view.progress))
    others = tuple(
        row
        for row in overview.other_rows
        if only is None
        and filters.team in (None, row.row.team)
        and (filters.state is None or same_state(filters.state, row.outcome))
    )
    if filters.limit is not None:
        runs, others = runs[: filters.limit], others[: filters.limit]
    return Overview(tuple(runs), others, overview.db_error)


def _row_fields(row: db.RunRow, outcome: str) -> dict[str, Any]:
    """What `status` and `history` both say of a PredictionRunLog row, first in each."""
    return {
        "id": row.id,
        "team": row.team,
        "subject": row.subject,
        "algorithm": row.algorithm,
        "run_type": row.run_type,
        "outcome": outcome,
        "started": row.started.isoformat(),
        "finished": row.finished.isoformat() if row.finished else None,
        "model_version": row.model_version or None,
    }


def row_json(view: RowView) -> dict[str, Any]:
    row = view.row
    return {
        **_row_fields(row, view.outcome),
        "triggered_by": row.triggered_by,
        "error": row.error,
        "error_message": row.error_text,
        **history.headline(view.metrics),
    }


def overview_json(overview: Overview) -> dict[str, Any]:
    return {
        "runs": [
            {
                "name": view.run.name,
                "team": view.run.team,
                "subject": view.run.subject,
                "state": str(view.run.state),
                "created": view.run.created.isoformat(),
                "finished": view.run.finished.isoformat() if view.run.finished else None,
                "detail": view.run.detail,
                "argv": list(view.run.argv),
                "rows": [row_json(row) for row in view.rows],
            }
            for view in overview.runs
        ],
        "other_rows": [row_json(row) for row in overview.other_rows],
        "database_error": overview.db_error,
    }


STATUS_COLUMNS = ("RUN", "STATE", "TEAM/SUBJECT", "ALGORITHM", "OUTCOME", "TEST ROC-AUC")
STATUS_TAIL = ("STARTED", "VERSION")
# BY: triggered_by, as the History search's `by:` key.
STATUS_WIDE = ("FINISHED", "DURATION", "DETAIL", "BY")


def _duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "-"
    seconds = int((end - start).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _status_line(run: RunView | None, view: RowView | None, wide: bool) -> list[str]:
    """One line: a row of a run, a run without rows yet, or a row no run of ours claims."""
    if view is None:
        assert run is not None
        scope = f"{run.run.team}/{run.run.subject or '*'}"
        line = [run.run.name, str(run.run.state), scope, "-", "-", "-"]
        line += [time_text(run.run.created), "-"]
        if wide:
            line += [time_text(run.run.finished), "-", run.run.detail or "-", "-"]
        # No row yet (pending, or ended before its first): the run's own word on why.
        return [*line, run.progress or run.run.detail]
    row = view.row
    name = run.run.name if run is not None else row.triggered_by or "-"
    state = str(run.run.state) if run is not None else "-"
    line = [
        name,
        state,
        f"{row.team}/{row.subject}",
        row.algorithm or "?",
        view.outcome,
        view.roc_auc,
        time_text(row.started),
        row.model_version or "-",
    ]
    if wide:
        detail = run.run.detail if run is not None else ""
        line += [
            time_text(row.finished),
            _duration(row.started, row.finished),
            detail or "-",
            row.triggered_by or "-",
        ]
    return [*line, row.error or ""]


def render_status(overview: Overview, out: Output, output: str, nothing: str = "") -> None:
    """The table (or JSON); `nothing` is what to say when no line is left, if not the
    default that no run was ever submitted."""
    if output == "json":
        json.dump(overview_json(overview), out, indent=2)
        print(file=out)
        return
    wide = output == "wide"
    lines: list[list[str]] = []
    for run in overview.runs:
        if not run.rows:
            lines.append(_status_line(run, None, wide))
        lines += [_status_line(run, view, wide) for view in run.rows]
    # Rows no run of this launcher claims (started by hand, by the CronJob, by another
    # machine): their RUN is who triggered them, and the launcher knows no state of theirs.
    lines += [_status_line(None, view, wide) for view in overview.other_rows]
    if not lines:
        print(
            nothing or "no runs submitted from this launcher yet, and no PredictionRunLog rows",
            file=out,
        )
        return
    headers = [*STATUS_COLUMNS, *STATUS_TAIL, *(STATUS_WIDE if wide else ()), "ERROR"]
    for text in table(headers, lines):
        print(text, file=out)


# -- history --------------------------------------------------------------------------------


def filter_entries(
    entries: Sequence[history.Entry], query: history.Query, filters: Filters
) -> list[history.Entry]:
    kept = [
        entry
        for entry in entries
        if filters.team in (None, entry.row.team)
        and (filters.state is None or same_state(filters.state, entry.outcome))
        and query.matches(entry)
    ]
    return kept if filters.limit is None else kept[: filters.limit]


def entry_json(entry: history.Entry) -> dict[str, Any]:
    row = entry.row
    return {
        **_row_fields(row, entry.outcome),
        "promoted": entry.promoted,
        "triggered_by": row.triggered_by,
        "run": entry.run.name if entry.run is not None else None,
        "error": row.error,
        **history.headline(entry.metrics),
        "previous_version": entry.previous_version,
        "report": str(entry.report) if entry.report is not None else None,
        "foreign": entry.foreign,
        # The whole metrics.json of the version: every measure and setting, for scripts.
        "metrics": entry.metrics,
    }


HISTORY_COLUMNS = (
    "ID",
    "STARTED",
    "TEAM/SUBJECT",
    "ALGORITHM",
    "TYPE",
    "STATE",
    "TEST ROC-AUC",
    "DECISION",
    "VERSION",
)
HISTORY_WIDE = ("F1", "N TRAIN", "DURATION", "BY")


def render_history(entries: Sequence[history.Entry], out: Output, output: str) -> None:
    if output == "json":
        json.dump({"rows": [entry_json(entry) for entry in entries]}, out, indent=2)
        print(file=out)
        return
    if not entries:
        print("no PredictionRunLog rows to show", file=out)
        return
    wide = output == "wide"
    lines = []
    for entry in entries:
        row = entry.row
        version = row.model_version or "-"
        line = [
            str(row.id),
            time_text(row.started),
            f"{row.team}/{row.subject}",
            row.algorithm or "?",
            row.run_type,
            entry.outcome,
            entry.roc_auc,
            entry.decision,
            f"{version} (promoted)" if entry.promoted else version,
        ]
        if wide:
            line += [entry.f1, entry.n_train, entry.duration, row.triggered_by or "-"]
        lines.append([*line, row.error or ""])
    headers = [*HISTORY_COLUMNS, *(HISTORY_WIDE if wide else ()), "ERROR"]
    for text in table(headers, lines):
        print(text, file=out)
