"""Live feedback of the form: what is wrong with the flag set, or the exact commands it makes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class CommandPreview(Static):
    problems: list[str] = []
    commands: list[str] = []

    warnings: list[str] = []

    def show(
        self,
        problems: list[str],
        commands: list[str],
        runs: int | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        """`runs`: how many runs the commands make, when fewer (some run in turn); `warnings`:
        what will fail in them although the rest can go."""
        self.problems, self.commands = list(problems), list(commands)
        self.warnings = list(warnings or [])
        text = Text()
        if problems:
            text.append("Problems\n", style="bold red")
            for problem in problems:
                text.append(f"• {problem}\n", style="red")
        else:
            count = len(commands) if runs is None else runs
            head = f"Will submit {count} run{'s' if count != 1 else ''}"
            if count < len(commands):
                head += f" ({len(commands)} commands, in turn)"
            text.append(head + "\n", style="bold green")
            for warning in self.warnings:
                text.append(f"! {warning}\n", style="yellow")
            for command in commands:
                text.append(f"$ {command}\n")
        self.update(text)
        self.set_class(bool(problems), "-invalid")
