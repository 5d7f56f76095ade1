"""`make train|tui|status` show the launcher's output, not the shell's expansion of its
command line."""

from __future__ import annotations

from pathlib import Path

LAUNCHER_MK = Path(__file__).resolve().parents[2] / "launcher" / "launcher.mk"


def recipe_commands(text: str) -> dict[str, list[str]]:
    """Each target's recipe commands (continuation lines joined), by target."""
    commands: dict[str, list[str]] = {}
    target = None
    continued = False
    for line in text.splitlines():
        if line.startswith("\t") and target is not None:
            if continued:
                commands[target][-1] += line.strip()
            else:
                commands.setdefault(target, []).append(line[1:])
            continued = line.endswith("\\")
        elif line and not line.startswith("#") and ":" in line and "=" not in line.split(":")[0]:
            target, continued = line.split(":")[0].strip(), False
    return commands


def test_the_launchers_targets_echo_no_recipe_line() -> None:
    commands = recipe_commands(LAUNCHER_MK.read_text())
    for target in ("train", "tui", "status"):
        launching = [c for c in commands[target] if "$(LAUNCH)" in c]
        assert launching, target
        assert all(c.startswith("@") for c in launching), (target, launching)


def test_what_make_train_runs_first_echoes_no_recipe_line() -> None:
    makefile = LAUNCHER_MK.parents[1] / "Makefile"
    commands = recipe_commands(makefile.read_text())
    for target in ("var", "tiny-models"):  # prerequisites of train and tui
        assert commands[target], target
        assert all(c.startswith("@") for c in commands[target]), (target, commands[target])
