"""Which aot entries the MindSpore layers build for MindSpore's device_target
(``crnn_fast.registry.for_ms_target``): the CPU entries on CPU, the ``_gpu`` entries (CUDA
kernels on device memory) on GPU, and a clear ValueError -- never a host entry handed device
memory -- when the build has no kernels for the target. This machine has no GPU, so GPU is
simulated by patching the device_target the ops read and, where needed, the cuda backend's
``compiled``; the entries themselves are tested in tests/test_aot_device_entries.py."""

from __future__ import annotations

import dataclasses

import pytest

import crnn_fast.nn as cnn
from crnn_fast import registry
from crnn_fast.ops import _custom as c


@pytest.fixture
def target(monkeypatch):
    """set(name) makes the ops see MindSpore's device_target as ``name``."""
    return lambda name: monkeypatch.setattr(c, "ms_device_target", lambda: name)


@pytest.fixture
def cuda_built(monkeypatch):
    """Makes the registry believe the CUDA backend was compiled into _C."""
    b = registry._get("cuda")
    monkeypatch.setitem(registry._BACKENDS, "cuda", dataclasses.replace(b, compiled=lambda: True))


def test_cpu_target_uses_the_cpu_entries(target):
    target("CPU")
    assert c.aot_entry("cpu", "ctc_loss") == "crnn_aot_ctc_loss"
    assert c.aot_entry("cuda-emu", "lstm_backward") == "crnn_aot_lstm_backward_cuda_emu"
    assert c.has_aot("cpu", "conv2d_forward")
    assert not c.has_aot("cuda-emu", "conv2d_forward")
    assert c.aot_entry("ascend-emu", "ctc_greedy") == "crnn_aot_ctc_greedy_ascend_emu"
    assert c.aot_entry("ascend-emu", "ctc_loss") == "crnn_aot_ctc_loss_ascend_emu"
    with pytest.raises(ValueError, match="'ascend-emu' has no aot kernel for 'lstm_backward'"):
        c.aot_entry("ascend-emu", "lstm_backward")


def test_gpu_target_without_cuda_kernels_refuses_clearly(target, monkeypatch):
    target("GPU")
    b = registry._get("cuda")  # (a build with nvcc: as if it had none)
    monkeypatch.setitem(registry._BACKENDS, "cuda", dataclasses.replace(b, compiled=lambda: False))
    with pytest.raises(ValueError, match="device_target is 'GPU'.*CRNN_FAST_BACKEND=stock"):
        c.aot_entry("cpu", "ctc_loss")
    with pytest.raises(ValueError, match="device_target is 'GPU'"):
        cnn.CTCLoss(blank=-1)
    with pytest.raises(ValueError, match="device_target is 'GPU'"):
        cnn.LSTM(8, 4, num_layers=1)


def test_gpu_target_picks_the_gpu_entries(target, cuda_built):
    target("GPU")
    assert registry.for_ms_target("cpu", "GPU") == "cuda"
    for op in registry.ACCELERATOR_AOT_OPS:
        assert c.aot_entry("cpu", op) == f"crnn_aot_{op}_gpu"
        assert c.aot_entry("cuda", op) == f"crnn_aot_{op}_gpu"
    with pytest.raises(ValueError, match="no aot kernel for 'conv2d_forward'"):
        c.aot_entry("cpu", "conv2d_forward")
    # the convolutions run MindSpore's own (GPU) op; the CTC loss builds its _gpu op
    assert cnn.Conv2d(3, 8, 3, pad_mode="pad", padding=1).use_stock
    assert "crnn_aot_ctc_loss_gpu" in str(cnn.CTCLoss(blank=-1).op.op.func)


def test_a_backend_of_another_target_is_refused(target, cuda_built):
    target("GPU")
    with pytest.raises(ValueError, match="'cuda-emu' runs MindSpore's 'CPU' target"):
        c.aot_entry("cuda-emu", "ctc_loss")
    target("CPU")
    with pytest.raises(ValueError, match="'cuda' runs MindSpore's 'GPU' target"):
        c.aot_entry("cuda", "ctc_loss")
    target("Ascend")
    with pytest.raises(ValueError, match="device_target is 'Ascend'"):
        c.aot_entry("cpu", "lstm_backward")


def test_non_aot_backends_ignore_the_target():
    assert registry.for_ms_target("numpy", "GPU") == "numpy"
    assert registry.for_ms_target("stock", "Ascend") == "stock"


def test_a_failed_gpu_kernel_becomes_its_python_exception():
    """MindSpore's GPU target reports a failed aot entry as "GPU AOT kernel"; the op's Cells
    raise the exception of its status with the kernel's message, named by the op."""
    exc = RuntimeError(
        "Return value from GPU AOT kernel(/x/_C.so)'s function(crnn_aot_ctc_loss_gpu) is 1. "
        "Any return value not equal to 0 will be treated as user defined error code"
    )
    err = c.kernel_error(exc)
    assert isinstance(err, ValueError)
    assert str(err).startswith("crnn_fast aot ctc_loss:")
