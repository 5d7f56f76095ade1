"""PubMed BERT: transformers AutoModel, CLS → Dense(48, ReLU) → dropout → 2-way output.

Fixed hyper-parameters: lr 2e-5, max_len 400, dense 48, encoder not frozen, 10 epochs, seed 69.
The epoch with the lowest validation loss is restored before anything is evaluated or saved.
Batches are padded to their own longest text (dynamic padding) and drawn length-grouped
(random mega-batches sorted by length, transformers' LengthGroupedSampler), so a batch of short
abstracts does not pay for 400 positions.

Artifacts: `bert_weights.h5` (the whole classifier's state dict, one HDF5 dataset per tensor),
`bert_config.json` (base model id, max_len, head sizes and the encoder's architecture config, so
load() needs no hub) and `bert_tokenizer/` (the tokenizer, saved with save_pretrained).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from gregory.ml.core import config, torch_utils
from gregory.ml.data.splits import SEED, TextSplit
from gregory.ml.trainers import checkpoints
from gregory.ml.trainers.epochs import EpochTrainer

if TYPE_CHECKING:
    from transformers import PreTrainedModel

WEIGHTS = "bert_weights.h5"
CONFIG = "bert_config.json"
TOKENIZER_DIR = "bert_tokenizer"


def default_model_name() -> str:
    return config.setting("GREGORY_BERT_MODEL")


def default_revision() -> str | None:
    return config.setting("GREGORY_BERT_REVISION") or None


class BertClassifier(nn.Module):
    """The encoder's [CLS] state through Dense(dense_units, ReLU), dropout and a 2-way output."""

    encoder: PreTrainedModel

    def __init__(
        self, encoder: PreTrainedModel, dense_units: int = 48, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.dense = nn.Linear(encoder.config.hidden_size, dense_units)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(dense_units, 2)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        cls = hidden[:, 0]
        return self.output(self.dropout(torch.relu(self.dense(cls))))


class PubMedBertTrainer(EpochTrainer):
    algorithm: ClassVar[str] = "pubmed_bert"
    artifacts: ClassVar[tuple[str, ...]] = (WEIGHTS, CONFIG, TOKENIZER_DIR)

    def __init__(
        self,
        *,
        seed: int = SEED,
        progress: bool = False,
        model_name: str | None = None,
        learning_rate: float = 2e-5,
        max_len: int = 400,
        dense_units: int = 48,
        dropout: float = 0.2,
        epochs: int = 10,
        batch_size: int = 16,
        patience: int | None = None,
        pad_to_max_length: bool = False,
        group_by_length: bool = True,
        device: str | None = None,
        revision: str | None = None,
        checkpoint_dir: Path | None = None,
        notify: checkpoints.Note | None = None,
    ) -> None:
        super().__init__(seed=seed, progress=progress, checkpoint_dir=checkpoint_dir, notify=notify)
        self.model_name = model_name or default_model_name()
        # A hub commit; ignored for a local directory (config.hub_revision).
        self.revision = config.hub_revision(self.model_name, revision or default_revision())
        self.learning_rate = learning_rate
        self.max_len = max_len
        self.dense_units = dense_units
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        # None: run every epoch and restore the best; N: also stop after N epochs without a gain.
        self.patience = patience
        # The benchmark's baseline: every batch padded to max_len, drawn in random order.
        self.pad_to_max_length = pad_to_max_length
        self.group_by_length = group_by_length
        self.device = torch_utils.choose_device(device)
        self.model: BertClassifier | None = None
        self.tokenizer: Any = None

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> BertClassifier:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        with torch_utils.quiet_transformers(not self.progress):
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name, revision=self.revision)
            # fp32 master weights; bf16 comes from autocast on CUDA.
            encoder = AutoModel.from_pretrained(
                self.model_name, revision=self.revision, dtype=torch.float32
            )
        self.model = BertClassifier(encoder, self.dense_units, self.dropout).to(self.device)
        return self.model

    def _encode(self, texts: Sequence[str]) -> list[dict[str, list[int]]]:
        encoded = self.tokenizer(
            [text or "" for text in texts],
            truncation=True,
            max_length=self.max_len,
            padding="max_length" if self.pad_to_max_length else False,
            return_token_type_ids=False,
        )
        return [
            {"input_ids": ids, "attention_mask": mask}
            for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"], strict=True)
        ]

    def _loader(
        self,
        features: list[dict[str, Any]],
        *,
        shuffle: bool,
        generator: torch.Generator | None = None,
        batch_size: int | None = None,
    ) -> DataLoader:
        from transformers import DataCollatorWithPadding
        from transformers.trainer_pt_utils import LengthGroupedSampler

        size = batch_size or self.batch_size
        sampler = None
        if shuffle and self.group_by_length and not self.pad_to_max_length:
            lengths = [len(f["input_ids"]) for f in features]
            sampler = LengthGroupedSampler(size, lengths=lengths, generator=generator)
        return DataLoader(
            # A list is a map-style dataset (__getitem__, __len__), which torch's stubs do not say.
            features,  # type: ignore[arg-type]
            batch_size=size,
            sampler=sampler,
            shuffle=shuffle and sampler is None,
            generator=generator if sampler is None else None,
            # Pinned host memory: the copies to the GPU (non_blocking) overlap the compute.
            pin_memory=self.device.type == "cuda",
            # Widths in multiples of 8 let CUDA tensor cores take the bf16 matmuls.
            collate_fn=DataCollatorWithPadding(
                self.tokenizer,
                pad_to_multiple_of=8 if self.device.type == "cuda" else None,
                return_tensors="pt",
            ),
        )

    # -- training -------------------------------------------------------------------------------

    def train(self, train: TextSplit, val: TextSplit) -> dict[str, list[float]]:
        generator = torch_utils.seed_everything(self.seed)
        model = self._build()
        train_features = self._labelled(train)
        val_features = self._labelled(val)
        # Built before any validation loader: bench/gpu.py times the first loader a trainer builds.
        loader = self._loader(train_features, shuffle=True, generator=generator)
        optimiser = torch_utils.adamw(model.parameters(), self.learning_rate, self.device)
        loss_fn = nn.CrossEntropyLoss()
        # torch.compile when GREGORY_TORCH_COMPILE is on; `model` itself otherwise.
        forward = torch_utils.compiled(model)

        def train_epoch() -> float:
            # Summed on the device and read once per epoch: no host sync per step.
            total = torch.zeros((), dtype=torch.float64, device=self.device)
            count = 0
            for batch in loader:
                batch = torch_utils.to_device(batch, self.device)
                with torch_utils.autocast(self.device):
                    logits = forward(batch["input_ids"], batch["attention_mask"])
                loss = loss_fn(logits.float(), batch["labels"])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += loss.detach().double() * len(batch["labels"])
                count += len(batch["labels"])
            return total.item() / max(count, 1)

        return self.fit_epochs(
            train,
            val,
            model=model,
            optimiser=optimiser,
            train_epoch=train_epoch,
            validate=lambda: self._loss(val_features, loss_fn, forward),
            best=torch_utils.BestEpoch(self.patience),
            generator=generator,
        )

    def _labelled(self, split: TextSplit) -> list[dict[str, Any]]:
        """The split's encodings, each with its label: what the loaders batch."""
        features: list[dict[str, Any]] = []
        for feature, label in zip(self._encode(split.texts), split.labels, strict=True):
            features.append({**feature, "labels": int(label)})
        return features

    def training_settings(self) -> dict[str, Any]:
        """The base model and hyper-parameters: what a checkpoint must have been trained with."""
        names = (
            "seed",
            "model_name",
            "revision",
            "learning_rate",
            "max_len",
            "dense_units",
            "dropout",
            "epochs",
            "batch_size",
            "patience",
            "pad_to_max_length",
            "group_by_length",
        )
        return {name: getattr(self, name) for name in names}

    def _loss(
        self,
        features: list[dict[str, Any]],
        loss_fn: nn.Module,
        forward: nn.Module | None = None,
    ) -> float:
        """Mean loss over `features`, summed on the device and read once."""
        assert self.model is not None
        forward = self.model if forward is None else forward
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        with torch_utils.eval_mode(self.model):
            for batch in self._loader(features, shuffle=False, batch_size=32):
                batch = torch_utils.to_device(batch, self.device)
                with torch_utils.autocast(self.device):
                    logits = forward(batch["input_ids"], batch["attention_mask"])
                loss = loss_fn(logits.float(), batch["labels"])
                total += loss.double() * len(batch["labels"])
                count += len(batch["labels"])
        return total.item() / max(count, 1)

    # -- inference ------------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("train() or load() first")
        if not len(texts):
            return np.zeros(0, dtype=float)
        features = self._encode(texts)
        # Sorted by length so each inference batch pads to a similar length; order restored below.
        order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
        sorted_features = [features[i] for i in order]
        # Kept on the device and copied back once: no host sync per batch.
        parts: list[torch.Tensor] = []
        with torch_utils.eval_mode(self.model):
            for batch in self._loader(sorted_features, shuffle=False, batch_size=32):
                batch = torch_utils.to_device(batch, self.device)
                with torch_utils.autocast(self.device):
                    logits = self.model(batch["input_ids"], batch["attention_mask"])
                parts.append(torch.softmax(logits.float(), dim=-1)[:, 1])
        values = torch.cat(parts).cpu().numpy()
        probs = np.empty(len(features), dtype=float)
        # All of them, unless a loop was cut short (bench/gpu.py times part of one).
        probs[order[: len(values)]] = values
        return probs

    # -- persistence ----------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        assert self.model is not None
        return {
            "base_model": self.model_name,
            "base_model_revision": self.revision,
            "max_len": self.max_len,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
            "best_epoch": self.best_epoch,
            "encoder_config": self.model.encoder.config.to_dict(),
        }

    def save(self, directory: Path) -> None:
        if self.model is None:
            raise RuntimeError("nothing to save: train() first")
        directory = Path(directory)
        config = self._config()
        torch_utils.save_state_dict_h5(
            directory / WEIGHTS,
            self.model.state_dict(),
            {key: value for key, value in config.items() if key != "encoder_config"},
        )
        (directory / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        self.tokenizer.save_pretrained(directory / TOKENIZER_DIR)

    @classmethod
    def load(cls, directory: Path, *, device: str | None = None) -> PubMedBertTrainer:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        directory = Path(directory)
        config = json.loads((directory / CONFIG).read_text())
        encoder_config = dict(config["encoder_config"])
        encoder = AutoModel.from_config(
            AutoConfig.for_model(encoder_config.pop("model_type"), **encoder_config)
        )
        trainer = cls(
            model_name=config["base_model"],
            max_len=config["max_len"],
            dense_units=config["dense_units"],
            dropout=config["dropout"],
            device=device,
        )
        model = BertClassifier(encoder, config["dense_units"], config["dropout"])
        state, _ = torch_utils.load_state_dict_h5(directory / WEIGHTS)
        model.load_state_dict(state)
        trainer.model = model.to(trainer.device).eval()
        trainer.tokenizer = AutoTokenizer.from_pretrained(directory / TOKENIZER_DIR)
        trainer.best_epoch = config.get("best_epoch")
        return trainer

    def library_versions(self) -> dict[str, str]:
        return torch_utils.library_versions()
