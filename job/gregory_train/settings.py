"""Settings of the training job: whatever differs between hosts comes from the environment."""

import os
from pathlib import Path

from gregory.ml.core.config import DEFAULTS as MODEL_DEFAULTS
from gregory_train.database_url import database_settings

# The repository root locally; the image sets GREGORY_HOME so relative defaults land on its volumes.
BASE_DIR = Path(os.environ.get("GREGORY_HOME", Path(__file__).resolve().parents[2]))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "gregory-train-batch-job-has-no-web-surface")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

# Nothing here serves HTTP or has users: no admin, auth, sessions, middleware or templates.
# gregory_dev holds the development commands (build_tiny_models, demo_data).
INSTALLED_APPS = [
    "gregory",
    "gregory_dev",
]

DEFAULT_SQLITE = BASE_DIR / "var" / "gregory.sqlite3"
DATABASES = {
    "default": database_settings(os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE}"))
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Where versions are published: var/models locally, the PVC (/models) in the container.
GREGORY_MODELS_DIR = Path(os.environ.get("GREGORY_MODELS_DIR", BASE_DIR / "var" / "models"))
# Hub ids or local directories (tests and the offline demo point them at tiny local checkpoints),
# and whether to summarise at all; the defaults live in gregory/ml/core/config.py.
GREGORY_SUMMARISER_MODEL = os.environ.get(
    "GREGORY_SUMMARISER_MODEL", MODEL_DEFAULTS["GREGORY_SUMMARISER_MODEL"]
)
GREGORY_BERT_MODEL = os.environ.get("GREGORY_BERT_MODEL", MODEL_DEFAULTS["GREGORY_BERT_MODEL"])
GREGORY_SUMMARISER = os.environ.get("GREGORY_SUMMARISER", MODEL_DEFAULTS["GREGORY_SUMMARISER"])
# Hub commit hashes pinning the two models (empty: unpinned); ignored for local directories.
GREGORY_BERT_REVISION = os.environ.get(
    "GREGORY_BERT_REVISION", MODEL_DEFAULTS["GREGORY_BERT_REVISION"]
)
GREGORY_SUMMARISER_REVISION = os.environ.get(
    "GREGORY_SUMMARISER_REVISION", MODEL_DEFAULTS["GREGORY_SUMMARISER_REVISION"]
)
# Cached summaries on a shared volume (gregory/ml/data/summary_cache.py); empty: no cache.
GREGORY_SUMMARY_CACHE_DIR = os.environ.get(
    "GREGORY_SUMMARY_CACHE_DIR", MODEL_DEFAULTS["GREGORY_SUMMARY_CACHE_DIR"]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"gregory": {"handlers": ["stderr"], "level": "WARNING"}},
}
