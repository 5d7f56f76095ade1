"""The GPU training image builds here and carries CUDA torch: `make image-train` (Debian's
Python, torch's CUDA wheels from PyPI, no CUDA base image), then `torch.version.cuda` inside it.

Skipped with the reason where no engine runs; CI here starts one (images/engine.sh) first and
passes its debootstrapped Debian as the base (CPU_BASE_IMAGE), as for the CPU image.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.k8s.engine import DOCKER, drop_superseded, engine_problem, image_id
from tests.support.paths import REPO

# Downloads torch's CUDA wheels and builds a 5.8 GB image: minutes (measured in docs/kubernetes.md).
pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = "gregory-train:0.1.0"
PROBE = (
    "import sys, torch; "
    "print(torch.version.cuda, torch.__version__, sys.version.split()[0], "
    "torch.backends.cudnn.version())"
)


def test_gpu_image_builds_and_imports_cuda_torch() -> None:
    problem = engine_problem()
    if problem:
        pytest.skip(problem)
    base = os.environ.get("CPU_BASE_IMAGE")  # a local Debian where no registry is reachable
    previous = image_id(IMAGE)
    built = subprocess.run(
        ["make", "image-train", f"DOCKER={DOCKER}", f"TRAIN_IMAGE={IMAGE}"]
        + ([f"BASE_IMAGE={base}"] if base else []),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=45 * 60,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    drop_superseded(previous, IMAGE)
    # As in the cluster: no network, read-only root, no capabilities, the image's own user.
    probe = subprocess.run(
        [DOCKER, "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL"]
        + ["--entrypoint", "python", IMAGE, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-4000:]
    cuda, torch_version, python, cudnn = probe.stdout.split()
    assert re.fullmatch(r"\d+\.\d+", cuda), f"not a CUDA build of torch: cuda={cuda}"
    assert "+cpu" not in torch_version
    assert int(cudnn) > 0  # cuDNN comes with the wheels too, not from a CUDA base image
    # The constraints were resolved for this interpreter (Debian bookworm's 3.11).
    assert python.startswith("3.11."), python
    # The entrypoint runs the installed job.
    help_text = subprocess.run(
        [DOCKER, "run", "--rm", "--network", "none", "--read-only", IMAGE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert help_text.returncode == 0 and "--team" in help_text.stdout, help_text.stderr[-2000:]
