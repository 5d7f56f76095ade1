"""Labelled text splits: a stratified 70/15/15 cut with a fixed seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

SEED = 69
TRAIN_SHARE, VAL_SHARE, TEST_SHARE = 0.70, 0.15, 0.15
# Below this many of a class the 70/15/15 cut always leaves a split with one class; from 6 it
# never does (the launcher refuses such subjects before submitting: launcher.operations).
MIN_PER_CLASS = 5


class StratificationError(ValueError):
    """The labels cannot be cut into three splits that each hold both classes."""


@dataclass
class TextSplit:
    texts: list[str]
    labels: np.ndarray  # int8, 1 = relevant
    article_ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def positives(self) -> int:
        return int(self.labels.sum())

    def with_rows(
        self, texts: Sequence[str], labels: Sequence[int], article_ids: Sequence[int]
    ) -> TextSplit:
        """This split plus extra rows (how pseudo-labelled articles join train)."""
        return TextSplit(
            texts=[*self.texts, *texts],
            labels=np.concatenate([self.labels, np.asarray(labels, dtype=np.int8)]),
            article_ids=[*self.article_ids, *article_ids],
        )


@dataclass
class DatasetSplits:
    train: TextSplit
    val: TextSplit
    test: TextSplit
    # Rows added to train by pseudo-labelling; validation and test never get any.
    pseudo_labelled: int = 0

    def sizes(self) -> dict[str, int]:
        return {
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "n_train_positive": self.train.positives,
            "n_val_positive": self.val.positives,
            "n_test_positive": self.test.positives,
            "n_pseudo_labelled": self.pseudo_labelled,
        }


def stratified_split(
    texts: Sequence[str], labels: Sequence[int], article_ids: Sequence[int], seed: int = SEED
) -> DatasetSplits:
    """70/15/15, stratified on the label, each split guaranteed to hold both classes."""
    y = np.asarray(labels, dtype=np.int8)
    counts = np.bincount(y, minlength=2) if len(y) else np.zeros(2, dtype=int)
    if counts.min() < MIN_PER_CLASS:
        raise StratificationError(
            f"cannot stratify {len(y)} labelled articles ({counts[1]} relevant, "
            f"{counts[0]} not): train, validation and test each need both classes, "
            f"which takes at least {MIN_PER_CLASS + 1} of each"
        )
    index = np.arange(len(y))
    try:
        train_idx, rest_idx = train_test_split(
            index, test_size=VAL_SHARE + TEST_SHARE, stratify=y, random_state=seed
        )
        val_idx, test_idx = train_test_split(
            rest_idx,
            test_size=TEST_SHARE / (VAL_SHARE + TEST_SHARE),
            stratify=y[rest_idx],
            random_state=seed,
        )
    except ValueError as error:
        raise StratificationError(f"cannot stratify {len(y)} labelled articles: {error}") from error

    def take(idx: np.ndarray) -> TextSplit:
        idx = np.sort(idx)
        return TextSplit(
            texts=[texts[i] for i in idx],
            labels=y[idx],
            article_ids=[int(article_ids[i]) for i in idx],
        )

    splits = DatasetSplits(train=take(train_idx), val=take(val_idx), test=take(test_idx))
    for name in ("train", "val", "test"):
        if len(set(getattr(splits, name).labels.tolist())) < 2:
            raise StratificationError(
                f"cannot stratify {len(y)} labelled articles ({counts[1]} relevant, "
                f"{counts[0]} not): the {name} split would hold one class only"
            )
    return splits
