"""BERT self-training: CSV layout and naming, rows into train only, confidence and iterations."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import numpy as np
import pytest

from gregory.ml.data.splits import DatasetSplits, TextSplit
from gregory.ml.pseudo_label import CSV_COLUMNS, add_pseudo_labels, open_new_csv
from tests.support.data import shorten

# A tiny random BERT at the fixed lr 2e-5 stays near 0.5 for every text; at 1e-3 it separates
# the sample's classes within six epochs (measured: confidences up to ~0.63, roc_auc ~0.75).
FAST = {"learning_rate": 1e-3, "epochs": 6}
WORDS = 20
LABELLED = 173


@pytest.fixture(scope="module")
def labelled(sample_splits: DatasetSplits) -> DatasetSplits:
    return DatasetSplits(
        train=shorten(sample_splits.train, LABELLED, WORDS),
        val=shorten(sample_splits.val, 50, WORDS),
        test=shorten(sample_splits.test, 50, WORDS),
    )


@pytest.fixture(scope="module")
def pool(sample_splits: DatasetSplits) -> TextSplit:
    """Unlabelled articles: the rest of the real training split, labels withheld."""
    rest = shorten(sample_splits.train, len(sample_splits.train), WORDS)
    return TextSplit(
        texts=rest.texts[LABELLED:],
        labels=np.zeros(0, dtype=np.int8),
        article_ids=rest.article_ids[LABELLED:],
    )


def read_rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        return list(reader)


def test_confident_rows_join_train_only(labelled, pool, tmp_path):
    small_splits = labelled
    csv_dir = tmp_path / "demo" / "ms" / "pseudo_labels"
    new, path = add_pseudo_labels(
        labelled, pool, csv_dir=csv_dir, confidence=0.55, max_iterations=2, trainer_options=FAST
    )
    rows = read_rows(path)
    assert path.parent == csv_dir and path.suffix == ".csv"
    assert 0 < new.pseudo_labelled == len(rows) <= len(pool)
    assert new.val is small_splits.val and new.test is small_splits.test
    assert len(new.train) == len(small_splits.train) + len(rows)
    assert new.train.article_ids[: len(small_splits.train)] == small_splits.train.article_ids
    added = new.train.article_ids[len(small_splits.train) :]
    assert added == [int(r["article_id"]) for r in rows]
    assert set(added) <= set(pool.article_ids) and len(set(added)) == len(added)
    by_id = dict(zip(pool.article_ids, pool.texts, strict=True))
    for row, label in zip(rows, new.train.labels[len(small_splits.train) :], strict=True):
        assert row["text"] == by_id[int(row["article_id"])]
        assert int(row["pseudo_label"]) == label
        assert float(row["confidence"]) >= 0.55
        assert 1 <= int(row["iteration"]) <= 2


def test_nothing_confident_enough_adds_nothing(small_splits, pool, tmp_path):
    quick = {"learning_rate": 1e-3, "epochs": 1}
    new, path = add_pseudo_labels(
        small_splits,
        pool,
        csv_dir=tmp_path,
        confidence=1.01,
        max_iterations=2,
        trainer_options=quick,
    )
    assert read_rows(path) == []
    assert new.pseudo_labelled == 0
    assert new.train.article_ids == small_splits.train.article_ids


def test_empty_pool_writes_an_empty_csv(small_splits, tmp_path):
    empty = TextSplit(texts=[], labels=np.zeros(0, dtype=np.int8), article_ids=[])
    new, path = add_pseudo_labels(small_splits, empty, csv_dir=tmp_path / "new")
    assert read_rows(path) == [] and new.pseudo_labelled == 0


def test_csv_names_get_a_suffix_when_taken(tmp_path):
    now = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    names = []
    for _ in range(3):
        path, handle = open_new_csv(tmp_path, now)
        handle.close()
        names.append(path.name)
    assert names == ["20260504_030201.csv", "20260504_030201_2.csv", "20260504_030201_3.csv"]
