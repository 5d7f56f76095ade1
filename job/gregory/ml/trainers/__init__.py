"""The trainer registry; each module is imported only when asked for (no torch for LGBM)."""

from __future__ import annotations

from importlib import import_module

from gregory.ml.trainers.base import Trainer

_REGISTRY = {
    "lgbm_tfidf": "gregory.ml.trainers.lgbm_tfidf:LgbmTfidfTrainer",
    "pubmed_bert": "gregory.ml.trainers.pubmed_bert:PubMedBertTrainer",
    "lstm": "gregory.ml.trainers.lstm:LstmTrainer",
}


def trainer_class(algorithm: str) -> type[Trainer]:
    try:
        target = _REGISTRY[algorithm]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; choose from {', '.join(_REGISTRY)}"
        ) from None
    module_name, class_name = target.split(":")
    return getattr(import_module(module_name), class_name)


def get_trainer(algorithm: str, **options) -> Trainer:
    """A fresh trainer for `algorithm`; ValueError for a name the job does not know."""
    return trainer_class(algorithm)(**options)


__all__ = ["Trainer", "get_trainer", "trainer_class"]
