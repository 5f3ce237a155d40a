"""MindOCR's VGG7 and ResNet34_vd backbones in training mode, in float64 NumPy, composed from
the conv-block reference (crnn_fast/reference/conv_block.py): features and the gradients of
sum(features * d_f) w.r.t. every trainable parameter, keyed by the models' parameter names
without the ``backbone.`` prefix. The oracle of the fused training blocks at the model level."""

from __future__ import annotations

from typing import Callable

import numpy as np

from crnn_fast.reference.conv_block import (
    BatchNorm,
    Pool,
    conv_block_backward,
    conv_block_forward,
)

Params = dict[str, np.ndarray]
P2, P21 = Pool(2, 2, 2, 2, same=True), Pool(2, 1, 2, 1, same=True)
STEM = Pool(3, 3, 2, 2, same=True)
BN_KEYS = ("gamma", "beta", "moving_mean", "moving_variance")


class Tape:
    """Forward ops recorded with their backward closures, run in reverse by ``backward``."""

    def __init__(self, params: Params) -> None:
        self.p, self.grads = params, {}
        self.back: list[Callable[[dict], None]] = []

    def block(self, name, x, bn_eps=None, relu=True, pool=None, stride=(1, 1), pad=1, r=None,
              bias=False, vd=None):  # fmt: skip
        """conv -> [bn] -> [+ r] -> [relu] -> [pool]; ``vd``: an avg-pool (s_h, 1) before."""
        p = self.p
        x_in = x
        if vd is not None:
            x = x.reshape(x.shape[0], x.shape[1], x.shape[2] // vd, vd, x.shape[3]).mean(axis=3)
        w = p[f"{name}.conv.weight"]
        b = p[f"{name}.conv.bias"] if bias else None
        bn = None
        if bn_eps is not None:
            key = "bn" if bias else "norm"
            bn = BatchNorm(*(p[f"{name}.{key}.{k}"] for k in BN_KEYS), bn_eps, 0.9)
        pads = (pad,) * 4
        fwd = conv_block_forward(x, w, b, bn, r, relu, pool, stride, pads)

        def back(d: dict) -> None:
            g = conv_block_backward(d[id(fwd.y)], x, w, bn, fwd, relu, pool, stride, pads,
                                    r is not None)  # fmt: skip
            self.grads[f"{name}.conv.weight"] = g.d_w
            if bias:
                self.grads[f"{name}.conv.bias"] = g.d_b
            if bn is not None:
                key = "bn" if bias else "norm"
                self.grads[f"{name}.{key}.gamma"] = g.d_gamma
                self.grads[f"{name}.{key}.beta"] = g.d_beta
            dx = g.d_x
            if vd is not None:
                dx = np.repeat(dx / vd, vd, axis=2)
            add(d, x_in, dx)
            if r is not None:
                add(d, r, g.d_r)

        self.back.append(back)
        return fwd.y

    def backward(self, y: np.ndarray, d_y: np.ndarray) -> Params:
        d = {id(y): np.asarray(d_y, np.float64)}
        for back in reversed(self.back):
            back(d)
        return self.grads


def add(d: dict, t: np.ndarray, g: np.ndarray) -> None:
    d[id(t)] = d[id(t)] + g if id(t) in d else g


def vgg7(x: np.ndarray, p: Params, tape: Tape) -> np.ndarray:
    t = tape
    x = t.block("conv1", x, bias=True, pool=P2)
    x = t.block("conv2", x, bias=True, pool=P2)
    x = t.block("conv3", x, bn_eps=1e-4, bias=True)
    x = t.block("conv4", x, bias=True, pool=P21)
    x = t.block("conv5", x, bn_eps=1e-4, bias=True)
    x = t.block("conv6", x, bias=True, pool=P21)
    return t.block("conv7", x, bn_eps=1e-4, bias=True, pad=0)


def resnet34_vd(x: np.ndarray, p: Params, tape: Tape) -> np.ndarray:
    t, e = tape, 1e-5
    x = t.block("conv1_1", x, bn_eps=e)
    x = t.block("conv1_2", x, bn_eps=e)
    x = t.block("conv1_3", x, bn_eps=e, pool=STEM)
    i = 0
    for stage, depth in enumerate((3, 4, 6, 3)):
        for j in range(depth):
            stride = (2, 1) if j == 0 and stage != 0 else (1, 1)
            name = f"block_list.{i}"
            y = t.block(f"{name}.conv0", x, bn_eps=e, stride=stride)
            if j == 0:
                short = t.block(f"{name}.short", x, bn_eps=e, relu=False, pad=0,
                                vd=2 if stage != 0 else None)  # fmt: skip
            else:
                short = x
            x = t.block(f"{name}.conv1", y, bn_eps=e, r=short)
            i += 1
    return x  # before the final max-pool (run by the caller)


def run(model: str, x: np.ndarray, params: Params, d_f: np.ndarray) -> tuple[np.ndarray, Params]:
    """(features (B, 512, 1, T), gradients) of the backbone ``model`` ("vgg7" | "resnet34")."""
    tape = Tape({k: np.asarray(v, np.float64) for k, v in params.items()})
    x = np.asarray(x, np.float64)
    if model == "vgg7":
        f = vgg7(x, params, tape)
        return f, tape.backward(f, d_f)
    from crnn_fast.reference.conv_block import max_pool, max_pool_backward

    h = resnet34_vd(x, params, tape)
    f = max_pool(h, P2)
    return f, tape.backward(h, max_pool_backward(np.asarray(d_f, np.float64), h, P2))
