"""Which models the job uses, by hub id or local directory: the one home of their defaults.

Django settings win when configured (gregory_train/settings.py reads the environment with these
defaults); without Django, the environment variable of the same name does.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "GREGORY_BERT_MODEL": "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "GREGORY_SUMMARISER_MODEL": "facebook/bart-large-cnn",
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
