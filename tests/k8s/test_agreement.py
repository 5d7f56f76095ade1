"""One source of truth: the builder's defaults (JobSettings) and the kustomize Job template agree.

For every overlay, the builder fed that overlay's gregory-launcher ConfigMap (what the in-cluster
launcher sees as its environment) must produce the rendered template's Job spec exactly, apart
from `suspend` and the per-run labels. And the production overlay (gpu) must equal the builder's
bare defaults, so an operator on a laptop and the nightly run submit the same Job. Prediction
Jobs are the same Job running predict_articles: only their args and component label differ.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from kubernetes.client import ApiClient

from gregory.flags import JobFlags, PredictFlags, TrainFlags
from launcher.kube.job_builder import (
    COMPONENT_PREDICTION,
    COMPONENT_TRAINING,
    CONTAINER_NAME,
    LABEL_APP,
    LABEL_COMPONENT,
    LABEL_QUEUE,
    JobSettings,
    build_job,
)
from tests.support.k8s import OVERLAYS, find
from tests.support.paths import REPO

# The template's args are those of `train_models --team demo`.
TEMPLATE_FLAGS = TrainFlags(team="demo")
PREDICT_FLAGS = PredictFlags(team="demo")


def built_job(settings: JobSettings, flags: JobFlags = TEMPLATE_FLAGS) -> dict[str, Any]:
    job = build_job(flags, run_id="agreement", settings=settings)
    return ApiClient().sanitize_for_serialization(job)


def assert_same_job(
    rendered: dict[str, Any], built: dict[str, Any], component: str = COMPONENT_TRAINING
) -> None:
    # `suspend`: the template's keeps it from running, a built Job's means "queued in Kueue".
    rendered_spec = {k: v for k, v in rendered["spec"].items() if k != "suspend"}
    built_spec = {k: v for k, v in built["spec"].items() if k != "suspend"}
    rendered_template = rendered_spec.pop("template")
    rendered_labels = rendered_template["metadata"]["labels"]
    built_template = built_spec.pop("template")
    assert rendered_spec == built_spec
    assert rendered_template["spec"] == built_template["spec"]
    assert rendered_template["metadata"].get("annotations") == (
        built_template["metadata"].get("annotations")
    )
    assert rendered_labels == {LABEL_APP: "gregory-train", LABEL_COMPONENT: COMPONENT_TRAINING}
    expected = {**rendered_labels, LABEL_COMPONENT: component}
    assert expected.items() <= built_template["metadata"]["labels"].items()
    assert rendered["metadata"]["namespace"] == built["metadata"]["namespace"]


def as_prediction(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the args a prediction Job for the same team runs."""
    job = copy.deepcopy(template)
    (container,) = [
        c for c in job["spec"]["template"]["spec"]["containers"] if c["name"] == CONTAINER_NAME
    ]
    assert container["args"] == [TEMPLATE_FLAGS.command, *TEMPLATE_FLAGS.to_argv()]
    container["args"] = [PREDICT_FLAGS.command, *PREDICT_FLAGS.to_argv()]
    return job


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builder_with_the_overlays_config_equals_the_template(render, overlay: str) -> None:
    docs = render(overlay)
    environ = dict(find(docs, "ConfigMap", "gregory-launcher")["data"])
    settings = JobSettings.from_env(environ)
    assert_same_job(find(docs, "Job", "gregory-train-template"), built_job(settings))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prediction_jobs_equal_the_template_but_for_command_and_component(
    render, overlay: str
) -> None:
    docs = render(overlay)
    settings = JobSettings.from_env(dict(find(docs, "ConfigMap", "gregory-launcher")["data"]))
    template = as_prediction(find(docs, "Job", "gregory-train-template"))
    assert_same_job(template, built_job(settings, PREDICT_FLAGS), COMPONENT_PREDICTION)


def test_builder_defaults_are_the_gpu_overlay(render) -> None:
    docs = render("overlays/gpu")
    template = find(docs, "Job", "gregory-train-template")
    image = template["spec"]["template"]["spec"]["containers"][0]["image"]
    assert_same_job(template, built_job(JobSettings(image=image)))
    # But for Kueue, which the overlay adds as a component (GREGORY_JOB_QUEUE_NAME): without
    # Kueue installed, a queued Job would never start, so the builder queues only when told.
    config = dict(find(docs, "ConfigMap", "gregory-launcher")["data"])
    assert JobSettings(image=image).queue_name == ""
    assert config["GREGORY_JOB_QUEUE_NAME"] == "gregory-{team}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_are_queued_exactly_where_the_overlay_names_a_queue(render, overlay: str) -> None:
    docs = render(overlay)
    template = find(docs, "Job", "gregory-train-template")
    # Kueue would resume a suspended Job that names a queue: the template must never name one.
    assert LABEL_QUEUE not in template["metadata"].get("labels", {})
    config = dict(find(docs, "ConfigMap", "gregory-launcher")["data"])
    built = built_job(JobSettings.from_env(config))
    queue = built["metadata"]["labels"].get(LABEL_QUEUE)
    if config["GREGORY_JOB_QUEUE_NAME"]:
        # Created suspended, in the demo team's LocalQueue, which the render defines.
        assert queue == config["GREGORY_JOB_QUEUE_NAME"].format(team="demo") == "gregory-demo"
        assert built["spec"]["suspend"] is True
        local_queue = find(docs, "LocalQueue", queue)
        assert local_queue["metadata"]["namespace"] == built["metadata"]["namespace"]
        cluster_queue = find(docs, "ClusterQueue", local_queue["spec"]["clusterQueue"])
        covered = cluster_queue["spec"]["resourceGroups"][0]["coveredResources"]
        assert {"cpu", "memory", "nvidia.com/gpu"} <= set(covered)
    else:
        assert queue is None
        assert not built["spec"].get("suspend")
        assert not [d for d in docs if d["apiVersion"].startswith("kueue.x-k8s.io/")]


@pytest.mark.parametrize("cloud", ["gpu-gke", "gpu-eks", "gpu-aks"])
def test_cloud_pool_components_keep_builder_and_template_agreeing(render, tmp_path, cloud) -> None:
    # As an operator would use one: an overlay of gpu with the component.
    gpu, component = REPO / "k8s/overlays/gpu", REPO / "k8s/components" / cloud
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(gpu, tmp_path)}]\n"
        f"components: [{os.path.relpath(component, tmp_path)}]\n"
    )
    docs = render(str(tmp_path))
    template = find(docs, "Job", "gregory-train-template")
    pod = template["spec"]["template"]["spec"]
    assert pod["nodeSelector"]  # the component pins a pool; the gpu overlay alone does not
    settings = JobSettings.from_env(dict(find(docs, "ConfigMap", "gregory-launcher")["data"]))
    assert_same_job(template, built_job(settings))


def test_the_agreement_check_can_fail(render) -> None:
    template = find(render("overlays/kind"), "Job", "gregory-train-template")
    image = template["spec"]["template"]["spec"]["containers"][0]["image"]
    # The kind template has no GPU: the GPU defaults must not pass for it.
    with pytest.raises(AssertionError):
        assert_same_job(template, built_job(JobSettings(image=image)))
    # Nor does a prediction Job pass for the training template as it is.
    settings = JobSettings.from_env(
        dict(find(render("overlays/kind"), "ConfigMap", "gregory-launcher")["data"])
    )
    with pytest.raises(AssertionError):
        assert_same_job(template, built_job(settings, PREDICT_FLAGS), COMPONENT_PREDICTION)
