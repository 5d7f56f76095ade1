"""How the job words why something failed, in one place: the launcher and GregoryAI's readers
match on these, and a terminal or a table cell has room for one line.

Pure Python (no Django, no ML stack), so the launcher imports it too.
"""

from __future__ import annotations

# Rows of runs that died without closing them are closed with this prefix (ml.runs.liveness);
# the launcher shows such a row as lost rather than failed.
LOST_PREFIX = "lost: "
# A run a signal stopped (a cancel's SIGTERM, Ctrl+C) says so with this prefix (ml.runs.lifecycle,
# the commands' exit line); the launcher shows its row as cancelled rather than failed.
INTERRUPTED_PREFIX = "interrupted by "


def first_line(error: BaseException | str | None) -> str:
    """The first non-empty line of an error (its type's name when it says nothing)."""
    if error is None:
        return ""
    text = str(error).strip()
    if text:
        return text.splitlines()[0].strip()
    return type(error).__name__ if isinstance(error, BaseException) else ""


def interrupted(signal_name: object) -> str:
    """Why a run a signal stopped ended: `interrupted by SIGTERM`."""
    return f"{INTERRUPTED_PREFIX}{signal_name}"


def lost(reason: str) -> str:
    """The error message of a run judged lost."""
    return f"{LOST_PREFIX}{reason}"
