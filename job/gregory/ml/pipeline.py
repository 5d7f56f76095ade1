"""One subject's data, prepared once and shared by its algorithms, and one algorithm's run."""

from __future__ import annotations

import json
import platform
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gregory.flags import TrainFlags
from gregory.ml import dataset, layout, summariser, text
from gregory.ml.publishing import Reservation
from gregory.ml.splits import SEED, DatasetSplits, stratified_split
from gregory.ml.trainers import get_trainer
from gregory.models import Subject


class SubjectDataError(RuntimeError):
    """Preparing a subject's data failed; every algorithm run of that subject fails with it."""


@dataclass
class SubjectData:
    """Built on first use, then reused by each algorithm: summarisation runs once per subject."""

    subject: Subject
    flags: TrainFlags
    progress: bool = False
    # Filled by splits(), not by callers.
    pseudo_label_csv: Path | None = field(default=None, init=False)
    # Labelled articles whose prepared text fell under the minimum word count.
    n_too_short: int = field(default=0, init=False)
    _splits: DatasetSplits | None = field(default=None, init=False, repr=False)
    _error: str | None = field(default=None, init=False, repr=False)

    def splits(self) -> DatasetSplits:
        if self._error is not None:
            raise SubjectDataError(self._error)
        if self._splits is None:
            try:
                self._splits = self._build()
            except Exception as error:
                self._error = "".join(traceback.format_exception(error)).rstrip()
                raise
        return self._splits

    def _prepare(self, raw: dataset.RawArticles) -> dataset.PreparedArticles:
        return dataset.prepare_articles(
            raw, lambda texts: summariser.summarise_bulk(texts, progress=self.progress)
        )

    def _build(self) -> DatasetSplits:
        since = dataset.window_start(self.flags.window_days)
        labelled = self._prepare(dataset.labelled_articles(self.subject, since))
        self.n_too_short = len(labelled.dropped_ids)
        splits = stratified_split(labelled.texts, labelled.labels, labelled.article_ids, seed=SEED)
        if self.flags.pseudo_label:
            from gregory.ml.pseudo_label import add_pseudo_labels

            pool = self._prepare(dataset.unlabelled_articles(self.subject, since))
            csv_dir = layout.pseudo_label_dir(self.subject.team.slug, self.subject.subject_slug)
            splits, self.pseudo_label_csv = add_pseudo_labels(
                splits,
                dataset.as_split(pool),
                csv_dir=csv_dir,
                seed=SEED,
                progress=self.progress,
            )
        return splits


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def train_into(
    reservation: Reservation, algorithm: str, data: SubjectData, flags: TrainFlags
) -> dict[str, Any]:
    """Train, evaluate at the threshold, write the artifacts and metrics into staging."""
    splits = data.splits()
    trainer = get_trainer(algorithm, seed=SEED, progress=data.progress)
    history = trainer.train(splits.train, splits.val)
    metrics: dict[str, Any] = {
        **trainer.evaluate(splits.val, flags.prob_threshold, prefix="val_"),
        **trainer.evaluate(splits.test, flags.prob_threshold, prefix="test_"),
        **splits.sizes(),
        "algorithm": algorithm,
        "team": data.subject.team.slug,
        "subject": data.subject.subject_slug,
        "version": reservation.version,
        "prob_threshold": flags.prob_threshold,
        "window_days": flags.window_days,
        "seed": SEED,
        "n_too_short": data.n_too_short,
        **text.PREPARATION,
        "lib_python": platform.python_version(),
        "lib_numpy": np.__version__,
        **{f"lib_{name}": version for name, version in trainer.library_versions().items()},
    }
    if data.pseudo_label_csv is not None:
        metrics["pseudo_label_csv"] = str(data.pseudo_label_csv)
    trainer.save(reservation.staging)
    write_json(reservation.staging / layout.METRICS_FILE, metrics)
    write_json(reservation.staging / layout.HISTORY_FILE, history)
    return metrics
