"""An overlay over ours pins both images by digest: the launcher builds Jobs with that image."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.k8s import K8S, find, pod_specs

TRAIN = "registry.example.com/ml/gregory-train"
LAUNCHER = "registry.example.com/ml/gregory-launcher"
TRAIN_DIGEST = "sha256:" + "1" * 64
LAUNCHER_DIGEST = "sha256:" + "2" * 64


def outer_overlay(root: Path, inner: str, components: tuple[str, ...] = ()) -> Path:
    """A deployment's own kustomization over `inner`, as docs/kubernetes.md recommends."""
    overlay = root / "deploy"
    overlay.mkdir()
    spec = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / inner, overlay)],
        "components": [os.path.relpath(K8S / c, overlay) for c in components],
        "images": [
            {"name": "gregory-train", "newName": TRAIN, "digest": TRAIN_DIGEST},
            {"name": "gregory-launcher", "newName": LAUNCHER, "digest": LAUNCHER_DIGEST},
        ],
    }
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(spec))
    return overlay


@pytest.mark.parametrize(
    ("inner", "components"),
    [
        ("overlays/gpu", ()),
        ("overlays/gpu", ("components/gpu-gke",)),
        ("overlays/kind", ()),
    ],
)
def test_pinned_digests_reach_the_jobs_the_launcher_builds(
    kubectl: Path, tmp_path: Path, inner: str, components: tuple[str, ...]
) -> None:
    overlay = outer_overlay(tmp_path, inner, components)
    out = subprocess.run(
        [str(kubectl), "kustomize", str(overlay)], check=True, capture_output=True, text=True
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(out) if doc]
    settings = find(docs, "ConfigMap", "gregory-launcher")["data"]
    assert settings["GREGORY_JOB_IMAGE"] == f"{TRAIN}@{TRAIN_DIGEST}"
    # No pull policy anywhere: Kubernetes defaults each from its (identical) image reference.
    assert "GREGORY_JOB_IMAGE_PULL_POLICY" not in settings
    images = {}
    for owner, spec in pod_specs(docs):
        for container in spec["containers"]:
            assert "imagePullPolicy" not in container, owner
            images[owner] = container["image"]
    assert images["gregory-train-template"] == settings["GREGORY_JOB_IMAGE"]
    for cronjob in ("gregory-nightly", "gregory-nightly-predict"):
        assert images[cronjob] == f"{LAUNCHER}@{LAUNCHER_DIGEST}"
