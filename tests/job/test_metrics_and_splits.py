import numpy as np
import pytest

from gregory.ml.data.splits import StratificationError, stratified_split
from gregory.ml.evaluation.metrics import classification_metrics


def test_metrics_apply_the_threshold():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.7, 0.75, 0.1])
    at_08 = classification_metrics(y, p, 0.8, prefix="test_")
    # 0.8 keeps only the first article: one true positive, no false positive.
    assert at_08["test_precision"] == 1.0
    assert at_08["test_recall"] == 0.5
    assert at_08["test_accuracy"] == 0.75
    at_05 = classification_metrics(y, p, 0.5)
    assert at_05["precision"] == pytest.approx(2 / 3)
    assert at_05["recall"] == 1.0
    # Ranking metrics do not depend on the threshold: 3 of 4 pairs ordered right.
    assert at_08["test_roc_auc"] == at_05["roc_auc"] == 0.75
    assert set(at_08) == {
        f"test_{m}" for m in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")
    }


def test_split_is_stratified_70_15_15_and_reproducible():
    labels = [1] * 40 + [0] * 60
    texts = [f"t{i}" for i in range(100)]
    a = stratified_split(texts, labels, list(range(100)))
    b = stratified_split(texts, labels, list(range(100)))
    assert (len(a.train), len(a.val), len(a.test)) == (70, 15, 15)
    assert a.train.article_ids == b.train.article_ids
    assert a.train.positives == 28
    ids = set(a.train.article_ids) | set(a.val.article_ids) | set(a.test.article_ids)
    assert ids == set(range(100))


@pytest.mark.parametrize("labels", [[1] * 20, [1, 1] + [0] * 30, [1] * 4 + [0] * 1000, []])
def test_unstratifiable_labels_raise(labels):
    with pytest.raises(StratificationError, match="cannot stratify"):
        stratified_split([str(i) for i in range(len(labels))], labels, list(range(len(labels))))
