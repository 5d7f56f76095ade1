"""How the launcher fails: in one line, with the exit status that says whether trying again
can help.

The CLI exits 2 for a usage or configuration error (retrying the same command cannot help), 1
for a run that failed (or was cancelled, or lost) or a database or cluster that could not be
reached, 3 when no run has the name given, 130 when Ctrl+C detached it from a run that goes on.
"""

from __future__ import annotations

import argparse
import signal
from typing import NoReturn

from gregory import exit_codes
from launcher.backends.base import BackendError

# The job's statuses (gregory.exit_codes: 0 ok, 1 run failed, 2 usage) and the launcher's own.
NO_SUCH_RUN = 3
DETACHED = exit_codes.for_signal(signal.SIGINT)  # 130, as a shell reports Ctrl+C


class LauncherError(Exception):
    """A failure to report in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class ConfigurationError(BackendError):
    """A kubeconfig, GREGORY_BACKEND or GREGORY_LAUNCHER_DIR that cannot work, in one line."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """A usage error is one line (`gregory-launch submit: error: …`), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(exit_codes.USAGE, f"{self.prog}: error: {message}\n")
