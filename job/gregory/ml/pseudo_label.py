"""Pseudo-labelling: PubMed BERT self-training over a subject's unlabelled articles.

Each iteration trains a fresh BERT on the training split plus the pseudo-labels so far, scores the
articles still unlabelled, and adopts those it is confident about (max(p, 1 - p) >= confidence).
It stops after `max_iterations`, when nothing new passes the threshold, or when the pool is empty.
Pseudo-labelled rows join the training split only; validation and test stay hand-labelled, so the
metrics keep measuring against human judgement. Every adopted row goes to a CSV under `csv_dir`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    adopted: Sequence[tuple[int, int, float, int]],
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

    pool = _Pool(list(unlabelled.texts), [int(i) for i in unlabelled.article_ids])
    if len(pool.ids) != len(pool.texts):
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
    state = _resume(checkpoint)

    def new_trainer() -> PubMedBertTrainer:
        bert_dir = checkpoint.directory / "bert" if checkpoint is not None else None
        return PubMedBertTrainer(
            seed=seed, progress=progress, checkpoint_dir=bert_dir, notify=notify, **options
        )

    completed = _iterate(splits, pool, state, new_trainer, confidence, max_iterations, checkpoint)
    if state.csv is not None and state.csv.is_file():
        path = state.csv  # finished before the disruption: the same CSV, not a second one
    else:
        path = _write_csv(Path(csv_dir), pool.ids, pool.texts, state.adopted)
    if checkpoint is not None:
        # Kept after the stage: the subject's algorithms that follow may still be disrupted, and
        # their retry should not pseudo-label again. The pipeline clears it after the last one.
        checkpoint.save(
            {"iteration": completed, "finished": True, "adopted": state.adopted, "csv": str(path)}
        )
    new_splits = DatasetSplits(
        train=pool.joined(splits.train, state.adopted),
        val=splits.val,
        test=splits.test,
        pseudo_labelled=splits.pseudo_labelled + len(state.adopted),
    )
    return new_splits, path


# An adopted row: (index into the pool, label, confidence, iteration).
Adopted = tuple[int, int, float, int]


@dataclass
class _Pool:
    texts: list[str]
    ids: list[int]

    def joined(self, train: TextSplit, adopted: Sequence[Adopted]) -> TextSplit:
        """`train` with the adopted rows added."""
        return train.with_rows(
            [self.texts[k] for k, *_ in adopted],
            [label for _, label, _, _ in adopted],
            [self.ids[k] for k, *_ in adopted],
        )


@dataclass
class _State:
    """Where the stage stands: the rows adopted so far and the next iteration."""

    adopted: list[Adopted] = field(default_factory=list)
    first: int = 1
    finished: bool = False
    csv: Path | None = None


def _resume(checkpoint: checkpoints.Checkpoint | None) -> _State:
    if checkpoint is None or (saved := checkpoint.load()) is None:
        return _State()
    checkpoint.tell(f"Resumed pseudo-labelling from iteration {saved['iteration']} checkpoint")
    return _State(
        adopted=[(int(k), int(lab), float(c), int(it)) for k, lab, c, it in saved["adopted"]],
        first=int(saved["iteration"]) + 1,
        finished=bool(saved["finished"]),
        csv=Path(saved["csv"]) if saved.get("csv") else None,
    )


def _iterate(
    splits: DatasetSplits,
    pool: _Pool,
    state: _State,
    new_trainer: Callable[[], Any],
    confidence: float,
    max_iterations: int,
    checkpoint: checkpoints.Checkpoint | None,
) -> int:
    """Self-training from `state` on, adopting rows into it; the last iteration completed."""
    taken = {k for k, *_ in state.adopted}
    remaining = [k for k in range(len(pool.texts)) if k not in taken]
    completed = state.first - 1
    for iteration in range(state.first, max_iterations + 1):
        if state.finished or not remaining:
            break
        trainer = new_trainer()
        trainer.train(pool.joined(splits.train, state.adopted), splits.val)
        prob = trainer.predict_proba([pool.texts[k] for k in remaining])
        label = (prob >= 0.5).astype(np.int8)
        conf = np.where(label == 1, prob, 1.0 - prob)
        chosen = conf >= confidence
        state.finished = not chosen.any()
        for j in np.flatnonzero(chosen):
            state.adopted.append((remaining[j], int(label[j]), float(conf[j]), iteration))
        remaining = [remaining[j] for j in np.flatnonzero(~chosen)]
        completed = iteration
        if checkpoint is not None:
            checkpoint.save(
                {"iteration": iteration, "finished": state.finished, "adopted": state.adopted}
            )
    return completed
