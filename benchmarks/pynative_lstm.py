"""PYNATIVE fwd+bwd of MindOCR's BiLSTM neck: stock nn.LSTM, crnn_fast.nn.LSTM (parameters
passed to the op as they are, and the flat concat/split path), and the raw kernel (NumPy API),
with MindSpore's executor asynchronous (its default) and blocking (``pynative_synchronize``),
all interleaved in one process; medians.

    python benchmarks/pynative_lstm.py [--rounds 7] [--stock-rounds 3] [--batch 64] [--steps 25]

Each call: ``value_and_grad`` of ``sum(y * w)`` w.r.t. x and every weight, then every gradient
read back to the host (PYNATIVE CPU ops return before they finish), as
``crnn_fast/bench/suites/bench_ms_ops.py`` times it. The kernel: ``crnn_fast.lstm_forward``
(training) + ``crnn_fast.lstm_backward`` on NumPy arrays, no MindSpore.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import mindspore as ms
import numpy as np

import crnn_fast.nn as cnn
from crnn_fast.bench.ms_cells import WeightedSum
from crnn_fast.cli import demo_lstm
from crnn_fast.reference import lstm as ref

I, H, L = 512, 256, 2


def layer_call(cls, params, x: np.ndarray, w: np.ndarray, split: bool = True) -> Callable:
    net = cls(I, H, L, has_bias=True, bidirectional=True)
    ms.load_param_into_net(net, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in params.items()})
    if not split:
        net.stack.split_weights = False
    loss = WeightedSum(net, ms.Tensor(w))
    loss.set_train(True)
    grad = ms.value_and_grad(loss, grad_position=0, weights=net.trainable_params())
    xt = ms.Tensor(x)

    def run():
        _, (dx, dw) = grad(xt)
        [g.asnumpy() for g in dw]
        return dx.asnumpy()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--stock-rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--no-stock", action="store_true")
    args = ap.parse_args()
    ms.set_context(mode=ms.PYNATIVE_MODE)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((args.steps, args.batch, I)).astype(np.float32)
    params = ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32)
    w = rng.standard_normal((args.steps, args.batch, 2 * H)).astype(np.float32)
    calls = {
        "crnn_fast": layer_call(cnn.LSTM, params, x, w),
        "crnn_fast-flat": layer_call(cnn.LSTM, params, x, w, split=False),
        "kernel": lambda: demo_lstm.crnn_fast_fwd_bwd(x, params, d_output=w)[1].d_x,
    }
    if not args.no_stock:
        calls["stock"] = layer_call(ms.nn.LSTM, params, x, w)
    want = calls["kernel"]()
    times: dict[str, list[float]] = {}
    for blocking in (False, True):
        ms.set_context(pynative_synchronize=blocking)
        for name, fn in calls.items():
            err = float(np.abs(fn() - want).max())
            assert err < 1e-3, f"{name} dx differs from the kernel's by {err}"
    for r in range(args.rounds):
        for blocking in (False, True):
            ms.set_context(pynative_synchronize=blocking)
            for name, fn in calls.items():
                if name == "kernel" and blocking:
                    continue  # (no MindSpore involved)
                if name == "stock" and r >= args.stock_rounds:
                    continue
                key = name if name == "kernel" else f"{name} {'blocking' if blocking else 'async'}"
                t = time.perf_counter()
                fn()
                times.setdefault(key, []).append(time.perf_counter() - t)
    ms.set_context(pynative_synchronize=False)
    med = {k: float(np.median(v)) for k, v in times.items()}
    kern = med["kernel"]
    print(f"T={args.steps} B={args.batch}, medians of {args.rounds} interleaved rounds")
    for k, v in med.items():
        stock = med.get(f"stock {k.split()[-1]}") if k != "kernel" else None
        extra = f"  {stock / v:5.2f}x stock" if stock else ""
        print(f"{k:26s} {1e3 * v:8.1f} ms  {v / kern:5.2f}x kernel{extra}")


if __name__ == "__main__":
    main()
