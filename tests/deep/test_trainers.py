"""PubMed BERT and LSTM trainers: real torch training on tiny models and the real sample."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from gregory.ml.data.splits import SEED, DatasetSplits
from gregory.ml.evaluation.metrics import METRIC_NAMES
from gregory.ml.trainers import get_trainer, trainer_class

ALGORITHMS = ("pubmed_bert", "lstm")


def options(algorithm: str, tiny_models: dict[str, Path]) -> dict:
    # Module-scoped fixtures run before the function-scoped settings fixture: name the model.
    return {"model_name": str(tiny_models["bert"])} if algorithm == "pubmed_bert" else {}


@pytest.fixture(scope="module")
def trained_trainers(small_splits: DatasetSplits, tiny_models, tmp_path_factory) -> dict:
    """Each algorithm trained once on the small slice and saved; shared by the tests below."""
    out = {}
    for algorithm in ALGORITHMS:
        trainer = get_trainer(algorithm, seed=SEED, **options(algorithm, tiny_models))
        history = trainer.train(small_splits.train, small_splits.val)
        directory = tmp_path_factory.mktemp(algorithm)
        trainer.save(directory)
        out[algorithm] = (trainer, history, directory)
    return out


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_history_has_one_entry_per_epoch(trained_trainers, algorithm):
    _, history, _ = trained_trainers[algorithm]
    assert set(history) == {"train_loss", "val_loss"}
    assert len(history["train_loss"]) == len(history["val_loss"]) == 10
    assert all(np.isfinite(history["val_loss"]))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_saved_version_reproduces_test_probabilities(trained_trainers, small_splits, algorithm):
    trainer, _, directory = trained_trainers[algorithm]
    assert sorted(p.name for p in directory.iterdir()) == sorted(trainer.artifacts)
    reloaded = trainer_class(algorithm).load(directory)
    before = trainer.predict_proba(small_splits.test.texts)
    after = reloaded.predict_proba(small_splits.test.texts)
    assert before.shape == (len(small_splits.test),)
    assert ((before >= 0) & (before <= 1)).all()
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-7)
    assert reloaded.best_epoch == trainer.best_epoch


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_best_epoch_is_restored(trained_trainers, small_splits, algorithm):
    """The kept weights are those of the lowest validation loss, not of the last epoch."""
    trainer, history, _ = trained_trainers[algorithm]
    best = int(np.argmin(history["val_loss"]))
    assert trainer.best_epoch == best + 1
    prob = trainer.predict_proba(small_splits.val.texts)
    y = small_splits.val.labels
    val_loss = -np.mean(np.log(np.where(y == 1, prob, 1 - prob)))
    assert val_loss == pytest.approx(history["val_loss"][best], rel=1e-4)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_weights_file_is_hdf5_of_the_state_dict(trained_trainers, algorithm):
    trainer, _, directory = trained_trainers[algorithm]
    weights = directory / ("bert_weights.h5" if algorithm == "pubmed_bert" else "lstm_weights.h5")
    state = trainer.model.state_dict()
    with h5py.File(weights, "r") as h5:
        assert set(h5) == set(state)
        for key, tensor in state.items():
            np.testing.assert_array_equal(h5[key][()], tensor.cpu().numpy())


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_seed_same_model(trained_trainers, small_splits, tiny_models, algorithm):
    first, history, _ = trained_trainers[algorithm]
    again = get_trainer(algorithm, seed=SEED, **options(algorithm, tiny_models))
    assert again.train(small_splits.train, small_splits.val) == history
    np.testing.assert_array_equal(
        again.predict_proba(small_splits.test.texts), first.predict_proba(small_splits.test.texts)
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_evaluate_and_library_versions(trained_trainers, small_splits, algorithm):
    trainer, _, _ = trained_trainers[algorithm]
    metrics = trainer.evaluate(small_splits.test, 0.5, prefix="test_")
    assert set(metrics) == {f"test_{name}" for name in METRIC_NAMES}
    versions = trainer.library_versions()
    assert versions["torch"] == torch.__version__ and versions["h5py"] == h5py.__version__


def test_bert_reads_the_model_from_settings(settings, tiny_models):
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    assert PubMedBertTrainer().model_name == str(tiny_models["bert"])
    settings.GREGORY_BERT_MODEL = "/nowhere/bert"
    assert PubMedBertTrainer().model_name == "/nowhere/bert"
    assert PubMedBertTrainer(model_name="x").model_name == "x"


def test_bert_pads_each_batch_to_its_longest_text(tiny_models, sample_splits):
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    dynamic = PubMedBertTrainer(model_name=str(tiny_models["bert"]))
    dynamic._build()
    texts = [" ".join(t.split()[:20]) for t in sample_splits.train.texts[:64]]
    features = dynamic._encode(texts)
    widths = [b["input_ids"].shape[1] for b in dynamic._loader(features, shuffle=True)]
    longest = max(len(f["input_ids"]) for f in features)
    assert max(widths) == longest < 400 and min(widths) < longest

    fixed = PubMedBertTrainer(model_name=str(tiny_models["bert"]), pad_to_max_length=True)
    fixed._build()
    widths = [b["input_ids"].shape[1] for b in fixed._loader(fixed._encode(texts), shuffle=True)]
    assert set(widths) == {400}


def test_bert_truncates_at_max_len(tiny_models, sample_splits):
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    trainer = PubMedBertTrainer(model_name=str(tiny_models["bert"]))
    trainer._build()
    lengths = [len(f["input_ids"]) for f in trainer._encode(sample_splits.train.texts)]
    assert max(lengths) == 400


def test_lstm_learns_the_real_sample(sample_splits, report):
    trainer = get_trainer("lstm", seed=SEED)
    trainer.train(sample_splits.train, sample_splits.val)
    metrics = trainer.evaluate(sample_splits.test, 0.8, prefix="test_")
    report(f"lstm on the real sample: test_roc_auc {metrics['test_roc_auc']:.3f}")
    assert metrics["test_roc_auc"] > 0.65


def test_lstm_tokenizer_is_a_wordlevel_tokenizers_file(trained_trainers):
    import json

    from tokenizers import Tokenizer

    _, _, directory = trained_trainers["lstm"]
    spec = json.loads((directory / "tokenizer.json").read_text())
    assert spec["model"]["type"] == "WordLevel"
    assert spec["truncation"]["max_length"] == 100
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    assert tokenizer.token_to_id("[PAD]") == 0
    assert len(tokenizer.encode(" ".join(["word"] * 500)).ids) == 100


def test_empty_texts_predict(trained_trainers):
    for algorithm in ALGORITHMS:
        trainer, _, _ = trained_trainers[algorithm]
        assert trainer.predict_proba(["", "multiple sclerosis"]).shape == (2,)
        assert trainer.predict_proba([]).shape == (0,)


def test_loading_a_pretraining_checkpoint_is_quiet_unless_verbose(tmp_path, tiny_models):
    """Hub BERTs ship an MLM head the classifier drops; its load report waits for verbosity 1."""
    import logging

    from transformers import BertConfig, BertForMaskedLM

    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    config = BertConfig.from_pretrained(tiny_models["bert"])
    BertForMaskedLM(config).save_pretrained(tmp_path / "mlm")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "mlm" / name).write_bytes((tiny_models["bert"] / name).read_bytes())

    class Collect(logging.Handler):
        # On the library's logger itself: which stream its own handler holds depends on which
        # test first imported transformers under pytest's capture.
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    collect = Collect()
    library_logger = logging.getLogger("transformers")
    library_logger.addHandler(collect)
    try:
        PubMedBertTrainer(model_name=str(tmp_path / "mlm"))._build()
        assert not any("UNEXPECTED" in message for message in collect.messages)
        PubMedBertTrainer(model_name=str(tmp_path / "mlm"), progress=True)._build()
        assert any("UNEXPECTED" in message for message in collect.messages)
    finally:
        library_logger.removeHandler(collect)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_losses_are_read_from_the_device_once_per_epoch(
    algorithm, small_splits, tiny_models, monkeypatch
):
    """Training and validation losses are summed where they are computed: a read per step
    (`.item()`) would stall a GPU's queue at every batch."""
    reads: list[str] = []
    item = torch.Tensor.item

    def counted_item(self):
        # Reads in our trainers' code (building a model reads values too, once).
        caller = sys._getframe(1).f_code
        if "gregory/ml/trainers/" in Path(caller.co_filename).as_posix():
            reads.append(caller.co_name)
        return item(self)

    monkeypatch.setattr(torch.Tensor, "item", counted_item)
    trainer = get_trainer(algorithm, epochs=2, batch_size=4, **options(algorithm, tiny_models))
    trainer.train(small_splits.train, small_splits.val)
    # 15 training and 1 validation batch an epoch (BERT validates in 32s, the LSTM in 4s):
    # one read of each loss an epoch.
    assert sorted(reads) == sorted(["train_epoch", "_loss"] * 2), reads


@pytest.mark.slow
def test_bert_trains_through_torch_compile_when_the_setting_says_so(
    small_splits, tiny_models, monkeypatch
):
    """GREGORY_TORCH_COMPILE=1: the same training, its forward compiled (about a minute on a
    CPU); the compiled wrapper shares the weights, so what is saved is the plain model's."""
    from torch._dynamo.utils import counters
    from torch._inductor import config as inductor_config

    # Compiled dropout draws its own masks; eager's random numbers make the two runs comparable.
    monkeypatch.setattr(inductor_config, "fallback_random", True)

    def run():
        trainer = get_trainer("pubmed_bert", epochs=1, **options("pubmed_bert", tiny_models))
        history = trainer.train(small_splits.train, small_splits.val)
        return trainer, history

    _, plain = run()
    counters.clear()
    monkeypatch.setenv("GREGORY_TORCH_COMPILE", "1")
    trainer, compiled = run()
    assert counters["stats"]["unique_graphs"] > 0  # dynamo did compile the forward
    assert compiled["train_loss"] == pytest.approx(plain["train_loss"], rel=1e-3)
    assert compiled["val_loss"] == pytest.approx(plain["val_loss"], rel=1e-3)
    assert not any(key.startswith("_orig_mod") for key in trainer.model.state_dict())
