"""Fixtures of the launcher tests: a Kubernetes API emulator, backends, database rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.launcher.kube_emulator import KubeEmulator

FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def kube_backend(kube: KubeEmulator):
    from kubernetes import client

    from launcher.backends.kubernetes import KubernetesBackend
    from launcher.kube.job_builder import JobSettings

    configuration = client.Configuration(host=kube.url)
    configuration.retries = 0
    api = client.ApiClient(configuration)
    yield KubernetesBackend(JobSettings(image="gregory-train:test"), api, source="emulator")
    api.close()


@pytest.fixture
def kubeconfig(kube: KubeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubeconfig that points at the emulator, so backend auto-selection finds a cluster."""
    path = tmp_path / "kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: emulator
  cluster: {{server: "{kube.url}"}}
contexts:
- name: emulator
  context: {{cluster: emulator, user: tester, namespace: gregory}}
current-context: emulator
users:
- name: tester
  user: {{token: test-token}}
"""
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setenv("GREGORY_JOB_IMAGE", "gregory-train:test")
    monkeypatch.delenv("GREGORY_BACKEND", raising=False)
    return path


@pytest.fixture
def launcher_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty local run registry, and no cluster config so auto-selection picks local."""
    path = tmp_path / "launcher"
    monkeypatch.setenv("GREGORY_LAUNCHER_DIR", str(path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("GREGORY_BACKEND", raising=False)
    return path


def make_scope(team_slug: str = "demo", *subjects: str):
    from gregory.models import Subject, Team

    team = Team.objects.create(name=team_slug.title(), slug=team_slug)
    for slug in subjects or ("ms-research",):
        Subject.objects.create(team=team, subject_name=slug.replace("-", " "), subject_slug=slug)
    return team


def add_row(
    team_slug: str,
    subject_slug: str,
    *,
    algorithm: str = "lgbm_tfidf",
    success: bool | None = True,
    triggered_by: str | None = None,
    started: dt.datetime = FIXED,
    minutes: int = 3,
    version: str = "20260102",
    error: str | None = None,
):
    """A PredictionRunLog row with fixed times (run_started is auto_now_add, so set it after)."""
    from gregory.models import PredictionRunLog, Subject

    subject = Subject.objects.select_related("team").get(
        team__slug=team_slug, subject_slug=subject_slug
    )
    row = PredictionRunLog.objects.create(
        team=subject.team,
        subject=subject,
        model_version=version,
        algorithm=algorithm,
        run_type="train",
        success=success,
        triggered_by=triggered_by,
        error_message=error,
        run_finished=None if success is None else started + dt.timedelta(minutes=minutes),
    )
    PredictionRunLog.objects.filter(pk=row.pk).update(run_started=started)
    return row


DEAD_PID = 4_194_305  # above the kernel's largest pid_max: never a live process


def write_run(
    root: Path,
    name: str,
    *,
    team: str = "demo",
    subject: str | None = None,
    argv: tuple[str, ...] = (),
    created: dt.datetime = FIXED,
    returncode: int | None = 0,
    minutes: int = 5,
    log: str = "",
) -> None:
    """A run in the local registry as the backend leaves it (returncode None: never finished)."""
    import json

    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    meta = {
        "name": name,
        "team": team,
        "subject": subject,
        "argv": list(argv),
        "pid": DEAD_PID,
        "pid_start": "0",
        "created": created.isoformat(),
    }
    (run_dir / "meta.json").write_text(json.dumps(meta))
    (run_dir / "log").write_text(log)
    if returncode is not None:
        finished = created + dt.timedelta(minutes=minutes)
        result = {"returncode": returncode, "finished": finished.isoformat()}
        (run_dir / "result.json").write_text(json.dumps(result))
