"""The real sample for review tests: most rows labelled, the last ones not reviewed yet."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from gregory.ml.data.splits import SEED
from tests.support.data import SAMPLE_CSV


def review_sample_csv(path: Path, unreviewed: int) -> Path:
    """The sample as an import CSV, its last `unreviewed` rows without a label. The title is
    the first words (GregoryAI's unique index on title and link cannot hold an abstract), the
    summary the rest; discovery dates spread over the last 60 days."""
    rng = random.Random(SEED)
    with SAMPLE_CSV.open(newline="") as source, path.open("w", newline="") as target:
        rows = list(csv.DictReader(source))
        writer = csv.writer(target)
        writer.writerow(["link", "title", "summary", "relevant", "discovery_date"])
        for number, row in enumerate(rows):
            words = row["text_processed"].split()
            relevant = row["relevant"] if number < len(rows) - unreviewed else ""
            day = dt.date.today() - dt.timedelta(days=rng.randint(0, 60))
            link = f"urn:gregory-import:ms-{number}"
            writer.writerow([link, " ".join(words[:12]), " ".join(words[12:]), relevant, day])
    return path


def import_sample_and_train(tmp_path: Path, unreviewed: int, version: str | None = "v1") -> None:
    """Into demo/ms, which exists: the sample imported through import_articles, its last
    `unreviewed` rows unreviewed, and one lgbm_tfidf version from the real train_models, named
    `version` (None: by today's date, as the job names it). `v1` keeps what screens show the
    same from day to day."""
    from io import StringIO

    from django.core.management import call_command

    csv_path = review_sample_csv(tmp_path / "sample.csv", unreviewed)
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    argv = ["--team", "demo", "--algo", "lgbm_tfidf", "--verbose", "0"]
    if version is not None:
        argv += ["--version", version]
    call_command("train_models", *argv, stdout=StringIO(), stderr=StringIO())


def import_and_train(tmp_path: Path, unreviewed: int) -> None:
    """Team demo and subject ms created, then import_sample_and_train with version `v1`."""
    from tests.support.launcher import make_scope

    make_scope("demo", "ms")
    import_sample_and_train(tmp_path, unreviewed)
