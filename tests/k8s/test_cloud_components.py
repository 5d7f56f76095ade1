"""The opt-in cloud components: each renders over the gpu overlay, validates, and does what its
comment says (storage classes, and the rest as they come)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from launcher.kube.job_builder import JobSettings
from tests.k8s.test_agreement import assert_same_job, built_job
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


@pytest.mark.parametrize(
    "components",
    [
        ("components/runtime-class",),
        ("components/gpu-mig",),
        ("components/gpu-aks", "components/gpu-mig", "components/runtime-class"),
    ],
)
def test_pool_components_keep_the_launcher_and_the_template_in_step(render_with, components):
    docs = render_with("overlays/gpu", components)
    settings = JobSettings.from_env(dict(find(docs, "ConfigMap", "gregory-launcher")["data"]))
    template = find(docs, "Job", "gregory-train-template")
    assert_same_job(template, built_job(settings))
    pod = template["spec"]["template"]["spec"]
    if "components/runtime-class" in components:
        assert pod["runtimeClassName"] == settings.runtime_class_name == "nvidia"
    if "components/gpu-mig" in components:
        (container,) = pod["containers"]
        mig = "nvidia.com/mig-1g.10gb"
        assert container["resources"]["limits"][mig] == "1"
        assert "nvidia.com/gpu" not in container["resources"]["limits"]
        # Kueue's quota counts the same resource, or it would admit nothing.
        (group,) = find(docs, "ClusterQueue", "gregory")["spec"]["resourceGroups"]
        assert (
            mig in group["coveredResources"] and "nvidia.com/gpu" not in group["coveredResources"]
        )
        assert {r["name"] for r in group["flavors"][0]["resources"]} == set(
            group["coveredResources"]
        )


def test_alerts_watch_failed_queued_and_missed_nights(render_with) -> None:
    docs = render_with("overlays/gpu", ("components/alerts",))
    rule = find(docs, "PrometheusRule", "gregory-train")
    assert rule["metadata"]["namespace"] == "gregory"
    (group,) = rule["spec"]["groups"]
    alerts = {r["alert"]: r["expr"] for r in group["rules"]}
    assert set(alerts) == {
        "GregoryJobFailed",
        "GregoryJobQueuedPastItsNight",
        "GregoryNightlyDidNotRun",
    }
    # kube-state-metrics series, on this namespace and these Jobs and CronJobs.
    assert "kube_job_failed" in alerts["GregoryJobFailed"]
    assert "kube_job_created" in alerts["GregoryJobQueuedPastItsNight"]
    assert "kube_job_status_start_time" in alerts["GregoryJobQueuedPastItsNight"]
    assert "kube_cronjob_status_last_schedule_time" in alerts["GregoryNightlyDidNotRun"]
    cronjobs = [d["metadata"]["name"] for d in docs if d["kind"] == "CronJob"]
    assert cronjobs and all(name.startswith("gregory-nightly") for name in cronjobs)
    for expr in alerts.values():
        assert 'namespace="gregory"' in expr
