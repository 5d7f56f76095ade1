import numpy as np
import pytest

from gregory.ml.data.splits import stratified_split
from gregory.ml.trainers import get_trainer
from gregory.ml.trainers.lgbm_tfidf import LgbmTfidfTrainer


def _corpus(n=120):
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for i in range(n):
        relevant = i % 3 == 0
        words = ["sclerosis", "lesion", "myelin"] if relevant else ["diabetes", "insulin", "heart"]
        noise = rng.choice(["study", "trial", "patients", "cohort", "results"], 4)
        texts.append(" ".join([*rng.choice(words, 3), *noise]))
        labels.append(int(relevant))
    return stratified_split(texts, labels, list(range(n)))


def test_unknown_algorithm_is_a_value_error():
    with pytest.raises(ValueError, match="unknown algorithm 'svm'"):
        get_trainer("svm")


def test_trains_saves_and_reloads_to_identical_probabilities(tmp_path):
    splits = _corpus()
    trainer = get_trainer("lgbm_tfidf")
    history = trainer.train(splits.train, splits.val)
    assert len(history["train_loss"]) == 100 and len(history["val_loss"]) == 100
    assert history["train_loss"][-1] < history["train_loss"][0]
    metrics = trainer.evaluate(splits.test, 0.5, prefix="test_")
    assert metrics["test_roc_auc"] > 0.9
    trainer.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LgbmTfidfTrainer.artifacts)
    reloaded = LgbmTfidfTrainer.load(tmp_path)
    before = trainer.predict_proba(splits.test.texts)
    assert np.array_equal(reloaded.predict_proba(splits.test.texts), before)


def test_same_seed_same_model():
    splits = _corpus()
    a, b = get_trainer("lgbm_tfidf"), get_trainer("lgbm_tfidf")
    a.train(splits.train, splits.val)
    b.train(splits.train, splits.val)
    assert np.array_equal(a.predict_proba(splits.test.texts), b.predict_proba(splits.test.texts))


def test_tiny_corpus_with_no_repeated_terms_still_trains():
    splits = stratified_split(
        [f"unique{i} word{i}" for i in range(20)], [i % 2 for i in range(20)], list(range(20))
    )
    trainer = get_trainer("lgbm_tfidf")
    trainer.train(splits.train, splits.val)
    assert trainer.predict_proba(splits.test.texts).shape == (len(splits.test),)
