"""Published versions: which exist, which is newest, and loading any of them to score texts.

A version is a directory `<algorithm dir>/<version>/` holding the trainer's artifacts and
`metrics.json`; dot entries are staging directories still being written and never count.
A version directory another program wrote (GregoryAI's own Keras artifacts, in a shared models
directory) is refused by name (`ForeignVersion`) and never chosen as the newest. Both errors
are defined in gregory.ml.provenance, with the rule, so the launcher can tell without numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from gregory.ml import layout, provenance, text
from gregory.ml.calibration import Calibrator, scale_of
from gregory.ml.provenance import ForeignVersion, VersionNotFound
from gregory.ml.trainers import Trainer, trainer_class


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
    """The version `current.json` points at, else (no pointer yet) the newest one."""
    from gregory.ml.promotion import read_current

    pointer = read_current(algo_dir)
    if pointer is None:
        return newest_version(algo_dir)
    version = pointer["version"]
    if version not in layout.published_versions(algo_dir):
        raise VersionNotFound(f"promoted version {version} is not published in {algo_dir}")
    return version


def version_dir(algo_dir: Path, version: str | None = None) -> Path:
    """The directory of `version`, or of the promoted (else newest) version when None;
    ForeignVersion when another program wrote it."""
    if version is None:
        version = promoted_version(algo_dir)
    elif version not in layout.published_versions(algo_dir):
        raise VersionNotFound(f"version {version} is not published in {algo_dir}")
    path = Path(algo_dir) / version
    if refused := provenance.foreign(path):
        raise ForeignVersion(refused)
    return path


@dataclass(frozen=True)
class Predictor:
    """A loaded version: P(relevant) for texts prepared by gregory.ml.text."""

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


def load_version(path: Path) -> Predictor:
    """Load the version in `path`, whatever its algorithm (metrics.json names it); ForeignVersion
    for one this project did not write."""
    path = Path(path)
    metrics = provenance.own_metrics(path)
    algorithm = metrics["algorithm"]
    calibrator_path = path / layout.CALIBRATOR_FILE
    return Predictor(
        algorithm=algorithm,
        version=path.name,
        threshold=float(metrics["prob_threshold"]),
        path=path,
        metrics=metrics,
        model=trainer_class(algorithm).load(path),
        calibrator=joblib.load(calibrator_path) if calibrator_path.exists() else None,
    )
