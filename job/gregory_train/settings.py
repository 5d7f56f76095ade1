"""Settings of the training job: whatever differs between hosts comes from the environment."""

import os
from pathlib import Path

import dj_database_url

# The repository root locally; the image sets GREGORY_HOME so relative defaults land on its volumes.
BASE_DIR = Path(os.environ.get("GREGORY_HOME", Path(__file__).resolve().parents[2]))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "gregory-train-batch-job-has-no-web-surface")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "gregory",
]

# The admin (a read-only view of runs for operators) needs these; the batch job never serves HTTP.
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "gregory_train.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]

DEFAULT_SQLITE = BASE_DIR / "var" / "gregory.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent runs (the launcher, two Jobs on one node) share the file: wait rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

# Where versions are published: var/models locally, the PVC (/models) in the container.
GREGORY_MODELS_DIR = Path(os.environ.get("GREGORY_MODELS_DIR", BASE_DIR / "var" / "models"))
# A hub id or a local directory; tests and the offline demo point these at tiny local checkpoints.
GREGORY_SUMMARISER_MODEL = os.environ.get("GREGORY_SUMMARISER_MODEL", "facebook/bart-large-cnn")
GREGORY_BERT_MODEL = os.environ.get(
    "GREGORY_BERT_MODEL", "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext"
)
# "off" skips summarisation (the job core's default until a summariser model is configured).
GREGORY_SUMMARISER = os.environ.get("GREGORY_SUMMARISER", "bart")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"gregory": {"handlers": ["stderr"], "level": "WARNING"}},
}
