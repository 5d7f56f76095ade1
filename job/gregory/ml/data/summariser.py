"""The one entry point for summarisation: summarise() and summarise_bulk().

BART (`facebook/bart-large-cnn` unless `GREGORY_SUMMARISER_MODEL` names another hub id or a local
directory) through `model.generate`: transformers 5 has no summarization pipeline. The setting
`GREGORY_SUMMARISER=off` passes texts through unchanged (non-deep tests, LightGBM-only runs).

Batches: on CUDA as many texts (sorted by length) as fit `GREGORY_SUMMARISER_TOKEN_BUDGET` padded
input tokens, on the CPU the spec's 4 (`GREGORY_SUMMARISER_BATCH` chooses: auto, tokens or a fixed
number). Padding is masked, so the batching changes speed, not summaries.

torch and transformers are imported inside functions: the LightGBM path imports this module and
must not pay for (or need) torch.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gregory.ml.core import config
from gregory.ml.data.summary_cache import SummaryCache, cache_root

if TYPE_CHECKING:
    import torch

MAX_SUMMARY_TOKENS = 300
# Inputs are truncated to the model's own limit, and never beyond this (BART's 1024).
MAX_INPUT_TOKENS = 1024
DEFAULT_BATCH_SIZE = 4


@dataclass(frozen=True)
class Batching:
    """How summarise_bulk cuts texts into generate() calls: `size` texts each, or as many as fit
    `token_budget` padded input tokens (count x the batch's longest; at least one text)."""

    size: int | None = None
    token_budget: int | None = None

    def batches(self, lengths: Sequence[int], order: Sequence[int]) -> list[list[int]]:
        """Positions of `lengths`, taken in `order`, cut into batches."""
        if self.token_budget is not None:
            return token_budget_batches(lengths, self.token_budget, order)
        size = self.size or DEFAULT_BATCH_SIZE
        return [list(order[start : start + size]) for start in range(0, len(order), size)]

    def record(self) -> dict[str, Any]:
        """What text_pipeline() records: the batch size, or None and the token budget."""
        if self.token_budget is not None:
            return {"batch_size": None, "batch_token_budget": self.token_budget}
        return {"batch_size": self.size or DEFAULT_BATCH_SIZE}


def token_budget_batches(
    lengths: Sequence[int], budget: int, order: Sequence[int] | None = None
) -> list[list[int]]:
    """Positions of `lengths` in `order` (default: longest first) cut into consecutive batches
    whose padded size (count x longest) stays within `budget` tokens; a text longer than the
    budget is a batch of its own."""
    if order is None:
        order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    batches: list[list[int]] = []
    longest = 0
    for i in order:
        if batches and (len(batches[-1]) + 1) * max(longest, lengths[i]) <= budget:
            batches[-1].append(i)
            longest = max(longest, lengths[i])
        else:
            batches.append([i])
            longest = lengths[i]
    return batches


def summariser_batching(device_type: str | None = None) -> Batching:
    """The batching the settings choose on `device_type` ("cuda"/"cpu"; None: the device the
    summariser runs on). auto: the token budget on CUDA, the spec's batch 4 elsewhere."""
    batch = config.summariser_batch()
    if isinstance(batch, int):
        return Batching(size=batch)
    if batch == "auto":
        if device_type is None:
            from gregory.ml.core.torch_utils import choose_device

            device_type = choose_device().type
        if device_type != "cuda":
            return Batching(size=DEFAULT_BATCH_SIZE)
    budget = config.number_setting("GREGORY_SUMMARISER_TOKEN_BUDGET", minimum=1, integer=True)
    return Batching(token_budget=int(budget))


@dataclass
class SummaryStats:
    """Texts answered from the summary cache and texts that went through the model, per process."""

    cache_hits: int = 0
    generated: int = 0


STATS = SummaryStats()


def summariser_enabled() -> bool:
    return config.setting("GREGORY_SUMMARISER").strip().lower() != "off"


def summariser_model_name() -> str:
    return config.setting("GREGORY_SUMMARISER_MODEL")


def summariser_revision(model_name: str | None = None) -> str | None:
    """The pinned hub commit for the summariser, None for a local directory or no pin."""
    name = model_name or summariser_model_name()
    return config.hub_revision(name, config.setting("GREGORY_SUMMARISER_REVISION"))


# metrics.json's record of the text pipeline a version was trained on (text_pipeline()).
PIPELINE_KEY = "text_pipeline"
# What shapes the texts a model sees; batching and precision only move the float noise of
# generation (and differ between a GPU trainer and a CPU predictor), so they are recorded only.
PIPELINE_COMPARED = ("summariser", "model", "revision", "max_input_tokens", "max_summary_tokens")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def text_pipeline() -> dict[str, Any]:
    """This process's summarisation set-up, as metrics.json records it and prediction checks it."""
    if not summariser_enabled():
        return {"summariser": "off"}
    name = summariser_model_name()
    return {
        "summariser": "on",
        "model": name,
        "revision": weights_revision(name),
        "max_input_tokens": MAX_INPUT_TOKENS,
        "max_summary_tokens": MAX_SUMMARY_TOKENS,
        # Fixed batches: {"batch_size": 4} on the CPU by default, as before the token budget.
        **summariser_batching().record(),
    }


def weights_revision(model_name: str) -> str | None:
    """What identifies the weights: a local directory's content hash ("sha256:…"); for a hub id
    the pinned revision, resolved to the commit the local hub cache holds for it when it can be;
    None when nothing is known (an unpinned model not cached yet)."""
    if config.is_local(model_name):
        return directory_hash(Path(model_name))
    pinned = summariser_revision(model_name)
    if pinned and _COMMIT.fullmatch(pinned):
        return pinned
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model_name, "config.json", revision=pinned)
    except Exception:  # no cache, a malformed id: the record says only what is known
        found = None
    if isinstance(found, str) and _COMMIT.fullmatch(Path(found).parent.name):
        return Path(found).parent.name
    return pinned


_HASHES: dict[tuple, str] = {}


def directory_hash(directory: Path) -> str:
    """sha256 over a model directory's files (names and contents; dot files left out), computed
    once per process for an unchanged directory: a local checkpoint replaced in place is seen."""
    files = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(directory).parts)
    )
    stamp = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    if stamp not in _HASHES:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            with path.open("rb") as stream:
                digest.update(hashlib.file_digest(stream, "sha256").digest())
        _HASHES[stamp] = f"sha256:{digest.hexdigest()}"
    return _HASHES[stamp]


def _identity(pipeline: Mapping[str, Any]) -> dict[str, Any]:
    found = {key: pipeline.get(key) for key in PIPELINE_COMPARED}
    if str(found["revision"] or "").startswith("sha256:"):
        # A local directory is its content: the same weights mounted elsewhere are the same.
        found["model"] = None
    return found


def describe_pipeline(pipeline: Mapping[str, Any]) -> str:
    if pipeline.get("summariser") == "off":
        return "summariser off"
    revision = str(pipeline.get("revision") or "unpinned")
    if revision.startswith("sha256:"):
        revision = revision[: len("sha256:") + 12]
    return (
        f"summariser {pipeline.get('model')}@{revision} (inputs up to "
        f"{pipeline.get('max_input_tokens')} tokens, summaries up to "
        f"{pipeline.get('max_summary_tokens')})"
    )


def pipeline_difference(recorded: Any, current: Mapping[str, Any]) -> str | None:
    """One line saying how a version's recorded text pipeline differs from `current`; None when
    they match. A record that is not a mapping is a difference too (a damaged metrics.json)."""
    if not isinstance(recorded, Mapping):
        return f"an unreadable text pipeline record ({recorded!r}) vs {describe_pipeline(current)}"
    if _identity(recorded) == _identity(current):
        return None
    return f"{describe_pipeline(recorded)} vs {describe_pipeline(current)}"


@dataclass
class LoadedSummariser:
    model: Any  # a transformers seq2seq model
    tokenizer: Any
    device: torch.device
    max_input_tokens: int


_LOADED: dict[tuple[str, str | None], LoadedSummariser] = {}
_LOAD_LOCK = threading.Lock()


def load_summariser(model_name: str | None = None, *, quiet: bool = True) -> LoadedSummariser:
    """The model and tokenizer for `model_name`, loaded once per process and kept."""
    name = model_name or summariser_model_name()
    revision = summariser_revision(name)
    with _LOAD_LOCK:
        if (name, revision) not in _LOADED:
            _LOADED[name, revision] = _load(name, revision, quiet)
        return _LOADED[name, revision]


def _load(name: str, revision: str | None, quiet: bool) -> LoadedSummariser:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from gregory.ml.core.torch_utils import choose_device, half_dtype, quiet_transformers

    # transformers' own "Loading weights" bars would break verbosity 0; ours are the batch bars.
    hf_logging.disable_progress_bar()
    device = choose_device()
    # bf16 (or fp16 on older GPUs) halves memory and roughly doubles generate() throughput on CUDA.
    dtype = half_dtype(device)
    with quiet_transformers(quiet):
        model = AutoModelForSeq2SeqLM.from_pretrained(name, revision=revision, dtype=dtype)
        model = model.to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    max_input = min(
        getattr(model.config, "max_position_embeddings", MAX_INPUT_TOKENS) or MAX_INPUT_TOKENS,
        tokenizer.model_max_length or MAX_INPUT_TOKENS,
        MAX_INPUT_TOKENS,
    )
    return LoadedSummariser(model, tokenizer, device, max_input)


def summarise(text: str) -> str:
    return summarise_bulk([text])[0]


def summarise_bulk(
    texts: Sequence[str | None],
    batch_size: int | None = None,
    *,
    token_budget: int | None = None,
    progress: bool = False,
    sort_by_length: bool = True,
    model_name: str | None = None,
) -> list[str]:
    """Summaries in input order; empty (or None) texts give "" without reaching the model.

    Texts are batched longest first so each batch pads to a similar length (restored to input
    order after); `sort_by_length=False` exists for the benchmark that measures what that buys.
    Batches hold `batch_size` texts, or fill `token_budget` padded input tokens; neither given:
    as the settings choose (summariser_batching). Summaries reach the cache after each batch's
    generate(), written on a thread while the next batch runs.
    """
    if not summariser_enabled():
        return [text or "" for text in texts]
    results = ["" for _ in texts]
    todo = [i for i, text in enumerate(texts) if text and text.strip()]
    if not todo:
        return results

    import torch
    from tqdm.auto import tqdm

    cache = _cache(model_name)
    if cache is not None:
        cached = {i: cache.get(texts[i] or "") for i in todo}
        for i, summary in cached.items():
            if summary is not None:
                results[i] = summary
        todo = [i for i in todo if cached[i] is None]
        STATS.cache_hits += len(cached) - len(todo)
        if not todo:
            return results

    loaded = load_summariser(model_name, quiet=not progress)
    if batch_size is not None or token_budget is not None:
        batching = Batching(size=batch_size, token_budget=token_budget)
    else:
        batching = summariser_batching(loaded.device.type)
    tokenizer = loaded.tokenizer
    # Tokenise once: the lengths order the batches and the ids are padded per batch below.
    encoded = tokenizer(
        [texts[i] for i in todo], truncation=True, max_length=loaded.max_input_tokens
    )["input_ids"]
    lengths = [len(ids) for ids in encoded]
    order = list(range(len(todo)))
    if sort_by_length:
        order.sort(key=lambda k: lengths[k], reverse=True)
    batches = batching.batches(lengths, order)

    bar = tqdm(batches, desc="summarising", unit="batch", disable=not progress, file=sys.stderr)
    # One writer thread: cache files (NFS in a cluster) are written while the next batch runs.
    writes: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="summary-cache") as writer:
        for batch in bar:
            inputs = tokenizer.pad({"input_ids": [encoded[k] for k in batch]}, return_tensors="pt")
            inputs = {key: value.to(loaded.device) for key, value in inputs.items()}
            with torch.inference_mode():
                generated = loaded.model.generate(**inputs, max_length=MAX_SUMMARY_TOKENS)
            decoded = tokenizer.batch_decode(generated, skip_special_tokens=True)
            done: list[tuple[str, str]] = []
            for k, summary in zip(batch, decoded, strict=True):
                results[todo[k]] = summary.strip()
                done.append((texts[todo[k]] or "", results[todo[k]]))
            if cache is not None:
                writes.append(writer.submit(_store, cache, done))
            STATS.generated += len(batch)
    for write in writes:
        write.result()  # a refused write is a miss (put says False); anything else is raised
    return results


def _store(cache: SummaryCache, summaries: Sequence[tuple[str, str]]) -> None:
    for text, summary in summaries:
        cache.put(text, summary)


def _cache(model_name: str | None) -> SummaryCache | None:
    """The summary cache for this summariser set-up, or None when it is off (the default)."""
    root = cache_root()
    if root is None:
        return None
    from gregory.ml.core.torch_utils import choose_device, half_dtype

    name = model_name or summariser_model_name()
    dtype = half_dtype(choose_device())
    return SummaryCache(
        root=root,
        model=name,
        # The weights' identity, not only the pin: a local checkpoint replaced in place or the
        # hub's main moving on must not answer with the old model's summaries.
        revision=weights_revision(name),
        precision=str(dtype).removeprefix("torch.") if dtype is not None else "float32",
        max_summary_tokens=MAX_SUMMARY_TOKENS,
        max_input_tokens=MAX_INPUT_TOKENS,
    )
