"""LSTM: a torch bidirectional LSTM over a WordLevel vocabulary.

Hyper-parameters as GregoryAI's Keras model had them: embedding 128, 64 units per direction,
dropout 0.3, vocabulary 10,000 words, sequences truncated to 100 tokens, 10 epochs, seed 69.
The epoch with the lowest validation loss is restored before evaluation and saving.
It runs on CUDA when present (cuDNN LSTM) but in fp32: the model is small enough that bf16 would
gain nothing, and cuDNN's packed-sequence RNN kernels do not take bf16 on every GPU generation.

Artifacts: `tokenizer.json` (Hugging Face `tokenizers`, WordLevel, truncation to 100 stored in
it) and `lstm_weights.h5` (state dict via h5py, hyper-parameters as a JSON attribute).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from gregory.ml.core import torch_utils
from gregory.ml.data.splits import SEED, TextSplit
from gregory.ml.trainers import checkpoints
from gregory.ml.trainers.epochs import EpochTrainer

WEIGHTS = "lstm_weights.h5"
TOKENIZER = "tokenizer.json"
PAD, UNK = "[PAD]", "[UNK]"


def build_tokenizer(texts: Sequence[str], vocab_size: int, seq_len: int):
    """A lowercasing WordLevel tokenizer over the training texts, truncating to `seq_len`."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel
    from tokenizers.trainers import WordLevelTrainer

    tokenizer = Tokenizer(WordLevel(unk_token=UNK))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    # [PAD] first so it gets id 0, the embedding's padding_idx.
    trainer = WordLevelTrainer(
        vocab_size=vocab_size, special_tokens=[PAD, UNK], show_progress=False
    )
    tokenizer.train_from_iterator([text or "" for text in texts], trainer=trainer)
    tokenizer.enable_truncation(max_length=seq_len)
    return tokenizer


class BiLstmClassifier(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int, units: int, dropout: float) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, units, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * units, 2)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # Packing makes the padding invisible to both directions (Keras masking did the same).
        packed = pack_padded_sequence(
            self.embedding(ids), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        # hidden: (2, batch, units), the forward direction's last and the backward's first step.
        features = torch.cat([hidden[0], hidden[1]], dim=-1)
        return self.output(self.dropout(features))


class LstmTrainer(EpochTrainer):
    algorithm: ClassVar[str] = "lstm"
    artifacts: ClassVar[tuple[str, ...]] = (WEIGHTS, TOKENIZER)

    def __init__(
        self,
        *,
        seed: int = SEED,
        progress: bool = False,
        vocab_size: int = 10_000,
        seq_len: int = 100,
        embedding_dim: int = 128,
        units: int = 64,
        dropout: float = 0.3,
        epochs: int = 10,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        device: str | None = None,
        checkpoint_dir: Path | None = None,
        notify: checkpoints.Note | None = None,
    ) -> None:
        super().__init__(seed=seed, progress=progress, checkpoint_dir=checkpoint_dir, notify=notify)
        self.vocab_size = vocab_size
        self.seq_len = seq_len
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = torch_utils.choose_device(device)
        self.tokenizer: Any = None
        self.model: BiLstmClassifier | None = None

    def _encode(self, texts: Sequence[str]) -> list[torch.Tensor]:
        encodings = self.tokenizer.encode_batch([text or "" for text in texts])
        # An empty text becomes one [PAD]: packed sequences need a length of at least 1.
        return [torch.tensor(e.ids or [0], dtype=torch.long) for e in encodings]

    def _batches(self, encoded: list[torch.Tensor], order: Sequence[int]):
        for start in range(0, len(order), self.batch_size):
            idx = list(order[start : start + self.batch_size])
            seqs = [encoded[i] for i in idx]
            lengths = torch.tensor([len(s) for s in seqs])
            yield (
                idx,
                pad_sequence(seqs, batch_first=True).to(self.device, non_blocking=True),
                lengths,
            )

    def train(self, train: TextSplit, val: TextSplit) -> dict[str, list[float]]:
        generator = torch_utils.seed_everything(self.seed)
        self.tokenizer = build_tokenizer(train.texts, self.vocab_size, self.seq_len)
        model = self.model = BiLstmClassifier(
            self.tokenizer.get_vocab_size(), self.embedding_dim, self.units, self.dropout
        ).to(self.device)
        train_x, val_x = self._encode(train.texts), self._encode(val.texts)
        train_y = torch.as_tensor(np.asarray(train.labels, dtype=np.int64))
        val_y = torch.as_tensor(np.asarray(val.labels, dtype=np.int64))
        optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        loss_fn = nn.CrossEntropyLoss(reduction="sum")

        def train_epoch() -> float:
            # Summed on the device and read once per epoch: no host sync per step.
            total = torch.zeros((), dtype=torch.float64, device=self.device)
            order = torch.randperm(len(train_x), generator=generator).tolist()
            for idx, ids, lengths in self._batches(train_x, order):
                loss = loss_fn(model(ids, lengths), train_y[idx].to(self.device, non_blocking=True))
                optimiser.zero_grad(set_to_none=True)
                (loss / len(idx)).backward()
                optimiser.step()
                total += loss.detach().double()
            return total.item() / max(len(train_x), 1)

        return self.fit_epochs(
            train,
            val,
            model=model,
            optimiser=optimiser,
            train_epoch=train_epoch,
            # An empty validation split scores NaN (pubmed_bert's scores 0.0): no epoch is best,
            # so the last epoch's weights stay.
            validate=lambda: self._loss(val_x, val_y, loss_fn),
            best=torch_utils.BestEpoch(),
            generator=generator,
        )

    def training_settings(self) -> dict[str, Any]:
        names = (
            "seed",
            "vocab_size",
            "seq_len",
            "embedding_dim",
            "units",
            "dropout",
            "epochs",
            "batch_size",
            "learning_rate",
        )
        return {name: getattr(self, name) for name in names}

    def _logits(self, encoded: list[torch.Tensor]) -> torch.Tensor:
        """Logits on the CPU, in input order; batches stay on the device until the one copy."""
        assert self.model is not None
        with torch_utils.eval_mode(self.model):
            parts = [
                self.model(ids, lengths)
                for _, ids, lengths in self._batches(encoded, range(len(encoded)))
            ]
        return torch.cat(parts).cpu() if parts else torch.empty(0, 2)

    def _loss(self, encoded: list[torch.Tensor], labels: torch.Tensor, loss_fn: nn.Module) -> float:
        if not encoded:
            return float("nan")
        return loss_fn(self._logits(encoded), labels).item() / len(encoded)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("train() or load() first")
        if not len(texts):
            return np.zeros(0, dtype=float)
        return torch.softmax(self._logits(self._encode(texts)), dim=-1)[:, 1].numpy().astype(float)

    def save(self, directory: Path) -> None:
        if self.model is None:
            raise RuntimeError("nothing to save: train() first")
        directory = Path(directory)
        self.tokenizer.save(str(directory / TOKENIZER))
        torch_utils.save_state_dict_h5(
            directory / WEIGHTS,
            self.model.state_dict(),
            {
                "vocab_size": self.tokenizer.get_vocab_size(),
                "seq_len": self.seq_len,
                "embedding_dim": self.embedding_dim,
                "units": self.units,
                "dropout": self.dropout,
                "best_epoch": self.best_epoch,
            },
        )

    @classmethod
    def load(cls, directory: Path, *, device: str | None = None) -> LstmTrainer:
        from tokenizers import Tokenizer

        directory = Path(directory)
        state, config = torch_utils.load_state_dict_h5(directory / WEIGHTS)
        trainer = cls(
            seq_len=config["seq_len"],
            embedding_dim=config["embedding_dim"],
            units=config["units"],
            dropout=config["dropout"],
            device=device,
        )
        trainer.tokenizer = Tokenizer.from_file(str(directory / TOKENIZER))
        model = BiLstmClassifier(
            config["vocab_size"], config["embedding_dim"], config["units"], config["dropout"]
        )
        model.load_state_dict(state)
        trainer.model = model.to(trainer.device).eval()
        trainer.best_epoch = config.get("best_epoch")
        return trainer

    def library_versions(self) -> dict[str, str]:
        return torch_utils.library_versions()
