"""One source of truth: the builder's defaults (JobSettings) and the kustomize Job template agree.

For every overlay, the builder fed that overlay's gregory-launcher ConfigMap (what the in-cluster
launcher sees as its environment) must produce the rendered template's Job spec exactly, apart
from `suspend` and the per-run labels. And the production overlay (gpu) must equal the builder's
bare defaults, so an operator on a laptop and the nightly run submit the same Job.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from gregory.flags import TrainFlags
from launcher.kube.job_builder import (
    COMPONENT_TRAINING,
    LABEL_APP,
    LABEL_COMPONENT,
    JobSettings,
    build_training_job,
)
from tests.support.k8s import OVERLAYS, find

# The template's args are those of `train_models --team demo`.
TEMPLATE_FLAGS = TrainFlags(team="demo")


def built_job(settings: JobSettings) -> dict[str, Any]:
    job = build_training_job(TEMPLATE_FLAGS, run_id="agreement", settings=settings)
    return ApiClient().sanitize_for_serialization(job)


def assert_same_job(rendered: dict[str, Any], built: dict[str, Any]) -> None:
    rendered_spec = {k: v for k, v in rendered["spec"].items() if k != "suspend"}
    built_spec = dict(built["spec"])
    rendered_labels = rendered_spec.pop("template")["metadata"]["labels"]
    built_template = built_spec.pop("template")
    assert rendered_spec == built_spec
    assert rendered["spec"]["template"]["spec"] == built_template["spec"]
    assert rendered_labels == {LABEL_APP: "gregory-train", LABEL_COMPONENT: COMPONENT_TRAINING}
    assert rendered_labels.items() <= built_template["metadata"]["labels"].items()
    assert rendered["metadata"]["namespace"] == built["metadata"]["namespace"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builder_with_the_overlays_config_equals_the_template(render, overlay: str) -> None:
    docs = render(overlay)
    environ = dict(find(docs, "ConfigMap", "gregory-launcher")["data"])
    settings = JobSettings.from_env(environ)
    assert_same_job(find(docs, "Job", "gregory-train-template"), built_job(settings))


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
