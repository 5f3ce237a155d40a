"""The CPU LSTM's register-tiled recurrence (kernels/cpu/lstm_recurrent.h) at the shapes its
tiling makes special, through the C API (ctypes on crnn_fast._C) with every output, the
reserve and both workspaces NaN-poisoned, vs the float64 reference, forward and backward:

* H not a multiple of the 8-unit (forward) or 16-unit (backward) blocks: H = 1, 3, 7, 13, 33;
* batch not a multiple of the 6-sample tile (B = 1, 7, 13), one tile (B = 6);
* T = 1, ragged lengths (0 and T included), one direction, h0/c0 and dh_n/dc_n given or not,
  1 and 2 threads (a direction's batch split in two when D = 1).

float32 bounds (weights U(-1/sqrt(H), 1/sqrt(H)), fast sigmoid/tanh ~1e-7), as in test_lstm.py:
forward outputs and states 2e-6 absolute; each gradient 2e-6 * (1 + max |reference|).
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from helpers import assert_close, lstm_case

import crnn_fast
from crnn_fast.bench.lstm_capi import Desc, P, Weights
from crnn_fast.reference import lstm as ref

pytestmark = pytest.mark.skipif(not crnn_fast.backends()["cpu"], reason="no compiled CPU kernels")


def _lib():
    from crnn_fast import _C

    lib = ctypes.CDLL(_C.__file__)  # the library Python already loaded (same handle)
    for f in ("crnn_lstm_forward_workspace_size", "crnn_lstm_backward_workspace_size"):
        getattr(lib, f).restype = ctypes.c_size_t
    lib.crnn_lstm_reserve_size.restype = ctypes.c_size_t
    return lib


def _p(a):
    return P(None if a is None else a.ctypes.data)


def _ptrs(arrs):
    return ctypes.cast((P * len(arrs))(*[a.ctypes.data for a in arrs]), P)


def _nan(shape):
    return np.full(shape, np.nan, np.float32)


# (T, B, I, H, L, D, has_bias, with_state, ragged)
CASES = [
    (5, 7, 4, 1, 1, 2, True, True, True),
    (4, 1, 3, 3, 2, 2, True, False, False),
    (6, 13, 5, 7, 2, 2, True, True, True),
    (1, 6, 4, 13, 1, 1, True, True, False),
    (3, 7, 6, 33, 2, 2, False, True, True),
    (7, 13, 9, 16, 1, 1, True, False, True),
    (2, 12, 8, 24, 1, 2, True, True, False),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "T{}_B{}_I{}_H{}_L{}_D{}".format(*c[:6]))
def test_tiles_vs_reference(rng, case, threads):
    T, B, I, H, L, D, bias, state, ragged = case
    bi = D == 2
    lib = _lib()
    params, x, h0, c0, lens = lstm_case(rng, T, B, I, H, L, bi, bias, state, ragged)
    sfx = ["", "_reverse"][:D]
    names = [(f"_l{l}{s}") for l in range(L) for s in sfx]
    w_arrs = [[params[f"{n}{k}"] for k in names] for n in ("weight_ih", "weight_hh")]
    b_arrs = [[params[f"{n}{k}"] for k in names] for n in ("bias_ih", "bias_hh")] if bias else []
    w = Weights(*[_ptrs(a) for a in w_arrs], *([_ptrs(a) for a in b_arrs] or [None, None]))
    d = Desc(T, B, I, H, L, int(bi), int(bias), threads, 0, None)
    dp = ctypes.byref(d)

    y, hn, cn = _nan((T, B, D * H)), _nan((L * D, B, H)), _nan((L * D, B, H))
    reserve = _nan(lib.crnn_lstm_reserve_size(dp))
    ws = _nan(lib.crnn_lstm_forward_workspace_size(dp) // 4 + 1)
    st = lib.crnn_lstm_forward_f32(
        _p(y), _p(hn), _p(cn), _p(reserve), _p(x), _p(h0), _p(c0), _p(lens), ctypes.byref(w), dp,
        _p(ws), ctypes.c_size_t(ws.nbytes),
    )  # fmt: skip
    assert st == 0, st
    r = ref.lstm_forward(
        x.astype(np.float64),
        {k: v.astype(np.float64) for k, v in params.items()},
        H,
        L,
        bi,
        None if h0 is None else h0.astype(np.float64),
        None if c0 is None else c0.astype(np.float64),
        lens,
    )
    assert_close(y, r.output, 2e-6, 0, "output")
    assert_close(hn, r.h_n, 2e-6, 0, "h_n")
    assert_close(cn, r.c_n, 2e-6, 0, "c_n")
    assert not np.isnan(reserve).any(), "reserve left unwritten"

    dy = rng.standard_normal(y.shape).astype(np.float32)
    dhn = rng.standard_normal(hn.shape).astype(np.float32) if state else None
    dcn = rng.standard_normal(cn.shape).astype(np.float32) if state else None
    dx, dh0, dc0 = _nan(x.shape), _nan(hn.shape), _nan(cn.shape)
    dws = {n: [_nan(params[f"{n}{k}"].shape) for k in names] for n in ref_names(bias)}
    gp = [_ptrs(dws[n]) if n in dws else None for n in ("weight_ih", "weight_hh", "bias_ih")]
    gp.append(_ptrs(dws["bias_hh"]) if bias else None)
    bws = _nan(lib.crnn_lstm_backward_workspace_size(dp) // 4 + 1)
    st = lib.crnn_lstm_backward_f32(
        _p(dx), _p(dh0), _p(dc0), *gp, _p(dy), _p(dhn), _p(dcn), _p(x), _p(y), _p(h0), _p(c0),
        _p(lens), _p(reserve), ctypes.byref(w), dp, _p(bws), ctypes.c_size_t(bws.nbytes),
    )  # fmt: skip
    assert st == 0, st
    rg = ref.lstm_backward(
        dy.astype(np.float64),
        None if dhn is None else dhn.astype(np.float64),
        None if dcn is None else dcn.astype(np.float64),
        r.cache,
    )
    pairs = [("d_x", dx, rg.d_x), ("d_h0", dh0, rg.d_h0), ("d_c0", dc0, rg.d_c0)]
    pairs += [
        (f"{n}{k}", g, rg.d_params[f"{n}{k}"])
        for n, gs in dws.items()
        for k, g in zip(names, gs, strict=True)
    ]  # noqa: E501
    for name, got, want in pairs:
        assert_close(got, want, 2e-6 * (1 + np.abs(want).max()), 0, name)


def ref_names(bias: bool) -> list[str]:
    return ["weight_ih", "weight_hh", *(["bias_ih", "bias_hh"] if bias else [])]
