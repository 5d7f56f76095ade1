"""Kubernetes test helpers: the overlays, the version manifests are validated against, and
lookups in rendered documents."""

from __future__ import annotations

import importlib.util
from typing import Any

from tests.support.paths import REPO

K8S = REPO / "k8s"
OVERLAYS = ("base", "overlays/gpu", "overlays/kind")
# The Kubernetes version every manifest and built Job is validated against (offline schemas).
KUBERNETES_VERSION = "1.35.0"


def fetch_kubectl_module():
    """tools/fetch_kubectl.py, loaded from its file (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("fetch_kubectl", REPO / "tools/fetch_kubectl.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
