"""One source of truth: the builder's defaults (JobSettings) and the kustomize Job template agree.

For every overlay, the builder fed that overlay's gregory-launcher ConfigMap (what the in-cluster
launcher sees as its environment) must produce the rendered template's Job spec exactly, apart
from `suspend` and the per-run labels. And the production overlay (gpu) must equal the builder's
bare defaults, so an operator on a laptop and the nightly run submit the same Job. Prediction
Jobs are the same Job running predict_articles: only their args and component label differ.
"""

from __future__ import annotations

import copy
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
    JobSettings,
    build_job,
)
from tests.support.k8s import OVERLAYS, find

# The template's args are those of `train_models --team demo`.
TEMPLATE_FLAGS = TrainFlags(team="demo")
PREDICT_FLAGS = PredictFlags(team="demo")


def built_job(settings: JobSettings, flags: JobFlags = TEMPLATE_FLAGS) -> dict[str, Any]:
    job = build_job(flags, run_id="agreement", settings=settings)
    return ApiClient().sanitize_for_serialization(job)


def assert_same_job(
    rendered: dict[str, Any], built: dict[str, Any], component: str = COMPONENT_TRAINING
) -> None:
    rendered_spec = {k: v for k, v in rendered["spec"].items() if k != "suspend"}
    built_spec = dict(built["spec"])
    rendered_labels = rendered_spec.pop("template")["metadata"]["labels"]
    built_template = built_spec.pop("template")
    assert rendered_spec == built_spec
    assert rendered["spec"]["template"]["spec"] == built_template["spec"]
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
    template = find(render("overlays/gpu"), "Job", "gregory-train-template")
    image = template["spec"]["template"]["spec"]["containers"][0]["image"]
    assert_same_job(template, built_job(JobSettings(image=image)))


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
