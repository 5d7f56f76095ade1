"""The pure Job builder: names, run ids, labels, the Jobs it returns (training and prediction),
settings from the env."""

from __future__ import annotations

import re
import time

import kubernetes_validate
import pytest
from kubernetes.client import ApiClient

from gregory import exit_codes
from gregory.flags import FlagError, JobFlags, PredictFlags, TrainFlags
from launcher.backends.base import new_run_id
from launcher.kube.job_builder import (
    LABEL_APP,
    LABEL_COMPONENT,
    LABEL_QUEUE,
    LABEL_RUN_ID,
    LABEL_SUBJECT,
    LABEL_TEAM,
    JobSettings,
    build_job,
    job_name,
    label_value,
)
from tests.support.k8s import KUBERNETES_VERSION

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
SETTINGS = JobSettings(image="gregory-train:0.1.0")


TRAIN, PREDICT = TrainFlags.command, PredictFlags.command


def as_dict(flags: JobFlags, settings: JobSettings = SETTINGS, run_id: str = "2611212254abc"):
    job = build_job(flags, run_id=run_id, settings=settings)
    return ApiClient().sanitize_for_serialization(job)


@pytest.mark.parametrize(
    ("team", "subject"),
    [
        ("demo", None),
        ("demo", "ms-research"),
        ("Team_One", "sub_ject"),
        ("a" * 100, "b" * 100),
        ("-x-", "_"),
        ("UPPER", "x" * 40),
    ],
)
@pytest.mark.parametrize("run_id", ["new", "nightly-predict-20260102"])
@pytest.mark.parametrize("command", [TRAIN, PREDICT])
def test_job_names_are_dns_labels(team: str, subject: str | None, run_id: str, command) -> None:
    run_id = new_run_id() if run_id == "new" else run_id
    name = job_name(team, subject, run_id, command)
    assert DNS_LABEL.match(name), name
    assert len(name) <= 63
    assert name == job_name(team, subject, run_id, command)  # deterministic
    assert name.endswith(run_id)  # the run id survives truncation
    assert name.startswith("gregory-predict-") is (command == PREDICT)


def test_job_names_keep_scopes_apart() -> None:
    run = "2611212254abc"
    names = {
        job_name("a_b", None, run),
        job_name("a-b", None, run),
        job_name("a", "b", run),
        job_name("a-b", "c", run),
        job_name("a", "b-c", run),
        job_name("t" * 90 + "1", None, run),
        job_name("t" * 90 + "2", None, run),
    }
    assert len(names) == 7
    assert job_name("demo", None, run) == f"gregory-demo-{run}"
    assert re.fullmatch(
        rf"gregory-demo-ms-research-[0-9a-f]{{6}}-{run}", job_name("demo", "ms-research", run)
    )


def test_prediction_job_names_never_pass_for_training_ones() -> None:
    run = "2611212254abc"
    # Training team `predict-demo` and a prediction for team `demo` would read alike untagged.
    training = job_name("predict-demo", None, run, TRAIN)
    prediction = job_name("demo", None, run, PREDICT)
    assert training == f"gregory-predict-demo-{run}"
    assert re.fullmatch(rf"gregory-predict-demo-[0-9a-f]{{6}}-{run}", prediction)
    assert job_name("demo", "ms", run, PREDICT) != job_name("demo", "ms", run, TRAIN)


def test_run_ids_are_short_unique_and_start_with_the_utc_minute() -> None:
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) > 190  # 4 random hex digits per minute; collisions are rare
    for run_id in ids:
        assert re.fullmatch(r"[0-9]{8}-[0-9a-f]{4}", run_id)
    assert new_run_id()[:8] == time.strftime("%m%d%H%M", time.gmtime())


@pytest.mark.parametrize("text", ["demo", "a_b", "_x_", "x" * 100, "é", "a b/c"])
def test_label_values_are_valid(text: str) -> None:
    value = label_value(text)
    assert LABEL_VALUE.match(value), value
    assert len(value) <= 63


@pytest.mark.parametrize(
    "flags",
    [
        TrainFlags(team="demo"),
        TrainFlags(team="demo", subject="ms-research", algos=("lgbm_tfidf",), verbose=3),
        TrainFlags(team="Team_1", all_articles=True, pseudo_label=True, version="v1.2"),
        TrainFlags(all_teams=True, lookback_days=30).for_scope("demo", "ms"),
        PredictFlags(team="demo"),
        PredictFlags(team="demo", subject="ms-research", model_version="20260102", verbose=2),
        PredictFlags(all_teams=True, all_articles=True, prob_threshold=0.6).for_scope("x", "y"),
    ],
)
@pytest.mark.parametrize("gpu", [True, False])
def test_built_jobs_validate_and_run_the_flags(flags: JobFlags, gpu: bool) -> None:
    settings = JobSettings(image="gregory-train:0.1.0", gpu=gpu)
    job = as_dict(flags, settings)
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [flags.command, *flags.to_argv()]
    assert ("nvidia.com/gpu" in container["resources"]["limits"]) is gpu
    # No node selector by default: the GPU request alone finds a GPU node on any cloud.
    assert "nodeSelector" not in pod and ("tolerations" in pod) is gpu
    assert job["metadata"]["name"] == job_name(
        flags.team, flags.subject, "2611212254abc", flags.command
    )
    labels = job["metadata"]["labels"]
    assert labels[LABEL_APP] == "gregory-train"  # both kinds are the launcher's runs
    component = {TRAIN: "training", PREDICT: "prediction"}[flags.command]
    assert labels[LABEL_COMPONENT] == component
    assert labels[LABEL_RUN_ID] == "2611212254abc"
    assert labels[LABEL_SUBJECT] == (flags.subject or "all")
    assert job["metadata"]["annotations"][LABEL_TEAM] == flags.team  # the exact slug
    # Pods carry the run's labels (not the queue's): the launcher finds them by run id.
    assert job["spec"]["template"]["metadata"]["labels"] == {
        k: v for k, v in labels.items() if k != LABEL_QUEUE
    }
    assert job["metadata"]["namespace"] == "gregory"


def test_jobs_are_queued_in_their_teams_kueue_queue_and_created_suspended() -> None:
    queued = JobSettings(image="i", queue_name="gregory-{team}")
    job = as_dict(TrainFlags(team="Team_One", subject="ms"), queued)
    assert job["metadata"]["labels"][LABEL_QUEUE] == "gregory-team-one"
    assert job["spec"]["suspend"] is True  # Kueue resumes it on admission
    assert LABEL_QUEUE not in job["spec"]["template"]["metadata"]["labels"]
    predict = as_dict(PredictFlags(team="demo"), JobSettings(image="i", queue_name="gpu-{team}"))
    assert predict["metadata"]["labels"][LABEL_QUEUE] == "gpu-demo"
    fixed = as_dict(TrainFlags(team="demo"), JobSettings(image="i", queue_name="gpu-pool"))
    assert fixed["metadata"]["labels"][LABEL_QUEUE] == "gpu-pool"
    # Empty, the default: no Kueue; the Job starts at once.
    plain = as_dict(TrainFlags(team="demo"))
    assert LABEL_QUEUE not in plain["metadata"]["labels"]
    assert "suspend" not in plain["spec"]


@pytest.mark.parametrize("template", ["gregory-{tema}", "gregory-{0}", "gregory-{team", "Q_{team}"])
def test_a_malformed_queue_template_is_refused_with_its_reason(template: str) -> None:
    with pytest.raises(ValueError, match="QUEUE_NAME|not a DNS label"):
        JobSettings.from_env({"GREGORY_JOB_IMAGE": "i", "GREGORY_JOB_QUEUE_NAME": template})


@pytest.mark.parametrize("gpu", [True, False])
def test_pods_are_guaranteed_qos_and_not_disrupted_by_autoscalers(gpu: bool) -> None:
    job = as_dict(TrainFlags(team="demo"), JobSettings(image="i", gpu=gpu))
    pod = job["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    resources = container["resources"]
    # Guaranteed: every request equals its limit, cpu and memory at least (GPU too with one).
    assert resources["requests"] == resources["limits"]
    assert {"cpu", "memory"} | ({"nvidia.com/gpu"} if gpu else set()) == set(resources["limits"])
    assert pod["metadata"]["annotations"] == {
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
        "karpenter.sh/do-not-disrupt": "true",
    }
    env = {e["name"]: e for e in container["env"]}
    assert env["GREGORY_CPU_LIMIT"]["valueFrom"]["resourceFieldRef"] == {
        "containerName": container["name"],
        "resource": "limits.cpu",
    }


def test_failure_policy_retries_disruptions_uncounted_and_fails_usage_and_oom_at_once() -> None:
    spec = as_dict(TrainFlags(team="demo"))["spec"]
    disruption, fail_fast = spec["podFailurePolicy"]["rules"]
    # Disruption first: a preempted pod killed with 137 is not an OOM.
    assert disruption == {
        "action": "Ignore",
        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}],
    }
    assert fail_fast["action"] == "FailJob"
    assert fail_fast["onExitCodes"]["values"] == [exit_codes.USAGE, 137]
    assert spec["podReplacementPolicy"] == "Failed"
    # What bounds the uncounted retries on a pool that keeps preempting.
    assert 0 < spec["activeDeadlineSeconds"] <= 24 * 3600


def test_extra_env_reaches_the_container_and_a_pool_can_be_pinned() -> None:
    settings = JobSettings.from_env(
        {
            "GREGORY_JOB_IMAGE": "i",
            "GREGORY_JOB_ENV": '{"GREGORY_SUMMARY_CACHE_DIR": "/cache/summaries"}',
            "GREGORY_JOB_GPU_NODE_SELECTOR": '{"accelerator": "nvidia"}',
        }
    )
    pod = as_dict(TrainFlags(team="demo"), settings)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": "GREGORY_SUMMARY_CACHE_DIR", "value": "/cache/summaries"} in container["env"]
    assert pod["nodeSelector"] == {"accelerator": "nvidia"}
    with pytest.raises(ValueError, match="JSON object"):
        JobSettings.from_env({"GREGORY_JOB_IMAGE": "i", "GREGORY_JOB_ENV": "[]"})


def test_builder_refuses_unscoped_or_invalid_flags() -> None:
    with pytest.raises(ValueError, match="one team"):
        build_job(TrainFlags(all_teams=True), run_id="r1", settings=SETTINGS)
    with pytest.raises(ValueError, match="one team"):
        build_job(PredictFlags(all_teams=True), run_id="r1", settings=SETTINGS)
    with pytest.raises(FlagError):
        build_job(TrainFlags(team="demo", prob_threshold=2.0), run_id="r", settings=SETTINGS)
    with pytest.raises(FlagError):
        build_job(PredictFlags(team="demo", model_version="../x"), run_id="r", settings=SETTINGS)


def test_settings_from_env() -> None:
    env = {
        "GREGORY_JOB_IMAGE": "img:1",
        "GREGORY_NAMESPACE": "elsewhere",
        "GREGORY_JOB_GPU": "false",
        "GREGORY_JOB_BACKOFF_LIMIT": "5",
        "GREGORY_JOB_GPU_NODE_SELECTOR": '{"pool": "a100"}',
        "GREGORY_JOB_GPU_TOLERATIONS": '[{"key": "k", "operator": "Exists"}]',
        "UNRELATED": "x",
    }
    settings = JobSettings.from_env(env)
    assert settings.image == "img:1" and settings.namespace == "elsewhere"
    assert settings.gpu is False and settings.backoff_limit == 5
    assert settings.gpu_node_selector == {"pool": "a100"}
    assert settings.gpu_tolerations == ({"key": "k", "operator": "Exists"},)
    assert JobSettings.from_env({"GREGORY_JOB_IMAGE": "i"}) == JobSettings(image="i")
    assert JobSettings.from_env({}, image="j").image == "j"
    with pytest.raises(ValueError, match="GREGORY_JOB_IMAGE"):
        JobSettings.from_env({})
    with pytest.raises(ValueError, match="boolean"):
        JobSettings.from_env({"GREGORY_JOB_IMAGE": "i", "GREGORY_JOB_GPU": "maybe"})
    with pytest.raises(ValueError):
        JobSettings.from_env({"GREGORY_JOB_IMAGE": "i", "GREGORY_JOB_GPU_TOLERATIONS": "{}"})
