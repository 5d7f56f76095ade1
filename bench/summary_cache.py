"""The summary cache in `make bench`: summarise_bulk over the real sample's texts with the tiny
BART and the cache on, a first (cold) pass against a second over the same articles.

- summary_cache_second_run_speedup: first pass seconds / second pass seconds; the second pass
  reads one small file per text and never reaches the model.
- summary_cache_hit_share: the second pass's texts answered from the cache (1.0 expected).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from bench.deep import _sample, _summariser_on


@contextlib.contextmanager
def _cache_at(directory: Path):
    from django.conf import settings
    from django.test.utils import override_settings

    os.environ["GREGORY_SUMMARY_CACHE_DIR"] = str(directory)
    overrides = (
        override_settings(GREGORY_SUMMARY_CACHE_DIR=str(directory))
        if settings.configured
        else contextlib.nullcontext()
    )
    try:
        with overrides:
            yield
    finally:
        os.environ.pop("GREGORY_SUMMARY_CACHE_DIR", None)


def run(tiny_models_dir: Path | None = None) -> dict:
    """The figures; the tiny models are built (or reused) under GREGORY_TINY_MODELS_DIR."""
    from gregory_dev.tiny_models import build_tiny_models

    texts, _ = _sample()
    configured = tiny_models_dir or os.environ.get("GREGORY_TINY_MODELS_DIR")
    with contextlib.ExitStack() as stack:
        out = configured or stack.enter_context(tempfile.TemporaryDirectory(prefix="tiny-"))
        bart = build_tiny_models(Path(out))["bart"]
        return _compare(bart, texts)


def _compare(bart: Path, texts: list[str]) -> dict:
    from gregory.ml.data import summariser

    with tempfile.TemporaryDirectory(prefix="summary-cache-") as tmp, _summariser_on(bart):
        summariser.load_summariser()  # the model load is not what is compared
        with _cache_at(Path(tmp)):
            seconds = []
            outputs = []
            for _ in range(2):
                hits = summariser.STATS.cache_hits
                start = time.perf_counter()
                outputs.append(summariser.summarise_bulk(texts))
                seconds.append(time.perf_counter() - start)
            second_hits = summariser.STATS.cache_hits - hits
    n = sum(1 for text in texts if text and text.strip())
    return {
        "summary_cache_texts": n,
        "summary_cache_first_run_s": round(seconds[0], 3),
        "summary_cache_second_run_s": round(seconds[1], 4),
        "summary_cache_second_run_speedup": round(seconds[0] / seconds[1], 1),
        "summary_cache_hit_share": round(second_hits / n, 3),
        "summary_cache_same_outputs": outputs[0] == outputs[1],
    }
