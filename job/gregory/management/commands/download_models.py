"""Fetch the configured models at their pinned revisions into the Hugging Face cache.

`python -m gregory_train download_models` is what the one-off seed Job runs against the cache
volume, so the nightly Jobs load with `HF_HUB_OFFLINE=1` and never reach the hub. A model named
by a local directory is only checked: it must load.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gregory import exit_codes
from gregory.ml.core import config
from gregory.ml.data.summariser import summariser_enabled
from gregory.reasons import first_line

# The job's two models: (label, model setting, revision setting).
MODELS = (
    ("bert", "GREGORY_BERT_MODEL", "GREGORY_BERT_REVISION"),
    ("summariser", "GREGORY_SUMMARISER_MODEL", "GREGORY_SUMMARISER_REVISION"),
)
# Weights for other frameworks that transformers' torch loaders never read.
IGNORED_FILES = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "flax_model*", "tf_model*", "rust_model*"]


class Command(BaseCommand):
    help = (
        "Download the BERT and summariser models at GREGORY_BERT_REVISION / "
        "GREGORY_SUMMARISER_REVISION into the Hugging Face cache (HF_HOME); a local directory "
        "is checked to load instead."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--only",
            choices=[label for label, _, _ in MODELS],
            help="fetch just this model (default both)",
        )

    def handle(self, *args, **options) -> None:
        for label, model_setting, revision_setting in MODELS:
            if options["only"] and options["only"] != label:
                continue
            if label == "summariser" and not options["only"] and not summariser_enabled():
                if options["verbosity"] >= 1:
                    self.stdout.write("summariser: off (GREGORY_SUMMARISER=off), not fetched")
                continue
            name = config.setting(model_setting)
            revision = config.hub_revision(name, config.setting(revision_setting))
            try:
                where = fetch(label, name, revision)
            except Exception as error:  # the hub, the network, the cache: all told in one line
                raise CommandError(
                    f"{label} model {name}: {first_line(error)}", returncode=exit_codes.RUN_FAILED
                ) from None
            if options["verbosity"] >= 1:
                self.stdout.write(f"{label}: {describe(name, revision)} → {where}")


def describe(name: str, revision: str | None) -> str:
    if config.is_local(name):
        return f"{name} (local directory, loads)"
    return f"{name}@{revision or 'main (unpinned)'}"


def fetch(label: str, name: str, revision: str | None) -> str:
    """Where the model now is: its snapshot in the cache, or the local directory that loaded."""
    if config.is_local(name):
        check_loads(label, name)
        return name
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=name, revision=revision, ignore_patterns=IGNORED_FILES)


def check_loads(label: str, directory: str) -> None:
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from gregory.ml.core.torch_utils import quiet_transformers

    hf_logging.disable_progress_bar()
    loader = AutoModelForSeq2SeqLM if label == "summariser" else AutoModel
    with quiet_transformers():
        AutoTokenizer.from_pretrained(directory)
        loader.from_pretrained(directory)
