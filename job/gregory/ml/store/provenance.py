"""Whether a version directory is this project's.

A models directory may be shared with GregoryAI's own Keras artifacts: their version
directories sit in the same layout with the same file names, but their metrics.json names no
algorithm and their files are in another format. Such a version is never loaded, promoted or
served: every reader refuses it by name with `ForeignVersion`'s one line. Light on purpose (no
numpy, no trainers), so the launcher can tell too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gregory.algorithms import ALGORITHMS
from gregory.ml.core.layout import METRICS_FILE


class VersionUnusable(Exception):
    """Nothing servable where a version (or the pointer to one) was expected: missing, damaged
    or foreign. Every reader of the version store catches this one class and fails that
    algorithm alone with `str()`, one line naming `.path` (the file or directory at fault)."""

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        # One line whatever the cause said: it goes into a run row and a terminal as it is.
        super().__init__(" ".join(str(message).split()))
        self.path = Path(path) if path is not None else None


class VersionNotFound(VersionUnusable, FileNotFoundError):
    """No published version, or not the one asked for; the message says where it looked."""


class ForeignVersion(VersionNotFound):
    """A version directory this project did not write. A VersionNotFound: it is not a
    published version of ours, and every handler of a missing version handles it alike."""


class VersionDamaged(VersionUnusable):
    """A published version of ours that cannot be loaded: an artifact missing, truncated or
    unreadable, or a metrics.json that is not JSON or holds the wrong types."""


class PointerDamaged(VersionUnusable):
    """current.json cannot say which version is promoted (unreadable, not JSON, not a pointer
    this project wrote). Nothing is served or compared until promote_version rewrites it."""


def foreign_reason(metrics: object) -> str | None:
    """Why a parsed metrics.json is not one this project wrote; None when it is."""
    if not isinstance(metrics, dict):
        return "its metrics.json is not a JSON object"
    algorithm = metrics.get("algorithm")
    if not algorithm:
        return "its metrics.json names no algorithm"
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        return f"its metrics.json names algorithm {algorithm!r}, not one of ours"
    return None


def refusal(path: Path, reason: str) -> str:
    return (
        f"version {path.name} in {path.parent} was not written by gregory-train ({reason}): refused"
    )


def own_metrics(path: Path) -> dict[str, Any]:
    """metrics.json of the version in `path`: VersionNotFound when there is none, VersionDamaged
    when it cannot be read as JSON, ForeignVersion when another program wrote it."""
    path = Path(path)
    metrics_path = path / METRICS_FILE
    try:
        data = metrics_path.read_bytes()
    except FileNotFoundError:
        raise VersionNotFound(
            f"{path} has no {METRICS_FILE}: not a published version", metrics_path
        ) from None
    except OSError as error:  # a directory in its place, no permission, an I/O error
        raise VersionDamaged(
            f"{metrics_path} cannot be read ({error.strerror or error}): version {path.name} "
            "is unusable",
            metrics_path,
        ) from None
    try:
        metrics = json.loads(data)
    except ValueError:  # truncated, or not even UTF-8: the other program's would parse
        raise VersionDamaged(
            f"{metrics_path} is not JSON (truncated?): version {path.name} is unusable",
            metrics_path,
        ) from None
    reason = foreign_reason(metrics)
    if reason is not None:
        raise ForeignVersion(refusal(path, reason), metrics_path)
    return metrics


def foreign(path: Path) -> str | None:
    """The refusal line when `path` holds a version another program wrote, else None (ours,
    damaged, or no metrics.json at all: that is for the loader to say)."""
    try:
        own_metrics(path)
    except ForeignVersion as error:
        return str(error)
    except (OSError, VersionUnusable):
        return None
    return None
