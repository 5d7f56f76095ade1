"""Every overlay renders with a current kustomize and validates against the Kubernetes schemas;
the fields that matter for GPU, volumes, security and the nightly CronJobs are what we meant."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from gregory import exit_codes
from gregory.flags import PredictFlags, TrainFlags
from launcher.cli import build_parser, job_of, run_id_from
from launcher.kube.job_builder import CONTAINER_NAME, JobSettings
from launcher.operations import JOBS
from tests.support.k8s import KUBERNETES_VERSION, OVERLAYS, find, pod_specs

TEMPLATE = "gregory-train-template"
KUEUE_GROUP = "kueue.x-k8s.io/"
CLUSTER_SCOPED = (
    "Namespace",
    "PersistentVolume",
    "ClusterQueue",
    "ResourceFlavor",
    "WorkloadPriorityClass",
)
# The nightly CronJobs: what each one submits, and at what time (UTC).
NIGHTLY = {
    "gregory-nightly": (
        TrainFlags,
        ["submit", "--all-teams", "--skip-unchanged", "--run-id", "nightly-{date}"],
        2,
    ),
    "gregory-nightly-predict": (
        PredictFlags,
        ["submit", "--command", "predict", "--all-teams", "--run-id", "nightly-predict-{date}"],
        5,
    ),
}


def template_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, "Job", TEMPLATE)["spec"]["template"]["spec"]


def train_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (container,) = [c for c in template_pod(docs)["containers"] if c["name"] == CONTAINER_NAME]
    return container


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_schemas(render, overlay: str) -> None:
    docs = render(overlay)
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim"} <= kinds
    assert {"ConfigMap", "Job", "CronJob"} <= kinds
    for doc in docs:
        if doc["apiVersion"].startswith(KUEUE_GROUP):
            continue  # no offline schema for Kueue's CRDs; tests/k8s/test_gpu_pool.py checks them
        # strict: an unknown or misspelt field is an error, not silently dropped by the server.
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    # Everything namespaced lands in the namespace the launcher's defaults name.
    namespaced = [d for d in docs if d["kind"] not in CLUSTER_SCOPED]
    assert {d["metadata"].get("namespace") for d in namespaced} == {JobSettings.namespace}


def test_the_validation_would_catch_a_broken_manifest(render) -> None:
    job = copy.deepcopy(find(render("base"), "Job", TEMPLATE))
    job["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # typo of "resources"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    job = copy.deepcopy(find(render("base"), "Job", TEMPLATE))
    job["spec"]["backoffLimit"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_least_privileged(render, overlay: str) -> None:
    docs = render(overlay)
    specs = pod_specs(docs)
    assert {owner for owner, _ in specs} == {TEMPLATE, *NIGHTLY}
    for owner, spec in specs:
        pod_sc = spec["securityContext"]
        assert pod_sc["runAsNonRoot"] is True, owner
        assert pod_sc["runAsUser"] >= 1000, owner
        assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}, owner
        assert spec["restartPolicy"] == "Never", owner
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, owner
            assert sc["allowPrivilegeEscalation"] is False, owner
            assert sc["capabilities"] == {"drop": ["ALL"]}, owner
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            # Read-only root: /tmp must be a writable scratch volume.
            assert "emptyDir" in volumes[mounts["/tmp"]["name"]], owner
            assert not mounts["/tmp"].get("readOnly", False)
            assert container["resources"]["requests"] and container["resources"]["limits"]
    # The training pod never talks to the API server.
    train = template_pod(docs)
    assert train["automountServiceAccountToken"] is False
    assert (
        find(docs, "ServiceAccount", train["serviceAccountName"])["automountServiceAccountToken"]
        is False
    )
    namespace = find(docs, "Namespace", "gregory")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_training_job_policy(render, overlay: str) -> None:
    job = find(render(overlay), "Job", TEMPLATE)
    spec = job["spec"]
    assert spec["suspend"] is True  # the template never runs by itself
    assert spec["backoffLimit"] >= 1
    assert spec["activeDeadlineSeconds"] > 0
    assert spec["ttlSecondsAfterFinished"] > 0
    disruption, fail_fast = spec["podFailurePolicy"]["rules"]
    assert disruption["action"] == "Ignore"
    assert disruption["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    assert fail_fast["action"] == "FailJob"
    assert fail_fast["onExitCodes"] == {
        "containerName": CONTAINER_NAME,
        "operator": "In",
        "values": [exit_codes.USAGE, 137],  # usage error, OOM kill
    }
    assert spec["podReplacementPolicy"] == "Failed"
    env = {e["name"]: e for e in train_container(render(overlay))["env"]}
    # The pod's job-name label is the Job's name (metadata.name would be the pod's).
    assert env["GREGORY_TRIGGERED_BY"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['batch.kubernetes.io/job-name']"
    )
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "gregory-database",
        "key": "DATABASE_URL",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_models_and_cache_volumes(render, overlay: str) -> None:
    docs = render(overlay)
    pod = template_pod(docs)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in train_container(docs)["volumeMounts"]}
    models = volumes[mounts["/models"]]["persistentVolumeClaim"]["claimName"]
    cache = volumes[mounts["/cache"]]["persistentVolumeClaim"]["claimName"]
    find(docs, "PersistentVolumeClaim", models)
    find(docs, "PersistentVolumeClaim", cache)
    assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory"
    settings = find(docs, "ConfigMap", "gregory-train-settings")["data"]
    assert settings["GREGORY_MODELS_DIR"] == "/models"
    assert settings["HF_HOME"].startswith("/cache/")
    # Many Jobs write models at once; the models volume must allow it.
    models_pvc = find(docs, "PersistentVolumeClaim", models)
    assert "ReadWriteMany" in models_pvc["spec"]["accessModes"]


def test_gpu_overlay_schedules_onto_the_nvidia_pool(render) -> None:
    docs = render("overlays/gpu")
    pod = template_pod(docs)
    resources = train_container(docs)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "1"
    assert resources["limits"]["memory"] and resources["limits"]["cpu"]  # patch kept the rest
    # No node selector: labels differ per cloud; the GPU request alone places the pod.
    assert "nodeSelector" not in pod
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    launcher = find(docs, "ConfigMap", "gregory-launcher")["data"]
    assert launcher["GREGORY_JOB_GPU"] == "true"
    assert json.loads(launcher["GREGORY_JOB_GPU_NODE_SELECTOR"]) == {}


@pytest.mark.parametrize("overlay", ("base", "overlays/kind"))
def test_no_gpu_outside_the_gpu_overlay(render, overlay: str) -> None:
    docs = render(overlay)
    assert "nvidia.com" not in json.dumps(template_pod(docs))
    assert find(docs, "ConfigMap", "gregory-launcher")["data"]["GREGORY_JOB_GPU"] == "false"


def test_kind_overlay_runs_the_local_cpu_image_on_kind_storage(render) -> None:
    docs = render("overlays/kind")
    for _, spec in pod_specs(docs):
        for container in spec["containers"]:
            name, _, tag = container["image"].rpartition(":")
            assert name and tag and tag != "latest", container["image"]
            # Images are side-loaded with `kind load`: a fixed tag, so Kubernetes' default pull
            # policy (none written) is IfNotPresent and never pulls.
            assert "imagePullPolicy" not in container
    assert train_container(docs)["image"].endswith("-cpu")
    launcher = find(docs, "ConfigMap", "gregory-launcher")["data"]
    assert launcher["GREGORY_JOB_IMAGE"] == train_container(docs)["image"]
    models = find(docs, "PersistentVolumeClaim", "gregory-models")["spec"]
    volume = find(docs, "PersistentVolume", models["volumeName"])["spec"]
    assert models["storageClassName"] == volume["storageClassName"] == ""
    assert volume["hostPath"]["path"] == "/var/lib/gregory/models"  # see k8s/kind/cluster.yaml
    cache = find(docs, "PersistentVolumeClaim", "gregory-hf-cache")["spec"]
    assert cache["storageClassName"] == "standard"
    assert cache["accessModes"] == ["ReadWriteOnce"]  # all kind's local-path class offers
    secret = find(docs, "Secret", "gregory-database")
    assert "DATABASE_URL" in secret["data"]
    # Nightly runs stay off on a laptop; they read the SQLite file on the models volume.
    for name in NIGHTLY:
        cron = find(docs, "CronJob", name)["spec"]
        assert cron["suspend"] is True
        pod = cron["jobTemplate"]["spec"]["template"]["spec"]
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        claims = {v["name"]: v.get("persistentVolumeClaim") for v in pod["volumes"]}
        assert claims[mounts["/models"]] == {"claimName": "gregory-models"}


@pytest.mark.parametrize("overlay", ("base", "overlays/gpu"))
def test_no_credentials_in_the_repository(render, overlay: str) -> None:
    assert not [d for d in render(overlay) if d["kind"] == "Secret"]


@pytest.mark.parametrize("name", NIGHTLY)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nightly_cronjob(render, overlay: str, name: str) -> None:
    docs = render(overlay)
    cron = find(docs, "CronJob", name)["spec"]
    _, args, hour = NIGHTLY[name]
    assert cron["schedule"] == f"0 {hour} * * *" and cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] > 0
    assert cron["successfulJobsHistoryLimit"] >= 1 and cron["failedJobsHistoryLimit"] >= 1
    job = cron["jobTemplate"]["spec"]
    # One API or database error must not lose the night; a retry meets 409s, never twins.
    assert job["backoffLimit"] >= 2
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"]["values"] == [exit_codes.USAGE]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].startswith("gregory-launcher:")
    assert container["args"] == args
    assert pod["serviceAccountName"] == "gregory-launcher"
    assert {e["configMapRef"]["name"] for e in container["envFrom"]} == {"gregory-launcher"}
    launcher = find(docs, "ConfigMap", "gregory-launcher")["data"]
    assert launcher["GREGORY_BACKEND"] == "kubernetes"
    # The launcher submits Jobs with the image the template shows.
    assert launcher["GREGORY_JOB_IMAGE"] == train_container(docs)["image"]


@pytest.mark.parametrize("name", NIGHTLY)
def test_nightly_args_are_what_the_launcher_accepts(name: str) -> None:
    flag_class, args, _ = NIGHTLY[name]
    options = build_parser(job_of(args)).parse_args(args)
    flags = JOBS[options.job].from_options(vars(options)).validate()
    assert type(flags) is flag_class and flags.all_teams
    # Nightly training retrains only what changed; its Jobs get the flag through to_argv.
    if flag_class is TrainFlags:
        assert flags.skip_unchanged and "--skip-unchanged" in flags.for_scope("t", "s").to_argv()
    # A per-day run id the launcher accepts (it refuses one too long for a Job name), so a
    # second start the same day meets 409s instead of submitting twins.
    run_id = run_id_from(options.run_id)
    assert run_id[-8:].isdigit() and run_id == options.run_id.replace("{date}", run_id[-8:])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_nightly_cronjobs_differ_only_in_name_schedule_and_args(render, overlay) -> None:
    docs = render(overlay)

    def normalised(name: str) -> dict[str, Any]:
        cron = copy.deepcopy(find(docs, "CronJob", name))
        del cron["metadata"]["name"], cron["spec"]["schedule"]
        template = cron["spec"]["jobTemplate"]
        for meta in (
            cron["metadata"],
            template["metadata"],
            template["spec"]["template"]["metadata"],
        ):
            meta["labels"].pop("app.kubernetes.io/component")
        del template["spec"]["template"]["spec"]["containers"][0]["args"]
        return cron

    training, prediction = NIGHTLY
    assert normalised(training) == normalised(prediction)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_launcher_role_is_least_privilege(render, overlay: str) -> None:
    docs = render(overlay)
    assert not [d for d in docs if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = find(docs, "Role", "gregory-launcher")
    rules = {
        (group, resource): sorted(rule["verbs"])
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    expected = {
        ("batch", "jobs"): sorted(["create", "get", "list", "watch", "delete"]),
        ("", "pods"): ["get", "list", "watch"],
        ("", "pods/log"): ["get"],
    }
    if overlay == "overlays/gpu":  # Kueue: a team's LocalQueue is read, a missing one created
        expected[("kueue.x-k8s.io", "localqueues")] = ["create", "get"]
    assert rules == expected
    bindings = [d for d in docs if d["kind"] == "RoleBinding"]
    assert [b["subjects"] for b in bindings] == [
        [{"kind": "ServiceAccount", "name": "gregory-launcher", "namespace": "gregory"}]
    ]
    assert bindings[0]["roleRef"]["name"] == role["metadata"]["name"]
