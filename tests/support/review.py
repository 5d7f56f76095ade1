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


def import_and_train(tmp_path: Path, unreviewed: int) -> None:
    """Team demo, subject ms: the sample imported through import_articles, its last
    `unreviewed` rows unreviewed, and one lgbm_tfidf version from the real train_models, named
    `v1` rather than by today's date so what screens show does not change from day to day."""
    from io import StringIO

    from django.core.management import call_command

    from tests.support.launcher import make_scope

    make_scope("demo", "ms")
    csv_path = review_sample_csv(tmp_path / "sample.csv", unreviewed)
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    argv = ["--team", "demo", "--algo", "lgbm_tfidf", "--version", "v1", "--verbose", "0"]
    call_command("train_models", *argv, stdout=StringIO(), stderr=StringIO())
