"""An overlay over ours pins both images by digest: the launcher builds Jobs with that image."""

from __future__ import annotations

import pytest

from tests.support.k8s import find, pod_specs

TRAIN = "registry.example.com/ml/gregory-train"
LAUNCHER = "registry.example.com/ml/gregory-launcher"
TRAIN_DIGEST = "sha256:" + "1" * 64
LAUNCHER_DIGEST = "sha256:" + "2" * 64
PINNED = [
    {"name": "gregory-train", "newName": TRAIN, "digest": TRAIN_DIGEST},
    {"name": "gregory-launcher", "newName": LAUNCHER, "digest": LAUNCHER_DIGEST},
]


@pytest.mark.parametrize(
    ("inner", "components"),
    [
        ("overlays/gpu", ()),
        ("overlays/gpu", ("components/gpu-gke", "components/storage-gke")),
        ("overlays/kind", ()),
    ],
)
def test_pinned_digests_reach_the_jobs_the_launcher_builds(
    render_with, inner: str, components: tuple[str, ...]
) -> None:
    docs = render_with(inner, components, images=PINNED)
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


def test_the_download_job_is_pinned_the_same_way(render_with) -> None:
    job = find(render_with("jobs/download-models", images=PINNED), "Job", "gregory-download-models")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{TRAIN}@{TRAIN_DIGEST}"
    assert "imagePullPolicy" not in container
