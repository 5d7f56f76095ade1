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


def image_id(tag: str) -> str | None:
    """The image's ID, None when there is no such image."""
    found = subprocess.run(
        [DOCKER, "image", "inspect", "--format", "{{.Id}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def drop_superseded(previous: str | None, tag: str) -> None:
    """Remove the image `tag` named before a rebuild, if the rebuild replaced it.

    CI reuses the engine's data root: each superseded multi-GB training image would otherwise
    stay behind, untagged, until the disk fills. A removal that fails (the image still in use)
    is left for later.
    """
    if previous and previous != image_id(tag):
        subprocess.run([DOCKER, "rmi", previous], capture_output=True, timeout=300)
