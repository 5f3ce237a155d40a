"""The LSTM aot entries with the weights split (one tensor per parameter, as crnn_fast.nn.LSTM
passes them in PYNATIVE) vs the same entries on the flat weights, called through ctypes as
MindSpore calls them (tests/aot_harness.py): equal outputs and gradients on the CPU, cuda-emu
and ascend-emu entries (the same kernels on the same values), and errors naming the tensor.
Outputs are NaN-poisoned before each call."""

from __future__ import annotations

import aot_harness as h
import numpy as np
import pytest

import crnn_fast
from crnn_fast.ops.lstm import flat_layout

T, B, I, H, L, D = 7, 3, 5, 6, 2, 2


def split(w: np.ndarray, has_bias: bool) -> list[np.ndarray]:
    """The flat weights as one array per parameter (``flat_layout`` order)."""
    out, off = [], 0
    for _, shape in flat_layout(I, H, L, D == 2, has_bias):
        n = int(np.prod(shape))
        out.append(np.ascontiguousarray(w[off : off + n].reshape(shape)))
        off += n
    return out


def inputs(rng, has_bias: bool):
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    hx = [(0.5 * rng.standard_normal((L * D, B, H))).astype(np.float32) for _ in range(2)]
    seq = np.array([T, 2, 5], np.int32)
    cfg = np.zeros((L, D, H), np.int32)
    w = (0.3 * rng.standard_normal(h.lstm_weight_count(I, H, L, D, has_bias))).astype(np.float32)
    return [x, *hx, seq, cfg], w


def poisoned(shapes) -> list[np.ndarray]:
    return [np.full(s, np.nan, np.float32) for s in shapes]


def call(entry: str, tensors: list) -> list:
    assert h.call(entry, tensors) == 0, h.last_error()
    return tensors


@pytest.mark.parametrize("suffix", ["", "_cuda_emu", "_ascend_emu"])
@pytest.mark.parametrize("has_bias", [True, False])
def test_split_weights_equal_flat(rng, suffix, has_bias):
    head, w = inputs(rng, has_bias)
    ws = split(w, has_bias)
    n_res = int(crnn_fast.registry.compiled_module().lstm_reserve_size(T, B, I, H, L, True))
    fwd = [(T, B, D * H), (L * D, B, H), (L * D, B, H)]
    for entry, extra in (("lstm_forward_infer", []), ("lstm_forward_train", [(n_res,)])):
        e = f"crnn_aot_{entry}{suffix}"
        flat = call(e, head + [w] + poisoned(fwd + extra))[6:]
        got = call(e, head + ws + poisoned(fwd + extra))[5 + len(ws) :]
        for a, b in zip(got, flat):
            np.testing.assert_array_equal(a, b, err_msg=entry)
    y, reserve = flat[0], flat[3]
    dy, dh, dc = (rng.standard_normal(s).astype(np.float32) for s in fwd)
    tail = [y, reserve, dy, dh, dc]
    e = f"crnn_aot_lstm_backward{suffix}"
    bwd = [(T, B, I), (L * D, B, H), (L * D, B, H)]
    flat = call(e, head + [w] + tail + poisoned([*bwd, w.shape]))[-4:]
    got = call(e, head + ws + tail + poisoned([*bwd, *(a.shape for a in ws)]))[-(3 + len(ws)) :]
    for a, b in zip(got[:3], flat[:3]):
        np.testing.assert_array_equal(a, b)
    names = [name for name, _ in flat_layout(I, H, L, True, has_bias)]
    for name, a, b in zip(names, got[3:], split(flat[3], has_bias)):
        np.testing.assert_array_equal(a, b, err_msg=f"d{name}")


def test_split_weights_errors_name_the_tensor(rng):
    head, w = inputs(rng, True)
    ws = split(w, True)
    outs = poisoned([(T, B, D * H), (L * D, B, H), (L * D, B, H)])
    assert h.call("crnn_aot_lstm_forward_infer", head + ws[:-1] + outs) == 1
    assert "expected 9 tensors (flat weights) or 24 / 16" in h.last_error()
    bad = list(ws)
    bad[6] = np.zeros((4 * H, H + 1), np.float32)  # weight_hh_l1
    assert h.call("crnn_aot_lstm_forward_infer", head + bad + outs) == 1
    assert "weight_hh_l1" in h.last_error()
    bad = list(ws)
    bad[13] = bad[13].copy()
    bad[13][2] = np.nan  # bias_hh_l0_reverse
    assert h.call("crnn_aot_lstm_forward_infer", head + bad + outs) == 2
    assert "bias_hh_l0_reverse" in h.last_error()
