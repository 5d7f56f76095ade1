"""Fixtures of the launcher tests: a Kubernetes API emulator, backends, a run registry, and the
name of the version `trained` (tests/conftest.py, with launcher_dir) publishes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.launcher.kube_emulator import KubeEmulator
from tests.support.launcher import PUBLISHED_METRICS, publish_version, write_snapshot_registry


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
def registry(transactional_db, tmp_path: Path) -> Path:
    return write_snapshot_registry(tmp_path)


@pytest.fixture
def published(registry: Path, models_dir: Path) -> Path:
    """The snapshot registry, and the version its finished run published."""
    publish_version(models_dir, "lgbm_tfidf", "20260102", PUBLISHED_METRICS)
    return registry


@pytest.fixture
def trained_version() -> str:
    """`v1`, not today's date: what the screens show must not change from day to day."""
    return "v1"
