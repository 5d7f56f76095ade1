"""LightGBM on TF-IDF features: the light algorithm, no torch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import lightgbm as lgb
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

from gregory.ml.data.splits import TextSplit
from gregory.ml.trainers.base import Trainer

CLASSIFIER_FILE = "lgbm_classifier.joblib"
VECTORIZER_FILE = "tfidf_vectorizer.joblib"
BOOSTING_ROUNDS = 100
TFIDF_PARAMS = {"max_features": 10_000, "ngram_range": (1, 2), "max_df": 0.95, "min_df": 2}


class LgbmTfidfTrainer(Trainer):
    algorithm = "lgbm_tfidf"
    artifacts = (CLASSIFIER_FILE, VECTORIZER_FILE)

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.vectorizer: TfidfVectorizer | None = None
        self.booster: lgb.Booster | None = None

    def lgbm_params(self) -> dict:
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "num_leaves": 31,
            "learning_rate": 0.05,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.8,
            "bagging_freq": 5,
            "seed": self.seed,
            "deterministic": True,
            "num_threads": 1,
            "verbose": -1,
        }

    def _fit_vectorizer(self, texts: Sequence[str]) -> TfidfVectorizer:
        vectorizer = TfidfVectorizer(**TFIDF_PARAMS)
        try:
            vectorizer.fit(texts)
        except ValueError:
            # A tiny corpus can leave no term in two documents (or push max_df below min_df).
            vectorizer = TfidfVectorizer(**{**TFIDF_PARAMS, "min_df": 1, "max_df": 1.0})
            vectorizer.fit(texts)
        return vectorizer

    def train(self, train: TextSplit, val: TextSplit) -> dict[str, list[float]]:
        self.vectorizer = self._fit_vectorizer(train.texts)
        train_set = lgb.Dataset(
            self.vectorizer.transform(train.texts).astype(np.float32), label=train.labels
        )
        val_set = train_set.create_valid(
            self.vectorizer.transform(val.texts).astype(np.float32), label=val.labels
        )
        history: dict = {}
        self.booster = lgb.train(
            self.lgbm_params(),
            train_set,
            num_boost_round=BOOSTING_ROUNDS,
            valid_sets=[train_set, val_set],
            valid_names=["train", "val"],
            callbacks=[lgb.record_evaluation(history)],
        )
        return {
            "train_loss": [float(v) for v in history["train"]["binary_logloss"]],
            "val_loss": [float(v) for v in history["val"]["binary_logloss"]],
        }

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.vectorizer is None or self.booster is None:
            raise RuntimeError("train() or load() the model first")
        features = self.vectorizer.transform(list(texts)).astype(np.float32)
        return np.asarray(self.booster.predict(features), dtype=np.float64)

    def save(self, directory: Path) -> None:
        joblib.dump(self.booster, Path(directory) / CLASSIFIER_FILE)
        joblib.dump(self.vectorizer, Path(directory) / VECTORIZER_FILE)

    @classmethod
    def load(cls, directory: Path) -> LgbmTfidfTrainer:
        trainer = cls()
        trainer.booster = joblib.load(Path(directory) / CLASSIFIER_FILE)
        trainer.vectorizer = joblib.load(Path(directory) / VECTORIZER_FILE)
        return trainer

    def library_versions(self) -> dict[str, str]:
        return {"lightgbm": lgb.__version__, "scikit-learn": sklearn.__version__}
