"""Where things live in the models directory: <team>/<subject>/<algorithm>/<version>/.

Every path under GREGORY_MODELS_DIR is built here, from slugs checked here, so a slug such as
`../x` read from a database can never point outside it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from django.conf import settings

from gregory.flags import is_slug

PSEUDO_LABELS = "pseudo_labels"
# Per-epoch training checkpoints, keyed by the Job (see ml.checkpoints); a dot entry, never a team.
CHECKPOINTS = ".checkpoints"
# Beside the trainer's own artifacts in every published version.
METRICS_FILE = "metrics.json"
HISTORY_FILE = "training_history.json"
CALIBRATOR_FILE = "calibrator.joblib"
# Article ids of train, validation and test (and pseudo-labelled rows): what the gate compares on.
SPLIT_FILE = "split.json"
REPORT_FILE = "report.html"
# Beside the versions in each algorithm directory: the promoted version (see ml.promotion).
CURRENT_FILE = "current.json"
CURRENT_LOCK_FILE = ".current.lock"


def models_dir() -> Path:
    return Path(settings.GREGORY_MODELS_DIR)


class ModelsDirUnusable(OSError):
    """The models directory cannot be created or written: no run can publish anything."""


def check_writable(path: Path | None = None) -> Path:
    """Fail fast, before any run starts, when the models directory cannot take a file (a
    read-only or root-owned volume, a full disk)."""
    path = path or models_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-") as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ModelsDirUnusable(
            f"models directory {path} is not writable: {error.strerror or error}"
        ) from None
    return path


def _part(kind: str, value: str) -> str:
    if not is_slug(value):
        raise ValueError(f"{kind} {value!r} cannot name a directory: it is not a slug")
    return value


def subject_dir(team: str, subject: str) -> Path:
    return models_dir() / _part("team", team) / _part("subject", subject)


def algorithm_dir(team: str, subject: str, algorithm: str) -> Path:
    return subject_dir(team, subject) / _part("algorithm", algorithm)


def pseudo_label_dir(team: str, subject: str) -> Path:
    return subject_dir(team, subject) / PSEUDO_LABELS


def checkpoint_dir(job: str, team: str, subject: str, stage: str) -> Path:
    """<models>/.checkpoints/<job>/<team>/<subject>/<stage>/: on the shared volume, so a pod
    rescheduled onto another node finds what the disrupted one wrote."""
    job_dir = models_dir() / CHECKPOINTS / _part("job", job)
    return job_dir / _part("team", team) / _part("subject", subject) / _part("stage", stage)


# YYYYMMDD with an optional _n, as publishing names versions.
DATED_VERSION = re.compile(r"^(\d{8})(?:_(\d+))?$")


def version_order(name: str) -> tuple[int, int, int, str]:
    """Sort key: dated names by date then suffix (`_10` after `_2`), any other name below them."""
    match = DATED_VERSION.match(name)
    if match:
        return (1, int(match.group(1)), int(match.group(2) or 1), name)
    return (0, 0, 0, name)


def published_versions(algo_dir: Path) -> list[str]:
    """Version names in `algo_dir`, oldest first; staging (dot) entries and files left out."""
    try:
        entries = list(Path(algo_dir).iterdir())
    except FileNotFoundError:
        return []
    names = [e.name for e in entries if e.is_dir() and not e.name.startswith(".")]
    return sorted(names, key=version_order)
