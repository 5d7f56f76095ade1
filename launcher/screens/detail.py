"""One PredictionRunLog row in full, like `kubectl describe`: flags, error, model directory,
metrics.json beside the previous version's, and its report."""

from __future__ import annotations

import shlex
import webbrowser

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from launcher.history import Entry
from launcher.safe_text import plain
from launcher.screens.base import LauncherScreen
from launcher.widgets.tables import as_text, when


class DetailScreen(LauncherScreen):
    BINDINGS = [
        Binding("o", "open_report", "Open report"),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, entry: Entry) -> None:
        super().__init__()
        self.entry = entry
        # The last path handed to the browser (tests read it; nothing else does).
        self.opened: str | None = None

    def describe_lines(self) -> list[str]:
        entry, row = self.entry, self.entry.row
        lines = [
            f"Row:          {row.id} ({row.run_type})",
            f"Scope:        {row.team}/{row.subject} {row.algorithm or '?'}",
            f"State:        {entry.outcome}",
            f"Started:      {when(row.started)}",
            f"Finished:     {when(row.finished)}  ({entry.duration})",
            f"Version:      {row.model_version or '-'}",
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
        if entry.previous_version:
            lines.append(f"Compared to:  {entry.previous_version}")
        if row.error_text:
            lines += ["", "Error:", row.error_text]
        return lines

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            text = plain("\n".join(self.describe_lines()))
            yield Static(text, id="detail-text", markup=False)
            yield Static("metrics.json", classes="section")
            yield DataTable(id="metrics", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"row {self.entry.row.id}"
        table = self.query_one("#metrics", DataTable)
        table.add_columns("metric", "value", "previous version", "change")
        for key, value, old, change in self.entry.changes():
            table.add_row(*(as_text(str(cell)) for cell in (key, value, old, change)), key=key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # No report, no key for it in the footer.
        if action == "open_report":
            return self.entry.report is not None
        return True

    def action_open_report(self) -> None:
        report = self.entry.report
        if report is None:
            return
        self.opened = str(report)
        webbrowser.open(report.as_uri())

    def action_back(self) -> None:
        self.app.pop_screen()
