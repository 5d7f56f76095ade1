"""What the rendered manifests promise a shared GPU pool: Guaranteed QoS, no default
nodeSelector, the training pods' NetworkPolicy, Kueue objects, models pinned and loaded offline
from a cache a one-off Job seeds, and the summary cache on for the nightly runs only."""

from __future__ import annotations

import json
import os
from typing import Any

import kubernetes_validate
import pytest

from gregory.flags import TrainFlags
from launcher.kube.job_builder import CONTAINER_NAME, LABEL_APP, JobSettings, build_job
from tests.support.k8s import KUBERNETES_VERSION, OVERLAYS, find
from tests.support.paths import REPO

TEMPLATE = "gregory-train-template"
NIGHTLY = ("gregory-nightly", "gregory-nightly-predict")
DOWNLOAD = "jobs/download-models"


def train_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = find(docs, "Job", TEMPLATE)["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == CONTAINER_NAME]
    return container


def launcher_env(cron: dict[str, Any]) -> dict[str, str]:
    (container,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_training_pods_are_guaranteed_qos_with_no_default_node_selector(render, overlay) -> None:
    docs = render(overlay)
    resources = train_container(docs)["resources"]
    # Guaranteed: requests equal limits for every resource, GPU included where there is one.
    assert resources["requests"] == resources["limits"]
    assert {"cpu", "memory"} <= set(resources["limits"])
    pod = find(docs, "Job", TEMPLATE)["spec"]["template"]
    assert "nodeSelector" not in pod["spec"]
    assert pod["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == "true"
    assert pod["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == (
        "false"
    )
    env = {e["name"]: e for e in train_container(docs)["env"]}
    assert env["GREGORY_CPU_LIMIT"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_training_pods_may_reach_only_dns_and_postgres(render, overlay) -> None:
    docs = render(overlay)
    policy = find(docs, "NetworkPolicy", "gregory-train")
    spec = policy["spec"]
    pod_labels = find(docs, "Job", TEMPLATE)["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    # Both directions listed: no ingress rule means none allowed; egress only what follows.
    assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"] and "ingress" not in spec
    allowed = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert allowed == {("UDP", 53), ("TCP", 53), ("TCP", 5432)}
    # The launcher's own pods (the CronJobs) are not held by it: they talk to the API server.
    for name in NIGHTLY:
        labels = find(docs, "CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]
        assert labels["metadata"]["labels"][LABEL_APP] != pod_labels[LABEL_APP]


def test_the_gpu_overlay_runs_offline_from_pinned_revisions(render) -> None:
    settings = find(render("overlays/gpu"), "ConfigMap", "gregory-train-settings")["data"]
    assert settings["HF_HUB_OFFLINE"] == "1"
    assert settings["HF_HOME"] == "/cache/huggingface"
    assert {"GREGORY_BERT_REVISION", "GREGORY_SUMMARISER_REVISION"} <= set(settings)
    # kind has no hub either; base leaves it to the cluster.
    assert (
        find(render("overlays/kind"), "ConfigMap", "gregory-train-settings")["data"][
            "HF_HUB_OFFLINE"
        ]
        == "1"
    )


def test_the_download_job_seeds_the_cache_the_training_jobs_read(render) -> None:
    (job,) = render(DOWNLOAD)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    assert job["metadata"]["namespace"] == JobSettings.namespace
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["download_models"]  # python -m gregory_train download_models
    assert {"name": "HF_HUB_OFFLINE", "value": "0"} in container["env"]
    assert [e["configMapRef"]["name"] for e in container["envFrom"]] == ["gregory-train-settings"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    gpu = render("overlays/gpu")
    template_pod = find(gpu, "Job", TEMPLATE)["spec"]["template"]["spec"]
    template_volumes = {v["name"]: v for v in template_pod["volumes"]}
    template_mounts = {m["mountPath"]: m["name"] for m in train_container(gpu)["volumeMounts"]}
    assert volumes[mounts["/cache"]] == template_volumes[template_mounts["/cache"]]
    assert container["image"] == train_container(gpu)["image"]
    # It needs the hub, so it is not one of the pods the NetworkPolicy holds; nor a launcher run.
    assert job["spec"]["template"]["metadata"]["labels"][LABEL_APP] != "gregory-train"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("name", NIGHTLY)
def test_the_summary_cache_is_on_for_the_nightly_jobs_only(render, name) -> None:
    gpu = render("overlays/gpu")
    extra = json.loads(launcher_env(find(gpu, "CronJob", name))["GREGORY_JOB_ENV"])
    assert extra == {"GREGORY_SUMMARY_CACHE_DIR": "/cache/summaries"}
    # On the shared cache volume the training pods mount.
    mounts = {m["mountPath"] for m in train_container(gpu)["volumeMounts"]}
    assert any(extra["GREGORY_SUMMARY_CACHE_DIR"].startswith(path + "/") for path in mounts)
    # What the in-cluster launcher then builds: the nightly's Jobs carry it ...
    config = dict(find(gpu, "ConfigMap", "gregory-launcher")["data"])
    nightly = JobSettings.from_env({**config, "GREGORY_JOB_ENV": json.dumps(extra)})
    job = build_job(TrainFlags(team="demo"), run_id="nightly-20260102", settings=nightly)
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["GREGORY_SUMMARY_CACHE_DIR"] == "/cache/summaries"
    # ... and a Job submitted by hand with the same ConfigMap does not.
    by_hand = build_job(TrainFlags(team="demo"), run_id="r", settings=JobSettings.from_env(config))
    assert "GREGORY_SUMMARY_CACHE_DIR" not in {
        e.name for e in by_hand.spec.template.spec.containers[0].env
    }
    settings = find(gpu, "ConfigMap", "gregory-train-settings")["data"]
    assert "GREGORY_SUMMARY_CACHE_DIR" not in settings
    for overlay in ("base", "overlays/kind"):
        assert "GREGORY_JOB_ENV" not in launcher_env(find(render(overlay), "CronJob", name))


def test_kueue_objects_hold_together(render) -> None:
    docs = render("overlays/gpu")
    kueue = [d for d in docs if d["apiVersion"].startswith("kueue.x-k8s.io/")]
    assert {d["kind"] for d in kueue} == {
        "ResourceFlavor",
        "ClusterQueue",
        "LocalQueue",
        "WorkloadPriorityClass",
    }
    assert {d["apiVersion"] for d in kueue} == {"kueue.x-k8s.io/v1beta2"}
    cluster_queue = find(docs, "ClusterQueue", "gregory")
    assert "namespace" not in cluster_queue["metadata"]  # cluster-scoped
    assert cluster_queue["spec"]["cohortName"]
    (group,) = cluster_queue["spec"]["resourceGroups"]
    flavors = {
        f["name"]: {r["name"]: r["nominalQuota"] for r in f["resources"]} for f in group["flavors"]
    }
    for flavor, quota in flavors.items():
        find(docs, "ResourceFlavor", flavor)
        assert set(quota) == set(group["coveredResources"]) == {"cpu", "memory", "nvidia.com/gpu"}
    # The quota admits at least one Job as the builder makes it.
    settings = JobSettings.from_env(dict(find(docs, "ConfigMap", "gregory-launcher")["data"]))
    (quota,) = flavors.values()
    assert int(quota["nvidia.com/gpu"]) >= settings.gpu_count
    assert int(quota["cpu"]) >= int(settings.cpu_request)
    for local_queue in (d for d in kueue if d["kind"] == "LocalQueue"):
        assert local_queue["metadata"]["namespace"] == JobSettings.namespace
        assert local_queue["spec"]["clusterQueue"] == "gregory"
    # A new team's LocalQueue: the launcher creates it in that ClusterQueue.
    assert settings.cluster_queue == "gregory"
    # Manual runs are admitted before the nightly batch; the CronJobs submit at nightly.
    value = {
        d["metadata"]["name"]: d["value"] for d in kueue if d["kind"] == "WorkloadPriorityClass"
    }
    assert value["gregory-manual"] > value["gregory-nightly"]
    assert settings.priority_class == "gregory-manual"
    for name in ("gregory-nightly", "gregory-nightly-predict"):
        (container,) = find(docs, "CronJob", name)["spec"]["jobTemplate"]["spec"]["template"][
            "spec"
        ]["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["GREGORY_JOB_PRIORITY_CLASS"] == "gregory-nightly"


def test_the_hub_egress_component_opens_https_only(render, tmp_path) -> None:
    gpu, component = REPO / "k8s/overlays/gpu", REPO / "k8s/components/hub-egress"
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(gpu, tmp_path)}]\n"
        f"components: [{os.path.relpath(component, tmp_path)}]\n"
    )
    docs = render(str(tmp_path))
    hub = find(docs, "NetworkPolicy", "gregory-train-hub")
    kubernetes_validate.validate(hub, KUBERNETES_VERSION, strict=True)
    assert hub["metadata"]["namespace"] == JobSettings.namespace
    assert (
        hub["spec"]["podSelector"]
        == find(docs, "NetworkPolicy", "gregory-train")["spec"]["podSelector"]
    )
    assert hub["spec"]["policyTypes"] == ["Egress"]
    assert [p for rule in hub["spec"]["egress"] for p in rule["ports"]] == [
        {"protocol": "TCP", "port": 443}
    ]
    assert not [d for d in render("overlays/gpu") if d["metadata"]["name"] == "gregory-train-hub"]
