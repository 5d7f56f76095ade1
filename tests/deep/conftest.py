"""Deep-model tests: tiny BERT and BART built once per session, settings pointed at them.

Nothing reaches a model hub. `GREGORY_TINY_MODELS_DIR` (the Makefile exports var/tiny-models)
lets repeated runs reuse one build; otherwise the build goes to a session temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gregory.ml.data.splits import DatasetSplits, stratified_split
from tests.support.data import load_sample, shorten

# Set before anything imports huggingface_hub (it reads this once): a test that names a model
# which is not on disk fails at once instead of trying the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    # On the 2-core CI box, intra-op threads cost more than they give for tiny models (~4x slower
    # LSTM epochs measured); one thread also keeps timings steady next to other test processes.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from gregory_dev.tiny_models import build_tiny_models

    configured = os.environ.get("GREGORY_TINY_MODELS_DIR")
    out = Path(configured) if configured else tmp_path_factory.mktemp("tiny-models")
    return build_tiny_models(out)


@pytest.fixture(autouse=True)
def _no_summariser_model(settings, monkeypatch, tiny_models: dict[str, Path]) -> None:
    """Overrides the root conftest's fixture of this name: deep tests summarise with tiny BART."""
    values = {
        "GREGORY_SUMMARISER": "bart",
        "GREGORY_SUMMARISER_MODEL": str(tiny_models["bart"]),
        "GREGORY_BERT_MODEL": str(tiny_models["bert"]),
    }
    for name, value in values.items():
        setattr(settings, name, value)
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def sample_splits() -> DatasetSplits:
    """The whole real sample, split as the job splits it."""
    texts, labels, ids = load_sample()
    return stratified_split(texts, labels, ids)


@pytest.fixture(scope="session")
def small_splits(sample_splits: DatasetSplits) -> DatasetSplits:
    """A small, quick slice of the real sample: 60/20/20 rows of at most 40 words."""
    return DatasetSplits(
        train=shorten(sample_splits.train, 60, 40),
        val=shorten(sample_splits.val, 20, 40),
        test=shorten(sample_splits.test, 20, 40),
    )
