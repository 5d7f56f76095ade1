"""How the review queue orders articles: uncertainty, the random share, the cold start.

Pure (numpy only), so the benchmark uses the very rules the queue applies without Django; the
names and defaults the launcher's parsers show are in queue_defaults (no numpy).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np


def uncertainty(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per article (rows), 1 at the threshold and 0 at certainty, over algorithms (columns).

    Closeness is one minus the mean distance from each algorithm's threshold, scaled by the
    room on that side so 0.8 → 0.0 and 0.8 → 1.0 are both the full distance. Algorithms on
    opposite sides of their thresholds are uncertain however sure each one is: 2 × the
    minority's share, 1 for an even split.
    """
    p = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    t = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), p.shape)
    room = np.where(p < t, t, 1.0 - t)
    distance = np.divide(np.abs(p - t), room, out=np.ones_like(p), where=room > 0)
    closeness = 1.0 - np.clip(distance, 0.0, 1.0).mean(axis=1)
    above = (p >= t).sum(axis=1)
    disagreement = 2.0 * np.minimum(above, p.shape[1] - above) / p.shape[1]
    return np.maximum(closeness, disagreement)


def mix(
    ranked: Sequence[int], count: int, random_share: float, rng: random.Random
) -> list[tuple[int, bool]]:
    """`count` ids: the most uncertain first (`ranked` is the whole pool, most uncertain first),
    every slot where the running share of random picks falls behind `random_share` drawn at
    random from the rest instead. (id, picked at random) pairs, no id twice."""
    share = min(max(random_share, 0.0), 1.0)
    shuffled = list(ranked)
    rng.shuffle(shuffled)
    taken: set[int] = set()
    by_rank, by_chance = iter(ranked), iter(shuffled)
    chosen: list[tuple[int, bool]] = []
    for slot in range(min(count, len(ranked))):
        at_random = int((slot + 1) * share + 1e-9) > int(slot * share + 1e-9)
        source = by_chance if at_random else by_rank
        article = next(a for a in source if a not in taken)
        taken.add(article)
        chosen.append((article, at_random))
    return chosen
