"""The real labelled sample in tests/data (see tests/data/README.md) and slices of it."""

from __future__ import annotations

import csv

import numpy as np

from gregory.ml.data.splits import TextSplit
from tests.support.paths import DATA

SAMPLE_CSV = DATA / "ms_relevance_sample.csv"


def load_sample() -> tuple[list[str], np.ndarray, list[int]]:
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [row["text_processed"] for row in rows]
    labels = np.array([int(row["relevant"]) for row in rows], dtype=np.int8)
    # article_id repeats in the sample: the row number identifies a row.
    return texts, labels, list(range(len(rows)))


def shorten(split: TextSplit, n: int, words: int) -> TextSplit:
    """The first n rows, each cut to its first `words` words: fast, still real text and labels."""
    return TextSplit(
        texts=[" ".join(t.split()[:words]) for t in split.texts[:n]],
        labels=split.labels[:n].copy(),
        article_ids=list(split.article_ids[:n]),
    )
