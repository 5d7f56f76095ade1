"""One subject's data, prepared once and shared by its algorithms, and one algorithm's run."""

from __future__ import annotations

import json
import platform
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from gregory.flags import TrainFlags
from gregory.ml import fingerprint, gate
from gregory.ml.core import config, devices, layout, threads
from gregory.ml.data import dataset, summariser, text
from gregory.ml.data.splits import SEED, DatasetSplits, stratified_split
from gregory.ml.evaluation import bootstrap, calibration, report
from gregory.ml.evaluation.metrics import classification_metrics
from gregory.ml.runs import db_retry
from gregory.ml.store.publishing import Reservation
from gregory.ml.trainers import checkpoints, get_trainer
from gregory.ml.trainers.base import Trainer
from gregory.models import Subject
from gregory.reasons import first_line


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
    # Pseudo-labelling's checkpoint, kept until the subject's last algorithm has trained.
    _pseudo_label_checkpoint: Path | None = field(default=None, init=False, repr=False)
    _error: str | None = field(default=None, init=False, repr=False)
    _prepared: tuple[dataset.PreparedArticles, dataset.PreparedArticles | None] | None = field(
        default=None, init=False, repr=False
    )
    _texts: dataset.PreparedTexts | None = field(default=None, init=False, repr=False)

    def splits(self) -> DatasetSplits:
        if self._splits is None:
            self._splits = self._guarded(self._build)
        return self._splits

    def prepared(self) -> tuple[dataset.PreparedArticles, dataset.PreparedArticles | None]:
        """The labelled articles and (with --pseudo-label) the unlabelled pool, prepared once;
        what the fingerprint hashes, before any split or pseudo-labelling."""
        if self._prepared is None:
            self._prepared = self._guarded(self._prepare_all)
        return self._prepared

    def fingerprint(self, algorithm: str) -> str:
        """gregory.ml.fingerprint of this subject's training input for `algorithm`."""
        labelled, pool = self.prepared()
        return fingerprint.training_fingerprint(
            algorithm, labelled, window_days=self.flags.window_days, pool=pool
        )

    def _guarded(self, build: Callable[[], Any]) -> Any:
        if self._error is not None:
            raise SubjectDataError(self._error)
        try:
            return build()
        except Exception as error:
            # The later runs of this subject fail with the same reason first, then the
            # traceback of the one that happened, so each row explains itself.
            self._error = (
                f"preparing the data failed: {first_line(error)}\n"
                + "".join(traceback.format_exception(error)).rstrip()
            )
            raise

    def _prepare(self, raw: dataset.RawArticles) -> dataset.PreparedArticles:
        if self._texts is None:
            self._texts = dataset.PreparedTexts(
                lambda texts: summariser.summarise_bulk(texts, progress=self.progress)
            )
        return self._texts.prepare(raw)

    def _prepare_all(self) -> tuple[dataset.PreparedArticles, dataset.PreparedArticles | None]:
        since = dataset.window_start(self.flags.window_days)
        # Reads only: safe to retry over a database restart.
        labelled = self._prepare(
            db_retry.database_retry(dataset.labelled_articles)(self.subject, since)
        )
        self.n_too_short = len(labelled.dropped_ids)
        pool = None
        if self.flags.pseudo_label:
            unlabelled = db_retry.database_retry(dataset.unlabelled_articles)
            pool = self._prepare(unlabelled(self.subject, since))
        return labelled, pool

    def _build(self) -> DatasetSplits:
        labelled, pool = self.prepared()
        labels = [int(label) for label in labelled.labels]  # type: ignore[arg-type]  # labelled: never None
        splits = stratified_split(labelled.texts, labels, labelled.article_ids, seed=SEED)
        if pool is not None:
            from gregory.ml.pseudo_label import add_pseudo_labels

            csv_dir = layout.pseudo_label_dir(self.subject.team.slug, self.subject.subject_slug)
            resumable = checkpoints.stage_options(
                self.subject.team.slug,
                self.subject.subject_slug,
                layout.PSEUDO_LABELS,
                operator_notes(self.flags),
            )
            self._pseudo_label_checkpoint = resumable.get("checkpoint_dir")
            splits, self.pseudo_label_csv = add_pseudo_labels(
                splits,
                dataset.as_split(pool),
                csv_dir=csv_dir,
                seed=SEED,
                progress=self.progress,
                **resumable,
            )
        return splits

    def release_checkpoints(self) -> None:
        """Drop pseudo-labelling's checkpoint: no algorithm of this subject needs it any more."""
        if self._pseudo_label_checkpoint is not None:
            checkpoints.clear_stage(self._pseudo_label_checkpoint)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n")


def operator_notes(flags: TrainFlags) -> checkpoints.Note | None:
    """Where a trainer's notes (a resumed checkpoint) go: stdout at verbosity 2 and up."""
    if flags.verbose < 2:
        return None
    return lambda message: print(message, flush=True)


def train_into(
    reservation: Reservation, algorithm: str, data: SubjectData, flags: TrainFlags
) -> dict[str, Any]:
    """Train, calibrate, evaluate, gate and report, all into staging; nothing is published here.

    metrics.json is complete when this returns: the publish that follows never edits it.
    """
    splits = data.splits()
    staging = reservation.staging
    threshold = flags.prob_threshold
    say = operator_notes(flags)
    team, subject = data.subject.team.slug, data.subject.subject_slug
    resumable = checkpoints.stage_options(team, subject, algorithm, say)
    trainer = get_trainer(algorithm, seed=SEED, progress=data.progress, **resumable)
    history = trainer.train(splits.train, splits.val)
    trainer.save(staging)
    raw = {"val": trainer.predict_proba(splits.val.texts)}
    raw["test"] = trainer.predict_proba(splits.test.texts)
    # The score contract: raw unless validation earns a calibrator (ml.evaluation.calibration).
    # calibrator.joblib is written either way (the identity when raw), as the loader expects.
    scale = calibration.choose_scale(splits.val.labels, raw["val"], threshold)
    joblib.dump(scale.calibrator, staging / layout.CALIBRATOR_FILE)
    calibrated = {name: scale.calibrator(scores) for name, scores in raw.items()}
    metrics: dict[str, Any] = {
        **_evaluation(splits, raw, calibrated, threshold),
        **scale.as_metrics(),
        **splits.sizes(),
        **_provenance(reservation, algorithm, data, flags, trainer),
    }
    write_json(staging / layout.SPLIT_FILE, split_record(splits))
    write_json(staging / layout.HISTORY_FILE, history)
    # The loader needs metrics.json to score this version as prediction will; rewritten below.
    write_json(staging / layout.METRICS_FILE, metrics)
    if flags.no_gate:
        decision, comparison = gate.skipped(), None
    else:
        decision, comparison = gate.against_promoted(reservation, splits, metrics)
    metrics.update(decision.as_metrics())
    report.write_report(
        staging,
        metrics,
        history,
        labels={"val": splits.val.labels, "test": splits.test.labels},
        raw=raw,
        calibrated=calibrated,
        comparison=comparison,
    )
    write_json(staging / layout.METRICS_FILE, metrics)
    return metrics


def _provenance(
    reservation: Reservation, algorithm: str, data: SubjectData, flags: TrainFlags, trainer: Trainer
) -> dict[str, Any]:
    """What the version is and what made it: names, settings, models, libraries, the machine."""
    record: dict[str, Any] = {
        "algorithm": algorithm,
        "team": data.subject.team.slug,
        "subject": data.subject.subject_slug,
        "version": reservation.version,
        "prob_threshold": flags.prob_threshold,
        "window_days": flags.window_days,
        "seed": SEED,
        "n_too_short": data.n_too_short,
        fingerprint.KEY: data.fingerprint(algorithm),
        **text.PREPARATION,
        # The summariser that made the texts: prediction serves the version only under the same.
        summariser.PIPELINE_KEY: summariser.text_pipeline(),
        **config.model_revisions(),
        "n_threads": threads.intra_op_threads(),
        "lib_python": platform.python_version(),
        "lib_numpy": np.__version__,
        **devices.device_metrics(getattr(trainer, "device", None)),
        **{f"lib_{name}": version for name, version in trainer.library_versions().items()},
    }
    if trainer.resumed_from_epoch:
        record["resumed_from_epoch"] = trainer.resumed_from_epoch
    if data.pseudo_label_csv is not None:
        record["pseudo_label_csv"] = str(data.pseudo_label_csv)
    return record


def _evaluation(splits: DatasetSplits, raw: dict, calibrated: dict, threshold: float) -> dict:
    test_y, val_y = splits.test.labels, splits.val.labels
    out: dict[str, Any] = {}
    for name, split in (("val", splits.val), ("test", splits.test)):
        out.update(classification_metrics(split.labels, calibrated[name], threshold, f"{name}_"))
        before = classification_metrics(split.labels, raw[name], threshold, f"{name}_")
        out.update({f"{key}_uncalibrated": value for key, value in before.items()})
    out.update(bootstrap.bootstrap_intervals(test_y, calibrated["test"], threshold, "test_"))
    out.update(
        test_brier=bootstrap.brier(test_y, calibrated["test"]),
        test_brier_uncalibrated=bootstrap.brier(test_y, raw["test"]),
        test_ece=bootstrap.expected_calibration_error(test_y, calibrated["test"]),
        test_ece_uncalibrated=bootstrap.expected_calibration_error(test_y, raw["test"]),
        val_best_f1_threshold=bootstrap.best_f1_threshold(val_y, calibrated["val"]),
        val_n_flagged=int((calibrated["val"] >= threshold).sum()),
        val_n_flagged_uncalibrated=int((raw["val"] >= threshold).sum()),
        bootstrap_resamples=bootstrap.N_RESAMPLES,
    )
    return out


def split_record(splits: DatasetSplits) -> dict[str, list[int]]:
    """Which articles each split held; pseudo-labelled rows (appended to train) apart."""
    n_labelled = len(splits.train) - splits.pseudo_labelled
    return {
        "train": splits.train.article_ids[:n_labelled],
        "validation": splits.val.article_ids,
        "test": splits.test.article_ids,
        "pseudo_labelled": splits.train.article_ids[n_labelled:],
    }
