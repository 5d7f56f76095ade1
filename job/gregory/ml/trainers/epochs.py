"""The epoch loop both deep trainers run: resume, train, validate, keep the best, checkpoint.

A trainer (an EpochTrainer) builds its model, optimiser and data, then hands `fit_epochs` two
callables: one epoch of training (returning the epoch's mean training loss) and the validation
loss. Everything around them lives here once: resuming from a checkpoint
(ml.trainers.checkpoints), the learning curve (`train_loss`, `val_loss`: training_history.json),
choosing the epoch with the lowest validation loss and restoring its weights, early stopping
when the trainer gave `best` a patience, a checkpoint at the end of an epoch once
`GREGORY_CHECKPOINT_EVERY_S` seconds (10 minutes by default; 0: every epoch) have passed since
the last one (or since training started), and removing it when training completes. A resume
starts at the end of the checkpointed epoch, as before: only the interval between them moved.

The order of what draws random numbers is part of the contract (a resumed run must match an
uninterrupted one weight for weight): the RNG states are restored after the trainer has built
everything, and each epoch runs train step, validation, best-epoch update, checkpoint, in turn.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from gregory.ml.core import torch_utils
from gregory.ml.data.splits import TextSplit
from gregory.ml.trainers import checkpoints
from gregory.ml.trainers.base import Trainer
from gregory.ml.trainers.checkpoints import Checkpoint, restore_rng, rng_state

History = dict[str, list[float]]


class EpochTrainer(Trainer):
    """A trainer whose training is `fit_epochs`, checkpointed under a fingerprint of the data and
    `training_settings()`."""

    epochs: int

    def __init__(
        self,
        *,
        seed: int,
        progress: bool,
        checkpoint_dir: Path | None,
        notify: checkpoints.Note | None,
    ) -> None:
        super().__init__(seed=seed, progress=progress)
        # Per-epoch checkpoints go here when set; `notify` hears of a resume.
        self.checkpoint_dir = checkpoint_dir
        self.notify = notify
        self.best_epoch: int | None = None

    @abstractmethod
    def training_settings(self) -> dict[str, Any]:
        """Every hyper-parameter a checkpoint must match besides the data."""

    def fit_epochs(
        self,
        train: TextSplit,
        val: TextSplit,
        *,
        model: torch.nn.Module,
        optimiser: torch.optim.Optimizer,
        train_epoch: Callable[[], float],
        validate: Callable[[], float],
        best: torch_utils.BestEpoch,
        generator: torch.Generator | None,
    ) -> History:
        """Run epochs up to `self.epochs` (fewer when `best`'s patience runs out); the best
        epoch's weights are in `model`, in eval mode, when this returns, and `best_epoch` and
        `resumed_from_epoch` say where training ended and started.

        `generator` is the data order's generator, saved and restored with the other RNG states.
        """
        checkpoint = self._checkpoint(train, val)
        done, history = _resume(checkpoint, self.algorithm, model, optimiser, best, generator)
        every_s = checkpoints.interval_s() if checkpoint is not None else 0.0
        last_saved = time.monotonic()
        bar = torch_utils.epoch_bar(self.algorithm, self.epochs, self.progress, start=done)
        for epoch in bar:
            model.train()
            train_loss = train_epoch()
            val_loss = validate()
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            bar.set_postfix(train_loss=f"{train_loss:.4f}", val_loss=f"{val_loss:.4f}")
            if best.update(model, epoch + 1, val_loss):
                # Patience ran out: training ends here, so this epoch needs no checkpoint.
                break
            if time.monotonic() - last_saved >= every_s:
                _save(checkpoint, epoch + 1, model, optimiser, best, history, generator)
                last_saved = time.monotonic()
        best.restore(model)
        model.eval()
        if checkpoint is not None:
            checkpoint.clear()
        self.best_epoch = best.epoch
        self.resumed_from_epoch = done or None
        return history

    def _checkpoint(self, train: TextSplit, val: TextSplit) -> Checkpoint | None:
        """This run's checkpoint, fingerprinted by its data and training settings."""
        if self.checkpoint_dir is None:
            return None
        fingerprint = checkpoints.fingerprint(
            algorithm=self.algorithm,
            data=checkpoints.data_fingerprint(train, val),
            settings=self.training_settings(),
        )
        return Checkpoint(self.checkpoint_dir, fingerprint, self.notify)


def _resume(
    checkpoint: Checkpoint | None,
    name: str,
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    best: torch_utils.BestEpoch,
    generator: torch.Generator | None,
) -> tuple[int, History]:
    """Epochs already done and their history, restored from `checkpoint` (0 and empty without).

    The RNG states are restored last, so whatever building the model drew from them is
    overwritten with the state after the saved epoch.
    """
    state = checkpoint.load() if checkpoint is not None else None
    if checkpoint is None or state is None:
        return 0, {"train_loss": [], "val_loss": []}
    model.load_state_dict(state["model"])
    optimiser.load_state_dict(state["optimiser"])
    best.load_state_dict(state["best"])
    restore_rng(state["rng"], generator)
    epoch = int(state["epoch"])
    checkpoint.tell(f"Resumed {name} from epoch {epoch} checkpoint")
    return epoch, {key: list(values) for key, values in state["history"].items()}


def _save(
    checkpoint: Checkpoint | None,
    epoch: int,
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    best: torch_utils.BestEpoch,
    history: Mapping[str, list[float]],
    generator: torch.Generator | None,
) -> None:
    """Checkpoint a finished epoch (1-based) with everything _resume() restores."""
    if checkpoint is None:
        return
    state: dict[str, Any] = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        # Neither trainer schedules its learning rate; the key keeps the file's layout as it was.
        "scheduler": None,
        "best": best.state_dict(),
        "history": {key: list(values) for key, values in history.items()},
        "rng": rng_state(generator),
    }
    checkpoint.save(state)
