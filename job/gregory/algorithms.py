"""The three classifiers: their names, the labels GregoryAI shows, and their trainers.

Pure Python, so the launcher and the flag contract import it without Django or torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Algorithm:
    name: str
    label: str
    trainer: str  # "module:Class", imported only when training or loading


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "pubmed_bert", "PubMed BERT", "gregory.ml.trainers.pubmed_bert:PubMedBertTrainer"
        ),
        Algorithm("lgbm_tfidf", "LGBM TF-IDF", "gregory.ml.trainers.lgbm_tfidf:LgbmTfidfTrainer"),
        Algorithm("lstm", "LSTM", "gregory.ml.trainers.lstm:LstmTrainer"),
    )
}
ALGORITHM_NAMES: tuple[str, ...] = tuple(ALGORITHMS)
# GregoryAI's value for rows whose algorithm nobody recorded.
UNKNOWN = "unknown"
# The choices of GregoryAI's `algorithm` columns (PredictionRunLog and MLPredictions).
ALGORITHM_CHOICES: list[tuple[str, str]] = [
    *((a.name, a.label) for a in ALGORITHMS.values()),
    (UNKNOWN, "Unknown"),
]
