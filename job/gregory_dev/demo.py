"""Synthetic labelled articles for the demo and tests, written here: no third-party text."""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from gregory.ml.data.splits import SEED

RELEVANT_TOPICS = [
    "relapsing multiple sclerosis",
    "demyelinating lesions",
    "remyelination therapy",
    "ocrelizumab infusion",
    "natalizumab treatment",
    "optic neuritis",
    "oligoclonal bands",
    "disability progression",
    "EDSS scores",
    "neurofilament light chain",
    "B cell depletion",
    "spinal cord lesions",
    "interferon beta",
    "white matter MRI lesions",
    "neuroinflammation",
]
OTHER_TOPICS = [
    "type 2 diabetes",
    "coronary artery disease",
    "knee osteoarthritis",
    "asthma control",
    "hepatitis C",
    "breast cancer screening",
    "chronic kidney disease",
    "migraine prophylaxis",
    "sepsis management",
    "hip fracture surgery",
    "atrial fibrillation",
    "psoriasis",
    "glaucoma",
    "influenza vaccination",
    "sleep apnoea",
]
DESIGNS = [
    "a randomised controlled trial",
    "a prospective cohort study",
    "a retrospective analysis",
    "a systematic review",
    "a cross-sectional survey",
    "a phase 2 trial",
    "a registry study",
]
OUTCOMES = [
    "reduced the annual rate of events",
    "showed no significant difference",
    "improved quality of life scores",
    "was associated with fewer hospital admissions",
    "identified new biomarkers",
    "changed treatment decisions",
    "lowered long-term costs",
]
SHARED_WORDS = [
    "patients",
    "clinical",
    "outcomes",
    "treatment",
    "cohort",
    "follow-up",
    "baseline",
    "adults",
    "risk",
    "analysis",
    "hospital",
    "therapy",
    "evidence",
    "imaging",
]


def _article(rng: random.Random, relevant: bool) -> tuple[str, str]:
    # Mostly separable, with some topic overlap so the metrics are not trivially perfect.
    pool = RELEVANT_TOPICS if relevant else OTHER_TOPICS
    if rng.random() < 0.12:
        pool = OTHER_TOPICS if relevant else RELEVANT_TOPICS
    topic, extra = rng.sample(pool, 2)
    design, outcome = rng.choice(DESIGNS), rng.choice(OUTCOMES)
    size, months = rng.randint(40, 900), rng.randint(6, 60)
    # As long as real titles are: with a summary the offline tiny BART mangles, the title alone
    # must pass the 10-word minimum of the text preparation.
    cohort = f"{size} adult participants followed for {months} months"
    title = f"{topic.capitalize()} and {extra}: {design} of {cohort}"
    filler = " ".join(rng.sample(SHARED_WORDS, 5))
    population = "people with multiple sclerosis" if relevant else f"people with {extra}"
    if rng.random() < 0.2:
        population = "adult patients"
    summary = (
        f"We report {design} of {size} {population}; {filler} with {topic}. "
        f"Treatment targeting {extra} {outcome} over {months} months."
    )
    if rng.random() < 0.1:
        summary = ""  # some articles have no abstract: title only
    return title, summary


def write_demo_csv(
    path: Path,
    n_articles: int = 400,
    relevant_share: float = 0.4,
    unreviewed_share: float = 0.15,
    seed: int = SEED,
    today: dt.date | None = None,
) -> Path:
    """Labelled articles discovered over the last 60 days, plus some not yet reviewed."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["link", "title", "summary", "relevant", "discovery_date"])
        for i in range(n_articles):
            relevant = rng.random() < relevant_share
            title, summary = _article(rng, relevant)
            label = "" if rng.random() < unreviewed_share else str(int(relevant))
            day = today - dt.timedelta(days=rng.randint(0, 60))
            # The link import_articles derives from the external_id older demo CSVs had, so a
            # re-import after migration 0004 updates those articles instead of adding new ones.
            link = f"urn:gregory-import:demo-{seed}-{i:05d}"
            writer.writerow([link, title, summary, label, day.isoformat()])
    return path
