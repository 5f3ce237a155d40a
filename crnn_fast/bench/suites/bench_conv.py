"""Conv benchmarks: every conv layer shape of MindOCR's VGG7 and ResNet34_vd backbones at a
(B, 3, 32, 100) input (``conv_layers.py``), forward and forward+backward, crnn_fast vs
MindSpore's stock ``nn.Conv2d``, PyTorch CPU and an OpenBLAS sgemm of the same FLOPs, same
pytest session; plus the whole VGG7 backbone forward+backward through MindSpore.

Groups: ``conv-fwd/<layer>``, ``conv-fwd+bwd/<layer>`` (layer = ``vgg7.conv4``,
``resnet34.s2b0.conv0``, ...), ``conv-backbone-fwd+bwd/vgg7``. Providers:

* ``crnn_fast``: the NumPy API, ``conv2d_forward(x, w, b)`` / that plus ``conv2d_backward(dy,
  x, w)`` (d_x, d_w, d_b); VGG7 convs have a bias, ResNet34 convs none;
* ``crnn_fast-ms``: ``crnn_fast.nn.Conv2d`` through MindSpore: forward ``.asnumpy()``; fwd+bwd
  ``value_and_grad(sum(conv(x) * dy))`` w.r.t. x and the layer's parameters;
* ``ms.Conv2d``: the stock ``mindspore.nn.Conv2d``, the same calls. MindSpore 2.10's CPU conv
  takes seconds per call at B=64, so when a B=1 probe predicts over ``SLOW_S`` per call it is
  timed in one round without warm-up; ``CRNN_FAST_BENCH_STOCK=0`` skips it;
* ``torch``: ``F.conv2d`` (forward under ``no_grad``; fwd+bwd: ``y.backward(dy)``), with
  ``torch.set_num_threads`` = crnn_fast's thread count;
* ``sgemm-ceiling``: the conv's GEMMs as single OpenBLAS sgemm calls over the whole batch (no
  im2col): forward (C_out, K) x (K, B*Ho*Wo), K = C_in*kh*kw; fwd+bwd adds d_cols (K, C_out) x
  (C_out, B*Ho*Wo) and d_w (C_out, B*Ho*Wo) x (B*Ho*Wo, K). Same FLOPs: 2*B*C_out*K*Ho*Wo
  forward, twice that backward.

MindSpore runs in PYNATIVE mode with ``pynative_synchronize=True`` (ops on the Python thread;
no asynchronous pipeline threads spinning next to the kernels). Outputs (forward) or d_x and d_w
(fwd+bwd) of every peer are checked against crnn_fast's outside the timed calls:
``max|got - want| <= TOL * max|want|``. ``CRNN_FAST_BENCH_BATCH`` sets B (default 64).
"""

from __future__ import annotations

import ctypes
import os
import time
import zlib
from typing import Any, Callable

import numpy as np
import pytest

import crnn_fast
from crnn_fast.bench.common import (
    QUICK,
    THREADS,
    backend_of,
    fast_providers,
    on_backend,
    run_once,
    run_timed,
    tag,
)
from crnn_fast.bench.conv_layers import LAYERS, VGG7, ConvLayer, vgg7_ops

BATCH = int(os.environ.get("CRNN_FAST_BENCH_BATCH", "2" if QUICK else "64"))
# quick runs: one layer of each kind (3-channel input, 3x3, strided 3x3, 1x1) at B=2, named
# "<layer>-b2" so that they never match a full run's rows
QUICK_LAYERS = ["vgg7.conv1", "vgg7.conv4", "resnet34.s2b0.conv0", "resnet34.s2b0.short"]
RUN_LAYERS = QUICK_LAYERS if QUICK else list(LAYERS)
SUFFIX = f"-b{BATCH}" if QUICK or BATCH != 64 else ""
STOCK = os.environ.get("CRNN_FAST_BENCH_STOCK", "1") != "0"
SLOW_S = 2.0  # a provider predicted slower than this per call gets one round, no warm-up
TOL = 1e-4  # relative to the largest |value| of the compared array
DIRECTIONS = ["fwd", "fwd+bwd"]
PROVIDERS = [*fast_providers(), "crnn_fast-ms", "ms.Conv2d", "torch", "sgemm-ceiling"]
Fn = Callable[[], Any]

# ---------------------------------------------------------------------------------------------
# Data (one layer at a time: B=64 inputs of the large layers are tens of MB)
# ---------------------------------------------------------------------------------------------


class LayerData:
    """Seeded x (B, C_in, H, W), w (C_out, C_in, k, k) ~ N(0, 1/K), b (C_out,) or None,
    dy (B, C_out, Ho, Wo), and crnn_fast's y and grads (the peers' reference)."""

    def __init__(self, layer: ConvLayer, batch: int) -> None:
        rng = np.random.default_rng(zlib.crc32(layer.id.encode()))
        c = layer
        self.layer, self.batch = c, batch
        self.x = rng.standard_normal((batch, c.c_in, c.h, c.w), dtype=np.float32)
        fan_in = c.c_in * c.k * c.k
        self.w = rng.standard_normal((c.c_out, c.c_in, c.k, c.k), dtype=np.float32)
        self.w *= np.float32(fan_in**-0.5)
        self.b = rng.standard_normal(c.c_out, dtype=np.float32) if c.bias else None
        self.dy = rng.standard_normal((batch, c.c_out, *c.out_hw), dtype=np.float32)
        self.kw = dict(stride=c.stride, pad_mode="pad", padding=c.pad)
        self.y = crnn_fast.conv2d_forward(self.x, self.w, self.b, **self.kw)
        self.grads = crnn_fast.conv2d_backward(self.dy, self.x, self.w, **self.kw)


_DATA: dict[str, LayerData] = {}


def layer_data(layer: ConvLayer) -> LayerData:
    """The cached data of ``layer`` (the previous layer's is dropped)."""
    if layer.id not in _DATA:
        _DATA.clear()
        _DATA[layer.id] = LayerData(layer, BATCH)
    return _DATA[layer.id]


def rel_err(got: Any, want: np.ndarray) -> float:
    """max|got - want| / max|want|."""
    return float(np.abs(np.asarray(got) - want).max() / max(np.abs(want).max(), 1e-30))


# ---------------------------------------------------------------------------------------------
# Providers: each returns a no-argument callable whose result is checked against crnn_fast
# ---------------------------------------------------------------------------------------------


def crnn_fast_fn(d: LayerData, direction: str) -> Fn:
    """NumPy API: y, or (d_x, d_w, d_b) after the forward."""
    if direction == "fwd":
        return lambda: crnn_fast.conv2d_forward(d.x, d.w, d.b, **d.kw)

    def fwd_bwd():
        crnn_fast.conv2d_forward(d.x, d.w, d.b, **d.kw)
        return crnn_fast.conv2d_backward(d.dy, d.x, d.w, **d.kw)

    return fwd_bwd


def set_sync(ms: Any, on: bool) -> None:
    """PYNATIVE, synchronous while a MindSpore provider runs (``pynative_synchronize``)."""
    ms.set_context(mode=ms.PYNATIVE_MODE, pynative_synchronize=on)


def ms_fn(ms: Any, provider: str, d: LayerData, direction: str, x: np.ndarray, dy: np.ndarray):
    """``crnn_fast.nn.Conv2d`` or the stock ``nn.Conv2d`` holding d.w / d.b, on x (and dy):
    y, or (d_x, d_w) via value_and_grad w.r.t. x and the layer's parameters."""
    import crnn_fast.nn as cnn
    from crnn_fast.bench.ms_cells import LayerWeightedSum

    c = d.layer
    cls = cnn.Conv2d if provider == "crnn_fast-ms" else ms.nn.Conv2d
    conv = cls(c.c_in, c.c_out, c.k, c.stride, "pad", c.pad, has_bias=c.bias)
    conv.weight.set_data(ms.Tensor(d.w))
    if c.bias:
        conv.bias.set_data(ms.Tensor(d.b))
    if provider == "crnn_fast-ms":
        assert not conv.use_stock, "crnn_fast.nn.Conv2d fell back to the stock op"
    xt = ms.Tensor(x)
    if direction == "fwd":
        return lambda: conv(xt).asnumpy()
    net = LayerWeightedSum(conv, ms.Tensor(dy))
    grad_fn = ms.value_and_grad(net, grad_position=0, weights=conv.trainable_params())

    def fwd_bwd():
        _, (dx, dws) = grad_fn(xt)
        return dx.asnumpy(), *(g.asnumpy() for g in dws)

    return fwd_bwd


def torch_fn(torch: Any, d: LayerData, direction: str) -> Fn:
    """``F.conv2d``: y under no_grad, or (d_x, d_w[, d_b]) after ``y.backward(dy)``."""
    torch.set_num_threads(THREADS)
    F, c = torch.nn.functional, d.layer
    xt, wt = torch.from_numpy(d.x), torch.from_numpy(d.w)
    bt = torch.from_numpy(d.b) if c.bias else None
    if direction == "fwd":

        def fwd():
            with torch.no_grad():
                return F.conv2d(xt, wt, bt, c.stride, c.pad).numpy()

        return fwd
    leaves = [t.requires_grad_() for t in (xt, wt, bt) if t is not None]
    dyt = torch.from_numpy(d.dy)

    def fwd_bwd():
        for t in leaves:
            t.grad = None
        F.conv2d(xt, wt, bt, c.stride, c.pad).backward(dyt)
        return tuple(t.grad.numpy() for t in leaves)

    return fwd_bwd


def sgemm_fn(d: LayerData, direction: str) -> tuple[Fn, str]:
    """The conv's GEMMs as single sgemm calls over the batch (see the module docstring)."""
    import scipy_openblas32

    lib, p = scipy_openblas32.dll, ctypes.c_void_p
    c = d.layer
    M, K, N = c.c_out, c.c_in * c.k * c.k, d.batch * c.out_hw[0] * c.out_hw[1]
    w, cols, y = (np.full(s, 0.5, np.float32) for s in ((M, K), (K, N), (M, N)))
    d_cols, d_w = np.empty((K, N), np.float32), np.empty((M, K), np.float32)
    one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)

    def gemm(ta: int, tb: int, m, n, k, a, lda, b, ldb, out, ldc) -> None:
        """Row-major (101) out = op(a) @ op(b); op: 111 NoTrans, 112 Trans."""
        lib.scipy_cblas_sgemm(
            101, ta, tb, m, n, k, one, p(a.ctypes.data), lda, p(b.ctypes.data), ldb, zero,
            p(out.ctypes.data), ldc,
        )  # fmt: skip

    def run() -> None:
        lib.scipy_openblas_set_num_threads(THREADS)
        gemm(111, 111, M, N, K, w, K, cols, N, y, N)  # y = w @ cols
        if direction == "fwd+bwd":
            gemm(112, 111, K, N, M, w, K, y, N, d_cols, N)  # d_cols = w^T @ dy
            gemm(111, 112, M, K, N, y, N, cols, N, d_w, K)  # d_w = dy @ cols^T
        lib.scipy_openblas_set_num_threads(1)

    shapes = f"({M}, {K}) x ({K}, {N})" + (" + d_cols + d_w" if direction == "fwd+bwd" else "")
    return run, f"sgemm {shapes}, {THREADS} threads"


def run_slow_or_timed(benchmark: Any, fn: Fn, probe: Fn, scale: float) -> Any:
    """``run_once`` when ``probe`` (the call on a 1/scale slice of the batch; its second call is
    timed) predicts over SLOW_S per call, else ``run_timed``."""
    probe()
    t0 = time.perf_counter()
    probe()
    est = (time.perf_counter() - t0) * scale
    benchmark.extra_info["estimated_s"] = est
    if est > SLOW_S:
        benchmark.extra_info["timing"] = "1 round, no warm-up"
        return run_once(benchmark, fn)
    return run_timed(benchmark, fn, budget_s=3.0, max_rounds=15)


def check(provider: str, direction: str, out: Any, d: LayerData) -> str:
    """Peer output vs crnn_fast's (untimed): y, or d_x and d_w (d_b too where present)."""
    if direction == "fwd":
        pairs = [("y", out, d.y)]
    else:
        want = [d.grads.d_x, d.grads.d_w] + ([d.grads.d_b] if d.layer.bias else [])
        pairs = list(zip(("d_x", "d_w", "d_b"), out, want))
    errs = {name: rel_err(got, w) for name, got, w in pairs}
    bad = {k: e for k, e in errs.items() if not e <= TOL}
    assert not bad, f"{provider} differs from crnn_fast (relative to max|want|): {bad}"
    return "vs crnn_fast: " + ", ".join(f"{k} {e:.0e}" for k, e in errs.items())


# ---------------------------------------------------------------------------------------------
# Per-layer benchmarks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("layer_id", RUN_LAYERS)
def test_conv(benchmark: Any, request: pytest.FixtureRequest, layer_id, direction, provider):
    """One provider on one layer shape (``conv_layers.LAYERS``), at B = BATCH."""
    layer = LAYERS[layer_id]
    tag(
        benchmark, f"conv-{direction}", layer_id + SUFFIX, provider, layer=layer_id,
        backbone=layer.backbone, multiplicity=layer.mult, config=layer.text, batch=BATCH,
        direction=direction, flops=layer.flops(BATCH, direction),
    )  # fmt: skip
    if provider == "ms.Conv2d" and not STOCK:
        pytest.skip("CRNN_FAST_BENCH_STOCK=0")
    fixture = {"crnn_fast-ms": "ms", "ms.Conv2d": "ms", "torch": "torch"}.get(provider)
    peer = request.getfixturevalue(fixture) if fixture else None  # skips a missing peer
    d = layer_data(layer)
    if backend_of(provider):
        kernel = "conv2d_backward" if direction == "fwd+bwd" else "conv2d_forward"
        fn = on_backend(provider, kernel, crnn_fast_fn(d, direction))
        out = run_timed(benchmark, fn, budget_s=3.0, max_rounds=15)
        if provider != "crnn_fast":
            benchmark.extra_info["note"] = check(provider, direction, out, d)
        return
    if provider == "sgemm-ceiling":
        fn, note = sgemm_fn(d, direction)
        benchmark.extra_info.update(note=note, ceiling="compute")
        run_timed(benchmark, fn, budget_s=3.0, max_rounds=15)
        return
    if provider == "torch":
        out = run_timed(benchmark, torch_fn(peer, d, direction), budget_s=3.0, max_rounds=15)
        benchmark.extra_info["torch_threads"] = peer.get_num_threads()
    else:
        benchmark.extra_info["mindspore"] = peer.__version__
        set_sync(peer, True)
        try:
            fn = ms_fn(peer, provider, d, direction, d.x, d.dy)
            if provider == "ms.Conv2d":
                probe = ms_fn(peer, provider, d, direction, d.x[:1], d.dy[:1])
                out = run_slow_or_timed(benchmark, fn, probe, scale=BATCH)
            else:
                out = run_timed(benchmark, fn, budget_s=3.0, max_rounds=15)
        finally:
            set_sync(peer, False)
    benchmark.extra_info["note"] = check(provider, direction, out, d)


# ---------------------------------------------------------------------------------------------
# The whole VGG7 backbone (convs, BN, ReLU, pools) forward+backward
# ---------------------------------------------------------------------------------------------

_VGG: dict[str, Any] = {}
# d_x tolerance of the whole backbone (relative to max|d_x|): a pre-activation of the last
# BN -> ReLU within float32 rounding of 0 can flip its ReLU mask between implementations, and
# BN's batch statistics spread that one flip over its whole channel. Seen: 2.5e-2 at B=2
# (MindSpore vs PyTorch); float32 vs float64 PyTorch differ as much at B=16. The per-layer
# groups check the convs themselves at TOL.
BACKBONE_TOL = 5e-2


def vgg7_data() -> dict[str, Any]:
    """x (B, 3, 32, 100), dy (B, 512, 1, 24) and seeded (w, b) of every VGG7 conv."""
    if not _VGG:
        rng = np.random.default_rng(77)
        _VGG["x"] = rng.standard_normal((BATCH, 3, 32, 100), dtype=np.float32)
        _VGG["dy"] = rng.standard_normal((BATCH, 512, 1, 24), dtype=np.float32)
        _VGG["params"] = [
            (
                rng.standard_normal((c.c_out, c.c_in, c.k, c.k), dtype=np.float32)
                * np.float32((c.c_in * c.k * c.k) ** -0.5),
                rng.standard_normal(c.c_out, dtype=np.float32) * np.float32(0.1),
            )
            for c in VGG7
        ]
    return _VGG


def vgg7_ms(ms: Any, patched: bool) -> Any:
    """The stock RecVGG (``ms_cells.vgg7_backbone``) holding vgg7_data's parameters, training
    mode; ``patched``: its Conv2d swapped for crnn_fast.nn.Conv2d by ``crnn_fast.patch``."""
    from crnn_fast.bench.ms_cells import vgg7_backbone

    net = vgg7_backbone()
    convs = [m for m in net.cells() if isinstance(m, ms.nn.Conv2d)]
    for conv, (w, b) in zip(convs, vgg7_data()["params"]):
        conv.weight.set_data(ms.Tensor(w))
        conv.bias.set_data(ms.Tensor(b))
    if patched:
        assert crnn_fast.patch(net) == len(VGG7)
    net.set_train(True)
    return net


def vgg7_torch(torch: Any) -> Any:
    """The same network in PyTorch (``conv_layers.vgg7_ops``), training mode, same parameters."""
    nn, layers = torch.nn, []
    params = iter(vgg7_data()["params"])
    for kind, arg in vgg7_ops():
        if kind == "conv":
            conv = nn.Conv2d(arg.c_in, arg.c_out, arg.k, padding=arg.pad)
            w, b = next(params)
            conv.weight.data, conv.bias.data = torch.from_numpy(w), torch.from_numpy(b)
            layers.append(conv)
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(arg, eps=1e-4))
        elif kind == "relu":
            layers.append(nn.ReLU())
        else:
            layers.append(nn.MaxPool2d(arg, arg))
    return nn.Sequential(*layers).train()


def vgg7_fn(request: pytest.FixtureRequest, provider: str, n: int = BATCH) -> Fn:
    """d_x of sum(backbone(x[:n]) * dy[:n]); every parameter gradient is materialised too."""
    d = vgg7_data()
    x, dy = d["x"][:n], d["dy"][:n]
    if provider == "torch":
        torch = request.getfixturevalue("torch")
        torch.set_num_threads(THREADS)
        net = vgg7_torch(torch)
        xt, dyt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

        def torch_fb():
            xt.grad = None
            net.zero_grad(set_to_none=True)
            net(xt).backward(dyt)
            return xt.grad.numpy()

        return torch_fb
    from crnn_fast.bench.ms_cells import LayerWeightedSum

    ms = request.getfixturevalue("ms")
    net = vgg7_ms(ms, patched=provider == "crnn_fast-ms")
    loss = LayerWeightedSum(net, ms.Tensor(dy))
    grad_fn = ms.value_and_grad(loss, grad_position=0, weights=net.trainable_params())
    xt = ms.Tensor(x)

    def ms_fb():
        _, (dx, dws) = grad_fn(xt)
        [g.asnumpy() for g in dws]
        return dx.asnumpy()

    return ms_fb


@pytest.mark.parametrize("provider", ["crnn_fast-ms", *([] if QUICK else ["ms.Conv2d"]), "torch"])
def test_vgg7_backbone(benchmark: Any, request: pytest.FixtureRequest, provider: str):
    """MindOCR's whole VGG7 backbone, forward + backward w.r.t. x and every parameter."""
    flops = sum(c.flops(BATCH, "fwd+bwd") for c in VGG7)
    note = "convs + BN + ReLU + max-pools, training mode; GFLOP/s counts the convs"
    tag(benchmark, "conv-backbone-fwd+bwd", "vgg7" + SUFFIX, provider, backbone="vgg7", batch=BATCH,
        flops=flops, note=note)  # fmt: skip
    if provider == "ms.Conv2d" and not STOCK:
        pytest.skip("CRNN_FAST_BENCH_STOCK=0")
    ms = request.getfixturevalue("ms")
    set_sync(ms, True)
    try:
        fn = vgg7_fn(request, provider)
        if provider == "ms.Conv2d":
            benchmark.extra_info["mindspore"] = ms.__version__
            probe = vgg7_fn(request, provider, n=1)
            out = run_slow_or_timed(benchmark, fn, probe, scale=BATCH)
        else:
            out = run_timed(benchmark, fn, budget_s=4.0, max_rounds=10)
        if "dx" not in _VGG:
            _VGG["dx"] = out if provider == "crnn_fast-ms" else vgg7_fn(request, "crnn_fast-ms")()
    finally:
        set_sync(ms, False)
    err = rel_err(out, _VGG["dx"])
    assert err <= BACKBONE_TOL, f"{provider} d_x differs from crnn_fast-ms by {err:.1e} (relative)"
    if provider != "crnn_fast-ms":
        benchmark.extra_info["note"] = f"{note}; d_x vs crnn_fast-ms {err:.0e}"
