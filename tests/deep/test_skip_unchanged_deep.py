"""--skip-unchanged with --pseudo-label and tiny BART summaries: the unlabelled pool is part of
the fingerprint, and deciding to skip prepares the data but never pseudo-labels."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from gregory.models import Subject, Team
from tests.support.articles import add_articles

# Ten words and more after cleaning even if tiny BART's summary adds none.
TITLE = "article {i} multiple sclerosis cohort relapse lesion imaging therapy outcome {label}"
SKIPPED = "Skipped lgbm_tfidf for deep/ms: training data unchanged since version"


@pytest.fixture
def subject(db) -> Subject:
    team = Team.objects.create(name="Deep", slug="deep")
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    add_articles(subject, [i % 2 == 0 for i in range(40)], title=TITLE)
    add_articles(subject, [None] * 6, title=TITLE)  # the pseudo-label pool
    return subject


def train(*argv: str) -> str:
    out = StringIO()
    call_command(
        "train_models",
        "--team",
        "deep",
        "--algo",
        "lgbm_tfidf",
        *argv,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


@pytest.mark.slow
def test_the_pool_counts_and_a_skip_does_not_pseudo_label(subject, models_dir):
    csv_dir = models_dir / "deep" / "ms" / "pseudo_labels"
    train("--pseudo-label")
    written = sorted(csv_dir.glob("*.csv"))
    assert len(written) == 1

    assert train("--pseudo-label", "--skip-unchanged").startswith(SKIPPED)
    assert sorted(csv_dir.glob("*.csv")) == written  # no pseudo-labelling ran
    # Without pseudo-labels the model learns from other rows: it trains.
    assert SKIPPED not in train("--skip-unchanged")
    # One more unreviewed article changes the pool: it trains, pseudo-labelling again.
    add_articles(subject, [None], title=TITLE)
    assert SKIPPED not in train("--pseudo-label", "--skip-unchanged")
    assert len(list(csv_dir.glob("*.csv"))) == 2
