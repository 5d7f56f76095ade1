"""The job's GREGORY_* model and GPU-loop settings: the one home of their defaults.

Django settings win where they name the setting (gregory_train/settings.py reads the environment
with these defaults); otherwise the environment variable of the same name does.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

DEFAULTS = {
    "GREGORY_BERT_MODEL": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "GREGORY_SUMMARISER_MODEL": "facebook/bart-large-cnn",
    # Hub commit hashes the models are pinned to; empty follows the hub's main branch.
    "GREGORY_BERT_REVISION": "",
    "GREGORY_SUMMARISER_REVISION": "",
    # A directory for cached summaries (ml.summary_cache); empty keeps the cache off.
    "GREGORY_SUMMARY_CACHE_DIR": "",
    # "off" skips summarisation: the title and the stored summary are used as they are.
    "GREGORY_SUMMARISER": "bart",
    # How summaries are batched: "auto" (token budget on CUDA, the spec's 4 on the CPU),
    # "tokens" (the token budget everywhere) or a fixed number of texts per batch.
    "GREGORY_SUMMARISER_BATCH": "auto",
    # Padded input tokens per batch when batching by token budget.
    "GREGORY_SUMMARISER_TOKEN_BUDGET": "32768",
    # Seconds between training checkpoints, checked at epoch ends; 0: after every epoch.
    "GREGORY_CHECKPOINT_EVERY_S": "600",
    # "1" runs pubmed_bert's training forward through torch.compile.
    "GREGORY_TORCH_COMPILE": "0",
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class SettingError(ValueError):
    """A setting holds a value it cannot mean; the message is one line naming it."""


def setting(name: str) -> str:
    try:
        from django.conf import settings

        if settings.configured:
            return str(getattr(settings, name, os.environ.get(name, DEFAULTS[name])))
    except ImportError:  # pragma: no cover - Django is a base dependency
        pass
    return os.environ.get(name, DEFAULTS[name])


def flag_setting(name: str) -> bool:
    """An on/off setting: 1/true/yes/on or 0/false/no/off (empty: off)."""
    value = setting(name).strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise SettingError(f"{name}={value!r} is neither on (1) nor off (0)")


def number_setting(name: str, *, minimum: float = 0, integer: bool = False) -> float:
    """A number of at least `minimum` (a whole one when `integer`)."""
    value = setting(name).strip()
    number: float | None
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < minimum:
        kind = "a whole number" if integer else "a number"
        raise SettingError(f"{name}={value!r} is not {kind} of at least {minimum:g}")
    return number


def summariser_batch() -> str | int:
    """GREGORY_SUMMARISER_BATCH: "auto", "tokens" or a whole number of texts (at least 1)."""
    value = setting("GREGORY_SUMMARISER_BATCH").strip().lower()
    if value in ("auto", "tokens"):
        return value
    try:
        return int(number_setting("GREGORY_SUMMARISER_BATCH", minimum=1, integer=True))
    except SettingError:
        raise SettingError(
            f"GREGORY_SUMMARISER_BATCH={value!r} is not auto, tokens or a number of texts (>= 1)"
        ) from None


def check_settings() -> None:
    """Read every setting that is parsed, so a bad value fails at start-up (SettingError)."""
    summariser_batch()
    number_setting("GREGORY_SUMMARISER_TOKEN_BUDGET", minimum=1, integer=True)
    number_setting("GREGORY_CHECKPOINT_EVERY_S")
    flag_setting("GREGORY_TORCH_COMPILE")


def is_local(model_name: str) -> bool:
    """A local checkpoint directory rather than a hub id (transformers checks the same way)."""
    return Path(model_name).is_dir()


def hub_revision(model_name: str, revision: str | None) -> str | None:
    """The revision to pass to from_pretrained: the pin for a hub id, None for a local directory."""
    if not revision or is_local(model_name):
        return None
    return revision


def model_revisions() -> dict[str, str | None]:
    """The revisions the job's models are loaded at, as metrics.json records them."""
    return {
        "bert_revision": hub_revision(
            setting("GREGORY_BERT_MODEL"), setting("GREGORY_BERT_REVISION")
        ),
        "summariser_revision": hub_revision(
            setting("GREGORY_SUMMARISER_MODEL"), setting("GREGORY_SUMMARISER_REVISION")
        ),
    }
