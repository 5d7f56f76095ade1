"""GREGORY_DEVICE as a requirement, and the device a run used as metrics.json records it.

torch is imported only when a run asks for CUDA or trained on torch: the LightGBM path and a
command's start-up stay free of it otherwise.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

ENV = "GREGORY_DEVICE"


class DeviceUnavailable(Exception):
    """The device GREGORY_DEVICE requires is not usable here; the message is one line."""


def required_cuda(environ: Mapping[str, str] | None = None) -> str | None:
    """The CUDA device GREGORY_DEVICE names (`cuda`, `cuda:1`), None when it names none."""
    name = (os.environ if environ is None else environ).get(ENV, "").strip()
    return name if name.partition(":")[0] == "cuda" else None


def check_required_device(environ: Mapping[str, str] | None = None) -> None:
    """GREGORY_DEVICE=cuda (the gpu overlay sets it) means required: a GPU pod whose GPU does
    not work must fail at once, not train on the CPU until its deadline."""
    name = required_cuda(environ)
    if name is None:
        return
    try:
        import torch
    except ImportError:
        raise DeviceUnavailable(f"{ENV}={name} requires CUDA, but torch is not installed") from None
    if torch.version.cuda is None:
        raise DeviceUnavailable(
            f"{ENV}={name} requires CUDA, but torch {torch.__version__} is a CPU-only build"
        )
    try:
        index = torch.device(name).index or 0
    except RuntimeError:
        raise DeviceUnavailable(
            f"{ENV}={name} is not a CUDA device name (cuda or cuda:N)"
        ) from None
    with warnings.catch_warnings():
        # torch warns about a missing driver; the line below says it once, with the reason.
        warnings.simplefilter("ignore")
        usable = torch.cuda.is_available()
        count = torch.cuda.device_count() if usable else 0
    if not usable:
        raise DeviceUnavailable(
            f"{ENV}={name} requires CUDA, but no CUDA device is usable here (no NVIDIA driver, "
            "or no GPU visible to this container)"
        )
    if index >= count:
        raise DeviceUnavailable(f"{ENV}={name} requires CUDA device {index}, but {count} visible")


def device_metrics(device: Any | None) -> dict[str, Any]:
    """What metrics.json records about where a model trained: a torch device, or None for a
    trainer that uses no torch (LightGBM: the CPU)."""
    if device is None:
        return {"device": "cpu", "gpu_name": None, "torch_version": None, "cuda_version": None}
    import torch

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "device": str(device),
        "gpu_name": gpu,
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
    }
