"""A PredictionRunLog row's outcome as the launcher shows it: ok, failed, cancelled, running or
lost.

The runs screen, `status` and the history all judge rows this one way.
"""

from __future__ import annotations

from gregory.reasons import LOST_PREFIX
from launcher import db
from launcher.backends.base import RunInfo, RunState


def run_outcome(state: str, detail: str) -> str:
    """How a run ended, as the Log screen's title and the CLI's last line say it: `succeeded`,
    `failed: exit 1 (a run failed)`, `cancelled (exit 143)`: the state once, its detail where
    it adds something."""
    if not detail or detail == "exit 0":
        return state
    if detail.startswith(state):
        return detail
    return f"{state}: {detail}"


def row_outcome(row: db.RunRow, run: RunInfo | None) -> str:
    if row.success is False and (row.error or "").startswith(LOST_PREFIX):
        return "lost"
    if row.success is not None:
        # A Job past its deadline is stopped by SIGTERM too: its run says failed, not cancelled.
        if row.outcome == "cancelled" and run is not None and run.state is RunState.FAILED:
            return "failed"
        return row.outcome
    # The job updates its row on every normal exit and on SIGTERM; a run that is over while the
    # row still says running died without the chance (OOM kill, SIGKILL, node loss).
    if run is not None and run.state.finished:
        return "lost"
    return "running"
