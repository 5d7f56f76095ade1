"""Active learning on the real sample: how many labels the review queue saves over random order.

A pool-based simulation. One fixed stratified 30% test set; the rest is the pool, whose labels
are hidden until "reviewed". Each repeat starts from its own random seed set, then adds the
next BATCH articles either at random or in review-queue order (ml.review.ranking's uncertainty
and mix, with its random share and cold start), retraining the job's LightGBM + TF-IDF trainer
after each batch and recording test ROC-AUC against the labels used. Pure uncertainty (no
random share, no cold start) runs beside them: its crossing with random is where the cold start
ends.

`python -m bench.active_learning` prints the figures and writes docs/active_learning.png.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from tests.support.data import load_sample
from tests.support.paths import REPO

REPEATS = 10
SEED_LABELS = 40
BATCH = 20
TEST_SHARE = 0.30
# The target: this share of the AUC that labelling the whole pool gives (the last point, the
# same for every order), so it moves with the data rather than being picked from the curves.
TARGET_SHARE = 0.97
# Uncertainty on raw scores: the simulation has no validation split to calibrate on, and the
# raw LightGBM score's middle plays the role the calibrated threshold plays in production.
THRESHOLD = 0.5
PLOT = REPO / "docs" / "active_learning.png"

Picker = Callable[[np.ndarray, list[int], int, random.Random], list[int]]


def _fit_and_score(
    texts: Sequence[str], labels: np.ndarray, train: list[int], others: list[np.ndarray]
) -> list[np.ndarray]:
    from gregory.ml.data.splits import TextSplit
    from gregory.ml.trainers import get_trainer

    split = TextSplit([texts[i] for i in train], labels[train].astype(np.int8), list(train))
    trainer = get_trainer("lgbm_tfidf")
    # Validation only feeds the loss history here; nothing is chosen on it.
    trainer.train(split, split)
    return [
        trainer.predict_proba([texts[i] for i in rows]) if len(rows) else np.zeros(0)
        for rows in others
    ]


def _queue_picker(random_share: float, cold_start: int) -> Picker:
    from gregory.ml.review import queue_policy

    def pick(scores: np.ndarray, pool: list[int], n_labels: int, rng: random.Random) -> list[int]:
        share = 1.0 if n_labels < cold_start else random_share
        values = queue_policy.uncertainty(scores[:, None], np.array([THRESHOLD]))
        ranked = [pool[i] for i in np.lexsort((pool, -values))]
        return [article for article, _ in queue_policy.mix(ranked, BATCH, share, rng)]

    return pick


def _random_picker(scores: np.ndarray, pool: list[int], n_labels: int, rng) -> list[int]:
    return rng.sample(pool, min(BATCH, len(pool)))


def _curve(
    texts: Sequence[str],
    labels: np.ndarray,
    pool_ids: list[int],
    test_ids: list[int],
    seed_set: list[int],
    pick: Picker,
    rng: random.Random,
) -> list[tuple[int, float]]:
    labelled = list(seed_set)
    pool = [i for i in pool_ids if i not in set(seed_set)]
    curve = []
    while True:
        test_scores, pool_scores = _fit_and_score(
            texts, labels, labelled, [np.array(test_ids), np.array(pool)]
        )
        curve.append((len(labelled), float(roc_auc_score(labels[test_ids], test_scores))))
        if not pool:
            return curve
        chosen = pick(pool_scores, pool, len(labelled), rng)
        labelled += chosen
        taken = set(chosen)
        pool = [i for i in pool if i not in taken]


def labels_to_reach(curve: Sequence[tuple[int, float]], target: float) -> float | None:
    """Labels at which the curve first reaches `target`, interpolated linearly between its
    points (a batch apart); None if it never does."""
    previous = None
    for n, auc in curve:
        if auc >= target:
            if previous is None or previous[1] >= auc:
                return float(n)
            n0, auc0 = previous
            return n0 + (n - n0) * (target - auc0) / (auc - auc0)
        previous = (n, auc)
    return None


def simulate(repeats: int = REPEATS) -> dict:
    from gregory.ml.data.splits import SEED
    from gregory.ml.review import queue_defaults

    texts, labels, ids = load_sample()
    labels = np.asarray(labels)
    pool_ids, test_ids = train_test_split(
        ids, test_size=TEST_SHARE, stratify=labels, random_state=SEED
    )
    strategies: dict[str, Picker] = {
        "random": _random_picker,
        "review_queue": _queue_picker(
            queue_defaults.DEFAULT_RANDOM_SHARE, queue_defaults.COLD_START_LABELS
        ),
        "pure_uncertainty": _queue_picker(0.0, 0),
    }
    curves: dict[str, list[list[tuple[int, float]]]] = {name: [] for name in strategies}
    start = time.perf_counter()
    for repeat in range(repeats):
        seeder = random.Random(SEED + repeat)
        while True:
            seed_set = seeder.sample(list(pool_ids), SEED_LABELS)
            if 0 < labels[seed_set].sum() < SEED_LABELS:
                break
        for name, pick in strategies.items():
            rng = random.Random(SEED * 1000 + repeat)
            curves[name].append(_curve(texts, labels, pool_ids, test_ids, seed_set, pick, rng))
    seconds = time.perf_counter() - start
    mean = {
        name: [
            (runs[0][step][0], float(np.mean([run[step][1] for run in runs])))
            for step in range(len(runs[0]))
        ]
        for name, runs in curves.items()
    }
    target = TARGET_SHARE * mean["random"][-1][1]
    reach = {name: labels_to_reach(curve, target) for name, curve in mean.items()}
    _plot(mean, reach, target, repeats, len(pool_ids), len(test_ids))
    figures = {
        "al_pool": len(pool_ids),
        "al_test": len(test_ids),
        "al_repeats": repeats,
        "al_target_auc": round(target, 3),
        "al_seconds": round(seconds, 1),
        "al_cold_start_labels": queue_defaults.COLD_START_LABELS,
        "al_random_share": queue_defaults.DEFAULT_RANDOM_SHARE,
    }
    for name, curve in mean.items():
        figures[f"al_{name}_labels_to_target"] = None if reach[name] is None else round(reach[name])
        figures[f"al_{name}_auc_curve"] = [[n, round(auc, 3)] for n, auc in curve]
    return figures


def _plot(
    mean: dict[str, list[tuple[int, float]]],
    reach: dict[str, float | None],
    target: float,
    repeats: int,
    pool: int,
    test: int,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {
        "random": "random order",
        "review_queue": "review queue (uncertainty, 20% random, random cold start)",
        "pure_uncertainty": "pure uncertainty",
    }
    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for name, curve in mean.items():
        style = ":" if name == "pure_uncertainty" else "-"
        needed = "never" if reach[name] is None else f"{reach[name]:.0f}"
        label = f"{names[name]}: {needed} labels to {target:.3f}"
        axes.plot(*zip(*curve, strict=True), style, marker=".", label=label)
    axes.axhline(target, color="grey", linewidth=0.8)
    axes.set_xlabel("labels used")
    axes.set_ylabel("test ROC-AUC (mean of repeats)")
    axes.set_title(
        f"LightGBM + TF-IDF on the real MS sample: pool {pool}, test {test}, {repeats} repeats",
        fontsize=9,
    )
    axes.legend(fontsize=8, loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(PLOT)
    plt.close(figure)


def run() -> dict:
    """The figures `make bench` reports (Django already set up by bench.run)."""
    return simulate()


if __name__ == "__main__":
    import os
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gregory-al-") as tmp:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(tmp) / 'al.sqlite3'}")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
        sys.path[:0] = [str(REPO / "job"), str(REPO)]
        import django

        django.setup()
        print(json.dumps(simulate(), sort_keys=True))
