"""The LSTM part of ``crnn-fast demo``: MindOCR's neck ``nn.LSTM(512, 256, 2 layers,
bidirectional)`` on generated features, checked against the float64 reference and timed
(forward + backward) against PyTorch and MindSpore when they are installed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import crnn_fast
from crnn_fast.reference import lstm as ref

I, H, L = 512, 256, 2


def check_against_reference(seed: int) -> tuple[float, float]:
    """Max |error| of the output and of all gradients vs float64, on a small ragged batch."""
    rng = np.random.default_rng(seed)
    params = ref.init_lstm_params(24, 16, L, True, True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((9, 4, 24)).astype(np.float32)
    lens = np.array([9, 5, 1, 7], np.int32)
    kw = dict(num_layers=L, bidirectional=True, seq_length=lens)
    f = crnn_fast.lstm_forward(x, params, 16, training=True, **kw)
    d = np.ones_like(f.output)
    g = crnn_fast.lstm_backward(
        d, None, None, x=x, output=f.output, reserve=f.reserve, params=params, hidden_size=16, **kw
    )
    r = ref.lstm_forward(
        x.astype(np.float64),
        {k: v.astype(np.float64) for k, v in params.items()},
        16,
        L,
        True,
        seq_length=lens,
    )
    rg = ref.lstm_backward(d.astype(np.float64), None, None, r.cache)
    err_y = float(np.abs(f.output - r.output).max())
    err_g = max(
        float(np.abs(g.d_x - rg.d_x).max()),
        *(float(np.abs(g.d_params[k] - rg.d_params[k]).max()) for k in rg.d_params),
    )
    return err_y, err_g


def providers(T: int, B: int, seed: int) -> dict[str, Callable[[], object]]:
    """forward + backward (upstream ones) of the neck for each available implementation."""
    rng = np.random.default_rng(seed)
    params = ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    kw = dict(num_layers=L, bidirectional=True)

    def ours():
        f = crnn_fast.lstm_forward(x, params, H, training=True, **kw)
        return crnn_fast.lstm_backward(
            np.ones_like(f.output),
            None,
            None,
            x=x,
            output=f.output,
            reserve=f.reserve,
            params=params,
            hidden_size=H,
            **kw,
        )

    rows: dict[str, Callable[[], object]] = {"crnn_fast (CPU kernels)": ours}
    try:
        import torch

        m = torch.nn.LSTM(I, H, L, bidirectional=True)
        m.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})

        def torch_fb():
            xr = torch.from_numpy(x).requires_grad_()
            y, _ = m(xr)
            y.backward(torch.ones_like(y))

        rows["PyTorch nn.LSTM"] = torch_fb
    except ImportError:
        print("  (PyTorch: not installed, skipped)")
    try:
        import mindspore as ms

        net = ms.nn.LSTM(I, H, L, has_bias=True, bidirectional=True)
        ms.load_param_into_net(
            net, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in params.items()}
        )
        grad_fn = ms.value_and_grad(
            lambda z: net(z)[0].sum(), grad_position=0, weights=net.trainable_params()
        )
        xt = ms.Tensor(x)

        def ms_fb():
            _, (dx, dw) = grad_fn(xt)
            return dx.asnumpy(), [w.asnumpy() for w in dw]

        rows["MindSpore nn.LSTM"] = ms_fb
    except ImportError:
        print("  (MindSpore: not installed, skipped)")
    return rows
