"""The first night, rehearsed: every container of every rendered workload (both CronJobs, the
training Job template, the download-models Job) runs its exact command and args as its pod
would, against the Kubernetes API emulator and the session's PostgreSQL.

Each test has two forms (tests/rehearsal/pods.py): `engine`, in the image the manifest names,
built locally, under a Docker engine; `venv`, where no engine runs, in a venv holding only that
image's extras. Both give the container the manifest's env, volumes, UID and no writes outside
its volumes. The GPU image runs without a GPU: its training template is rehearsed as the
device check refusing in one line, its download-models Job as the refusal without egress. This
tier found the launcher image crashing on numpy at start-up before any fan-out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gregory.models import PredictionRunLog
from launcher.kube.job_builder import LABEL_PRIORITY, LABEL_QUEUE
from tests.launcher.kube_emulator import KubeEmulator
from tests.rehearsal.pods import (
    Result,
    Sandbox,
    Workload,
    repository_of,
    run,
    run_in_engine,
    workloads,
)
from tests.support.db import database_url
from tests.support.launcher import import_demo

pytestmark = [pytest.mark.rehearsal, pytest.mark.slow, pytest.mark.postgres]

OVERLAYS = ("overlays/kind", "overlays/gpu", "base")
# What is applied to a cluster: the base alone reaches the hub for its models, by design.
DEPLOYED = ("overlays/kind", "overlays/gpu")
CRONJOBS = ("CronJob/gregory-nightly", "CronJob/gregory-nightly-predict")
TEMPLATE = "Job/gregory-train-template"
# Which form a test runs in; the conftest skips the one not chosen, with the reason.
FORMS = pytest.mark.parametrize("form", ["engine", "venv"])

Runner = Callable[..., Result]  # (workload, docs, sandbox, timeout=…) → Result


@pytest.fixture
def night(database_kind: str, transactional_db, tmp_path: Path) -> Iterator[None]:
    """Team demo, subject ms-research, 60 labelled articles, committed for the subprocesses."""
    if database_kind != "postgres":
        pytest.skip("the rehearsal runs against PostgreSQL: the --database postgres pass")
    import_demo(tmp_path)
    yield


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def sandbox(rehearsal_root: Path, kube: KubeEmulator, request) -> Sandbox:
    root = rehearsal_root / re.sub(r"[^\w.-]+", "-", request.node.name)
    root.mkdir()
    # In the cluster the launcher's API access is its service account; here a kubeconfig that
    # the pod's user can read, in the read-only part of the sandbox.
    kubeconfig = root / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: emulator, cluster: {{server: "{kube.url}"}}}}]
contexts: [{{name: emulator, context: {{cluster: emulator, user: sa, namespace: gregory}}}}]
current-context: emulator
users: [{{name: sa, user: {{token: rehearsal}}}}]
"""
    )
    kubeconfig.chmod(0o644)
    return Sandbox(
        root=root,
        secrets={("gregory-database", "DATABASE_URL"): database_url()},
        extra_env={"KUBECONFIG": str(kubeconfig)},
    )


def by_owner(docs: list[dict[str, Any]]) -> dict[str, Workload]:
    found = {w.owner: w for w in workloads(docs)}
    assert set(CRONJOBS) | {TEMPLATE} <= set(found), sorted(found)
    return found


@pytest.fixture
def runner(form: str, request: pytest.FixtureRequest) -> Runner:
    """Runs a workload in the chosen form; the images or venvs it needs are made on first use."""
    if form == "engine":
        ensure = request.getfixturevalue("engine_image")

        def in_engine(workload: Workload, docs, sandbox: Sandbox, timeout: float = 600) -> Result:
            return run_in_engine(workload, docs, ensure(workload.image), sandbox, timeout)

        return in_engine
    venvs = {"gregory-launcher": "launcher_venv", "gregory-train": "train_venv"}

    def in_venv(workload: Workload, docs, sandbox: Sandbox, timeout: float = 600) -> Result:
        bin_dir = request.getfixturevalue(venvs[repository_of(workload.image)])
        return run(workload, docs, bin_dir, sandbox, timeout)

    return in_venv


def assert_one_line_or_none(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]


@FORMS
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_nightly_cronjobs_fan_out(
    render, overlay: str, night, kube: KubeEmulator, sandbox: Sandbox, runner: Runner
) -> None:
    docs = render(overlay)
    found = by_owner(docs)
    template_image = found[TEMPLATE].image
    for owner, component in zip(CRONJOBS, ("training", "prediction"), strict=True):
        result = runner(found[owner], docs, sandbox, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert_one_line_or_none(result.stderr)
        jobs = [
            job
            for job in kube.jobs.values()
            if job["metadata"]["labels"]["app.kubernetes.io/component"] == component
        ]
        # One Job per team/subject, with the image the overlay renders for the template.
        assert [job["metadata"]["annotations"]["gregory/team"] for job in jobs] == ["demo"]
        (job,) = jobs
        assert f"submitted {job['metadata']['name']}" in result.stdout
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["image"] == template_image
        labels = job["metadata"]["labels"]
        if overlay == "overlays/gpu":  # Kueue: the team's queue made, nightly priority
            assert labels[LABEL_QUEUE] == "gregory-demo" and job["spec"]["suspend"] is True
            assert labels[LABEL_PRIORITY] == "gregory-nightly"
            assert ("gregory", "gregory-demo") in kube.local_queues
        else:
            assert LABEL_QUEUE not in labels
    # A retry of the same night (backoffLimit 2) submits nothing twice.
    again = runner(found[CRONJOBS[0]], docs, sandbox, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "already submitted" in again.stdout
    assert len(kube.jobs) == 2


@FORMS
@pytest.mark.parametrize("overlay", DEPLOYED)
def test_the_training_job_template_runs(
    render, overlay: str, night, sandbox: Sandbox, form: str, runner: Runner
) -> None:
    import torch

    docs = render(overlay)
    workload = by_owner(docs)[TEMPLATE]
    result = runner(workload, docs, sandbox)
    assert_one_line_or_none(result.stderr)
    models = result.mounts["/models"]
    settings = result.env
    # The engine gives its containers no GPU (no --gpus), whatever the host has.
    gpu = form == "venv" and torch.cuda.is_available()
    if settings.get("GREGORY_DEVICE") == "cuda" and not gpu:
        # The gpu overlay without a GPU: refused at start-up, nothing written.
        assert result.returncode == 2, result.stdout + result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "GREGORY_DEVICE=cuda requires CUDA" in line
        assert not PredictionRunLog.objects.exists()
        assert not [p for p in models.rglob("*") if p.is_file()]
        return
    # The template trains every algorithm; BERT's hub checkpoint is not in the (empty) cache and
    # HF_HUB_OFFLINE=1 keeps it there (k8s/jobs/download-models seeds it): that run fails in
    # one line, the others publish into the models volume as the pod's user.
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("1 of 3 training runs failed"), output
    published = {log.algorithm for log in PredictionRunLog.objects.filter(success=True)}
    assert published == {"lgbm_tfidf", "lstm"}
    assert list(models.glob("demo/ms-research/lgbm_tfidf/*/metrics.json"))
    if result.as_pod_user:  # written by the pod's UID, which could write nowhere else
        assert {path.stat().st_uid for path in models.rglob("*")} == {10001}


@FORMS
def test_the_download_models_job_runs(render, night, sandbox: Sandbox, runner: Runner) -> None:
    docs = render("jobs/download-models")
    (workload,) = workloads(docs)
    # Its settings come from the overlay it runs beside: the gpu overlay's ConfigMap.
    settings = [d for d in render("overlays/gpu") if d["kind"] == "ConfigMap"]
    # No egress here: the hub is a closed port, as behind the NetworkPolicy without hub-egress.
    sandbox.extra_env["HF_ENDPOINT"] = "http://127.0.0.1:9"
    result = runner(workload, [*docs, *settings], sandbox, timeout=300)
    assert_one_line_or_none(result.stderr)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "bert model microsoft/BiomedNLP-BiomedBERT" in line and "refused" in line, line
