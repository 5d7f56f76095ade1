"""Device choice, mixed precision and HDF5 state-dict IO shared by the deep models."""

from __future__ import annotations

import contextlib

import h5py
import pytest
import torch

from gregory.ml.core import config, torch_utils


def test_device_follows_the_environment(monkeypatch):
    monkeypatch.delenv("GREGORY_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch_utils.choose_device().type == expected
    monkeypatch.setenv("GREGORY_DEVICE", "cpu")
    assert torch_utils.choose_device().type == "cpu"
    assert torch_utils.choose_device("meta").type == "meta"


def test_cpu_keeps_full_precision():
    cpu = torch.device("cpu")
    assert torch_utils.half_dtype(cpu) is None
    assert isinstance(torch_utils.autocast(cpu), contextlib.nullcontext)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_uses_bf16_only_where_native():
    cuda = torch.device("cuda")
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    expected = torch.bfloat16 if native else torch.float16
    assert torch_utils.half_dtype(cuda) == expected
    with torch_utils.autocast(cuda):
        product = torch.ones(8, 8, device=cuda) @ torch.ones(8, 8, device=cuda)
    assert product.dtype == (torch.bfloat16 if native else torch.float32)


def test_state_dict_round_trips_through_hdf5(tmp_path):
    state = {
        "layer.weight": torch.randn(3, 4),
        "layer.bias": torch.randn(3).to(torch.bfloat16),
        "norm.num_batches_tracked": torch.tensor(7),
    }
    path = tmp_path / "w.h5"
    torch_utils.save_state_dict_h5(path, state, {"units": 3, "name": "x"})
    loaded, attrs = torch_utils.load_state_dict_h5(path)
    assert attrs == {"units": 3, "name": "x"}
    assert set(loaded) == set(state)
    assert torch.equal(loaded["layer.weight"], state["layer.weight"])
    # bf16 has no numpy type: stored as fp32, exactly representable, so nothing is lost.
    assert loaded["layer.bias"].dtype == torch.float32
    assert torch.equal(loaded["layer.bias"], state["layer.bias"].float())
    assert loaded["norm.num_batches_tracked"].item() == 7
    with h5py.File(path) as h5:
        assert h5["layer.weight"].shape == (3, 4)


def test_eval_mode_restores_training_mode():
    model = torch.nn.Dropout(0.5)
    model.train()
    with torch_utils.eval_mode(model):
        assert not model.training and torch.is_inference_mode_enabled()
    assert model.training


def test_compile_is_off_unless_the_setting_says_so(monkeypatch):
    model = torch.nn.Linear(4, 2)
    monkeypatch.delenv("GREGORY_TORCH_COMPILE", raising=False)
    assert not torch_utils.compile_enabled()
    assert torch_utils.compiled(model) is model
    monkeypatch.setenv("GREGORY_TORCH_COMPILE", "1")
    assert torch_utils.compile_enabled()
    wrapped = torch_utils.compiled(model)
    # torch.compile's wrapper (compiling at its first call), over the same parameters.
    assert wrapped is not model and wrapped._orig_mod is model
    assert wrapped.state_dict().keys() == {f"_orig_mod.{key}" for key in model.state_dict()}
    monkeypatch.setenv("GREGORY_TORCH_COMPILE", "perhaps")
    with pytest.raises(config.SettingError, match="GREGORY_TORCH_COMPILE"):
        torch_utils.compile_enabled()


def test_adamw_is_fused_on_cuda_only():
    params = list(torch.nn.Linear(4, 2).parameters())
    cpu = torch_utils.adamw(params, 2e-5, torch.device("cpu"))
    assert not cpu.defaults["fused"] and cpu.defaults["lr"] == 2e-5
    if torch.cuda.is_available():
        cuda_params = list(torch.nn.Linear(4, 2).cuda().parameters())
        assert torch_utils.adamw(cuda_params, 2e-5, torch.device("cuda")).defaults["fused"]
