"""The Jobs of train_models and predict_articles as Kubernetes client models: one pure function,
no YAML templating. Both commands' Jobs share the image, resources and policy; their names and
component label tell them apart.

Source of truth: the defaults live here, in `JobSettings`. What differs per deployment (image,
GPU or not, node pool, sizes) reaches the in-cluster launcher as `GREGORY_JOB_*` variables from
the `gregory-launcher` ConfigMap, which each kustomize overlay sets (`JobSettings.from_env`). The
kustomize base carries a suspended copy of the Job (`gregory-train-template`) for operators and
for the test that renders every overlay and checks that this builder, fed that overlay's
ConfigMap, produces the same Job spec (tests/k8s/test_agreement.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from gregory import exit_codes
from gregory.flags import JobFlags, PredictFlags, TrainFlags

# Label keys the launcher selects on. Values of team/subject are sanitised to label syntax; the
# exact slugs are kept in annotations under the same keys.
LABEL_APP = "app.kubernetes.io/name"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_TEAM = "gregory/team"
LABEL_SUBJECT = "gregory/subject"
LABEL_RUN_ID = "gregory/run-id"
APP = "gregory-train"
COMPONENT_TRAINING = "training"
COMPONENT_PREDICTION = "prediction"
ALL_SUBJECTS = "all"
# The Job controller labels each pod with its Job's name; the downward API passes it on.
POD_JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
# Kueue admits a Job labelled with a LocalQueue's name: it creates it suspended, then resumes it.
LABEL_QUEUE = "kueue.x-k8s.io/queue-name"
# Kueue's WorkloadPriorityClass of the Job (k8s/components/kueue: manual above nightly).
LABEL_PRIORITY = "kueue.x-k8s.io/priority-class"
KUEUE_GROUP = "kueue.x-k8s.io"
KUEUE_VERSION = "v1beta2"
# The job sizes torch's and the tokenizers' thread pools from this (the pod's CPU limit).
CPU_LIMIT_ENV = "GREGORY_CPU_LIMIT"

CONTAINER_NAME = "train"
# 128 + SIGKILL: the kernel's OOM killer (a disruption's kill carries DisruptionTarget instead).
OOM_KILLED_EXIT = 137
MODELS_MOUNT = "/models"
CACHE_MOUNT = "/cache"
ENV_PREFIX = "GREGORY_JOB_"


@dataclass(frozen=True)
class JobKind:
    """What tells one command's Jobs from the other's: the name prefix and the component label."""

    name_prefix: str
    component: str


JOB_KINDS: dict[str, JobKind] = {
    TrainFlags.command: JobKind("gregory", COMPONENT_TRAINING),
    PredictFlags.command: JobKind("gregory-predict", COMPONENT_PREDICTION),
}

_DNS_LABEL_MAX = 63
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _gpu_tolerations() -> tuple[Mapping[str, Any], ...]:
    # GKE and AKS taint GPU nodes with nvidia.com/gpu; tolerating the key covers both.
    return ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)


def _do_not_disrupt() -> Mapping[str, str]:
    # Autoscalers must not drain a node to consolidate while a training pod runs on it.
    return {
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
        "karpenter.sh/do-not-disrupt": "true",
    }


@dataclass(frozen=True)
class JobSettings:
    """Everything about a training Job that is not the flag set. Defaults = production (GPU)."""

    image: str
    namespace: str = "gregory"
    service_account: str = "gregory-train"
    # Empty: Kubernetes' default for the image reference, as the template has it (k8s/base).
    image_pull_policy: str = ""
    gpu: bool = True
    gpu_count: int = 1
    gpu_resource: str = "nvidia.com/gpu"
    # Applied only when gpu is true: where the NVIDIA pool is and which taints it carries. No
    # selector by default: the GPU request alone finds GPU nodes on every cloud; labels differ.
    gpu_node_selector: Mapping[str, str] = field(default_factory=dict)
    gpu_tolerations: tuple[Mapping[str, Any], ...] = field(default_factory=_gpu_tolerations)
    # Requests equal limits: Guaranteed QoS, the last class the kubelet evicts. Fits a node of
    # 8 vCPUs and 32 GiB (g2-standard-8, g5.2xlarge) after the system's reservations.
    cpu_request: str = "6"
    memory_request: str = "24Gi"
    cpu_limit: str = "6"
    memory_limit: str = "24Gi"
    tmp_size: str = "4Gi"
    shm_size: str = "2Gi"
    active_deadline_seconds: int = 6 * 3600
    backoff_limit: int = 2
    # Long enough for the morning after a nightly run to read pod state and logs.
    ttl_seconds_after_finished: int = 3 * 24 * 3600
    models_pvc: str = "gregory-models"
    cache_pvc: str = "gregory-hf-cache"
    settings_configmap: str = "gregory-train-settings"
    database_secret: str = "gregory-database"
    database_secret_key: str = "DATABASE_URL"
    run_as_user: int = 10001
    # Kueue LocalQueue of a team's Jobs, e.g. `gregory-{team}` (the team's slug). Empty: no
    # Kueue, the default: on a cluster without it, a queued Job would wait forever.
    queue_name: str = ""
    # The ClusterQueue a team's missing LocalQueue is created in (the launcher needs RBAC for
    # localqueues). Empty: a Job for a team without its LocalQueue is refused, not left queued.
    cluster_queue: str = ""
    # Kueue's WorkloadPriorityClass for the Jobs; only with a queue.
    priority_class: str = ""
    # E.g. `nvidia` where the GPU runtime is not the node's default (k8s/components/runtime-class).
    runtime_class_name: str = ""
    pod_annotations: Mapping[str, str] = field(default_factory=_do_not_disrupt)
    # More variables for the container, e.g. the nightly CronJob's GREGORY_SUMMARY_CACHE_DIR.
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        queue_for(self, "team")  # a malformed template fails here, not at the first submit

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> JobSettings:
        """Settings from `GREGORY_JOB_<FIELD>` variables (and `GREGORY_NAMESPACE`).

        Mappings and lists are JSON; booleans accept true/false/1/0/yes/no. Keyword overrides
        win over the environment. Raises ValueError on a malformed value.
        """
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if item.name == "namespace":
                raw = environ.get("GREGORY_NAMESPACE", raw)
            if raw is None:
                continue
            values[item.name] = _coerce(item.name, raw, hints[item.name])
        values.update(overrides)
        if "image" not in values:
            raise ValueError(f"{ENV_PREFIX}IMAGE is not set")
        return cls(**values)


def _coerce(name: str, raw: str, kind: Any) -> Any:
    """An environment string as the field's type: bool, int, or JSON for mappings and lists."""
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a boolean")
    if kind is int:
        return int(raw)
    if kind is str:
        return raw
    # Mapping[str, str] or tuple[Mapping, ...]: JSON; an empty string means none.
    empty = not raw.strip()
    if typing.get_origin(kind) is Mapping:
        value = {} if empty else json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a JSON object")
        return {str(k): str(v) for k, v in value.items()}
    value = [] if empty else json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a JSON list of objects")
    return tuple(value)


def _short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _dns_slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    return re.sub(r"-{2,}", "-", slug).strip("-")


def job_name(team: str, subject: str | None, run_id: str, command: str = TrainFlags.command) -> str:
    """`gregory[-predict]-<team>[-<subject>]-<run_id>`: deterministic, a DNS-1123 label of at
    most 63 chars; training Jobs start `gregory-`, prediction Jobs `gregory-predict-`.

    Slugs may hold `_`, `-` or upper case and be up to 100 chars. `-` joins the parts, so team
    `a-b` and team `a` subject `b` would read alike, as would a prediction for team `x` and a
    training of team `predict-x`: a hash of the exact scope follows whenever a subject is given,
    the Job predicts, or the readable part had to be changed or cut.
    """
    prefix = JOB_KINDS[command].name_prefix
    run = _dns_slug(run_id)
    if not run:
        raise ValueError(f"run id {run_id!r} has no DNS-safe characters")
    scope = team if subject is None else f"{team}-{subject}"
    slug = _dns_slug(scope)
    budget = _DNS_LABEL_MAX - len(prefix) - 1 - len(run) - 1
    tagged = command != TrainFlags.command or subject is not None
    if tagged or slug != scope or len(slug) > budget:
        tag = _short_hash(f"{team}\0{subject or ''}")
        slug = slug[: max(budget - len(tag) - 1, 0)].strip("-")
        slug = f"{slug}-{tag}" if slug else tag
    name = f"{prefix}-{slug}-{run}"
    if len(name) > _DNS_LABEL_MAX:
        raise ValueError(f"run id {run_id!r} is too long for a Job name")
    return name


def label_value(text: str) -> str:
    """`text` if it is a valid label value, else a sanitised, hash-tagged form of it."""
    if _LABEL_VALUE_RE.match(text):
        return text
    tag = _short_hash(text)
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[: _DNS_LABEL_MAX - len(tag) - 1]
    cleaned = cleaned.strip("-_.")
    return f"{cleaned}-{tag}" if cleaned else tag


def queue_for(settings: JobSettings, team: str) -> str | None:
    """The LocalQueue of the team's Jobs, or None without Kueue. Raises ValueError when the
    template names another placeholder or the name is not a DNS label."""
    if not settings.queue_name:
        return None
    try:
        name = settings.queue_name.format(team=_dns_slug(team))
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"{ENV_PREFIX}QUEUE_NAME={settings.queue_name!r} may use only the {{team}} placeholder"
        ) from None
    if not _DNS_LABEL_RE.match(name):
        raise ValueError(
            f"queue name {name!r} (team {team!r}) is not a DNS label of at most 63 characters"
        )
    return name


def _toleration(spec: Mapping[str, Any]) -> client.V1Toleration:
    return client.V1Toleration(
        key=spec.get("key"),
        operator=spec.get("operator"),
        value=spec.get("value"),
        effect=spec.get("effect"),
        toleration_seconds=spec.get("tolerationSeconds"),
    )


def _resources(settings: JobSettings) -> client.V1ResourceRequirements:
    requests = {"cpu": settings.cpu_request, "memory": settings.memory_request}
    limits = {"cpu": settings.cpu_limit, "memory": settings.memory_limit}
    if settings.gpu:
        # Written in both, as the API server would default it: requests == limits throughout.
        requests[settings.gpu_resource] = limits[settings.gpu_resource] = str(settings.gpu_count)
    return client.V1ResourceRequirements(requests=requests, limits=limits)


def _env(settings: JobSettings) -> list[client.V1EnvVar]:
    """The database's URL from its Secret, the run's identity, the CPU limit, then `env`."""
    return [
        client.V1EnvVar(
            name="DATABASE_URL",
            value_from=client.V1EnvVarSource(
                secret_key_ref=client.V1SecretKeySelector(
                    name=settings.database_secret, key=settings.database_secret_key
                )
            ),
        ),
        client.V1EnvVar(
            name="GREGORY_TRIGGERED_BY",
            value_from=client.V1EnvVarSource(
                field_ref=client.V1ObjectFieldSelector(
                    field_path=f"metadata.labels['{POD_JOB_NAME_LABEL}']"
                )
            ),
        ),
        # Whole cores, rounded up: the job's thread pools, not the node's core count.
        client.V1EnvVar(
            name=CPU_LIMIT_ENV,
            value_from=client.V1EnvVarSource(
                resource_field_ref=client.V1ResourceFieldSelector(
                    container_name=CONTAINER_NAME, resource="limits.cpu"
                )
            ),
        ),
        *(client.V1EnvVar(name=k, value=v) for k, v in sorted(settings.env.items())),
    ]


def _container(settings: JobSettings, args: list[str]) -> client.V1Container:
    """The job's one container: its settings ConfigMap and env, and least privilege."""
    return client.V1Container(
        name=CONTAINER_NAME,
        image=settings.image,
        image_pull_policy=settings.image_pull_policy or None,
        args=args,
        env_from=[
            client.V1EnvFromSource(
                config_map_ref=client.V1ConfigMapEnvSource(name=settings.settings_configmap)
            )
        ],
        env=_env(settings),
        resources=_resources(settings),
        volume_mounts=[
            client.V1VolumeMount(name="models", mount_path=MODELS_MOUNT),
            client.V1VolumeMount(name="cache", mount_path=CACHE_MOUNT),
            client.V1VolumeMount(name="tmp", mount_path="/tmp"),
            client.V1VolumeMount(name="dshm", mount_path="/dev/shm"),
        ],
        security_context=client.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=client.V1Capabilities(drop=["ALL"]),
        ),
    )


def _pod_security(settings: JobSettings) -> client.V1PodSecurityContext:
    return client.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=settings.run_as_user,
        run_as_group=settings.run_as_user,
        fs_group=settings.run_as_user,
        # Walking a large models volume to chown it on every start would cost minutes.
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
    )


def _volumes(settings: JobSettings) -> list[client.V1Volume]:
    """The volumes `_container` mounts: the models and cache claims, /tmp and /dev/shm."""
    return [
        client.V1Volume(
            name="models",
            persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name=settings.models_pvc
            ),
        ),
        client.V1Volume(
            name="cache",
            persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name=settings.cache_pvc
            ),
        ),
        client.V1Volume(
            name="tmp", empty_dir=client.V1EmptyDirVolumeSource(size_limit=settings.tmp_size)
        ),
        # torch DataLoader workers share tensors through /dev/shm; the runtime gives 64Mi.
        client.V1Volume(
            name="dshm",
            empty_dir=client.V1EmptyDirVolumeSource(medium="Memory", size_limit=settings.shm_size),
        ),
    ]


def pod_spec(settings: JobSettings, args: list[str]) -> client.V1PodSpec:
    """The pod of a Job: GPU if asked, volumes, least privilege."""
    return client.V1PodSpec(
        restart_policy="Never",
        service_account_name=settings.service_account,
        # The training pod talks to the database, never to the API server.
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=_pod_security(settings),
        node_selector=(dict(settings.gpu_node_selector) or None) if settings.gpu else None,
        tolerations=[_toleration(t) for t in settings.gpu_tolerations] if settings.gpu else None,
        runtime_class_name=settings.runtime_class_name or None,
        containers=[_container(settings, args)],
        volumes=_volumes(settings),
    )


def job_spec(
    settings: JobSettings, args: list[str], pod_labels: Mapping[str, str]
) -> client.V1JobSpec:
    """Job-level policy: no restarts in place, bounded retries, disruptions retried without
    counting, a usage error or an out-of-memory kill fails at once. Pods carry `pod_labels`."""
    return client.V1JobSpec(
        backoff_limit=settings.backoff_limit,
        # Counts from the (last) start, never while suspended: Kueue queue time is free. It
        # also bounds the uncounted retries after disruptions (a spot pool cannot livelock).
        active_deadline_seconds=settings.active_deadline_seconds,
        ttl_seconds_after_finished=settings.ttl_seconds_after_finished,
        # The next pod starts once the last one is gone: never two pods on one run's checkpoint.
        pod_replacement_policy="Failed",
        pod_failure_policy=client.V1PodFailurePolicy(
            rules=[
                # Preemption, drain, eviction: not the run's fault, and it resumes from its last
                # checkpoint. First, so a disrupted pod's SIGKILL (137) is not taken for an OOM.
                client.V1PodFailurePolicyRule(
                    action="Ignore",
                    on_pod_conditions=[
                        client.V1PodFailurePolicyOnPodConditionsPattern(
                            type="DisruptionTarget", status="True"
                        )
                    ],
                ),
                # A bad flag set fails the same way every time, and so does an OOM kill with the
                # same data and the same memory limit: do not retry them.
                client.V1PodFailurePolicyRule(
                    action="FailJob",
                    on_exit_codes=client.V1PodFailurePolicyOnExitCodesRequirement(
                        container_name=CONTAINER_NAME,
                        operator="In",
                        values=[exit_codes.USAGE, OOM_KILLED_EXIT],
                    ),
                ),
            ]
        ),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(
                labels=dict(pod_labels),
                annotations=dict(settings.pod_annotations) or None,
            ),
            spec=pod_spec(settings, args),
        ),
    )


def build_job(flags: JobFlags, *, run_id: str, settings: JobSettings) -> client.V1Job:
    """The Job that runs the flags' command (train_models or predict_articles) for one team,
    and maybe one subject."""
    flags.validate()
    if flags.all_teams or flags.team is None:
        raise ValueError("a Job serves one team: scope the flags with for_scope()")
    kind = JOB_KINDS[flags.command]
    subject = flags.subject if flags.subject is not None else ALL_SUBJECTS
    labels = {
        LABEL_APP: APP,
        LABEL_COMPONENT: kind.component,
        LABEL_TEAM: label_value(flags.team),
        LABEL_SUBJECT: label_value(subject),
        LABEL_RUN_ID: label_value(run_id),
    }
    # Pods carry the run labels too, so the launcher finds pods and logs by run id.
    spec = job_spec(settings, [flags.command, *flags.to_argv()], labels)
    queue = queue_for(settings, flags.team)
    if queue is not None:
        # Created suspended: Kueue resumes it once the team's queue has quota for it.
        labels[LABEL_QUEUE] = queue
        if settings.priority_class:
            labels[LABEL_PRIORITY] = settings.priority_class
        spec.suspend = True
    return client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(
            name=job_name(flags.team, flags.subject, run_id, flags.command),
            namespace=settings.namespace,
            labels=labels,
            annotations={LABEL_TEAM: flags.team, LABEL_SUBJECT: subject, LABEL_RUN_ID: run_id},
        ),
        spec=spec,
    )
