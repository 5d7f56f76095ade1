"""GREGORY_DEVICE=cuda means required: on a host without a usable CUDA device the job exits 2 at
start-up with one line naming CUDA and writes nothing; metrics.json records the device."""

from __future__ import annotations

import json
import subprocess

import pytest

from gregory.ml.core import devices
from gregory.models import PredictionRunLog

torch = pytest.importorskip("torch")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this host has a usable CUDA GPU")


def run(manage_argv, env, *argv):
    return subprocess.run(
        [*manage_argv, *argv], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def imported(manage_argv, job_env, demo_csv):
    done = run(
        manage_argv,
        job_env,
        "import_articles",
        "--create",
        "--team",
        "demo",
        "--subject",
        "ms",
        str(demo_csv),
    )
    assert done.returncode == 0, done.stderr
    return job_env


@no_cuda
@pytest.mark.postgres
@pytest.mark.parametrize("command", ["train_models", "predict_articles"])
def test_cuda_required_on_a_cpu_host_exits_two_and_writes_nothing(
    manage_argv, imported, models_dir, command
) -> None:
    env = {**imported, "GREGORY_DEVICE": "cuda"}
    done = run(manage_argv, env, command, "--team", "demo")
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "GREGORY_DEVICE=cuda requires CUDA" in lines[0], done.stderr
    assert not PredictionRunLog.objects.exists()
    assert not any(models_dir.iterdir())


@pytest.mark.parametrize("value", ["", "cpu", "auto"])
def test_other_values_require_nothing(value: str) -> None:
    assert devices.required_cuda({"GREGORY_DEVICE": value}) is None
    devices.check_required_device({"GREGORY_DEVICE": value})


@no_cuda
@pytest.mark.parametrize("value", ["cuda", "cuda:1", " cuda:0 "])
def test_a_named_cuda_device_is_checked(value: str) -> None:
    with pytest.raises(devices.DeviceUnavailable, match="requires CUDA"):
        devices.check_required_device({"GREGORY_DEVICE": value})


def test_a_malformed_cuda_name_is_refused_by_name(monkeypatch) -> None:
    # Reached only where torch has CUDA; pretend so, the name check comes before any device use.
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with pytest.raises(devices.DeviceUnavailable, match="not a CUDA device name"):
        devices.check_required_device({"GREGORY_DEVICE": "cuda:x"})


@no_cuda
def test_choose_device_guards_callers_that_skip_the_command_check(monkeypatch) -> None:
    from gregory.ml.core import torch_utils

    monkeypatch.setenv("GREGORY_DEVICE", "cuda")
    with pytest.raises(devices.DeviceUnavailable):
        torch_utils.choose_device()
    assert torch_utils.choose_device("cpu").type == "cpu"


def test_metrics_name_the_device() -> None:
    assert devices.device_metrics(None) == {
        "device": "cpu",
        "gpu_name": None,
        "torch_version": None,
        "cuda_version": None,
    }
    cpu = devices.device_metrics(torch.device("cpu"))
    assert cpu["device"] == "cpu" and cpu["gpu_name"] is None
    assert cpu["torch_version"] == torch.__version__ and cpu["cuda_version"] == torch.version.cuda


@pytest.mark.parametrize(
    ("algo", "device"),
    # The LSTM trains ~100 s on a busy 2-core host.
    [("lgbm_tfidf", "cpu"), pytest.param("lstm", "cpu", marks=pytest.mark.slow)],
)
def test_metrics_json_records_the_device(manage_argv, imported, models_dir, algo, device) -> None:
    env = {**imported, "GREGORY_DEVICE": "cpu"}
    done = run(manage_argv, env, "train_models", "--team", "demo", "--algo", algo)
    assert done.returncode == 0, done.stderr
    (metrics_file,) = (models_dir / "demo" / "ms" / algo).glob("*/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["device"] == device and metrics["gpu_name"] is None
    if algo == "lstm":
        assert metrics["torch_version"] == torch.__version__
