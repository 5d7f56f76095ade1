"""`gregory-launch` as a process when the cluster's network, the launcher's disk or the data
misbehave: a log stream cut mid-follow is reopened, an API server that accepts and never
answers ends a command in bounded lines, a full launcher directory starts nothing, and escape
sequences from the database never reach the terminal."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from gregory.flags import TrainFlags
from launcher.backends.kubernetes import ApiPolicy, KubernetesBackend
from launcher.kube.job_builder import JobSettings
from tests.faults.conftest import GREGORY_LAUNCH, assert_one_line_error, run_process
from tests.launcher.faulty_proxy import FaultyProxy
from tests.launcher.kube_emulator import KubeEmulator

FLAGS = TrainFlags(team="demo", subject="ms", algos=("lgbm_tfidf",))


@pytest.fixture
def kube() -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    yield emulator
    emulator.stop()


def kubeconfig_for(url: str, path: Path) -> Path:
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {{server: "{url}"}}
contexts:
- name: proxy
  context: {{cluster: proxy, user: tester, namespace: gregory}}
current-context: proxy
users:
- name: tester
  user: {{token: test-token}}
"""
    )
    return path


def cluster_env(base: dict[str, str], kubeconfig: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in base.items()
        if key not in ("KUBERNETES_SERVICE_HOST", "GREGORY_BACKEND", "GREGORY_TRIGGERED_BY")
    }
    env.update(KUBECONFIG=str(kubeconfig), GREGORY_JOB_IMAGE="gregory-train:test", **extra)
    return env


@pytest.fixture
def plain_env(tmp_path: Path) -> dict[str, str]:
    """No database is read by `logs` and `status`'s cluster half; the URL only has to parse."""
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'gregory.sqlite3'}"}


def test_logs_follow_reopens_a_stream_cut_mid_chunk(kube, plain_env, tmp_path):
    backend = KubernetesBackend(
        JobSettings(image="gregory-train:test"),
        client.ApiClient(client.Configuration(host=kube.url)),
        policy=ApiPolicy(),
    )
    name = backend.submit(FLAGS, "0102-cutlog").run.name
    kube.start_container(name)
    kube.log(name, "line 1")
    proxy = FaultyProxy(kube.url, cut_at=b"CUT\n").start()
    env = cluster_env(plain_env, kubeconfig_for(proxy.url, tmp_path / "kubeconfig"))
    process = subprocess.Popen(
        [GREGORY_LAUNCH, "logs", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "line 1\n"
        kube.log(name, "line 2 CUT")
        assert process.stdout.readline() == (
            "[launcher] log stream cut (connection broken); reopening\n"
        )
        assert process.stdout.readline() == "line 2 CUT\n"
        kube.log(name, "line 3")
        assert process.stdout.readline() == "line 3\n"
        kube.finish(name, succeeded=True)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        proxy.stop()
    assert process.returncode == 0, err
    assert out == f"--- {name}: succeeded: Complete\n"
    assert "Traceback" not in err
    assert err.splitlines() == [
        "backend: kubernetes (context proxy, namespace gregory): "
        f"kubeconfig {tmp_path / 'kubeconfig'} found"
    ]
    assert proxy.cut == 1


@pytest.fixture
def silent(kube) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(kube.url)
    proxy.stall = True
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("argv", "call"),
    [(["status"], "list job"), (["submit", "--team", "demo", "--run-id", "silent1"], "create job")],
    ids=["status", "submit"],
)
def test_a_silent_api_server_ends_the_command_after_one_line_per_retry(
    silent, subject, job_env, tmp_path, argv, call
):
    env = cluster_env(
        job_env,
        kubeconfig_for(silent.url, tmp_path / "kubeconfig"),
        GREGORY_KUBE_TIMEOUT="1",
        GREGORY_KUBE_RETRIES="1",
    )
    started = time.monotonic()
    done = subprocess.run(
        [GREGORY_LAUNCH, *argv], env=env, capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started
    backend, retry, *rest = done.stderr.strip().splitlines()
    assert backend.startswith("backend: kubernetes"), done.stderr
    assert retry == f"gregory-launch: kubernetes: {call}: no answer within 1s; retry 1 of 1 in 1s"
    done.stderr = "\n".join(rest)
    assert_one_line_error(
        done,
        1,
        f"gregory-launch: error: cannot reach the Kubernetes API at {silent.url}: "
        "no answer within 1s (2 tries)",
    )
    assert took < 30
    assert silent.stalled == 2


@pytest.mark.parametrize("value", ["soon", "0", "5,0", "1,2,3"])
def test_a_bad_timeout_setting_is_one_line(kube, plain_env, tmp_path, value):
    env = cluster_env(
        plain_env, kubeconfig_for(kube.url, tmp_path / "kubeconfig"), GREGORY_KUBE_TIMEOUT=value
    )
    done = run_process([GREGORY_LAUNCH, "status"], env)
    assert_one_line_error(done, 2, f"gregory-launch: error: GREGORY_KUBE_TIMEOUT='{value}'")
    assert kube.requests == []


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs, filled: directories can still be made there, files cannot grow."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip() or 'not root'}")
    try:
        with open(mount / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 4096)
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def processes_triggered_by(name: str) -> list[int]:
    """Live processes whose environment names `name` as their trigger."""
    wanted = f"GREGORY_TRIGGERED_BY={name}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_full_launcher_directory_starts_nothing_and_says_so_in_one_line(
    subject, job_env, full_disk, tmp_path
):
    from gregory.models import PredictionRunLog

    env = {
        **job_env,
        "GREGORY_LAUNCHER_DIR": str(full_disk / "launcher"),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    env.pop("GREGORY_BACKEND", None)
    submit = [GREGORY_LAUNCH, "--backend", "local", "submit", "--team", "demo"]
    done = run_process([*submit, "--run-id", "fulldisk1"], env)
    backend, *rest = done.stderr.strip().splitlines()
    assert backend.startswith("backend: local")
    done.stderr = "\n".join(rest)
    assert_one_line_error(
        done,
        1,
        f"gregory-launch: error: cannot record run demo-all-fulldisk1 in {full_disk}/launcher/runs:"
        " No space left on device; nothing started",
    )
    time.sleep(1)  # a process started anyway would be well under way by now
    assert processes_triggered_by("demo-all-fulldisk1") == []
    assert not (full_disk / "launcher" / "runs" / "demo-all-fulldisk1").exists()
    status = run_process([GREGORY_LAUNCH, "--backend", "local", "status"], env)
    assert "no runs submitted from this launcher yet" in status.stdout, status.stderr
    assert not PredictionRunLog.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_escapes_from_the_database_never_reach_the_terminal(subject, job_env, tmp_path):
    from gregory.models import PredictionRunLog

    PredictionRunLog.objects.create(
        team=subject.team,
        subject=subject,
        algorithm="lgbm_tfidf",
        run_type="train",
        model_version="20260102",
        success=False,
        triggered_by="\x1b]0;owned\x07\x1b[2J\x1b[Hnightly\x9b31m",
        error_message="ValueError: \x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ here\r\x07",
    )
    env = {
        **job_env,
        "GREGORY_LAUNCHER_DIR": str(tmp_path / "launcher"),
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
    }
    for output in ("table", "wide"):
        done = run_process([GREGORY_LAUNCH, "--backend", "local", "status", "-o", output], env)
        assert done.returncode == 0, done.stderr
        printed = done.stdout + done.stderr
        assert not any(char in printed for char in "\x1b\x07\x9b\r"), repr(printed)
        assert "ValueError: click here" in done.stdout
    assert "  nightly  ValueError: click here" in done.stdout
