"""MindSpore-level benchmarks: crnn_fast.nn layers (aot custom ops) vs MindSpore's stock layers,
PYNATIVE and GRAPH mode, same session; the raw kernel (NumPy API) and PyTorch CPU alongside.

Groups (``op/mode``):

* ``ms-lstm-infer``: MindOCR's neck ``LSTM(512, 256, 2, bidirectional)``, T=25 B=64, eval mode;
* ``ms-lstm-fwd+bwd``: ``value_and_grad`` of ``sum(y * w)`` w.r.t. x and every weight;
* ``ms-ctc-loss+grad``: ``value_and_grad`` of MindOCR's CTC loss (mean) w.r.t. the logits,
  T=25 B=64 C=37 (crnn_fast.nn.CTCLoss vs the stock ops.CTCLoss MindOCR uses);
* ``ms-ctc-loss+grad-x10``: ten such losses (of differently scaled logits) summed in one GRAPH
  cell: the per-loss cost inside a compiled training step, without the graph launch;
* ``aot-overhead``: fixed cost of one call on a tiny input: a crnn_fast aot op (CTC loss op,
  T=B=1, C=2) vs a stock ``ops.add`` of 4 elements, and vs a whole GRAPH-mode cell call.

Modes: ``pynative``, ``pynative-sync`` (``pynative_synchronize=True``) and ``graph``.
Providers: ``crnn_fast`` (the crnn_fast.nn layer through MindSpore), ``mindspore`` (stock),
``crnn_fast-kernel`` (the same kernel through the NumPy API: what the op wraps), ``torch``.
Every call materialises its outputs (``asnumpy``): MindSpore's CPU ops return before finishing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import crnn_fast
from crnn_fast.bench.common import get_data, run_timed, tag
from crnn_fast.cli import demo_lstm
from crnn_fast.reference import lstm as ref
from crnn_fast.registry import backend_scope

T, B, I, H, L = 25, 64, 512, 256, 2
MODES = ["pynative", "pynative-sync", "graph"]
PROVIDERS = ["crnn_fast", "mindspore", "crnn_fast-kernel", "torch"]
# framework-independent providers are timed once, in the pynative group
CASES = [(m, p) for m in MODES for p in PROVIDERS if m == "pynative" or p in PROVIDERS[:2]]


def _lstm_flops(op: str) -> float:
    fwd = sum(2 * 2.0 * T * B * 4 * H * ((I if k == 0 else 2 * H) + H) for k in range(L))
    return fwd * (3 if op == "ms-lstm-fwd+bwd" else 1)


_DATA: dict[str, Any] = {}


def lstm_data() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    if "lstm" not in _DATA:
        rng = np.random.default_rng(11)
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        params = ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32)
        w = rng.standard_normal((T, B, 2 * H)).astype(np.float32)
        _DATA["lstm"] = (x, params, w)
    return _DATA["lstm"]


def _set_mode(ms, mode: str) -> None:
    """pynative-sync: PYNATIVE with ``pynative_synchronize=True`` (ops run on the Python thread;
    no asynchronous pipeline whose threads busy-wait next to the kernels' own)."""
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    ms.set_context(pynative_synchronize=mode == "pynative-sync")


def _ms_layer(ms, provider: str, params, monkeypatch):
    """The stock nn.LSTM or crnn_fast.nn.LSTM holding ``params``."""
    import crnn_fast.nn as cnn

    cls = cnn.LSTM if provider == "crnn_fast" else ms.nn.LSTM
    with backend_scope("cpu"):
        net = cls(I, H, L, has_bias=True, bidirectional=True)
    ms.load_param_into_net(net, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in params.items()})
    return net


def _lstm_call(ms, op: str, provider: str, monkeypatch):
    from crnn_fast.bench.ms_cells import WeightedSum

    x, params, w = lstm_data()
    if provider == "crnn_fast-kernel":
        if op == "ms-lstm-infer":
            return lambda: crnn_fast.lstm_forward(x, params, H, num_layers=L, bidirectional=True)[0]
        return lambda: demo_lstm.crnn_fast_fwd_bwd(x, params)[1].d_x
    if provider == "torch":
        if op == "ms-lstm-fwd+bwd":
            return demo_lstm.fwd_bwd_fn("torch", x, params)
        import torch

        m = demo_lstm.torch_module(params)

        def infer():
            with torch.no_grad():
                return m(torch.from_numpy(x))[0].numpy()

        return infer
    net = _ms_layer(ms, provider, params, monkeypatch)
    xt = ms.Tensor(x)
    if op == "ms-lstm-infer":
        net.set_train(False)
        return lambda: net(xt)[0].asnumpy()
    loss = WeightedSum(net, ms.Tensor(w))
    loss.set_train(True)
    grad_fn = ms.value_and_grad(loss, grad_position=0, weights=net.trainable_params())

    def fwd_bwd():
        _, (dx, dw) = grad_fn(xt)
        [g.asnumpy() for g in dw]
        return dx.asnumpy()

    return fwd_bwd


@pytest.mark.parametrize("mode,provider", CASES)
@pytest.mark.parametrize("op", ["ms-lstm-infer", "ms-lstm-fwd+bwd"])
def test_ms_lstm(benchmark, request, monkeypatch, ms, op: str, mode: str, provider: str):
    if provider == "torch":
        request.getfixturevalue("torch")
    _set_mode(ms, mode)
    try:
        fn = _lstm_call(ms, op, provider, monkeypatch)
        tag(benchmark, op, mode, provider, flops=_lstm_flops(op))
        out = run_timed(benchmark, fn, budget_s=5.0, max_rounds=15)
    finally:
        _set_mode(ms, "pynative")
    if op == "ms-lstm-fwd+bwd" and provider in ("crnn_fast", "mindspore"):
        x, params, w = lstm_data()
        g = demo_lstm.crnn_fast_fwd_bwd(x, params, d_output=w)[1]
        err = float(np.abs(out - g.d_x).max())
        assert err < 1e-4, f"{provider} dx differs from the kernel's by {err}"
        benchmark.extra_info["note"] = f"dx max |diff| vs kernel {err:.1e}"


def _ctc_call(ms, provider: str, monkeypatch):
    from crnn_fast.bench.ms_cells import MeanCTC

    d = get_data("crnn")
    if provider == "crnn_fast-kernel":
        return lambda: crnn_fast.ctc_loss(d.logits, d.labels, d.input_lengths, d.label_lengths)
    if provider == "torch":
        import torch

        lp_src = torch.from_numpy(d.logits)
        tgt = torch.from_numpy(d.labels.astype(np.int64))
        il, tl = torch.from_numpy(d.input_lengths), torch.from_numpy(d.label_lengths)

        def torch_fb():
            z = lp_src.clone().requires_grad_()
            loss = torch.nn.functional.ctc_loss(
                z.log_softmax(2), tgt, il, tl, blank=d.shape.blank, reduction="sum"
            )
            loss.backward()
            return z.grad.numpy()

        return torch_fb
    import crnn_fast.nn as cnn

    with backend_scope("cpu" if provider == "crnn_fast" else "stock"):
        net = MeanCTC(cnn.CTCLoss(pred_seq_len=T, max_label_len=d.shape.S, batch_size=B))
    grad_fn = ms.value_and_grad(net, 0)
    logits, labels = ms.Tensor(d.logits), ms.Tensor(d.labels)
    return lambda: grad_fn(logits, labels)[1].asnumpy()


@pytest.mark.parametrize("mode,provider", CASES)
def test_ms_ctc(benchmark, request, monkeypatch, ms, mode: str, provider: str):
    if provider == "torch":
        request.getfixturevalue("torch")
    _set_mode(ms, mode)
    try:
        fn = _ctc_call(ms, provider, monkeypatch)
        tag(benchmark, "ms-ctc-loss+grad", mode, provider)
        run_timed(benchmark, fn, budget_s=3.0)
    finally:
        _set_mode(ms, "pynative")


@pytest.mark.parametrize("provider", ["crnn_fast", "mindspore", "cell-floor"])
def test_ms_ctc_x10_graph(benchmark, monkeypatch, ms, provider: str):
    """Ten losses in one graph: the in-graph cost of one loss+grad (time / 10 is reported).
    ``cell-floor`` replaces each loss by ``logits.mean()``: the cost of the cell around them
    (the logits scaling, the sum, the graph launch), to subtract from the other two."""
    import crnn_fast.nn as cnn
    from crnn_fast.bench.ms_cells import MeanOnly, TenCTC

    d = get_data("crnn")
    scope = backend_scope("cpu" if provider == "crnn_fast" else "stock")
    _set_mode(ms, "graph")
    try:
        with scope:
            loss = MeanOnly() if provider == "cell-floor" else cnn.CTCLoss()
        grad_fn = ms.value_and_grad(TenCTC(loss), 0)
        logits, labels = ms.Tensor(d.logits), ms.Tensor(d.labels)
        tag(benchmark, "ms-ctc-loss+grad-x10", "graph", provider, time_scale=0.1)
        run_timed(benchmark, lambda: grad_fn(logits, labels)[1].asnumpy(), budget_s=3.0)
    finally:
        _set_mode(ms, "pynative")


@pytest.mark.parametrize("provider", ["crnn_fast", "mindspore"])
@pytest.mark.parametrize("mode", MODES)
def test_aot_overhead(benchmark, monkeypatch, ms, mode: str, provider: str):
    """Fixed cost of one call: tiny crnn_fast aot op vs a tiny stock op (each in a Cell)."""
    import crnn_fast.ops as cops
    from crnn_fast.bench.ms_cells import OneOp

    _set_mode(ms, mode)
    try:
        if provider == "crnn_fast":
            with backend_scope("cpu"):
                net = OneOp(cops.CTCLossOp())
            args = (
                ms.Tensor(np.zeros((1, 1, 2), np.float32)),
                ms.Tensor(np.zeros((1, 1), np.int32)),
            )
        else:
            net = OneOp(ms.ops.Add())
            args = (ms.Tensor(np.ones(4, np.float32)), ms.Tensor(np.ones(4, np.float32)))
        tag(benchmark, "aot-overhead", mode, provider, note="one tiny op in a Cell, materialised")
        run_timed(benchmark, lambda: net(*args)[0].asnumpy())
    finally:
        _set_mode(ms, "pynative")
