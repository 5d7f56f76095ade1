"""The queue's ordering rules, pure: uncertainty over algorithms and the random share."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gregory.ml.review.queue_policy import mix, uncertainty


def test_uncertainty_is_one_at_the_threshold_and_zero_at_certainty() -> None:
    values = uncertainty(np.array([[0.8], [0.0], [1.0], [0.4], [0.9]]), np.array([0.8]))
    assert values == pytest.approx([1.0, 0.0, 0.0, 0.5, 0.5])


def test_models_that_disagree_are_uncertain_however_sure_each_is() -> None:
    sure_apart = uncertainty(np.array([[0.01, 0.99]]), np.array([0.8, 0.8]))
    sure_together = uncertainty(np.array([[0.01, 0.02]]), np.array([0.8, 0.8]))
    two_to_one = uncertainty(np.array([[0.01, 0.02, 0.99]]), np.array([0.8, 0.8, 0.8]))
    assert sure_apart[0] == 1.0
    assert sure_together[0] < 0.05
    assert two_to_one[0] == pytest.approx(2 / 3)


def test_each_algorithm_is_measured_from_its_own_threshold() -> None:
    values = uncertainty(np.array([[0.5, 0.8]]), np.array([0.5, 0.8]))
    assert values[0] == 1.0


def test_mix_puts_one_random_pick_in_five_and_never_repeats() -> None:
    ranked = list(range(100))
    picks = mix(ranked, 20, 0.2, random.Random(1))
    assert [at_random for _, at_random in picks] == [(slot + 1) % 5 == 0 for slot in range(20)]
    ordered = [article for article, at_random in picks if not at_random]
    assert ordered == list(range(16))  # the most uncertain, in order
    assert len({article for article, _ in picks}) == 20


@pytest.mark.parametrize(("share", "randoms"), [(0.0, 0), (1.0, 10), (0.5, 5)])
def test_mix_honours_the_share(share: float, randoms: int) -> None:
    picks = mix(list(range(50)), 10, share, random.Random(2))
    assert sum(at_random for _, at_random in picks) == randoms


def test_mix_stops_at_the_pool() -> None:
    picks = mix([3, 1, 2], 10, 0.2, random.Random(3))
    assert sorted(article for article, _ in picks) == [1, 2, 3]
