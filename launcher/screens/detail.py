"""One PredictionRunLog row in full, like `kubectl describe` above MLflow's compare view: the
headline test metrics with their intervals first, beside another version of the same subject
(the one trained before, or one marked on History); the decision's reasons wrapped; every other
metric, then the settings, apart, each under a fixed name column; `c` keeps only what changed."""

from __future__ import annotations

import json
import shlex
import webbrowser
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from launcher.history import Entry
from launcher.safe_text import one_line, plain
from launcher.screens.base import LauncherScreen
from launcher.widgets.tables import as_text, when

# The test metrics an operator compares first, in this order; each with its interval where
# metrics.json has `<key>_ci_low`/`_ci_high`.
HEADLINE = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier", "ece")
# Shown as text under Decision, not as table cells (a list of sentences, a long line).
DECISION_KEYS = ("decision", "decision_reasons", "gate_comparison")
# A cell longer than this is cut (its whole value is one JSON line: `kubectl describe` it is
# not); the name column stays fixed when the table scrolls sideways.
CELL = 40


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def show(value: object) -> str:
    """A value as a cell: numbers to 4 significant digits, lists and dicts as one JSON line,
    cut at CELL characters."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True)
    else:
        text = str(value)
    text = one_line(text)
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def change(value: object, old: object) -> str:
    new, before = _number(value), _number(old)
    if new is None or before is None:
        return "" if value == old or old is None else "changed"
    return "" if new == before else f"{new - before:+.4g}"


def with_interval(metrics: dict[str, Any], key: str) -> str:
    value = _number(metrics.get(key))
    if value is None:
        return "-"
    low, high = _number(metrics.get(f"{key}_ci_low")), _number(metrics.get(f"{key}_ci_high"))
    interval = f" [{low:.3f}-{high:.3f}]" if low is not None and high is not None else ""
    return f"{value:.3f}{interval}"


def is_setting(key: str) -> bool:
    """Settings and provenance (seed, libraries, thresholds, window) against measurements."""
    return not key.startswith(("test_", "val_", "n_"))


def metric_order(key: str) -> tuple[int, str]:
    # Test before validation before counts; alphabetical within each.
    for rank, prefix in enumerate(("test_", "val_", "n_")):
        if key.startswith(prefix):
            return (rank, key)
    return (3, key)


class DetailScreen(LauncherScreen):
    BINDINGS = [
        Binding("o", "open_report", "Open report"),
        Binding("l", "logs", "Logs"),
        Binding("c", "only_changes", "Only changes"),
        Binding("escape,q", "back", "Back"),
    ]
    KEY_HELP = {
        "open_report": "when the version has a report.html: in a browser, else its path",
        "logs": "when a launcher run wrote this row: its log",
        "only_changes": "keep only what differs from the version compared with (again: all)",
        "back": "to the screen this came from",
    }

    def __init__(self, entry: Entry, against: Entry | None = None) -> None:
        super().__init__()
        self.entry = entry
        # Compared with `against` (marked on History), else the version trained before.
        self.against = against
        self.only_changes = False
        # The last path handed to the browser (tests read it; nothing else does).
        self.opened: str | None = None

    @property
    def other(self) -> dict[str, Any]:
        if self.against is not None:
            return self.against.metrics
        return self.entry.previous or {}

    @property
    def other_name(self) -> str | None:
        if self.against is not None:
            row = self.against.row
            return f"{row.model_version or '-'} ({row.algorithm or '?'}, row {row.id})"
        return self.entry.previous_version

    def describe_lines(self) -> list[str]:
        entry, row = self.entry, self.entry.row
        lines = [
            f"Row:          {row.id} ({row.run_type})",
            f"Scope:        {row.team}/{row.subject} {row.algorithm or '?'}",
            f"State:        {entry.outcome}",
            f"Started:      {when(row.started)}",
            f"Finished:     {when(row.finished)}  ({entry.duration})",
            f"Version:      {row.model_version or '-'}{'  (promoted)' if entry.promoted else ''}",
            f"Triggered by: {row.triggered_by or '-'}",
        ]
        if entry.run is not None:
            lines.append(f"Run:          {entry.run.name} ({entry.run.state}, {entry.run.detail})")
            lines.append(f"Command:      {shlex.join(entry.run.argv) or '-'}")
        lines.append(f"Model dir:    {entry.model_dir or '-'}")
        if entry.foreign:
            lines.append(f"Refused:      {entry.foreign}")
        lines.append(f"Report:       {entry.report or '-'}")
        lines.append(f"Decision:     {entry.decision}")
        lines.append(f"Compared to:  {self.other_name or '- (no earlier version)'}")
        if row.error_text:
            lines += ["", "Error:", row.error_text]
        return lines

    def decision_text(self) -> str:
        """The decision's reasons, one per line, wrapped by the widget (never a table cell)."""
        metrics = self.entry.metrics
        reasons = metrics.get("decision_reasons")
        lines = [f"- {one_line(reason)}" for reason in reasons] if isinstance(reasons, list) else []
        if metrics.get("gate_comparison") and not any(
            str(metrics["gate_comparison"]) in line for line in lines
        ):
            lines.append(f"- {one_line(metrics['gate_comparison'])}")
        return "\n".join(lines) or "(no reasons recorded)"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            text = plain("\n".join(self.describe_lines()))
            yield Static(text, id="detail-text", markup=False)
            yield Static("", id="headline-title", classes="section", markup=False)
            yield DataTable(id="headline", cursor_type="row", fixed_columns=1)
            yield Static("Why this decision", classes="section")
            yield Static(plain(self.decision_text()), id="decision-text", markup=False)
            yield Static("Every metric", classes="section")
            yield DataTable(id="metrics", cursor_type="row", fixed_columns=1)
            yield Static("Settings and provenance", classes="section")
            yield DataTable(id="settings", cursor_type="row", fixed_columns=1)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"row {self.entry.row.id}"
        other = self.other_name or "no earlier version"
        self.query_one("#headline-title", Static).update(
            plain(f"Test metrics [95% CI]: this version against {other}")
        )
        for table in self.query(DataTable):
            table.add_columns("name", "this version", "compared with", "change")
        self.fill()

    def fill(self) -> None:
        """The three tables, all rows or only those that changed."""
        metrics, other = self.entry.metrics, self.other
        headline = self.query_one("#headline", DataTable)
        headline.clear()
        for name in HEADLINE:
            key = f"test_{name}"
            if key not in metrics and key not in other:
                continue
            cells = (key, with_interval(metrics, key), with_interval(other, key))
            diff = change(metrics.get(key), other.get(key))
            if self.only_changes and not diff:
                continue
            headline.add_row(*(as_text(cell) for cell in (*cells, diff)), key=key)
        for table_id, settings in (("#metrics", False), ("#settings", True)):
            table = self.query_one(table_id, DataTable)
            table.clear()
            keys = sorted(
                (k for k in {*metrics, *other} if k not in DECISION_KEYS),
                key=metric_order,
            )
            for key in keys:
                if is_setting(key) != settings:
                    continue
                value, old = metrics.get(key), other.get(key)
                diff = change(value, old)
                if not diff and other and (key in metrics) != (key in other):
                    diff = "new" if key in metrics else "gone"
                if self.only_changes and not diff:
                    continue
                row = (key, show(value), show(old), diff)
                table.add_row(*(as_text(cell) for cell in row), key=key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # No report, no key for it in the footer; no launcher run, no log.
        if action == "open_report":
            return self.entry.report is not None
        if action == "logs":
            return self.entry.run is not None
        return True

    def action_only_changes(self) -> None:
        self.only_changes = not self.only_changes
        self.fill()
        shown = "only what changed" if self.only_changes else "everything"
        self.notify(f"showing {shown}", markup=False)

    def action_logs(self) -> None:
        from launcher.screens.log import LogScreen

        if self.entry.run is not None:
            self.app.push_screen(LogScreen(self.entry.run.name))

    def action_open_report(self) -> None:
        report = self.entry.report
        if report is None:
            return
        self.opened = str(report)
        try:
            found = webbrowser.open(report.as_uri())
        except webbrowser.Error:
            found = False
        if found is False:
            # No browser here (a server, an SSH session): the path, to copy or fetch.
            self.notify(
                plain(f"no browser found: the report is {report}"),
                title="open report",
                timeout=30,
                markup=False,
            )

    def action_back(self) -> None:
        self.app.pop_screen()
