"""The multi-tensor AdamW step (crnn/adamw.h, one aot op for all parameters) against the
per-tensor MindSpore update it replaces (bit for bit, several steps, MindOCR's weight-decay
groups, constant and per-step lr, PYNATIVE and GRAPH), against the float64 reference, inside a
training step (the parameters really change in place, and the graph orders reads after it),
and its entry called directly (vs MindSpore's AdamWeightDecay, the float64 formula) and on bad
inputs."""

from __future__ import annotations

import aot_harness as h
import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Parameter, Tensor  # noqa: E402
from tiny_net import ApplyGrads, TinyNet  # noqa: E402

from crnn_fast import registry  # noqa: E402
from crnn_fast.ops.adamw import adamw_step_op, has_adamw_step  # noqa: E402
from crnn_fast.reference import adamw as reference_adamw  # noqa: E402
from crnn_fast.train.optim import AdamW, param_groups  # noqa: E402
from crnn_fast.train.step import TrainStep  # noqa: E402

SHAPES = {
    "conv1.weight": (8, 3, 3, 3),
    "conv1.bias": (8,),
    "bn1.gamma": (8,),
    "bn1.beta": (8,),
    "fc.weight": (37, 67),  # an odd size: the threads' ranges split inside tensors
    "fc.bias": (37,),
}
WD = 0.01


@pytest.fixture(params=["pynative", "graph"])
def mode(request):
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


def init_params(rng) -> dict[str, np.ndarray]:
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in SHAPES.items()}


def run(init, steps, lr, fused: bool):
    params = [Parameter(Tensor(x.copy()), name=n) for n, x in init.items()]
    opt = AdamW(param_groups(params, WD, True), lr, fused=fused)
    assert opt.fused == fused
    order = [p.name for p in opt.parameters]  # group order (before Apply prefixes the names)
    apply = ApplyGrads(opt)
    for grads in steps:
        apply(tuple(Tensor(grads[n]) for n in order))
    moments = [x.asnumpy() for x in (*opt.moments1, *opt.moments2)]
    return {n: p.asnumpy() for n, p in zip(init, params)}, moments


@pytest.mark.parametrize("lr", [5e-4, [1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4]])
def test_fused_step_is_bit_identical_and_matches_reference(mode, use_backend, lr, rng):
    use_backend("cpu")
    init = init_params(rng)
    n_steps = len(lr) if isinstance(lr, list) else 6
    steps = [
        {n: (rng.standard_normal(x.shape) * 10.0 ** rng.integers(-3, 1)).astype(np.float32)
         for n, x in init.items()}
        for _ in range(n_steps)
    ]  # fmt: skip
    fused, fused_m = run(init, steps, lr, fused=True)
    plain, plain_m = run(init, steps, lr, fused=False)
    for name in init:
        np.testing.assert_array_equal(fused[name], plain[name], err_msg=name)
        assert not np.array_equal(fused[name], init[name]), f"{name} did not change"
    for a, b in zip(fused_m, plain_m):
        np.testing.assert_array_equal(a, b)
    lrs = lr if isinstance(lr, list) else [lr] * n_steps
    names = list(init)
    wds = [0.0 if any(k in n for k in ("beta", "gamma", "bias")) else WD for n in names]
    want = reference_adamw(
        [init[n] for n in names], [[s[n] for n in names] for s in steps], lrs, wds
    )
    for name, w in zip(names, want):  # float32 rounding of each step's update
        np.testing.assert_allclose(fused[name], w, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("drop_overflow_update", [False, True])
def test_fused_step_inside_a_training_step(mode, use_backend, drop_overflow_update, rng):
    """TrainStep (forward, backward, update in one graph; the update under a branch with
    drop_overflow_update): the same losses and parameters as the per-tensor update, and the
    parameters change in place between steps."""
    use_backend("cpu")
    x = Tensor(rng.standard_normal((8, 4)).astype(np.float32))
    y = Tensor(rng.standard_normal((8, 3)).astype(np.float32))
    results = []
    for fused in (True, False):
        ms.set_seed(0)
        net = TinyNet()
        opt = AdamW(param_groups(net.trainable_params(), WD, True), 1e-2, fused=fused)
        step = TrainStep(net, opt, loss_scale=1.0, drop_overflow_update=drop_overflow_update)
        losses, weights = [], []
        for _ in range(4):
            losses.append(float(step(x, y)[0].asnumpy()))
            weights.append(net.dense.weight.asnumpy().copy())
        results.append((losses, weights))
        assert all(not np.array_equal(a, b) for a, b in zip(weights, weights[1:]))
        assert losses[-1] < losses[0]
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_backends_without_the_entry_keep_the_per_tensor_update(use_backend):
    p = [Parameter(Tensor(np.ones(3, np.float32)), name="w")]
    for backend in ("numpy", "stock", "cuda-emu"):
        use_backend(backend)
        assert not has_adamw_step(backend)
        assert not AdamW(p, 1e-3).fused
        with pytest.raises(ValueError, match="fused AdamW step needs"):
            AdamW(p, 1e-3, fused=True)
    use_backend("cpu")
    assert AdamW(p, 1e-3).fused
    p16 = [Parameter(Tensor(np.ones(3, np.float16)), name="h")]
    assert not AdamW(p16, 1e-3).fused


def test_op_rejects_mismatched_shapes(use_backend):
    use_backend("cpu")
    op = adamw_step_op("cpu")
    t = lambda *s: Tensor(np.zeros(s, np.float32))  # noqa: E731
    s = t(1)
    with pytest.raises(ValueError, match=r"grad 0 must have its parameter's shape \(3,\)"):
        op(t(3), t(3), t(3), t(4), s, s, s, s, s)
    with pytest.raises(ValueError, match="6 n \\+ 3 inputs"):
        op(t(3), t(3))


def test_entry_direct_and_bad_scalars(rng):
    """The entry through ctypes: two tensors, p/m/v updated in place, output set; a non-scalar
    lr is refused with a message naming it."""
    shapes = [(5, 7), (130001,)]
    p, m, v, g = ([rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4))
    m = [0.1 * x for x in m]
    v = [np.abs(x) * 0.01 for x in v]
    p0, m0, v0 = [x.copy() for x in p], [x.copy() for x in m], [x.copy() for x in v]
    f = lambda x: np.array([x], np.float32)  # noqa: E731
    lrs, wds = [f(1e-3), f(2e-3)], [f(0.01), f(0.0)]
    out = np.full(1, np.nan, np.float32)
    rc = h.call("crnn_aot_adamw", [*p, *m, *v, *g, *lrs, *wds, f(0.9), f(0.999), f(1e-8), out])
    assert rc == 0, registry.compiled_module().aot_last_error()
    assert out[0] == 0
    b1, b2, eps = (float(np.float32(x)) for x in (0.9, 0.999, 1e-8))  # the values passed
    for k in range(2):  # one step from (m0, v0) in float64, bias correction left to the caller
        g64 = g[k].astype(np.float64)
        m1 = b1 * m0[k] + (1 - b1) * g64
        v1 = b2 * v0[k] + (1 - b2) * g64 * g64
        want = p0[k] - lrs[k][0] * (m1 / (np.sqrt(v1) + eps) + wds[k][0] * p0[k])
        np.testing.assert_allclose(m[k], m1, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(v[k], v1, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(p[k], want, rtol=1e-6, atol=1e-7)
    bad = [*p, *m, *v, *g, np.zeros(2, np.float32), lrs[1], *wds, f(0.9), f(0.999), f(1e-8), out]
    assert h.call("crnn_aot_adamw", bad) == 1
    assert "lr (tensor 8) must be a float32 scalar" in registry.compiled_module().aot_last_error()


@pytest.mark.parametrize("lr,wd", [(1e-3, 1e-4), (0.05, 0.7), (0.3, 0.0)])
def test_entry_bit_identical_to_mindspore_adamweightdecay(use_backend, lr, wd, rng):
    """Large lr * weight_decay makes the rounding of every term show (a float64 decay term
    differs from MindSpore's in ~1 % of the elements there)."""
    from mindspore import ops

    n = 200_003
    p, g = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
    m = (0.1 * rng.standard_normal(n)).astype(np.float32)
    v = (0.01 * rng.random(n)).astype(np.float32)
    f = lambda x: np.array([x], np.float32)  # noqa: E731
    b1, b2, eps = f(0.9), f(0.999), f(1e-8)
    P, M, V = (Parameter(Tensor(x.copy()), name=k) for k, x in zip("pmv", (p, m, v)))
    ms_op = ops.AdamWeightDecay()
    ms_op(P, M, V, Tensor(f(lr)), Tensor(b1), Tensor(b2), Tensor(eps), Tensor(f(wd)), Tensor(g))
    out = np.full(1, np.nan, np.float32)
    assert h.call("crnn_aot_adamw", [p, m, v, g, f(lr), f(wd), b1, b2, eps, out]) == 0
    np.testing.assert_array_equal(m, M.asnumpy())
    np.testing.assert_array_equal(v, V.asnumpy())
    np.testing.assert_array_equal(p, P.asnumpy())
