"""The trainer registry; each module is imported only when asked for (no torch for LGBM)."""

from __future__ import annotations

from importlib import import_module

from gregory.algorithms import ALGORITHMS
from gregory.ml.trainers.base import Trainer


def trainer_class(algorithm: str) -> type[Trainer]:
    try:
        target = ALGORITHMS[algorithm].trainer
    except KeyError:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(import_module(module_name), class_name)


def get_trainer(algorithm: str, **options) -> Trainer:
    """A fresh trainer for `algorithm`; ValueError for a name the job does not know."""
    return trainer_class(algorithm)(**options)


__all__ = ["Trainer", "get_trainer", "trainer_class"]
