"""Import contract: the launcher starts without the ML stack.

The slim launcher image installs only the `launcher` extra (no numpy, torch, scikit-learn...),
so every launcher module and every `gregory-launch ... --help` must work with those packages
absent. A static import graph (import-linter) cannot express "at start-up": the review command
legitimately imports the ML stack inside its functions, once it runs. So this check runs the
real entry points in a fresh interpreter where importing any ML package raises, and prints one
line per breach.

    python tools/import_contract.py   # exit 0 when held, 1 with the breaches listed
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the training image has and the launcher image has not (pyproject's train and ml extras).
ML_STACK = (
    "numpy",
    "torch",
    "sklearn",
    "scipy",
    "lightgbm",
    "joblib",
    "transformers",
    "tokenizers",
    "safetensors",
    "h5py",
    "matplotlib",
    "bs4",
)
# The commands the nightly CronJob and an operator run first; each parses its own parser.
HELP_COMMANDS = (
    (),
    ("submit",),
    ("submit", "--command", "predict"),
    ("status",),
    ("logs",),
    ("cancel",),
    ("review",),
    ("label",),
)

PROBE = r"""
import importlib, importlib.abc, io, pkgutil, sys, contextlib

BLOCKED = set(sys.argv[1].split(","))
breaches = []


class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            breaches.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, Block())
failures = []
import launcher

for module in pkgutil.walk_packages(launcher.__path__, "launcher."):
    try:
        importlib.import_module(module.name)
    except Exception as error:
        failures.append(f"import {module.name}: {type(error).__name__}: {error}")

from launcher import cli

for spec in sys.argv[2:]:
    argv = [*filter(None, spec.split(" ")), "--help"]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(argv, err=io.StringIO())
    except SystemExit as exit:
        code = exit.code
    except Exception as error:
        code = f"{type(error).__name__}: {error}"
    if code not in (0, None):
        failures.append(f"gregory-launch {' '.join(argv)}: {code}")

for name in sorted(set(breaches)):
    failures.append(f"tried to import at start-up: {name}")
print("\n".join(failures))
sys.exit(1 if failures else 0)
"""


def check(python: str = sys.executable, blocked: tuple[str, ...] = ML_STACK) -> list[str]:
    """The breaches, one line each; empty when the contract holds."""
    result = subprocess.run(
        [python, "-c", PROBE, ",".join(blocked), *(" ".join(c) for c in HELP_COMMANDS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 and not lines:
        lines = [f"the probe failed: {result.stderr.strip().splitlines()[-1:]}"]
    return lines


def main() -> int:
    breaches = check()
    for line in breaches:
        print(f"import contract: {line}", file=sys.stderr)
    if not breaches:
        print(f"import contract: the launcher starts without {', '.join(ML_STACK)}")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
