"""Pseudo-labelling: PubMed BERT self-training over a subject's unlabelled articles.

Each iteration trains a fresh BERT on the training split plus the pseudo-labels so far, scores the
articles still unlabelled, and adopts those it is confident about (max(p, 1 - p) >= confidence).
It stops after `max_iterations`, when nothing new passes the threshold, or when the pool is empty.
Pseudo-labelled rows join the training split only; validation and test stay hand-labelled, so the
metrics keep measuring against human judgement. Every adopted row goes to a CSV under `csv_dir`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from gregory.ml.splits import SEED, DatasetSplits, TextSplit

CSV_COLUMNS = ("article_id", "text", "pseudo_label", "confidence", "iteration")


def open_new_csv(csv_dir: Path, now: datetime | None = None) -> tuple[Path, TextIO]:
    """Create `<YYYYMMDD_HHMMSS>[_n].csv` exclusively (mode "x"): two runs never share a file."""
    csv_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S")
    n = 1
    while True:
        path = csv_dir / (f"{stamp}.csv" if n == 1 else f"{stamp}_{n}.csv")
        try:
            return path, path.open("x", newline="", encoding="utf-8")
        except FileExistsError:
            n += 1


def add_pseudo_labels(
    splits: DatasetSplits,
    unlabelled: TextSplit,
    *,
    csv_dir: Path,
    confidence: float = 0.9,
    max_iterations: int = 7,
    seed: int = SEED,
    progress: bool = False,
    trainer_options: Mapping[str, Any] | None = None,
) -> tuple[DatasetSplits, Path]:
    """Splits whose train holds the pseudo-labelled rows too, and the CSV that lists them.

    `trainer_options` go to each iteration's PubMedBertTrainer (tests use a higher learning rate
    so a tiny model becomes confident); the production call keeps the fixed hyper-parameters.
    """
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    pool_texts = list(unlabelled.texts)
    pool_ids = [int(i) for i in unlabelled.article_ids]
    if len(pool_ids) != len(pool_texts):
        raise ValueError("unlabelled split needs one article id per text")
    added_texts: list[str] = []
    added_labels: list[int] = []
    added_ids: list[int] = []
    rows: list[tuple[int, str, int, float, int]] = []

    for iteration in range(1, max_iterations + 1):
        if not pool_texts:
            break
        current = splits.train.with_rows(added_texts, added_labels, added_ids)
        trainer = PubMedBertTrainer(seed=seed, progress=progress, **dict(trainer_options or {}))
        trainer.train(current, splits.val)
        prob = trainer.predict_proba(pool_texts)
        label = (prob >= 0.5).astype(np.int8)
        conf = np.where(label == 1, prob, 1.0 - prob)
        chosen = conf >= confidence
        if not chosen.any():
            break
        for k in np.flatnonzero(chosen):
            added_texts.append(pool_texts[k])
            added_labels.append(int(label[k]))
            added_ids.append(pool_ids[k])
            rows.append((pool_ids[k], pool_texts[k], int(label[k]), float(conf[k]), iteration))
        keep = np.flatnonzero(~chosen)
        pool_texts = [pool_texts[k] for k in keep]
        pool_ids = [pool_ids[k] for k in keep]

    path, handle = open_new_csv(Path(csv_dir))
    with handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows((i, text, lab, f"{c:.6f}", it) for i, text, lab, c, it in rows)

    new_splits = DatasetSplits(
        train=splits.train.with_rows(added_texts, added_labels, added_ids),
        val=splits.val,
        test=splits.test,
        pseudo_labelled=splits.pseudo_labelled + len(added_ids),
    )
    return new_splits, path
