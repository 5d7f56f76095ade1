"""Failures of the launcher's own configuration: retrying the same command cannot help.

The CLI exits 2 for these (as for a usage error), 1 for a run that failed or a database or
cluster that could not be reached.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from gregory import exit_codes
from launcher.backends.base import BackendError


class ConfigurationError(BackendError):
    """A kubeconfig, GREGORY_BACKEND or GREGORY_LAUNCHER_DIR that cannot work, in one line."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """A usage error is one line (`gregory-launch submit: error: …`), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(exit_codes.USAGE, f"{self.prog}: error: {message}\n")
