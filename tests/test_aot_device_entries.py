"""The device path of the MindSpore aot entries (csrc/aot_util.h: ``Args::on_device``), called
through ctypes as MindSpore calls them (tests/aot_harness.py), against the CPU entries and
the float64 reference:

- ``emu``: the ``crnn_aot_<op>_cuda_emu`` entries on NumPy arrays -- the CUDA kernels' source on
  the SIMT executor (a CPU test harness), through the same host copies of the options, lengths
  made on the host and copied next to the workspace, device workspace cache and error record
  as the GPU entries;
- ``gpu`` (marked ``gpu``, run by benchmarks/gpu/device_check.sh): the ``crnn_aot_<op>_gpu``
  entries on PyTorch CUDA tensors and a CUDA stream, as MindSpore's GPU target calls them.

Outputs are NaN-poisoned before each call. Without the CUDA backend compiled, the ``_gpu``
entries exist and fail with NOT_SUPPORTED and a message (never a crash)."""

from __future__ import annotations

import aot_harness as h
import numpy as np
import pytest
from helpers import assert_close

import crnn_fast
from crnn_fast import registry
from crnn_fast.reference import ctc as ref_ctc

OPS = registry.ACCELERATOR_AOT_OPS
CUDA_COMPILED = registry.compiled("cuda")


@pytest.fixture(params=["emu", pytest.param("gpu", marks=pytest.mark.gpu)])
def dev(request):
    """(entry suffix, to_device, to_host, stream) of a flavour."""
    if request.param == "gpu":
        import torch

        assert torch.cuda.is_available() and CUDA_COMPILED, "the gpu tests need CUDA"
        stream = torch.cuda.Stream()
        return (
            "_gpu",
            lambda a: torch.as_tensor(np.ascontiguousarray(a), device="cuda"),
            lambda t: t.cpu().numpy(),
            stream.cuda_stream,
        )
    return ("_cuda_emu", np.ascontiguousarray, np.asarray, 0)


def run(dev, op: str, inputs: list, outputs: list) -> tuple[int, list]:
    """Calls the flavour's entry of ``op``; outputs (host arrays giving shape and dtype) are
    NaN / -7 poisoned on the device first. Returns (status, host outputs)."""
    suffix, to_dev, to_host, stream = dev
    outs = [to_dev(np.full_like(o, np.nan if o.dtype.kind == "f" else -7)) for o in outputs]
    rc = h.call(f"crnn_aot_{op}{suffix}", [to_dev(a) for a in inputs] + outs, stream)
    return rc, [to_host(o) for o in outs]


def run_cpu(op: str, inputs: list, outputs: list) -> list:
    outs = [np.full_like(o, np.nan if o.dtype.kind == "f" else -7) for o in outputs]
    assert h.call(f"crnn_aot_{op}", inputs + outs) == 0, h.last_error()
    return outs


def test_every_accelerator_op_has_its_entries():
    for op in OPS:
        for suffix in ("", "_gpu", "_cuda_emu"):
            assert h.has_entry(f"crnn_aot_{op}{suffix}"), f"crnn_aot_{op}{suffix}"


def test_gpu_entries_in_a_build_without_cuda_fail_cleanly(rng):
    """Without the CUDA backend the `_gpu` entries fail with NOT_SUPPORTED and a message; with
    it (a GPU is then assumed: host memory must not reach them) the backend is usable."""
    if CUDA_COMPILED:
        assert registry.usable("cuda") and registry.for_ms_target("cpu", "GPU") == "cuda"
        return
    x = rng.standard_normal((4, 2, 5)).astype(np.float32)
    lab = np.ones((2, 2), np.int32)
    cfg = np.array([0, 0, 0, 0], np.int32)
    outs = [np.zeros(2, np.float32), np.zeros_like(x)]
    rc = h.call("crnn_aot_ctc_loss_gpu", [x, lab, lab[:, 0], lab[:, 0], cfg, *outs])
    assert rc == 5  # CRNN_STATUS_NOT_SUPPORTED
    assert "crnn_fast aot ctc_loss: " in h.last_error()
    assert "not supported" in h.last_error()


def ctc_inputs(rng, T=20, B=4, C=12, S=6, blank=11):
    x = (2 * rng.standard_normal((T, B, C))).astype(np.float32)
    x[0, 0, ::3] = -np.inf
    labels = rng.integers(0, C - 1, (B, S)).astype(np.int32)
    labels[labels >= blank] += 1
    il = np.array([T, T - 3, 9, T][:B], np.int32)
    ll = np.array([S, 2, 0, 4][:B], np.int32)
    for b in range(B):
        labels[b, ll[b] :] = blank  # MindOCR pads with the blank
    return x, labels, il, ll


@pytest.mark.parametrize("has_il", [0, 1])
@pytest.mark.parametrize("has_ll", [0, 1])
def test_ctc_loss(dev, rng, has_il, has_ll):
    T, B, C = 20, 4, 12
    x, labels, il, ll = ctc_inputs(rng, T, B, C)
    cfg = np.array([-1, 0, has_il, has_ll], np.int32)
    ins = [
        x,
        labels,
        il if has_il else np.zeros(1, np.int32),
        ll if has_ll else np.zeros(1, np.int32),
        cfg,
    ]
    outs = [np.empty(B, np.float32), np.empty_like(x)]
    rc, (loss, grad) = run(dev, "ctc_loss", ins, outs)
    assert rc == 0, h.last_error()
    il_used = il if has_il else np.full(B, T, np.int32)
    want_loss, want_grad = ref_ctc.ctc_loss(x.astype(np.float64), labels, il_used, ll, C - 1)
    assert_close(loss, want_loss, 1e-4, 1e-5, "loss")
    assert_close(grad, want_grad, 1e-4, 2e-5, "grad")
    cpu_loss, cpu_grad = run_cpu("ctc_loss", ins, outs)
    assert_close(loss, cpu_loss, 1e-5, 1e-6, "loss vs the CPU entry")


def test_ctc_loss_float16_logits(dev, rng):
    """float16 logits in, float32 loss and float16 gradient out, as the CPU entry gives."""
    x, labels, il, ll = ctc_inputs(rng)
    x16 = x.astype(np.float16)
    ins = [x16, labels, il, ll, np.array([-1, 0, 1, 1], np.int32)]
    outs = [np.empty(4, np.float32), np.empty_like(x16)]
    rc, (loss, grad) = run(dev, "ctc_loss", ins, outs)
    assert rc == 0, h.last_error()
    assert grad.dtype == np.float16
    cpu_loss, cpu_grad = run_cpu("ctc_loss", ins, outs)
    assert_close(loss, cpu_loss, 1e-5, 1e-5, "loss vs the CPU entry")
    ulp = 2.0**-11 * np.abs(cpu_grad.astype(np.float32)).max()
    assert_close(grad.astype(np.float32), cpu_grad.astype(np.float32), 2e-5 + ulp, 0, "grad")


@pytest.mark.parametrize(
    "where, value, status, message",
    [
        (
            "label",
            99,
            1,
            "labels, input_lengths or label_lengths out of range: invalid value (batch index 2)",
        ),
        (
            "input_length",
            21,
            1,
            "labels, input_lengths or label_lengths out of range: invalid value (batch index 2)",
        ),
        ("logit", np.nan, 2, "logits: non-finite input (NaN or +Inf) (batch index 2)"),
    ],
)
def test_ctc_loss_errors_name_the_sample(dev, rng, where, value, status, message):
    x, labels, il, ll = ctc_inputs(rng)
    ll[2], labels[2, :3] = 3, [1, 2, 3]
    if where == "label":
        labels[2, 1] = value
    elif where == "input_length":
        il[2] = value
    else:
        x[5, 2, 3] = value
    cfg = np.array([-1, 0, 1, 1], np.int32)
    outs = [np.empty(4, np.float32), np.empty_like(x)]
    rc, (loss, _) = run(dev, "ctc_loss", [x, labels, il, ll, cfg], outs)
    assert rc == status
    assert np.isnan(loss[2])  # a failed sample's outputs are NaN, as on the CPU
    err = h.last_error()
    assert err.startswith("crnn_fast aot ctc_loss: ") and message in err, err


@pytest.mark.parametrize("batch_first", [0, 1])
def test_ctc_greedy(dev, rng, batch_first):
    T, B, C = 15, 3, 9
    x = rng.standard_normal((B, T, C) if batch_first else (T, B, C)).astype(np.float32)
    il = np.array([15, 4, 0], np.int32)
    for has_il in (0, 1):
        cfg = np.array([0, 0, batch_first, has_il], np.int32)
        ins = [x, il if has_il else np.zeros(1, np.int32), cfg]
        outs = [np.empty((B, T), np.int32), np.empty(B, np.int32), np.empty((B, T), np.float32)]
        rc, got = run(dev, "ctc_greedy", ins, outs)
        assert rc == 0, h.last_error()
        want = run_cpu("ctc_greedy", ins, outs)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert_close(got[2], want[2], 1e-6, 1e-6, "probs")
    il[1] = T + 1
    cfg = np.array([0, 0, batch_first, 1], np.int32)
    rc, _ = run(dev, "ctc_greedy", [x, il, cfg], outs)
    assert rc == 1
    assert "input_lengths out of range [0, T = 15] (batch index 1)" in h.last_error()


def lstm_inputs(rng, T=7, B=3, I=5, H=6, L=2, D=2, with_hx=True, with_seq=True):
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    hx = [
        (0.5 * rng.standard_normal((L * D, B, H))).astype(np.float32)
        if with_hx
        else np.zeros(1, np.float32)
        for _ in range(2)
    ]
    seq = np.array([T, 2, 5][:B], np.int32) if with_seq else np.zeros((1, 1), np.int32)
    cfg = np.zeros((L, D, H), np.int32)
    w = (0.3 * rng.standard_normal(h.lstm_weight_count(I, H, L, D, True))).astype(np.float32)
    return [x, *hx, seq, cfg, w]


def lstm_outputs(T, B, H, L, D, reserve=0):
    outs = [np.empty((T, B, D * H), np.float32)] + [np.empty((L * D, B, H), np.float32)] * 2
    return outs + ([np.empty(reserve, np.float32)] if reserve else [])


@pytest.mark.parametrize("with_hx, with_seq", [(True, True), (False, False)])
def test_lstm_forward_and_backward(dev, rng, with_hx, with_seq):
    check_lstm_entries(dev, rng, with_hx, with_seq)


@pytest.mark.parametrize("with_hx, with_seq", [(True, True), (False, False)])
def test_ascend_emu_lstm_entries(rng, with_hx, with_seq):
    """The `_ascend_emu` LSTM twins run the Ascend C kernels on our API model: the CPU entries'
    results within the same bounds."""
    check_lstm_entries(("_ascend_emu", np.ascontiguousarray, np.asarray, 0), rng, with_hx, with_seq)


def check_lstm_entries(dev, rng, with_hx, with_seq):
    T, B, I, H, L, D = 7, 3, 5, 6, 2, 2
    ins = lstm_inputs(rng, T, B, I, H, L, D, with_hx, with_seq)
    n_res = int(crnn_fast.registry.compiled_module().lstm_reserve_size(T, B, I, H, L, True))
    rc, inf = run(dev, "lstm_forward_infer", ins, lstm_outputs(T, B, H, L, D))
    assert rc == 0, h.last_error()
    rc, tr = run(dev, "lstm_forward_train", ins, lstm_outputs(T, B, H, L, D, n_res))
    assert rc == 0, h.last_error()
    want = run_cpu("lstm_forward_train", ins, lstm_outputs(T, B, H, L, D, n_res))
    for name, a, b, c in zip(("y", "h_n", "c_n"), inf, tr, want):
        assert_close(a, c, 2e-6, 1e-5, f"inference {name}")
        assert_close(b, c, 2e-6, 1e-5, f"training {name}")
    grads_in = [rng.standard_normal(o.shape).astype(np.float32) for o in want[:3]]
    bwd_ins = ins + [want[0], tr[3], *grads_in]
    bwd_outs = [np.empty((T, B, I), np.float32)] + [np.empty((L * D, B, H), np.float32)] * 2
    bwd_outs.append(np.empty_like(ins[5]))
    rc, got = run(dev, "lstm_backward", bwd_ins, bwd_outs)
    assert rc == 0, h.last_error()
    ref = run_cpu("lstm_backward", ins + [want[0], want[3], *grads_in], bwd_outs)
    for name, a, b in zip(("dx", "dh0", "dc0", "dweights"), got, ref):
        assert_close(a, b, 2e-5 * (1 + np.abs(b).max()), 1e-4, name)


def test_lstm_seq_length_out_of_range(dev, rng):
    ins = lstm_inputs(rng)
    ins[3][1] = 8  # T = 7
    rc, _ = run(dev, "lstm_forward_infer", ins, lstm_outputs(7, 3, 6, 2, 2))
    assert rc == 1
    assert "seq_length out of range [0, T]: invalid value (batch index 1)" in h.last_error()


def test_ascend_emu_ctc_entries(rng):
    """The `_ascend_emu` twins run the Ascend C greedy and CTC loss (float32 and float16) kernels
    on our API model: the CPU entry's results, and a NaN logit is an error naming its sample.
    (The LSTM twins: test_ascend_emu_lstm_entries.)"""
    x = rng.standard_normal((6, 3, 5)).astype(np.float32)
    ins = [x, np.array([6, 0, 3], np.int32), np.array([0, 0, 0, 1], np.int32)]
    outs = [np.empty((3, 6), np.int32), np.empty(3, np.int32), np.empty((3, 6), np.float32)]
    poisoned = [np.full_like(o, np.nan if o.dtype.kind == "f" else -7) for o in outs]
    assert h.call("crnn_aot_ctc_greedy_ascend_emu", ins + poisoned) == 0, h.last_error()
    want = run_cpu("ctc_greedy", ins, outs)
    np.testing.assert_array_equal(poisoned[0], want[0])
    np.testing.assert_array_equal(poisoned[1], want[1])
    assert_close(poisoned[2], want[2], 1e-6, 1e-6, "probs")
    cx, labels, il, ll = ctc_inputs(rng, 20, 4, 12)
    loss_ins = [cx, labels, il, ll, np.array([-1, 0, 1, 1], np.int32)]
    loss_outs = [np.full(4, np.nan, np.float32), np.full_like(cx, np.nan)]
    assert h.call("crnn_aot_ctc_loss_ascend_emu", loss_ins + loss_outs) == 0, h.last_error()
    cpu_loss, cpu_grad = run_cpu("ctc_loss", loss_ins, loss_outs)
    assert_close(loss_outs[0], cpu_loss, 1e-5, 1e-5, "loss vs the CPU entry")
    assert_close(loss_outs[1], cpu_grad, 1e-6 * (1 + np.abs(cpu_loss).max()), 0, "grad")
    x16 = cx.astype(np.float16)  # float16 logits: float32 loss, float16 grad
    ins16 = [x16, *loss_ins[1:]]
    outs16 = [np.full(4, np.nan, np.float32), np.full_like(x16, np.nan)]
    assert h.call("crnn_aot_ctc_loss_ascend_emu", ins16 + outs16) == 0, h.last_error()
    cpu16 = run_cpu("ctc_loss", ins16, outs16)
    assert_close(outs16[0], cpu16[0], 1e-5, 1e-5, "float16: loss vs the CPU entry")
    ulp = 2.0**-10 * np.abs(cpu16[1].astype(np.float32))
    err = np.abs(outs16[1].astype(np.float32) - cpu16[1].astype(np.float32))
    assert np.all(err <= 1e-6 * (1 + np.abs(cpu16[0]).max()) + ulp + 2.0**-24), err.max()
    bad = cx.copy()
    bad[3, 2, 1] = np.nan
    rc = h.call("crnn_aot_ctc_loss_ascend_emu", [bad, *loss_ins[1:], *loss_outs])
    assert rc == 2 and "batch index 2" in h.last_error(), (rc, h.last_error())
