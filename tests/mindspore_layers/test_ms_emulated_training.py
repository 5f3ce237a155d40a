"""A 30-step training run of a small CRNN (conv backbone, 2-layer BiLSTM, CTC loss; Adam) on each
accelerator's emulated backend gives the cpu backend's per-step losses:

- ``cuda-emu``: the CUDA LSTM and CTC kernels' own source run by the SIMT executor (a CPU test
  harness, not a GPU) through the MindSpore aot entries ``crnn_aot_*_cuda_emu``;
- ``ascend-emu``: the Ascend C LSTM and CTC kernels' own source run by our host model of the
  Ascend C API (not CANN, not an NPU) through ``crnn_aot_*_ascend_emu``.

Both runs start from the same parameters and see the same batches, and the backbone runs
MindSpore's own convolution in both, so they differ only in the LSTM and CTC kernels: the same
math (kernels/common) summed in other orders (the CUDA kernels' dot products and cuBLAS-shaped
GEMMs, the Ascend kernels' vector-API reductions and modelled cube Matmul, against the CPU
kernels' SIMD and OpenBLAS orders). Float32 reordering is ~1e-7 relative per operation and 30
Adam updates may amplify it: the bound is 1e-5 relative per step (measured: cuda-emu 2.0e-7,
ascend-emu 1.5e-7; printed by the test)."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn
from tiny_model import TinyCRNN, WithCTCLoss

from crnn_fast import registry

STEPS, B, W, C, S = 30, 4, 64, 12, 5


def batches(n: int) -> list[tuple[Tensor, Tensor]]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        img = rng.standard_normal((B, 3, 32, W)).astype(np.float32)
        labels = np.full((B, S), C - 1, np.int32)  # padded with the blank, as MindOCR does
        for b in range(B):
            k = rng.integers(1, S + 1)
            labels[b, :k] = rng.integers(0, C - 1, k)
        out.append((Tensor(img), Tensor(labels)))
    return out


def train(backend: str, init: dict[str, np.ndarray] | None) -> tuple[np.ndarray, dict]:
    with registry.backend_scope(backend):  # the crnn_fast layers read the backend when built
        ms.set_seed(11)
        net = TinyCRNN(hidden=16, layers=2, classes=C)
        loss = WithCTCLoss(net)
    assert net.rnn.backend == backend and loss.loss.backend == backend
    if init is None:
        init = {p.name: p.asnumpy().copy() for p in net.trainable_params()}
    else:
        for p in net.trainable_params():
            p.set_data(Tensor(init[p.name]))
    step = nn.TrainOneStepCell(loss, nn.Adam(net.trainable_params(), learning_rate=3e-3))
    step.set_train(True)
    return np.array([float(step(x, y).asnumpy()) for x, y in batches(STEPS)]), init


@pytest.mark.parametrize("backend", ["cuda-emu", "ascend-emu"])
def test_emulated_training_matches_cpu(backend):
    assert registry.usable(backend), f"the {backend} backend must be built into crnn_fast._C"
    ms.set_context(mode=ms.PYNATIVE_MODE)
    cpu, init = train("cpu", None)
    emu, _ = train(backend, init)
    assert np.isfinite(cpu).all() and np.isfinite(emu).all()
    rel = np.abs(emu - cpu) / np.abs(cpu)
    assert rel.max() < 1e-5, (
        f"per-step losses differ by up to {rel.max():.2e} (step {rel.argmax()}): "
        f"cpu {cpu.tolist()} vs {backend} {emu.tolist()}"
    )
    assert cpu[-5:].mean() < cpu[:5].mean(), "the loss did not decrease"
    print(f"{backend} vs cpu, {STEPS} training steps: max relative loss difference {rel.max():.2e}")
