"""What every algorithm offers the job: train, evaluate, save, load, predict_proba."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np

from gregory.ml.data.splits import SEED, TextSplit
from gregory.ml.evaluation.metrics import classification_metrics


class Trainer(ABC):
    algorithm: ClassVar[str]
    # File names the version directory must hold after save() (metrics.json aside).
    artifacts: ClassVar[tuple[str, ...]]

    def __init__(self, *, seed: int = SEED, progress: bool = False) -> None:
        self.seed = seed
        # Set by a trainer that resumed from a checkpoint (recorded in metrics.json).
        self.resumed_from_epoch: int | None = None
        # tqdm bars on stderr when True (verbosity >= 1).
        self.progress = progress

    @abstractmethod
    def train(self, train: TextSplit, val: TextSplit) -> dict[str, list[float]]:
        """Fit on `train`, using `val` for early stopping where the algorithm has it.

        Returns the per-epoch (or per-round) history, e.g. {"train_loss": [...], "val_loss": [...]},
        written to training_history.json beside the weights.
        """

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(relevant) for each text, a float array of len(texts)."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write this trainer's artifacts into an existing directory."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> Trainer:
        """Rebuild a trained model from a directory save() wrote."""

    def evaluate(self, split: TextSplit, threshold: float, prefix: str = "") -> dict[str, float]:
        return classification_metrics(
            split.labels, self.predict_proba(split.texts), threshold, prefix
        )

    def library_versions(self) -> dict[str, str]:
        """Versions of the libraries that made the artifacts, recorded in metrics.json."""
        return {}
