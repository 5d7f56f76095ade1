"""The review queue's names and defaults, without numpy.

The launcher's parsers and screens read these at start-up; the slim launcher image has no
numpy, so they cannot live in queue_policy (which re-exports them).
"""

from __future__ import annotations

UNCERTAINTY = "uncertainty"
RANDOM = "random"
STRATEGIES = (UNCERTAINTY, RANDOM)
# One pick in five at random; bench/active_learning.py measures the mix against pure random.
DEFAULT_RANDOM_SHARE = 0.2
# Below this many labels the queue is all random: on the real sample uncertainty picks only
# pull ahead of random ones from about this many labels (bench/active_learning.py).
COLD_START_LABELS = 100
DEFAULT_COUNT = 20
