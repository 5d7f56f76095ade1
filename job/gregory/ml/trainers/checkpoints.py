"""Epoch checkpoints (at an epoch's end, every GREGORY_CHECKPOINT_EVERY_S seconds), so a
disrupted Job resumes from its last checkpointed epoch.

A checkpoint lives under `<models>/.checkpoints/<job>/<team>/<subject>/<stage>/` (ml.layout), on
the shared volume, keyed by the Job name (`GREGORY_TRIGGERED_BY`): a retried or rescheduled pod
of the same Job resumes, a new Job starts afresh. A run without a Job name (a manual run) writes
no checkpoint: two manual runs have nothing that would tell them apart.

Each file holds one fingerprint (the training data, model and hyper-parameters) in its name and
its contents; a checkpoint whose fingerprint differs from the run's is deleted, never resumed.
Files are written to a temporary name and renamed (os.replace), so a kill mid-write leaves the
previous checkpoint intact. The deep trainers' epoch loop (ml.trainers.epochs) saves one at the
end of an epoch once `interval_s()` has passed since the last (a BERT-base checkpoint is ~1.3 GB
on a shared volume) and removes it when training completes: what follows (evaluation,
publishing) is short and the published version then holds the result.
Pseudo-labelling's finished result stays until every algorithm of the subject has succeeded
(training.train_subjects calls SubjectData.release_checkpoints), so a retry reuses it.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gregory.atomic_write import atomic_file
from gregory.flags import is_slug
from gregory.ml.core import config, layout
from gregory.ml.core.job_identity import job_name
from gregory.reasons import first_line

if TYPE_CHECKING:
    import torch

    from gregory.ml.data.splits import TextSplit

PREFIX = "checkpoint-"
SUFFIX = ".pt"
# A one-line note for the operator (a resumed checkpoint, an unreadable one ignored).
Note = Callable[[str], None]


def interval_s() -> float:
    """GREGORY_CHECKPOINT_EVERY_S: seconds between epoch checkpoints (0: after every epoch)."""
    return config.number_setting("GREGORY_CHECKPOINT_EVERY_S")


def job_key() -> str | None:
    """The Job name that keys checkpoints, or None for a manual run (no checkpoints)."""
    name = (job_name() or "").strip()
    return name if name and is_slug(name) else None


def fingerprint(**parts: Any) -> str:
    """sha256 of the parts as canonical JSON (numpy arrays and values as lists and numbers)."""
    payload = json.dumps(parts, sort_keys=True, default=_plain, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def data_fingerprint(*splits: TextSplit) -> str:
    """What a model was trained on: article ids, labels and the prepared texts, split by split."""
    digest = hashlib.sha256()
    for split in splits:
        digest.update(json.dumps([int(i) for i in split.article_ids]).encode())
        digest.update(np.asarray(split.labels, dtype=np.int64).tobytes())
        for text in split.texts:
            digest.update(hashlib.sha256((text or "").encode()).digest())
        digest.update(b"|")
    return digest.hexdigest()


class Checkpoint:
    """One stage's checkpoint directory and the fingerprint a resumable file must carry."""

    def __init__(self, directory: Path, fingerprint: str, note: Note | None = None) -> None:
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self._note = note

    @property
    def path(self) -> Path:
        return self.directory / f"{PREFIX}{self.fingerprint[:32]}{SUFFIX}"

    def load(self) -> dict[str, Any] | None:
        """The saved state if one matches this fingerprint; anything else in the directory goes."""
        import torch

        if not self.directory.is_dir():
            return None
        for entry in self.directory.iterdir():
            if entry != self.path and entry.is_file():
                entry.unlink(missing_ok=True)  # another fingerprint, or a writer's leftover
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # a damaged file is no checkpoint: start afresh
            self.tell(f"Ignored unreadable checkpoint {self.path}: {first_line(error)}")
            self.path.unlink(missing_ok=True)
            return None
        if not isinstance(state, dict) or state.get("fingerprint") != self.fingerprint:
            self.path.unlink(missing_ok=True)
            return None
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        """Write atomically (gregory.atomic_write): a kill mid-write keeps the last epoch's."""
        import torch

        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.path, text=False) as stream:
            torch.save({**state, "fingerprint": self.fingerprint}, stream)

    def clear(self) -> None:
        clear_stage(self.directory)

    def tell(self, message: str) -> None:
        if self._note is not None:
            self._note(message)


def clear_stage(directory: Path) -> None:
    """Remove a stage's directory, then the parents it leaves empty (up to .checkpoints)."""
    shutil.rmtree(directory, ignore_errors=True)
    for parent in Path(directory).parents:
        if parent.name == layout.CHECKPOINTS:
            break
        try:
            parent.rmdir()
        except OSError:  # not empty (another stage, another subject) or already gone
            break


# The stages that checkpoint: the deep trainers' epochs and pseudo-labelling's iterations
# (LightGBM's few seconds are not worth one).
RESUMABLE = ("pubmed_bert", "lstm", layout.PSEUDO_LABELS)


# A Job's checkpoints untouched this long belong to a Job that gave up (its retries spent, its
# deadline passed): no Job runs for days, so they are removed.
STALE_SECONDS = 7 * 24 * 3600


def stage_options(team: str, subject: str, stage: str, note: Note | None) -> dict[str, Any]:
    """`checkpoint_dir` and `notify` for a stage of this Job; empty for a manual run."""
    job = job_key()
    if job is None or stage not in RESUMABLE:
        return {}
    sweep_stale(layout.models_dir() / layout.CHECKPOINTS, keep=job)
    return {"checkpoint_dir": layout.checkpoint_dir(job, team, subject, stage), "notify": note}


def sweep_stale(root: Path, *, keep: str, now: float | None = None) -> list[str]:
    """Remove the Job directories under `root` whose newest file is older than STALE_SECONDS."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        jobs = [entry for entry in root.iterdir() if entry.is_dir() and entry.name != keep]
    except FileNotFoundError:
        return removed
    for job_dir in jobs:
        try:
            newest = max(
                (path.stat().st_mtime for path in job_dir.rglob("*")),
                default=job_dir.stat().st_mtime,
            )
        except FileNotFoundError:  # removed meanwhile by its own Job
            continue
        if now - newest > STALE_SECONDS:
            shutil.rmtree(job_dir, ignore_errors=True)
            removed.append(job_dir.name)
    return removed


# -- random number generators -----------------------------------------------------------------


def rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Python, numpy and torch (CPU, CUDA, the data loader's generator) RNG states."""
    import torch

    legacy = np.random.get_state(legacy=True)
    # The global RandomState is MT19937, whose legacy state is always this 5-tuple.
    assert isinstance(legacy, tuple)
    kind, keys, position, has_gauss, cached = legacy
    state: dict[str, Any] = {
        "python": random.getstate(),
        # numpy's state as plain values, so torch.load(weights_only=True) accepts it.
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng(state: Mapping[str, Any], generator: torch.Generator | None = None) -> None:
    import torch

    random.setstate(_tuples(state["python"]))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def _tuples(value: Any) -> Any:
    # random.setstate wants the nested tuples getstate gave, whatever the file made of them.
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_tuples(item) for item in value)
    return value
