"""The three classifiers: names, the labels GregoryAI shows, and the files a version holds.

Pure Python, so the launcher and the flag contract import it without Django or torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Algorithm:
    name: str
    label: str
    # The model file GregoryAI's layout names, then any extra artifact beside it.
    artifacts: tuple[str, ...]
    trainer: str  # "module:Class", imported only when training or loading


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm(
            "pubmed_bert",
            "PubMed BERT",
            ("bert_weights.h5",),
            "gregory.ml.trainers.pubmed_bert:PubMedBertTrainer",
        ),
        Algorithm(
            "lgbm_tfidf",
            "LGBM TF-IDF",
            ("lgbm_classifier.joblib", "tfidf_vectorizer.joblib"),
            "gregory.ml.trainers.lgbm_tfidf:LgbmTfidfTrainer",
        ),
        Algorithm(
            "lstm",
            "LSTM",
            ("lstm_weights.h5", "tokenizer.json"),
            "gregory.ml.trainers.lstm:LstmTrainer",
        ),
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
