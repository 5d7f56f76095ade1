"""Which Job this process works for: read from the environment alone, so any layer may ask.

The launcher names the Kubernetes Job (or the local run) in GREGORY_TRIGGERED_BY; it keys
checkpoints, fills `triggered_by` in the run log and names who moved a pointer.
"""

from __future__ import annotations

import os

ENV = "GREGORY_TRIGGERED_BY"


def job_name() -> str | None:
    """The Job (or launcher run) this process works for, when it was started by one."""
    return os.environ.get(ENV) or None
