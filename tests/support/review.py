"""The real sample for review tests: most rows labelled, the last ones not reviewed yet."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from gregory.ml.splits import SEED
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
