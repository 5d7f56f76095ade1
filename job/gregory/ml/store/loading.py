"""Published versions: which exist, which is newest, and loading any of them to score texts.

A version is a directory `<algorithm dir>/<version>/` holding the trainer's artifacts and
`metrics.json`; dot entries are staging directories still being written and never count.
A version directory another program wrote (GregoryAI's own Keras artifacts, in a shared models
directory) is refused by name (`ForeignVersion`) and never chosen as the newest. A version of
ours that cannot be loaded whole (an artifact missing or truncated, a metrics.json with the wrong
types) is `VersionDamaged`, naming the file. All are `VersionUnusable`, defined in
gregory.ml.store.provenance with the rule, so the launcher can tell without numpy: a reader catches
that one class and fails the one algorithm in one line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from gregory.ml.core import layout
from gregory.ml.data import text
from gregory.ml.evaluation.calibration import Calibrator, scale_of
from gregory.ml.store import provenance
from gregory.ml.store.provenance import (
    ForeignVersion,
    PointerDamaged,
    VersionDamaged,
    VersionNotFound,
    VersionUnusable,
)
from gregory.ml.trainers import Trainer, trainer_class
from gregory.reasons import first_line

# The errors are provenance's; readers may name them from here too.
__all__ = [
    "ForeignVersion",
    "PointerDamaged",
    "Predictor",
    "VersionDamaged",
    "VersionNotFound",
    "VersionUnusable",
    "load_version",
    "newest_version",
    "promoted_version",
    "split_record",
    "version_dir",
]


def newest_version(algo_dir: Path) -> str:
    """The newest published version of ours: never a foreign one, served only when named."""
    versions = layout.published_versions(algo_dir)
    for version in reversed(versions):
        if provenance.foreign(Path(algo_dir) / version) is None:
            return version
    if versions:
        raise VersionNotFound(
            f"no published version in {algo_dir} ({len(versions)} not written by gregory-train)"
        )
    raise VersionNotFound(f"no published version in {algo_dir}")


def promoted_version(algo_dir: Path) -> str:
    """The version `current.json` points at, else (no pointer yet) the newest one;
    PointerDamaged when the pointer cannot be read."""
    from gregory.ml.store.promotion import read_current

    pointer = read_current(algo_dir)
    if pointer is None:
        return newest_version(algo_dir)
    version = pointer["version"]
    if version not in layout.published_versions(algo_dir):
        raise VersionNotFound(
            f"promoted version {version} is not published in {algo_dir}",
            Path(algo_dir) / version,
        )
    return version


def version_dir(algo_dir: Path, version: str | None = None) -> Path:
    """The directory of `version`, or of the promoted (else newest) version when None;
    ForeignVersion when another program wrote it."""
    if version is None:
        version = promoted_version(algo_dir)
    elif version not in layout.published_versions(algo_dir):
        raise VersionNotFound(
            f"version {version} is not published in {algo_dir}", Path(algo_dir) / version
        )
    path = Path(algo_dir) / version
    if refused := provenance.foreign(path):
        raise ForeignVersion(refused, path)
    return path


@dataclass(frozen=True)
class Predictor:
    """A loaded version: P(relevant) for texts prepared by gregory.ml.data.text."""

    algorithm: str
    version: str
    # The threshold the version was evaluated at.
    threshold: float
    path: Path
    metrics: dict[str, Any] = field(repr=False)
    model: Trainer = field(repr=False)
    # Versions made before calibration have none: their raw scores are served as they were.
    calibrator: Calibrator | None = field(default=None, repr=False)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The served score (probability_score), what the threshold is applied to: on the
        version's score_scale, raw unless its calibrator.joblib holds a fitted calibrator."""
        raw = self.raw_proba(texts)
        return raw if self.calibrator is None else self.calibrator(raw)

    @property
    def score_scale(self) -> str:
        """The scale of predict_proba: "raw" or "calibrated-<method>". Versions older than
        the key say it by their calibrator (Platt, isotonic, none) or by having none."""
        if "score_scale" in self.metrics:
            return str(self.metrics["score_scale"])
        return scale_of(self.calibrator.method if self.calibrator is not None else "none")

    def raw_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The model's own scores, before calibration."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.model.predict_proba(list(texts)), dtype=np.float64)

    @property
    def preparation(self) -> dict[str, Any]:
        """How its training texts were prepared; empty for versions made before it was kept."""
        return {key: self.metrics[key] for key in text.PREPARATION if key in self.metrics}


def load_version(path: Path, algorithm: str | None = None) -> Predictor:
    """Load the version in `path`, whatever its algorithm (metrics.json names it) unless
    `algorithm` says which it must be. VersionUnusable, naming the file, for anything short of a
    complete version of ours: ForeignVersion, VersionNotFound (no metrics.json), VersionDamaged."""
    path = Path(path)
    metrics = provenance.own_metrics(path)
    metrics_path = path / layout.METRICS_FILE
    named = metrics["algorithm"]
    if algorithm is not None and named != algorithm:
        raise VersionDamaged(
            f"{metrics_path} names algorithm {named}: version {path.name} is not a {algorithm} "
            "version",
            metrics_path,
        )
    threshold = metrics.get("prob_threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        threshold = math.nan
    if not 0 <= threshold <= 1:
        raise VersionDamaged(
            f"{metrics_path} holds no threshold between 0 and 1 (prob_threshold is "
            f"{metrics.get('prob_threshold')!r}): version {path.name} is unusable",
            metrics_path,
        )
    trainer = trainer_class(named)
    for artifact in trainer.artifacts:
        if not (path / artifact).exists():
            raise VersionDamaged(
                f"{path / artifact} is missing: version {path.name} is incomplete",
                path / artifact,
            )
    try:
        model = trainer.load(path)
    except Exception as error:
        culprit = _culprit(path, trainer.artifacts)
        raise VersionDamaged(
            f"{culprit} could not be loaded ({first_line(error)}): version {path.name} is unusable",
            culprit,
        ) from error
    return Predictor(
        algorithm=named,
        version=path.name,
        threshold=float(threshold),
        path=path,
        metrics=metrics,
        model=model,
        calibrator=_calibrator(path / layout.CALIBRATOR_FILE),
    )


SPLIT_KEYS = ("train", "validation", "test", "pseudo_labelled")


def split_record(path: Path) -> dict[str, list[int]]:
    """split.json of the version in `path`: which articles each split held. VersionNotFound for
    a version made before it was kept, VersionDamaged for one that cannot be read as written."""
    split_path = Path(path) / layout.SPLIT_FILE
    try:
        record = json.loads(split_path.read_bytes())
    except FileNotFoundError:
        raise VersionNotFound(
            f"version {Path(path).name} has no {layout.SPLIT_FILE}: its training articles are "
            "unknown",
            split_path,
        ) from None
    except (OSError, ValueError) as error:
        raise VersionDamaged(
            f"{split_path} cannot be read ({first_line(error)}): its training articles are unknown",
            split_path,
        ) from None
    if not isinstance(record, dict) or not all(
        isinstance(ids, list) and all(type(i) is int for i in ids)
        for ids in (record.get(key, []) for key in SPLIT_KEYS)
    ):
        raise VersionDamaged(
            f"{split_path} is not a list of article ids per split: its training articles are "
            "unknown",
            split_path,
        )
    return {key: record.get(key, []) for key in SPLIT_KEYS}


def _calibrator(path: Path) -> Calibrator | None:
    if not path.exists():
        return None  # versions made before calibration serve their raw scores
    try:
        calibrator = joblib.load(path)
    except Exception as error:
        raise VersionDamaged(
            f"{path} could not be loaded ({first_line(error)}): version "
            f"{path.parent.name} is unusable",
            path,
        ) from error
    if not callable(calibrator):
        raise VersionDamaged(
            f"{path} holds a {type(calibrator).__name__}, not a calibrator: version "
            f"{path.parent.name} is unusable",
            path,
        )
    return calibrator


def _culprit(path: Path, artifacts: Sequence[str]) -> Path:
    """Which artifact a failed load tripped on: the first that does not read back whole as its
    kind of file; the version directory when each does (the files disagree with each other)."""
    for artifact in artifacts:
        target = path / artifact
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for file in files:
            try:
                _read_whole(file)
            except Exception:
                return file
    return path


def _read_whole(file: Path) -> None:
    if file.suffix == ".joblib":
        joblib.load(file)
    elif file.suffix == ".json":
        json.loads(file.read_bytes())
    elif file.suffix == ".h5":
        import h5py

        with h5py.File(file, "r") as h5:
            for key in h5:
                h5[key][()]
    else:
        file.read_bytes()
