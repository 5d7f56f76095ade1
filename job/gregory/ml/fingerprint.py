"""The training-data fingerprint: one sha256 over everything a version was trained from.

Recorded in every version's metrics.json under `KEY`; `train_models --skip-unchanged` trains a
subject/algorithm only when its fingerprint differs from the current version's. What goes in:
the labelled articles (ids, labels, prepared texts, in id order), the text preparation, the
algorithm and its hyper-parameters, the models and revisions, the window, the split seed, the
pseudo-labelling setting (with it, the unlabelled pool's ids and texts too) and the libraries.
Anything that could make a different model belongs here: a missed input means a stale model is
kept, an extra one only means a needless training.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import platform
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gregory.ml.core import config, layout
from gregory.ml.data import text
from gregory.ml.data.dataset import PreparedArticles
from gregory.ml.data.splits import SEED

KEY = "training_fingerprint"
# Bump when training, calibration or evaluation change in a way that should retrain unchanged data.
RECIPE = 1
# Set at construction but not part of the recipe: where a run happens, not what it learns.
_RUNTIME_ATTRIBUTES = frozenset({"progress", "device", "checkpoint_dir", "notify"})
_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    """A value that means the same in every process (no objects, paths of this machine aside)."""
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return False


def _plain_items(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {name: value for name, value in items if _plain(value)}


def hyper_parameters(algorithm: str) -> dict[str, Any]:
    """What a fresh trainer of `algorithm` is set up with, as train_models builds it: its plain
    attributes, its `*_params()` (LightGBM's) and its module's upper-case constants."""
    from gregory.ml.trainers import get_trainer

    trainer = get_trainer(algorithm, seed=SEED)
    found: dict[str, Any] = {
        "attributes": _plain_items(
            (name, value)
            for name, value in vars(trainer).items()
            if name not in _RUNTIME_ATTRIBUTES and not name.startswith("_")
        ),
        "constants": _plain_items(
            (name, value)
            for name, value in vars(sys.modules[type(trainer).__module__]).items()
            if name.isupper()
        ),
    }
    for name in dir(type(trainer)):
        if name.endswith("_params") and callable(getattr(type(trainer), name)):
            found[name] = getattr(trainer, name)()
    found["libraries"] = trainer.library_versions()
    return found


def _pseudo_label_settings() -> dict[str, Any]:
    """Pseudo-labelling's defaults (confidence, iterations) and the BERT it trains each round."""
    from gregory.ml.pseudo_label import add_pseudo_labels

    defaults = inspect.signature(add_pseudo_labels).parameters.values()
    return {
        "defaults": _plain_items(
            (p.name, p.default)
            for p in defaults
            if p.default is not inspect.Parameter.empty and p.name not in _RUNTIME_ATTRIBUTES
        ),
        "pubmed_bert": hyper_parameters("pubmed_bert"),
    }


def _models() -> dict[str, Any]:
    return {
        "bert_model": config.setting("GREGORY_BERT_MODEL"),
        "summariser_model": config.setting("GREGORY_SUMMARISER_MODEL"),
        "summariser": config.setting("GREGORY_SUMMARISER"),
        **config.model_revisions(),
    }


def _canonical(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _add_articles(digest: Any, name: str, articles: PreparedArticles, labels: bool) -> None:
    rows = sorted(
        zip(articles.article_ids, articles.labels, articles.texts, strict=True),
        key=lambda row: row[0],
    )
    digest.update(_canonical({"articles": name, "n": len(rows)}))
    for article_id, label, prepared in rows:
        # One JSON line per article: no text can be mistaken for a separator.
        digest.update(_canonical([int(article_id), label if labels else None, prepared]))


def training_fingerprint(
    algorithm: str,
    labelled: PreparedArticles,
    *,
    window_days: int | None,
    pool: PreparedArticles | None = None,
) -> str:
    """The hex sha256 of one algorithm's training input; `pool` only with --pseudo-label."""
    settings = {
        "recipe": RECIPE,
        "algorithm": algorithm,
        "hyper_parameters": hyper_parameters(algorithm),
        "models": _models(),
        "text_preparation": text.PREPARATION,
        "min_word_count": text.MIN_WORD_COUNT,
        "window_days": window_days,
        "seed": SEED,
        "pseudo_label": None if pool is None else _pseudo_label_settings(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    digest = hashlib.sha256(_canonical(settings))
    _add_articles(digest, "labelled", labelled, labels=True)
    if pool is not None:
        _add_articles(digest, "pool", pool, labels=False)
    return digest.hexdigest()


def recorded_fingerprint(version_dir: Path) -> str | None:
    """The fingerprint a version's metrics.json records; None when it records none or cannot
    be read (such a version never matches, so its subject trains)."""
    try:
        metrics = json.loads((Path(version_dir) / layout.METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    value = metrics.get(KEY) if isinstance(metrics, dict) else None
    return value if isinstance(value, str) and value else None
