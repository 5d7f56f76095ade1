"""Which models the job uses, by hub id or local directory: the one home of their defaults.

Django settings win when configured (gregory_train/settings.py reads the environment with these
defaults); without Django, the environment variable of the same name does.
"""

from __future__ import annotations

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
}


def setting(name: str) -> str:
    try:
        from django.conf import settings

        if settings.configured:
            return str(getattr(settings, name, DEFAULTS[name]))
    except ImportError:  # pragma: no cover - Django is a base dependency
        pass
    return os.environ.get(name, DEFAULTS[name])


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
