"""The fused training conv block's kernel (crnn/conv_block.h, through its aot entries) against
the float64 reference (crnn_fast/reference/conv_block.py), and the reference against finite
differences.

Bounds (float32 kernel vs float64): y, z and the moving statistics within 2e-5 of the largest
reference magnitude (+ 2e-5); the gradients within 1e-4 of theirs: BatchNorm's backward
subtracts two means from dv, so its error grows with the per-channel count M.
"""

from __future__ import annotations

import aot_harness
import numpy as np
import pytest

from crnn_fast.ops.conv_block import BlockSpec
from crnn_fast.reference.conv_block import (
    BatchNorm,
    Pool,
    conv_block_backward,
    conv_block_forward,
)

pytestmark = pytest.mark.skipif(
    not aot_harness.has_entry("crnn_aot_conv_block_forward"), reason="no compiled _C"
)

# (name, B, C_in, C_out, H, W, k, stride, pads, bn, residual, relu, pool)
CASES = [
    ("vgg-conv-relu-pool2x2", 2, 16, 16, 8, 10, 3, (1, 1), (1, 1, 1, 1), False, False, True,
     Pool(2, 2, 2, 2)),
    ("vgg-rgb-bn-relu-pool2x1", 3, 3, 8, 8, 6, 3, (1, 1), (1, 1, 1, 1), True, False, True,
     Pool(2, 1, 2, 1)),
    ("vgg7-conv7-valid-bn-relu", 2, 16, 16, 2, 7, 2, (1, 1), (0, 0, 0, 0), True, False, True,
     None),
    ("resnet-conv0-stride21", 2, 16, 32, 8, 9, 3, (2, 1), (1, 1, 1, 1), True, False, True, None),
    ("resnet-conv1-bn-only", 2, 16, 16, 4, 9, 3, (1, 1), (1, 1, 1, 1), True, False, False, None),
    ("resnet-conv1-residual", 2, 16, 16, 4, 9, 3, (1, 1), (1, 1, 1, 1), True, True, True, None),
    ("resnet-short-1x1", 2, 8, 16, 4, 5, 1, (1, 1), (0, 0, 0, 0), True, False, False, None),
    ("resnet-stem-pool3x3-same", 2, 16, 16, 8, 10, 3, (1, 1), (1, 1, 1, 1), True, False, True,
     Pool(3, 3, 2, 2, same=True)),
    ("stem-pool3x3-same-odd", 2, 16, 16, 7, 9, 3, (1, 1), (1, 1, 1, 1), True, False, True,
     Pool(3, 3, 2, 2, same=True)),
    ("pool3x3-explicit-pads", 2, 16, 16, 8, 10, 3, (1, 1), (1, 1, 1, 1), True, False, True,
     Pool(3, 3, 2, 2, (1, 1, 1, 1))),
    ("odd-width-pool-same", 1, 16, 16, 4, 7, 3, (1, 1), (1, 1, 1, 1), False, False, True,
     Pool(2, 2, 2, 2, same=True)),
    ("b1-bn-pool", 1, 3, 4, 6, 6, 3, (1, 1), (1, 1, 1, 1), True, False, True, Pool(2, 2, 2, 2)),
    ("conv-relu-no-bn", 2, 16, 16, 5, 7, 3, (1, 1), (1, 1, 1, 1), False, False, True, None),
    ("residual-bn-no-relu", 2, 16, 16, 3, 11, 3, (1, 1), (1, 1, 1, 1), True, True, False, None),
    # wide enough for the vectorized unpool (8 windows at a time) and its remainder
    ("pool2x2-wide-same-odd", 2, 16, 16, 7, 37, 3, (1, 1), (1, 1, 1, 1), True, False, True,
     Pool(2, 2, 2, 2, same=True)),
    ("pool2x1-wide", 2, 16, 16, 8, 21, 3, (1, 1), (1, 1, 1, 1), False, False, True,
     Pool(2, 1, 2, 1)),
    ("pool2x2-bn-no-relu", 1, 16, 16, 4, 32, 3, (1, 1), (1, 1, 1, 1), True, False, False,
     Pool(2, 2, 2, 2)),
]  # fmt: skip
IDS = [c[0] for c in CASES]
EPS, MOMENTUM = 1e-4, 0.9


class Block:
    """Seeded inputs of one case, the aot arguments and the reference's results."""

    def __init__(self, case, rng) -> None:
        _, B, ci, co, H, W, k, stride, pads, bn, res, relu, pool = case
        self.spec = BlockSpec(stride, pads, bn, res, relu, pool, EPS, MOMENTUM)
        self.x = rng.uniform(-1, 1, (B, ci, H, W)).astype(np.float32)
        self.w = (rng.standard_normal((co, ci, k, k)) * np.sqrt(2 / (ci * k * k))).astype(
            np.float32
        )
        self.b = rng.uniform(-0.5, 0.5, co).astype(np.float32)
        self.bn = BatchNorm(
            rng.uniform(0.5, 1.5, co).astype(np.float32),
            rng.uniform(-0.3, 0.3, co).astype(np.float32),
            rng.uniform(-0.1, 0.1, co).astype(np.float32),
            rng.uniform(0.5, 2.0, co).astype(np.float32),
            EPS,
            MOMENTUM,
        )
        ho = (H + pads[0] + pads[1] - k) // stride[0] + 1
        wo = (W + pads[2] + pads[3] - k) // stride[1] + 1
        self.r = rng.uniform(-1, 1, (B, co, ho, wo)).astype(np.float32) if res else None
        self.ref = conv_block_forward(
            self.x, self.w, self.b, self.bn if bn else None, self.r, relu, pool, stride, pads
        )
        self.dy = rng.standard_normal(self.ref.y.shape).astype(np.float32)
        self.grads = conv_block_backward(
            self.dy, self.x, self.w, self.bn if bn else None, self.ref, relu, pool, stride,
            pads, res,
        )  # fmt: skip

    def config(self) -> list[np.ndarray]:
        return [t.asnumpy() for t in self.spec.tensors()]

    def r_or_stand_in(self) -> np.ndarray:
        return self.r if self.r is not None else np.zeros((1, 1), np.float32)


def nan(shape) -> np.ndarray:
    return np.full(shape, np.nan, np.float32)


def run_forward(blk: Block) -> list[np.ndarray]:
    co = blk.w.shape[0]
    outs = [nan(blk.ref.y.shape), nan(blk.ref.z.shape)] + [nan(co) for _ in range(4)]
    ins = [blk.x, blk.w, blk.b, *blk.bn[:4], blk.r_or_stand_in(), *blk.config()]
    rc = aot_harness.call("crnn_aot_conv_block_forward", ins + outs)
    assert rc == 0, aot_harness.last_error()
    return outs


def run_backward(blk: Block, fwd: list[np.ndarray]) -> list[np.ndarray]:
    co = blk.w.shape[0]
    r = blk.r_or_stand_in()
    outs = [nan(blk.x.shape), nan(blk.w.shape), nan(co), nan(co), nan(co), nan(r.shape)]
    ins = [blk.x, blk.w, blk.bn.gamma, blk.bn.beta, r, fwd[1], fwd[2], fwd[3], blk.dy]
    rc = aot_harness.call("crnn_aot_conv_block_backward", ins + blk.config() + outs)
    assert rc == 0, aot_harness.last_error()
    return outs


def close(got: np.ndarray, want: np.ndarray, bound: float, name: str) -> None:
    want = np.asarray(want, np.float64)
    assert np.isfinite(got).all(), f"{name}: non-finite output"
    err = np.abs(got - want).max() if want.size else 0.0
    assert err <= bound * (1 + np.abs(want).max()), f"{name}: max error {err:.3g}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_block_forward_matches_reference(case, rng):
    blk = Block(case, rng)
    y, z, mean, invstd, mm, mv = run_forward(blk)
    close(y, blk.ref.y, 2e-5, "y")
    close(z, blk.ref.z, 2e-5, "z")
    if blk.spec.batch_norm:
        close(mean, blk.ref.mean, 2e-5, "mean")
        close(invstd, blk.ref.invstd, 2e-5, "invstd")
        close(mm, blk.ref.moving_mean, 2e-5, "moving_mean")
        close(mv, blk.ref.moving_var, 2e-5, "moving_var")
    else:  # the moving statistics pass through unchanged
        np.testing.assert_array_equal(mm, blk.bn.moving_mean)
        np.testing.assert_array_equal(mv, blk.bn.moving_var)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv_block_backward_matches_reference(case, rng):
    blk = Block(case, rng)
    dx, dw, db, dgamma, dbeta, dr = run_backward(blk, run_forward(blk))
    g = blk.grads
    close(dx, g.d_x, 1e-4, "dx")
    close(dw, g.d_w, 1e-4, "dw")
    close(db, g.d_b, 1e-4, "db")
    if blk.spec.batch_norm:
        close(dgamma, g.d_gamma, 1e-4, "dgamma")
        close(dbeta, g.d_beta, 1e-4, "dbeta")
    else:
        assert not dgamma.any() and not dbeta.any()
    if blk.spec.residual:
        close(dr, g.d_r, 1e-4, "dr")
    else:
        assert not dr.any()


@pytest.mark.parametrize("case", [CASES[1], CASES[5], CASES[7]], ids=[IDS[1], IDS[5], IDS[7]])
def test_reference_gradients_match_finite_differences(case):
    """sum(y * dy) of the float64 reference, central differences at a few entries."""
    blk = Block(case, np.random.default_rng(11))
    spec, x64 = blk.spec, blk.x.astype(np.float64)
    bn64 = BatchNorm(*(np.asarray(v, np.float64) for v in blk.bn[:4]), EPS, MOMENTUM)

    def loss(x=x64, w=blk.w, gamma=bn64.gamma, beta=bn64.beta, r=blk.r) -> float:
        bn = bn64._replace(gamma=gamma, beta=beta) if spec.batch_norm else None
        f = conv_block_forward(x, w, blk.b, bn, r, spec.relu, spec.pool, spec.stride, spec.pads)
        return float((f.y * blk.dy).sum())

    rng = np.random.default_rng(3)
    targets = {"x": (x64, blk.grads.d_x), "w": (blk.w.astype(np.float64), blk.grads.d_w)}
    if spec.batch_norm:
        targets |= {"gamma": (bn64.gamma, blk.grads.d_gamma), "beta": (bn64.beta, blk.grads.d_beta)}
    if spec.residual:
        targets["r"] = (blk.r.astype(np.float64), blk.grads.d_r)
    h = 1e-6
    for name, (value, grad) in targets.items():
        for _ in range(4):
            i = tuple(rng.integers(0, s) for s in value.shape)
            plus, minus = value.copy(), value.copy()
            plus[i] += h
            minus[i] -= h
            fd = (loss(**{name: plus}) - loss(**{name: minus})) / (2 * h)
            assert abs(fd - grad[i]) <= 1e-5 * (1 + abs(grad[i])), (name, i, fd, grad[i])


def call_forward(blk: Block, spec: BlockSpec, x=None) -> tuple[int, str]:
    co = blk.w.shape[0]
    outs = [nan(blk.ref.y.shape), nan(blk.ref.z.shape)] + [nan(co) for _ in range(4)]
    cfg = [t.asnumpy() for t in spec.tensors()]
    ins = [blk.x if x is None else x, blk.w, blk.b, *blk.bn[:4], blk.r_or_stand_in(), *cfg]
    rc = aot_harness.call("crnn_aot_conv_block_forward", ins + outs)
    return rc, aot_harness.last_error()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"eps": 0.0}, "eps must be > 0"),
        ({"momentum": 1.5}, "momentum must be in [0, 1]"),
        ({"pool": Pool(2, 2, 2, 2), "residual": True}, "cannot have a pool"),
        ({"pool": Pool(2, 2, 2, 2, (2, 0, 0, 0))}, "pool padding must be in [0, window)"),
        ({"pool": Pool(9, 9, 1, 1)}, "does not fit"),
    ],
)
def test_conv_block_bad_configuration_is_an_error_naming_it(change, message, rng):
    blk = Block(CASES[1], rng)
    rc, err = call_forward(blk, blk.spec._replace(**change))
    assert rc != 0 and message in err


def test_conv_block_rejects_non_finite_x_and_a_single_value_per_channel(rng):
    blk = Block(CASES[1], rng)
    x = blk.x.copy()
    x[0, 0, 0, 0] = np.nan
    rc, err = call_forward(blk, blk.spec, x)
    assert rc != 0 and "x" in err and "NaN" in err
    rc, err = call_forward(blk, blk.spec, np.ones((1, 3, 1, 1), np.float32))  # B H_out W_out = 1
    assert rc != 0 and "more than 1 value per channel" in err
