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

from gregory.ml.data.splits import SEED, DatasetSplits, TextSplit
from gregory.ml.trainers import checkpoints

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


def _write_csv(
    csv_dir: Path,
    pool_ids: list[int],
    pool_texts: list[str],
    adopted: list[tuple[int, int, float, int]],
) -> Path:
    path, handle = open_new_csv(csv_dir)
    with handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(
            (pool_ids[k], pool_texts[k], lab, f"{c:.6f}", it) for k, lab, c, it in adopted
        )
    return path


def stage_fingerprint(
    splits: DatasetSplits,
    unlabelled: TextSplit,
    *,
    confidence: float,
    max_iterations: int,
    seed: int,
    trainer_options: Mapping[str, Any],
) -> str:
    """What a pseudo-labelling checkpoint must match: the data, the thresholds and BERT's set-up."""
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    bert = PubMedBertTrainer(seed=seed, device="cpu", **dict(trainer_options))
    return checkpoints.fingerprint(
        stage="pseudo_labels",
        data=checkpoints.data_fingerprint(splits.train, splits.val, unlabelled),
        settings={
            "confidence": confidence,
            "max_iterations": max_iterations,
            "bert": bert.training_settings(),
        },
    )


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
    checkpoint_dir: Path | None = None,
    notify: checkpoints.Note | None = None,
) -> tuple[DatasetSplits, Path]:
    """Splits whose train holds the pseudo-labelled rows too, and the CSV that lists them.

    `trainer_options` go to each iteration's PubMedBertTrainer (tests use a higher learning rate
    so a tiny model becomes confident); the production call keeps the fixed hyper-parameters.
    With `checkpoint_dir` each finished iteration is checkpointed (the rows adopted so far) and
    each iteration's BERT checkpoints its epochs below it, so a disrupted Job resumes mid-way.
    """
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    pool_texts = list(unlabelled.texts)
    pool_ids = [int(i) for i in unlabelled.article_ids]
    if len(pool_ids) != len(pool_texts):
        raise ValueError("unlabelled split needs one article id per text")
    options = dict(trainer_options or {})
    checkpoint = None
    if checkpoint_dir is not None:
        fingerprint = stage_fingerprint(
            splits,
            unlabelled,
            confidence=confidence,
            max_iterations=max_iterations,
            seed=seed,
            trainer_options=options,
        )
        checkpoint = checkpoints.Checkpoint(checkpoint_dir, fingerprint, notify)
    # Adopted rows as (index into the pool, label, confidence, iteration).
    adopted: list[tuple[int, int, float, int]] = []
    first, finished = 1, False
    if checkpoint is not None and (saved := checkpoint.load()) is not None:
        adopted = [(int(k), int(lab), float(c), int(it)) for k, lab, c, it in saved["adopted"]]
        first, finished = int(saved["iteration"]) + 1, bool(saved["finished"])
        checkpoint.tell(f"Resumed pseudo-labelling from iteration {saved['iteration']} checkpoint")

    taken = {k for k, *_ in adopted}
    remaining = [k for k in range(len(pool_texts)) if k not in taken]
    completed = first - 1
    for iteration in range(first, max_iterations + 1):
        if finished or not remaining:
            break
        current = splits.train.with_rows(
            [pool_texts[k] for k, *_ in adopted],
            [lab for _, lab, _, _ in adopted],
            [pool_ids[k] for k, *_ in adopted],
        )
        trainer = PubMedBertTrainer(
            seed=seed,
            progress=progress,
            checkpoint_dir=checkpoint.directory / "bert" if checkpoint is not None else None,
            notify=notify,
            **options,
        )
        trainer.train(current, splits.val)
        prob = trainer.predict_proba([pool_texts[k] for k in remaining])
        label = (prob >= 0.5).astype(np.int8)
        conf = np.where(label == 1, prob, 1.0 - prob)
        chosen = conf >= confidence
        finished = not chosen.any()
        for j in np.flatnonzero(chosen):
            adopted.append((remaining[j], int(label[j]), float(conf[j]), iteration))
        remaining = [remaining[j] for j in np.flatnonzero(~chosen)]
        completed = iteration
        if checkpoint is not None:
            state = {"iteration": iteration, "finished": finished, "adopted": adopted}
            checkpoint.save(state)

    written = Path(saved["csv"]) if saved and saved.get("csv") else None
    if written is not None and written.is_file():
        path = written  # finished before the disruption: the same CSV, not a second one
    else:
        path = _write_csv(Path(csv_dir), pool_ids, pool_texts, adopted)
    if checkpoint is not None:
        # Kept after the stage: the subject's algorithms that follow may still be disrupted, and
        # their retry should not pseudo-label again. The pipeline clears it after the last one.
        state = {"iteration": completed, "finished": True, "adopted": adopted, "csv": str(path)}
        checkpoint.save(state)

    new_splits = DatasetSplits(
        train=splits.train.with_rows(
            [pool_texts[k] for k, *_ in adopted],
            [lab for _, lab, _, _ in adopted],
            [pool_ids[k] for k, *_ in adopted],
        ),
        val=splits.val,
        test=splits.test,
        pseudo_labelled=splits.pseudo_labelled + len(adopted),
    )
    return new_splits, path
