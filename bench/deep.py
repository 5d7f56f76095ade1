"""Deep-model benchmarks for `make bench` (CPU, tiny offline models, the real sample's lengths).

run() returns a flat dict of figures; each ratio compares two variants measured in this one run:

- summarise_sorted_speedup: summarise_bulk over the sample's 333 texts (batch 4) in input order
  vs sorted by length (the shipped default), same tiny BART, same outputs.
- bert_dynamic_padding_speedup: one PubMed BERT training epoch over texts with the sample's
  word counts, every batch padded to 400 vs padded per batch with length-grouped batches (the
  shipped default); bert_dynamic_random_speedup isolates per-batch padding on random batches.

The BERT texts are built from words of the tiny WordPiece vocabulary, one token per word, with the
sample's word counts: the tiny vocabulary would split the sample's own words into characters and
push nearly every text past 400 tokens, which a real biomedical vocabulary does not.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gregory.ml.data.splits import SEED
from tests.support.data import SAMPLE_CSV
from tests.support.paths import REPO


def _sample() -> tuple[list[str], np.ndarray]:
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text_processed"] for r in rows], np.array([int(r["relevant"]) for r in rows])


@contextlib.contextmanager
def _summariser_on(model: Path) -> Iterator[None]:
    """Turn the summariser on with `model`, in Django settings if configured and in the env."""
    names = {"GREGORY_SUMMARISER": "bart", "GREGORY_SUMMARISER_MODEL": str(model)}
    saved_env = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    overrides = contextlib.nullcontext()
    from django.conf import settings

    if settings.configured:
        from django.test.utils import override_settings

        overrides = override_settings(**names)
    try:
        with overrides:
            yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _best_of(variants: dict, repeat: int) -> tuple[dict[str, float], dict]:
    """Fastest of `repeat` rounds per variant, rounds interleaved so load drifts hit all alike."""
    seconds = {name: float("inf") for name in variants}
    results = {}
    for _ in range(repeat):
        for name, fn in variants.items():
            elapsed, results[name] = _timed(fn)
            seconds[name] = min(seconds[name], elapsed)
    return seconds, results


def _padded_tokens(lengths: list[int], batches: list[list[int]]) -> int:
    """Positions the model computes: each batch is as wide as its longest member."""
    return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)


def bench_summariser(bart: Path, texts: list[str], repeat: int = 3) -> dict[str, float]:
    from gregory.ml.data import summariser

    with _summariser_on(bart):
        loaded = summariser.load_summariser()
        summariser.summarise_bulk(texts[:8])  # warm up outside the timing
        seconds, out = _best_of(
            {
                "input_order": lambda: summariser.summarise_bulk(texts, sort_by_length=False),
                "sorted": lambda: summariser.summarise_bulk(texts, sort_by_length=True),
            },
            repeat,
        )
        encoded = loaded.tokenizer(texts, truncation=True, max_length=loaded.max_input_tokens)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    size = summariser.DEFAULT_BATCH_SIZE
    in_order = [list(range(i, min(i + size, len(texts)))) for i in range(0, len(texts), size)]
    by_length = sorted(range(len(texts)), key=lambda i: lengths[i], reverse=True)
    sorted_batches = [by_length[i : i + size] for i in range(0, len(texts), size)]
    return {
        "summarise_texts": len(texts),
        "summarise_input_order_s": round(seconds["input_order"], 3),
        "summarise_sorted_s": round(seconds["sorted"], 3),
        "summarise_sorted_speedup": round(seconds["input_order"] / seconds["sorted"], 2),
        # Encoder positions computed (input tokens plus padding): the work saved, on any machine.
        "summarise_padded_tokens_ratio": round(
            _padded_tokens(lengths, in_order) / _padded_tokens(lengths, sorted_batches), 2
        ),
        "summarise_same_outputs": out["input_order"] == out["sorted"],
    }


def _bert_texts(word_counts: list[int], seed: int = SEED) -> list[str]:
    from gregory_dev.tiny_models import WORDS

    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=max(n, 1))) for n in word_counts]


def bench_bert_padding(
    bert: Path, texts: list[str], labels: np.ndarray, repeat: int = 3
) -> dict[str, float]:
    from gregory.ml.data.splits import stratified_split
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    splits = stratified_split(
        _bert_texts([len(t.split()) for t in texts]), labels, range(len(labels))
    )
    variants = {
        "pad400": {"pad_to_max_length": True},
        "dynamic_random": {"group_by_length": False},
        "dynamic_grouped": {},
    }
    seconds, _ = _best_of(
        {
            name: lambda o=options: PubMedBertTrainer(model_name=str(bert), epochs=1, **o).train(
                splits.train, splits.val
            )
            for name, options in variants.items()
        },
        repeat,
    )
    lengths = [min(len(t.split()) + 2, 400) for t in splits.train.texts]
    return {
        "bert_train_texts": len(splits.train),
        "bert_median_tokens": int(np.median(lengths)),
        "bert_epoch_pad400_s": round(seconds["pad400"], 3),
        "bert_epoch_dynamic_random_s": round(seconds["dynamic_random"], 3),
        "bert_epoch_dynamic_grouped_s": round(seconds["dynamic_grouped"], 3),
        "bert_dynamic_random_speedup": round(seconds["pad400"] / seconds["dynamic_random"], 2),
        "bert_dynamic_padding_speedup": round(seconds["pad400"] / seconds["dynamic_grouped"], 2),
    }


def run(tiny_models_dir: Path | None = None) -> dict:
    """All deep figures; builds (or reuses) the tiny models under GREGORY_TINY_MODELS_DIR."""
    import torch

    from gregory_dev.tiny_models import build_tiny_models

    configured = tiny_models_dir or os.environ.get("GREGORY_TINY_MODELS_DIR")
    with contextlib.ExitStack() as stack:
        if configured:
            out = Path(configured)
        else:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tiny-models-")))
        models = build_tiny_models(out)
        texts, labels = _sample()
        figures: dict = {"torch_threads": torch.get_num_threads()}
        figures.update(bench_summariser(models["bart"], texts))
        figures.update(bench_bert_padding(models["bert"], texts, labels))
    return figures


if __name__ == "__main__":
    import json
    import sys

    sys.path[:0] = [str(REPO / "job"), str(REPO)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    import django

    django.setup()
    print(json.dumps(run(), indent=2))
