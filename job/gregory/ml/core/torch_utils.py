"""Torch plumbing shared by the deep models: device choice, mixed precision, seeding, HDF5 weights.

Imported only by the deep-model modules, never by the LightGBM path (torch is heavy to import).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tqdm import tqdm

from gregory.ml.core import config
from gregory.ml.core.devices import ENV, check_required_device
from gregory.ml.core.threads import torch_threads

# torch reads OMP_NUM_THREADS at start-up; set it here too for callers that skip the entry points.
if (_threads := torch_threads()) is not None:
    torch.set_num_threads(_threads)


def choose_device(preferred: str | None = None) -> torch.device:
    """`GREGORY_DEVICE` ("cpu" forces CPU on a GPU host), else CUDA when present, else CPU.

    A CUDA device named there is required: DeviceUnavailable where it is not usable (the
    commands check this at start-up, before any run; this is the guard for other callers).
    """
    name = preferred or os.environ.get(ENV) or ""
    if name:
        check_required_device({ENV: name})
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def native_bf16() -> bool:
    # Pre-Ampere GPUs (T4, V100) only emulate bf16, slower than fp32: torch counts that as
    # support unless told not to.
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)


def half_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision worth using on `device`: bf16 where the GPU has it, else fp16.

    None on CPU: CPU bf16 kernels are slower than fp32 for these small models and would make the
    CPU results (which tests compare bit for bit across save/load) depend on the host's ISA.
    """
    if device.type != "cuda":
        return None
    return torch.bfloat16 if native_bf16() else torch.float16


def autocast(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast for training on CUDA (Ampere and later); a no-op elsewhere.

    fp16 training would need a GradScaler; GPUs without bf16 simply train in fp32.
    """
    if device.type == "cuda" and native_bf16():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def adamw(
    params: Iterable[torch.nn.Parameter], lr: float, device: torch.device
) -> torch.optim.AdamW:
    """AdamW; on CUDA the fused kernel (one launch for every parameter instead of a foreach
    chain per step), on the CPU torch's default, as before."""
    if device.type == "cuda":
        return torch.optim.AdamW(params, lr=lr, fused=True)
    return torch.optim.AdamW(params, lr=lr)


def to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A batch's tensors on `device`; asynchronous copies where the loader pinned them."""
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def compile_enabled() -> bool:
    """GREGORY_TORCH_COMPILE: off by default until the GPU benchmark shows what it gains."""
    return config.flag_setting("GREGORY_TORCH_COMPILE")


def compiled(model: torch.nn.Module) -> torch.nn.Module:
    """`model` through torch.compile when GREGORY_TORCH_COMPILE is on, else `model` itself.

    The compiled module shares the model's parameters: state dicts, checkpoints and the best
    epoch stay the plain model's. Dynamic shapes, since batches are padded to their own length.
    Compilation itself happens at the first call, not here.
    """
    if not compile_enabled():
        return model
    return torch.compile(model, dynamic=True)  # type: ignore[return-value]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (all devices); returns a CPU generator for data shuffling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Evaluation mode and no autograd for the block, restoring the previous mode after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def quiet_transformers(quiet: bool = True) -> Iterator[None]:
    """Hold back transformers' warnings (e.g. the load report of a checkpoint's unused MLM head)
    for the block: verbosity 0 of the job prints nothing."""
    from transformers.utils import logging as hf_logging

    if not quiet:
        yield
        return
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)


def cpu_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached fp32 CPU copy of the model's weights (used to keep the best epoch)."""
    return {
        key: value.detach().to("cpu", copy=True).float()
        if value.is_floating_point()
        else value.detach().to("cpu", copy=True)
        for key, value in model.state_dict().items()
    }


class BestEpoch:
    """Keeps the weights of the epoch with the lowest validation loss (early stopping)."""

    def __init__(self, patience: int | None = None) -> None:
        self.patience = patience
        self.loss = float("inf")
        self.epoch: int | None = None
        self._state: dict[str, torch.Tensor] | None = None
        self._stale = 0

    def update(self, model: torch.nn.Module, epoch: int, val_loss: float) -> bool:
        """Record a finished epoch (1-based); True when patience has run out."""
        if val_loss < self.loss:
            self.loss, self.epoch, self._stale = val_loss, epoch, 0
            self._state = cpu_state_dict(model)
            return False
        self._stale += 1
        return self.patience is not None and self._stale >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to carry on choosing the best epoch after a resume."""
        return {"loss": self.loss, "epoch": self.epoch, "state": self._state, "stale": self._stale}

    def load_state_dict(self, saved: Mapping[str, Any]) -> None:
        self.loss, self.epoch = float(saved["loss"]), saved["epoch"]
        self._state, self._stale = saved["state"], int(saved["stale"])

    def restore(self, model: torch.nn.Module) -> None:
        # Metrics and saved weights are those of the best epoch, not of the last one.
        if self._state is not None:
            model.load_state_dict(self._state)


def epoch_bar(name: str, epochs: int, progress: bool, start: int = 0) -> tqdm:
    """Per-epoch progress on stderr at verbosity >= 1; silent otherwise. A resumed run starts
    at `start` (the epochs its checkpoint already holds)."""
    return tqdm(
        range(start, epochs),
        desc=name,
        unit="epoch",
        initial=start,
        total=epochs,
        disable=not progress,
        file=sys.stderr,
    )


def save_state_dict_h5(
    path: Path, state_dict: Mapping[str, torch.Tensor], attrs: Mapping[str, Any] | None = None
) -> None:
    """One HDF5 dataset per tensor, named by its state-dict key; `attrs` stored as JSON on the root.

    Keys contain dots, never slashes, so every tensor is a flat dataset of the root group.
    The file is built in memory and written with plain file I/O: HDF5 closing a file on a full
    disk crashes the process, where a write raises OSError (ENOSPC) that the run can report.
    """
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        for key, tensor in state_dict.items():
            array = tensor.detach().cpu()
            if array.is_floating_point():
                array = array.float()  # bf16 has no numpy dtype; weights are kept in fp32
            h5.create_dataset(key, data=array.numpy())
        if attrs:
            h5.attrs["config"] = json.dumps(dict(attrs), sort_keys=True)
    with open(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def load_state_dict_h5(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict and the JSON attrs save_state_dict_h5 wrote."""
    with h5py.File(path, "r") as h5:
        state = {key: torch.from_numpy(np.asarray(h5[key][()])) for key in h5}
        attrs = json.loads(h5.attrs["config"]) if "config" in h5.attrs else {}
    return state, attrs


def library_versions() -> dict[str, str]:
    import h5py as _h5py
    import tokenizers
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "h5py": _h5py.__version__,
        "numpy": np.__version__,
    }
