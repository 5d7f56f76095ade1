"""The opt-in cloud components: each renders over the gpu overlay, validates, and does what its
comment says (storage classes, and the rest as they come)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.support.k8s import KUBERNETES_VERSION, find

# component: (StorageClass, CSI provisioner)
STORAGE = {
    "components/storage-gke": ("gregory-filestore", "filestore.csi.storage.gke.io"),
    "components/storage-eks": ("gregory-efs", "efs.csi.aws.com"),
    "components/storage-aks": ("gregory-azurefile", "file.csi.azure.com"),
}


@pytest.mark.parametrize("component", STORAGE)
def test_storage_component_gives_both_volumes_a_shared_class(render_with, component) -> None:
    docs = render_with("overlays/gpu", (component,))
    name, provisioner = STORAGE[component]
    storage_class = find(docs, "StorageClass", name)
    kubernetes_validate.validate(storage_class, KUBERNETES_VERSION, strict=True)
    assert storage_class["provisioner"] == provisioner
    # Deleting a PVC by mistake must not delete every published model with it.
    assert storage_class["reclaimPolicy"] == "Retain"
    for claim in ("gregory-models", "gregory-hf-cache"):
        spec = find(docs, "PersistentVolumeClaim", claim)["spec"]
        assert spec["storageClassName"] == name
        assert spec["accessModes"] == ["ReadWriteMany"]
    # Ownership for uid 10001 where the driver ignores fsGroup.
    if component.endswith("eks"):
        assert storage_class["parameters"]["uid"] == storage_class["parameters"]["gid"] == "10001"
    if component.endswith("aks"):
        assert {"uid=10001", "gid=10001"} <= set(storage_class["mountOptions"])


def test_the_base_leaves_the_class_to_the_cluster(render) -> None:
    for claim in ("gregory-models", "gregory-hf-cache"):
        assert (
            "storageClassName"
            not in find(render("overlays/gpu"), "PersistentVolumeClaim", claim)["spec"]
        )
