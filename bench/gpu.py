"""One prepared GPU benchmark: BERT training and prediction, BART summaries, an LSTM epoch.

`python -m bench.gpu` on a CUDA machine (docs/gpu.md: a GPU node with the training image) prints
ONE JSON line on stdout, progress on stderr, in under 8 minutes on an H100/H200: every phase ends
at a time or step budget, warm-up steps are left out of the timing, and the clock is read after
torch.cuda.synchronize(). `--smoke` runs the same code with tiny configs on the CPU in seconds
(tests/bench/test_gpu_smoke.py); its figures say only that the code runs.

Nothing comes from a model hub: BERT-base (pubmed_bert's architecture: BiomedBERT is a BERT-base)
and BART-large (bart-large-cnn's sizes and generation settings: 4 beams, length penalty 2.0,
no repeated trigrams, at least 56 tokens) are built from their configs with random weights and
saved to a temporary directory, with tokenizers built from gregory_dev's word list. Random weights
cost the same per token as trained ones; BART summaries are the exception: a random decoder
almost never emits </s>, so each summary runs to the 300-token cap (the worst case).
`--summary-tokens N` makes every summary end after N tokens instead (</s> suppressed before N as
min_length does, then certain), for the lengths that trained weights write.

What each figure goes through:

- bert_train_{128,400}_*: PubMedBertTrainer.train() itself, one epoch (our optimiser: fused
  AdamW on CUDA, autocast, batch 16, length-grouped pinned loader, the loss read once per epoch)
  over texts that fill `max_len` tokens (128, and 400 as shipped). The bench only wraps the
  loader the trainer builds, to start the clock after the warm-up steps and to end the epoch at
  the budget. `_mfu`: model FLOP utilisation, 6 x parameters (encoder and head) x tokens per
  sample x samples/s against the device's dense bf16 peak (BF16_PEAK_TFLOPS; null for a device
  not listed there).
- bert_train_128_compiled_*: with `--compile` only, the same at 128 tokens with
  GREGORY_TORCH_COMPILE=1 (compilation happens in the untimed warm-up steps); null otherwise.
- bert_predict_{128,400}_*: PubMedBertTrainer.predict_proba() (batch 32), the same wrapping.
- bart_batch4_*: summarise_bulk(batch_size=4), the summariser's CPU default, on synthetic
  articles of 200-600 input tokens; bart_budget_*: the same function fed the batches its own CUDA
  batching makes (summariser.token_budget_batches) of `--bart-token-budget` padded input tokens,
  by default the summariser's (GREGORY_SUMMARISER_TOKEN_BUDGET's default).
  Batches are timed in random order so a budget-bounded run is not biased to long or short ones.
- lstm_epoch_s: LstmTrainer.train(), one epoch over `lstm_texts` texts (7,000: the training split
  of a 10,000-article subject), extrapolated from the timed batches when the budget ends it.
- *_peak_gib: torch.cuda.max_memory_allocated() over that phase on CUDA; on the CPU the process's
  peak RSS so far (`memory_measure` says which).

A phase that fails leaves its figures null and its error under `errors`; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gregory.ml.core.config import DEFAULTS

# Dense bf16 tensor-core peaks (TFLOP/s) by a substring of torch.cuda.get_device_name(); the
# first match wins, so the PCIe H100 comes before the SXM ones.
BF16_PEAK_TFLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("A100", 312.0),
)

BERT_LENGTHS = (128, 400)
SEED = 69


@dataclass(frozen=True)
class Plan:
    """Model sizes and budgets of one mode (full on CUDA, smoke on the CPU)."""

    bert: dict[str, Any]
    bart: dict[str, Any]
    warmup_steps: int
    train_budget_s: float
    train_max_steps: int
    predict_budget_s: float
    predict_max_steps: int
    bart_budget_s: float
    bart_articles: int
    bart_token_budget: int
    lstm_texts: int
    lstm_budget_s: float
    # None: summaries run as the weights make them (random: to the 300-token cap).
    summary_tokens: int | None = None
    # From the start of the process; the remaining phases then time one step each.
    deadline_s: float = 420.0
    # BERT training at 128 tokens once more through torch.compile (GREGORY_TORCH_COMPILE=1).
    compile: bool = False


# bart-large-cnn's generation settings; summarise_bulk passes max_length=300 over its 142.
BART_GENERATION = {
    "num_beams": 4,
    "length_penalty": 2.0,
    "max_length": 142,
    "min_length": 56,
    "no_repeat_ngram_size": 3,
    "early_stopping": True,
    "forced_bos_token_id": 0,
    "forced_eos_token_id": 2,
}

FULL = Plan(
    # BertConfig's defaults are BERT-base (BiomedBERT's vocabulary is 30,522 too).
    bert={},
    bart={
        "vocab_size": 50264,
        "d_model": 1024,
        "encoder_layers": 12,
        "decoder_layers": 12,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096,
        "max_position_embeddings": 1024,
    },
    warmup_steps=10,
    train_budget_s=30.0,
    train_max_steps=1500,
    predict_budget_s=10.0,
    predict_max_steps=600,
    bart_budget_s=45.0,
    bart_articles=4000,
    # What the summariser uses on CUDA unless GREGORY_SUMMARISER_TOKEN_BUDGET says otherwise.
    bart_token_budget=int(DEFAULTS["GREGORY_SUMMARISER_TOKEN_BUDGET"]),
    lstm_texts=7000,
    lstm_budget_s=30.0,
)

SMOKE = Plan(
    bert={
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    },
    bart={
        "vocab_size": 1000,
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "max_position_embeddings": 1024,
    },
    warmup_steps=1,
    train_budget_s=0.5,
    train_max_steps=4,
    predict_budget_s=0.3,
    predict_max_steps=4,
    bart_budget_s=0.3,
    bart_articles=24,
    bart_token_budget=2048,
    lstm_texts=256,
    lstm_budget_s=0.5,
    # Summaries to the cap take half a minute per batch on a CPU; the path is the same.
    summary_tokens=8,
)

_START = time.perf_counter()
# Every timed loop stops here whatever its own budget (after one timed step): the whole run must
# end within 8 minutes on a GPU. run() sets it.
_DEADLINE = [math.inf]


def say(message: str) -> None:
    print(f"[{time.perf_counter() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


# -- timing ---------------------------------------------------------------------------------------


@dataclass
class StepTimer:
    """Times one loop: the iterable a trainer (or the bench) loops over is wrapped so that the
    first `warmup` items run untimed and the loop ends, as if the data had run out, once
    `budget_s` seconds or `max_steps` timed items have passed."""

    warmup: int
    budget_s: float
    max_steps: int
    sync: Callable[[], None]
    size: Callable[[Any], int] = len
    steps: int = 0
    samples: int = 0
    seconds: float = 0.0

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        start: float | None = None
        for index, item in enumerate(items):
            if index == self.warmup:
                self.sync()
                start = time.perf_counter()
            elif start is not None and self.steps and self._spent(start):
                break
            if start is not None:
                self.steps += 1
                self.samples += self.size(item)
            yield item
        if start is not None:
            # The last step's kernels finish before the clock stops.
            self.sync()
            self.seconds = time.perf_counter() - start

    def _spent(self, start: float) -> bool:
        now = time.perf_counter()
        return self.steps >= self.max_steps or now - start >= self.budget_s or now >= _DEADLINE[0]

    def rate(self) -> float:
        """Samples per second over the timed steps."""
        if not self.steps or self.seconds <= 0:
            raise RuntimeError(f"no step was timed (warm-up {self.warmup} used up the data)")
        return self.samples / self.seconds


class TimedLoop:
    """A loader whose iteration goes through a StepTimer; anything else is the loader's."""

    def __init__(self, loader: Any, timer: StepTimer) -> None:
        self._loader = loader
        self._timer = timer

    def __iter__(self) -> Iterator[Any]:
        return self._timer.run(self._loader)

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


# -- the device -----------------------------------------------------------------------------------


@dataclass
class Device:
    torch_device: Any
    name: str | None
    peak_tflops: float | None
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.torch_device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    @contextlib.contextmanager
    def phase(self, key: str) -> Iterator[None]:
        """Peak memory of the block under `<key>_peak_gib`."""
        import torch

        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        try:
            yield
        finally:
            if self.cuda:
                peak = torch.cuda.max_memory_allocated() / 2**30
            else:
                # ru_maxrss is in KiB on Linux: the process's high-water mark, not the phase's.
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            self.figures[f"{key}_peak_gib"] = round(peak, 3)


def bf16_peak_tflops(name: str | None) -> float | None:
    for part, tflops in BF16_PEAK_TFLOPS:
        if name and part in name:
            return tflops
    return None


def choose_device(smoke: bool) -> Device:
    import torch

    if smoke:
        return Device(torch.device("cpu"), None, None)
    if not torch.cuda.is_available():
        print("bench.gpu: no CUDA device is usable here; --smoke runs on the CPU", file=sys.stderr)
        raise SystemExit(2)
    name = torch.cuda.get_device_name(0)
    return Device(torch.device("cuda"), name, bf16_peak_tflops(name))


# -- models and texts -----------------------------------------------------------------------------


def build_bert(out: Path, sizes: dict[str, Any], device: Device) -> int:
    """A random BERT with `sizes` over our WordPiece vocabulary; returns its parameter count."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    from gregory_dev.tiny_models import wordpiece_vocab

    out.mkdir(parents=True)
    (out / "vocab.txt").write_text("\n".join(wordpiece_vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out)
    torch.manual_seed(SEED)
    # Initialised on the device: a CPU init of the large models takes longer than their phase.
    with torch.device(device.torch_device):
        model = BertModel(BertConfig(pad_token_id=0, **sizes))
    model.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def build_bart(out: Path, sizes: dict[str, Any], device: Device) -> int:
    """A random BART with `sizes` and bart-large-cnn's generation settings, saved in bf16 (the
    summariser loads it in bf16 on CUDA), with a byte-level BPE trained on generated abstracts.
    Ids past the small BPE's vocabulary decode to nothing, which costs nothing to time."""
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartConfig, BartForConditionalGeneration, BartTokenizer

    from gregory_dev.tiny_models import generated_abstracts

    out.mkdir(parents=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        generated_abstracts(500),
        vocab_size=1000,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    with tempfile.TemporaryDirectory() as raw:
        bpe.save_model(raw)
        tokenizer = BartTokenizer(
            vocab=str(Path(raw) / "vocab.json"), merges=str(Path(raw) / "merges.txt")
        )
    tokenizer.model_max_length = 1024
    tokenizer.save_pretrained(out)
    config = BartConfig(
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        **sizes,
    )
    torch.manual_seed(SEED)
    with torch.device(device.torch_device):
        model = BartForConditionalGeneration(config)
    for name, value in BART_GENERATION.items():
        setattr(model.generation_config, name, value)
    params = sum(p.numel() for p in model.parameters())
    dtype = torch.bfloat16 if device.cuda else torch.float32
    model.to(dtype).save_pretrained(out)
    return params


def bert_texts(words: int, count: int) -> list[str]:
    """`count` texts of `words` vocabulary words (one token each), 64 distinct ones repeated."""
    from gregory_dev.tiny_models import WORDS

    rng = random.Random(SEED)
    distinct = [" ".join(rng.choices(WORDS, k=words)) for _ in range(64)]
    return [distinct[i % len(distinct)] for i in range(count)]


def article_texts(count: int) -> list[str]:
    """Synthetic articles of about 200-600 BPE tokens (a title and abstract's range)."""
    from gregory_dev.tiny_models import WORDS

    rng = random.Random(SEED)
    # About 1.45 tokens per word with the bench's BPE.
    return [" ".join(rng.choices(WORDS, k=rng.randint(140, 410))) for _ in range(count)]


def split(texts: list[str]) -> Any:
    import numpy as np

    from gregory.ml.data.splits import TextSplit

    labels = np.array([i % 2 for i in range(len(texts))], dtype=np.int8)
    return TextSplit(texts=texts, labels=labels)


# -- phases ---------------------------------------------------------------------------------------


def bench_bert(plan: Plan, model_dir: Path, params: int, device: Device) -> None:
    from gregory.ml.trainers.pubmed_bert import PubMedBertTrainer

    class TimedBert(PubMedBertTrainer):
        """Our trainer; the next loader it builds is timed (`timer`, used once)."""

        timer: StepTimer | None = None

        def _loader(self, *args: Any, **kwargs: Any) -> Any:
            loader = super()._loader(*args, **kwargs)
            timer, self.timer = self.timer, None
            return loader if timer is None else TimedLoop(loader, timer)

    def timer(budget_s: float, max_steps: int) -> StepTimer:
        return StepTimer(
            plan.warmup_steps, budget_s, max_steps, device.sync, lambda b: len(b["input_ids"])
        )

    def train(length: int, key: str) -> tuple[Any, list[str]]:
        """Time one training epoch at `length` tokens; the trainer and texts, for prediction."""
        say(f"BERT training at {length} tokens" + (" (compiled)" if "compiled" in key else ""))
        train_count = 16 * (plan.warmup_steps + plan.train_max_steps)
        predict_count = 32 * (plan.warmup_steps + plan.predict_max_steps)
        # Two words fewer than max_len: [CLS] and [SEP] make it exactly `length` tokens.
        texts = bert_texts(length - 2, max(train_count, predict_count))
        trainer = TimedBert(
            model_name=str(model_dir), epochs=1, max_len=length, device=str(device.torch_device)
        )
        trainer.timer = timed = timer(plan.train_budget_s, plan.train_max_steps)
        with device.phase(key):
            trainer.train(split(texts[:train_count]), split(texts[:32]))
        rate = timed.rate()
        device.figures[f"{key}_samples_s"] = round(rate, 2)
        device.figures[f"{key}_steps"] = timed.steps
        if device.peak_tflops is not None:
            flops = 6 * params * length * rate
            device.figures[f"{key}_mfu"] = round(flops / (device.peak_tflops * 1e12), 4)
        say(f"  {rate:.1f} samples/s over {timed.steps} steps")
        return trainer, texts[:predict_count]

    for length in BERT_LENGTHS:
        trainer, texts = train(length, f"bert_train_{length}")
        key = f"bert_predict_{length}"
        trainer.timer = predict = timer(plan.predict_budget_s, plan.predict_max_steps)
        with device.phase(key):
            trainer.predict_proba(texts)
        device.figures[f"{key}_samples_s"] = round(predict.rate(), 2)
        say(f"  prediction {predict.rate():.1f} samples/s")
        del trainer
    if plan.compile:
        os.environ["GREGORY_TORCH_COMPILE"] = "1"
        try:
            train(BERT_LENGTHS[0], f"bert_train_{BERT_LENGTHS[0]}_compiled")
        finally:
            os.environ["GREGORY_TORCH_COMPILE"] = "0"


def bench_bart(plan: Plan, model_dir: Path, params: int, device: Device) -> None:
    from gregory.ml.data import summariser

    name = str(model_dir)
    loaded = summariser.load_summariser(name)
    if plan.summary_tokens is not None:
        # Every summary ends after `summary_tokens`: </s> is barred before (min_length), then
        # outweighs every other token.
        loaded.model.generation_config.min_length = plan.summary_tokens
        with _no_grad():
            loaded.model.final_logits_bias[..., loaded.model.config.eos_token_id] = 1e4
    generated: list[int] = []
    generate = loaded.model.generate

    def counting_generate(*args: Any, **kwargs: Any) -> Any:
        out = generate(*args, **kwargs)
        # Less the decoder start token; a summary is as long as its batch's longest.
        generated.append(int(out.shape[-1]) - 1)
        return out

    loaded.model.generate = counting_generate
    texts = article_texts(plan.bart_articles)
    lengths = [
        len(ids)
        for ids in loaded.tokenizer(texts, truncation=True, max_length=loaded.max_input_tokens)[
            "input_ids"
        ]
    ]
    device.figures["bart_params"] = params
    device.figures["bart_input_tokens_mean"] = round(sum(lengths) / len(lengths), 1)
    by_length = sorted(range(len(texts)), key=lambda i: lengths[i], reverse=True)
    size = summariser.DEFAULT_BATCH_SIZE
    variants = {
        "batch4": [by_length[i : i + size] for i in range(0, len(by_length), size)],
        # The summariser's own batching on CUDA (one function for the job and the bench).
        "budget": summariser.token_budget_batches(lengths, plan.bart_token_budget),
    }
    device.figures["bart_budget_tokens"] = plan.bart_token_budget
    for variant, batches in variants.items():
        key = f"bart_{variant}"
        say(f"BART summaries, {variant} ({len(batches)} batches ready)")
        # The real order is longest first; a random order of the same batches is what a run
        # that stops at its budget can time without favouring long or short ones.
        random.Random(SEED).shuffle(batches)
        timer = StepTimer(1, plan.bart_budget_s, len(batches), device.sync)
        generated.clear()
        with device.phase(key):
            for batch in timer.run(batches):
                summariser.summarise_bulk(
                    [texts[i] for i in batch], batch_size=len(batch), model_name=name
                )
        rate = timer.rate()
        device.figures[f"{key}_articles_s"] = round(rate, 3)
        device.figures[f"{key}_articles"] = timer.samples
        device.figures[f"{key}_batch_mean"] = round(timer.samples / timer.steps, 1)
        device.figures[f"{key}_summary_tokens_mean"] = round(sum(generated) / len(generated), 1)
        say(f"  {rate:.2f} articles/s over {timer.samples} articles")
    loaded.model.generate = generate


@contextlib.contextmanager
def _no_grad() -> Iterator[None]:
    import torch

    with torch.no_grad():
        yield


def bench_lstm(plan: Plan, device: Device) -> None:
    from gregory.ml.trainers.lstm import LstmTrainer

    class TimedLstm(LstmTrainer):
        """Our trainer; the next batch loop it starts is timed (`timer`, used once)."""

        timer: StepTimer | None = None

        def _batches(self, *args: Any, **kwargs: Any) -> Any:
            batches = super()._batches(*args, **kwargs)
            timer, self.timer = self.timer, None
            return batches if timer is None else timer.run(batches)

    say(f"LSTM epoch over {plan.lstm_texts} texts")
    rng = random.Random(SEED)
    # 12,000 distinct words so the vocabulary fills its 10,000 entries.
    words = [f"w{i}" for i in range(12_000)]
    texts = [" ".join(rng.choices(words, k=rng.randint(60, 160))) for _ in range(plan.lstm_texts)]
    trainer = TimedLstm(epochs=1, device=str(device.torch_device))
    trainer.timer = timer = StepTimer(
        plan.warmup_steps, plan.lstm_budget_s, 10**9, device.sync, lambda b: len(b[0])
    )
    with device.phase("lstm"):
        trainer.train(split(texts), split(texts[:64]))
    epoch_s = len(texts) / timer.rate()
    device.figures["lstm_texts"] = len(texts)
    device.figures["lstm_epoch_s"] = round(epoch_s, 3)
    say(f"  {epoch_s:.2f} s per epoch")


# -- the run --------------------------------------------------------------------------------------


def run(
    smoke: bool, summary_tokens: int | None, token_budget: int | None, compile: bool = False
) -> dict[str, Any]:
    # Before our modules read them: no hub, no summary cache, the device as required.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GREGORY_SUMMARISER"] = "bart"
    os.environ["GREGORY_SUMMARY_CACHE_DIR"] = ""
    os.environ["GREGORY_DEVICE"] = "cpu" if smoke else "cuda"
    os.environ["GREGORY_TORCH_COMPILE"] = "0"  # the compiled variant turns it on for itself
    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    plan = SMOKE if smoke else FULL
    if token_budget is not None:
        plan = Plan(**{**plan.__dict__, "bart_token_budget": token_budget})
    if summary_tokens is not None:
        plan = Plan(**{**plan.__dict__, "summary_tokens": summary_tokens})
    if compile:
        plan = Plan(**{**plan.__dict__, "compile": True})
    device = choose_device(smoke)
    _DEADLINE[0] = _START + plan.deadline_s
    say(f"bench.gpu on {device.name or 'cpu'} ({'smoke' if smoke else 'full'})")
    figures = device.figures
    figures.update(
        {
            "bench": "gpu",
            "mode": "smoke" if smoke else "full",
            "device": device.torch_device.type,
            "gpu_name": device.name,
            "bf16_peak_tflops": device.peak_tflops,
            "memory_measure": "cuda_max_allocated" if device.cuda else "process_peak_rss",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "torch_threads": torch.get_num_threads(),
            "bart_summary_tokens_forced": plan.summary_tokens,
        }
    )
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-gpu-") as work:
        bert_dir, bart_dir = Path(work) / "bert", Path(work) / "bart"

        def bert() -> None:
            params = build_bert(bert_dir, plan.bert, device)
            figures["bert_params"] = params
            gc.collect()
            bench_bert(plan, bert_dir, params, device)

        def bart() -> None:
            params = build_bart(bart_dir, plan.bart, device)
            gc.collect()
            bench_bart(plan, bart_dir, params, device)

        phases: dict[str, Callable[[], None]] = {
            "bert": bert,
            "bart": bart,
            "lstm": lambda: bench_lstm(plan, device),
        }
        for phase, fn in phases.items():
            try:
                fn()
            except Exception as exc:  # one failed phase must not cost the others' figures
                errors[phase] = f"{type(exc).__name__}: {exc}"
                say(f"{phase} failed: {errors[phase]}")
    figures["errors"] = errors
    figures["wall_s"] = round(time.perf_counter() - _START, 1)
    return {key: figures.get(key) for key in expected_keys(figures)}


def expected_keys(figures: dict[str, Any] | None = None) -> list[str]:
    """Every key of the JSON line, in order; a failed phase's figures are null."""
    head = [
        "bench",
        "mode",
        "device",
        "gpu_name",
        "bf16_peak_tflops",
        "memory_measure",
        "torch",
        "transformers",
        "torch_threads",
        "bert_params",
    ]
    bert = []
    for length in BERT_LENGTHS:
        for part in ("samples_s", "steps", "mfu", "peak_gib"):
            bert.append(f"bert_train_{length}_{part}")
        bert += [f"bert_predict_{length}_samples_s", f"bert_predict_{length}_peak_gib"]
    for part in ("samples_s", "steps", "mfu", "peak_gib"):
        bert.append(f"bert_train_{BERT_LENGTHS[0]}_compiled_{part}")
    bart = ["bart_params", "bart_input_tokens_mean", "bart_summary_tokens_forced"]
    bart.append("bart_budget_tokens")
    for variant in ("batch4", "budget"):
        for part in ("articles_s", "articles", "batch_mean", "summary_tokens_mean", "peak_gib"):
            bart.append(f"bart_{variant}_{part}")
    tail = ["lstm_texts", "lstm_epoch_s", "lstm_peak_gib", "errors", "wall_s"]
    return [*head, *bert, *bart, *tail]


# Keys that are null by design in some runs (a CPU, an unlisted GPU, no forced summary length,
# no --compile).
NULLABLE = frozenset(
    {"gpu_name", "bf16_peak_tflops", "bart_summary_tokens_forced"}
    | {f"bert_train_{length}_mfu" for length in BERT_LENGTHS}
    | {f"bert_train_{BERT_LENGTHS[0]}_compiled_{part}" for part in ("samples_s", "steps", "mfu")}
    | {f"bert_train_{BERT_LENGTHS[0]}_compiled_peak_gib"}
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny configs on the CPU: checks the code, not speed"
    )
    parser.add_argument(
        "--summary-tokens",
        type=int,
        default=None,
        metavar="N",
        help="end every BART summary after N tokens (default: random weights run to the cap)",
    )
    parser.add_argument(
        "--bart-token-budget",
        type=int,
        default=None,
        metavar="TOKENS",
        help="padded input tokens per batch of the budget variant "
        f"(default {FULL.bart_token_budget})",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time BERT training at 128 tokens through torch.compile (GREGORY_TORCH_COMPILE)",
    )
    args = parser.parse_args(argv)
    if args.summary_tokens is not None and not 1 < args.summary_tokens < 300:
        parser.error("--summary-tokens must be between 2 and 299 (300 is the summariser's cap)")
    figures = run(args.smoke, args.summary_tokens, args.bart_token_budget, args.compile)
    print(json.dumps(figures, sort_keys=False), flush=True)
    bad = [
        key
        for key, value in figures.items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
    return 1 if figures["errors"] or bad else 0


if __name__ == "__main__":
    sys.exit(main())
