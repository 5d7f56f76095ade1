"""Whether a Docker engine answers here: the image tests skip with this reason when none does."""

from __future__ import annotations

import os
import subprocess

DOCKER = os.environ.get("DOCKER", "docker")


def engine_problem() -> str | None:
    """None when `$DOCKER info` answers, else one line on why the image tests cannot run."""
    try:
        probe = subprocess.run(
            [DOCKER, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"no Docker client or engine ({error}); see docs/kubernetes.md"
    if probe.returncode != 0:
        return "no Docker engine answers (start one: images/engine.sh start; set DOCKER_HOST)"
    return None
