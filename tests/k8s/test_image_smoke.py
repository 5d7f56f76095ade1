"""`make image-smoke` for real where a Docker engine answers: build the CPU training image, run
train_models in it (no network, read-only root, non-root) and check the results from the host.

Skipped with the reason where no engine runs; CI here starts one (images/engine.sh) first.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.k8s.engine import DOCKER, drop_superseded, engine_problem, image_id
from tests.support.paths import REPO

# Builds an image: minutes, not seconds.
pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = "gregory-train:0.1.0-cpu"


def test_cpu_image_trains_the_demo_team() -> None:
    problem = engine_problem()
    if problem:
        pytest.skip(problem)
    previous = image_id(IMAGE)
    done = subprocess.run(
        ["make", "image-smoke", f"DOCKER={DOCKER}", f"TRAIN_CPU_IMAGE={IMAGE}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=45 * 60,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    drop_superseded(previous, IMAGE)
    assert "smoke ok:" in done.stdout
