"""LSTM benchmarks: crnn_fast's fused stack vs MindSpore's nn.LSTM, PyTorch CPU, and an
OpenBLAS sgemm of the same FLOP count (the ceiling), same pytest session.

Shapes: MindOCR's neck ``nn.LSTM(512, 256, num_layers=2, bidirectional=True)``, T=25, at
B=64 ("crnn") and B=256 ("b256"); quick runs: B=8 ("b8"). crnn_fast runs once per requested
backend (``common.fast_providers``). Groups (``op/shape``):

* ``lstm-infer``: forward without a reserve (MindSpore/PyTorch under no-grad where they have it);
* ``lstm-train-fwd``: forward that keeps what the backward needs;
* ``lstm-fwd+bwd``: forward + backward w.r.t. the input and every weight, upstream ones.

``sgemm-ceiling`` is the time one large single sgemm (all cores) needs for the same FLOPs:
forward 2*T*B*4H*(I_l+H) per layer and direction, backward twice that.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy as np
import pytest

import crnn_fast
from crnn_fast.bench.common import QUICK, backend_of, fast_providers, on_backend, run_timed, tag
from crnn_fast.cli import demo_lstm
from crnn_fast.reference import lstm as ref

SHAPES = {"b8": dict(T=25, B=8)} if QUICK else {"crnn": dict(T=25, B=64), "b256": dict(T=25, B=256)}
I, H, L = 512, 256, 2
OPS = ["lstm-infer", "lstm-train-fwd", "lstm-fwd+bwd"]


def fwd_flops(T: int, B: int) -> float:
    return sum(2 * 2.0 * T * B * 4 * H * ((I if l == 0 else 2 * H) + H) for l in range(L))


def op_flops(op: str, T: int, B: int) -> float:
    return fwd_flops(T, B) * (3 if op == "lstm-fwd+bwd" else 1)


_DATA: dict[str, Any] = {}


def data(shape: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if shape not in _DATA:
        rng = np.random.default_rng(7)
        T, B = SHAPES[shape]["T"], SHAPES[shape]["B"]
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        _DATA[shape] = (x, ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32))
    return _DATA[shape]


def _crnn_fast(op: str, x, params):
    if op == "lstm-fwd+bwd":
        return demo_lstm.fwd_bwd_fn("crnn_fast", x, params)
    kw = dict(num_layers=L, bidirectional=True, training=op == "lstm-train-fwd")
    return lambda: crnn_fast.lstm_forward(x, params, H, **kw).output


def _torch(torch, op: str, x, params):
    if op == "lstm-fwd+bwd":
        return demo_lstm.fwd_bwd_fn("torch", x, params)
    m = demo_lstm.torch_module(params)
    xt = torch.from_numpy(x)
    if op == "lstm-train-fwd":
        return lambda: m(xt.requires_grad_())[0].detach().numpy()

    def infer():
        with torch.no_grad():
            return m(xt)[0].numpy()

    return infer


def _mindspore(ms, op: str, x, params):
    if op == "lstm-fwd+bwd":
        return demo_lstm.fwd_bwd_fn("mindspore", x, params)
    net = demo_lstm.mindspore_module(params)
    xt = ms.Tensor(x)
    return lambda: net(xt)[0].asnumpy()  # PYNATIVE has no separate no-grad forward


def _sgemm_ceiling(op: str, T: int, B: int):
    """One sgemm (T*B, 8H, I) on all cores, repeated to the op's FLOP count."""
    import scipy_openblas32

    lib = scipy_openblas32.dll
    M, N, K = T * B, 8 * H, I
    a = np.ones((M, K), np.float32)
    b = np.ones((N, K), np.float32)
    c = np.empty((M, N), np.float32)
    reps = op_flops(op, T, B) / (2.0 * M * N * K)
    p = ctypes.c_void_p

    def run():
        lib.scipy_openblas_set_num_threads(os.cpu_count() or 1)
        for _ in range(round(reps)):  # RowMajor=101, NoTrans=111, Trans=112
            lib.scipy_cblas_sgemm(
                101,
                111,
                112,
                M,
                N,
                K,
                ctypes.c_float(1.0),
                p(a.ctypes.data),
                K,
                p(b.ctypes.data),
                K,
                ctypes.c_float(0.0),
                p(c.ctypes.data),
                N,
            )
        lib.scipy_openblas_set_num_threads(1)

    return run, round(reps)


PROVIDERS = [*fast_providers(), "torch", "mindspore", "sgemm-ceiling"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", list(SHAPES))
def test_lstm(benchmark: Any, request: pytest.FixtureRequest, shape: str, op: str, provider: str):
    T, B = SHAPES[shape]["T"], SHAPES[shape]["B"]
    x, params = data(shape)
    flops = op_flops(op, T, B)
    tag(benchmark, op, shape, provider, flops=flops)
    if backend_of(provider):
        kernel = "lstm_backward" if op == "lstm-fwd+bwd" else "lstm_forward"
        fn = on_backend(provider, kernel, _crnn_fast(op, x, params))
    elif provider == "torch":
        fn = _torch(request.getfixturevalue("torch"), op, x, params)
    elif provider == "mindspore":
        fn = _mindspore(request.getfixturevalue("ms"), op, x, params)
    else:
        fn, reps = _sgemm_ceiling(op, T, B)
        benchmark.extra_info["ceiling"] = "compute"
        benchmark.extra_info["note"] = f"{reps} x sgemm ({T * B}, {8 * H}, {I}), all cores"
        flops = reps * 2.0 * T * B * 8 * H * I
        benchmark.extra_info["flops"] = flops
    out = run_timed(benchmark, fn, budget_s=4.0, min_rounds=3, max_rounds=15)
    if provider in ("torch", "mindspore") or backend_of(provider) not in (None, "cpu"):
        benchmark.extra_info["note"] = _check_against_crnn_fast(provider, op, out, x, params)


def _check_against_crnn_fast(provider: str, op: str, out: Any, x, params) -> str:
    """The peer's output (forward) or input gradient (fwd+bwd) vs crnn_fast's, untimed."""
    f, g = demo_lstm.crnn_fast_fwd_bwd(x, params)
    what, want = ("d_x", g.d_x) if op == "lstm-fwd+bwd" else ("output", f.output)
    err = float(np.abs(np.asarray(out) - want).max())
    assert err < 1e-4, f"{provider} {what} differs from crnn_fast by {err}"
    return f"{what} matches crnn_fast to {err:.1e}"
