"""MindOCR's BiLSTM neck (``nn.LSTM(512, 256, 2 layers, bidirectional)``) in crnn_fast, PyTorch
and MindSpore: forward + backward builders shared by ``crnn-fast demo`` and
``crnn_fast/bench/suites/bench_lstm.py``, and the demo's check against the float64 reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import crnn_fast
from crnn_fast.reference import lstm as ref

I, H, L = 512, 256, 2
PEERS = {
    "crnn_fast": "crnn_fast (CPU kernels)",
    "torch": "PyTorch nn.LSTM",
    "mindspore": "MindSpore nn.LSTM",
}


def _dims(params: dict[str, np.ndarray]) -> tuple[int, int]:
    """(hidden size, layers) of a bidirectional parameter dict."""
    return params["weight_hh_l0"].shape[1], sum(k.startswith("weight_ih_l") for k in params) // 2


def crnn_fast_fwd_bwd(
    x: np.ndarray, params: dict[str, np.ndarray], d_output: np.ndarray | None = None, **kw: Any
):
    """crnn_fast forward (training) + backward with upstream ``d_output`` (default: ones):
    (LSTMOutput, LSTMGrads)."""
    hidden, layers = _dims(params)
    kw = dict(num_layers=layers, bidirectional=True, **kw)
    f = crnn_fast.lstm_forward(x, params, hidden, training=True, **kw)
    g = crnn_fast.lstm_backward(
        np.ones_like(f.output) if d_output is None else d_output,
        None,
        None,
        x=x,
        output=f.output,
        reserve=f.reserve,
        params=params,
        hidden_size=hidden,
        **kw,
    )
    return f, g


def torch_module(params: dict[str, np.ndarray]):
    import torch

    hidden, layers = _dims(params)
    m = torch.nn.LSTM(params["weight_ih_l0"].shape[1], hidden, layers, bidirectional=True)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    return m


def mindspore_module(params: dict[str, np.ndarray]):
    import mindspore as ms

    hidden, layers = _dims(params)
    net = ms.nn.LSTM(
        params["weight_ih_l0"].shape[1], hidden, layers, has_bias=True, bidirectional=True
    )
    ms.load_param_into_net(net, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in params.items()})
    return net


def fwd_bwd_fn(peer: str, x: np.ndarray, params: dict[str, np.ndarray]) -> Callable[[], Any]:
    """A call running forward + backward (gradients of sum(output) w.r.t. x and all weights)
    in ``peer``; it returns d_x as a NumPy array. ImportError when the peer is missing."""
    if peer == "crnn_fast":
        return lambda: crnn_fast_fwd_bwd(x, params)[1].d_x
    if peer == "torch":
        import torch

        m = torch_module(params)

        def torch_fb():
            xr = torch.from_numpy(x).requires_grad_()
            y, _ = m(xr)
            y.backward(torch.ones_like(y))
            return xr.grad.numpy()

        return torch_fb
    import mindspore as ms

    net = mindspore_module(params)
    grad_fn = ms.value_and_grad(
        lambda z: net(z)[0].sum(), grad_position=0, weights=net.trainable_params()
    )
    xt = ms.Tensor(x)

    def ms_fb():
        _, (dx, dw) = grad_fn(xt)
        [w.asnumpy() for w in dw]  # materialise: PYNATIVE CPU ops return before finishing
        return dx.asnumpy()

    return ms_fb


def check_against_reference(seed: int) -> tuple[float, float]:
    """Max |error| of the output and of all gradients vs float64, on a small ragged batch."""
    rng = np.random.default_rng(seed)
    params = ref.init_lstm_params(24, 16, L, True, True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((9, 4, 24)).astype(np.float32)
    lens = np.array([9, 5, 1, 7], np.int32)
    f, g = crnn_fast_fwd_bwd(x, params, seq_length=lens)
    r = ref.lstm_forward(
        x.astype(np.float64),
        {k: v.astype(np.float64) for k, v in params.items()},
        16,
        L,
        True,
        seq_length=lens,
    )
    rg = ref.lstm_backward(np.ones_like(r.output), None, None, r.cache)
    err_y = float(np.abs(f.output - r.output).max())
    err_g = max(
        float(np.abs(g.d_x - rg.d_x).max()),
        *(float(np.abs(g.d_params[k] - rg.d_params[k]).max()) for k in rg.d_params),
    )
    return err_y, err_g


def providers(T: int, B: int, seed: int) -> dict[str, Callable[[], Any]]:
    """forward + backward of the neck for each available implementation, by display name."""
    rng = np.random.default_rng(seed)
    params = ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    rows: dict[str, Callable[[], Any]] = {}
    for peer, name in PEERS.items():
        try:
            rows[name] = fwd_bwd_fn(peer, x, params)
        except ImportError:
            print(f"  ({name}: not installed, skipped)")
    return rows
