"""The native inference program: a CRNN's checkpoint parameters -> ``crnn_fast._C.InferNet``.

``build_net(params)`` reads MindOCR's parameter names (``MINDOCR_CRNN.md``; the checkpoint's,
with or without the ``backbone.`` / ``neck.`` / ``head.`` prefixes' parents) as NumPy arrays,
folds every BatchNorm into its conv (float64, as ``crnn_fast.nn.fold_conv_bn``: w' = w s,
b' = (b - mean) s + beta, s = gamma / sqrt(var + eps)) and lays the model out as the native
program (``kernels/cpu/infer_net.h``): conv blocks over activation slots, the LSTM stack, the
head (MindOCR's two-layer head folded into one dense layer), softmax and greedy decoding, all in
one ``_C`` call per batch. No MindSpore is imported: the arrays may come from a checkpoint
(``crnn_fast.infer.Recognizer.from_checkpoint``) or from ``crnn-fast export --format crnn``.

The backbone is recognised from the names: ``backbone.conv1.conv.weight`` -> MindOCR's VGG7,
``backbone.conv1_1.conv.weight`` -> ResNet34_vd. Their layouts are ``crnn_fast/models/rec_vgg.py``
and ``rec_resnet.py``: the BatchNorm epsilons, paddings and pools below are theirs, and
``tests/infer/test_native.py`` checks the program against those MindSpore models.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["VGG_BN_EPS", "RESNET_BN_EPS", "backbone_of", "build_net", "fold_conv"]

VGG_BN_EPS = 1e-4  # rec_vgg.VGGConvBlock's BatchNorm2d
RESNET_BN_EPS = 1e-5  # rec_resnet.ConvNormLayer's BatchNorm2d
_VGG_POOLS = {"conv1": (2, 2, 2, 2), "conv2": (2, 2, 2, 2), "conv4": (2, 1, 2, 1),
              "conv6": (2, 1, 2, 1)}  # fmt: skip


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def fold_conv(
    params: Mapping[str, np.ndarray], conv: str, bn: str | None, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(w', b') float32 of ``conv`` (``<conv>.weight``, optional ``<conv>.bias``) followed by the
    inference BatchNorm ``bn`` (``<bn>.gamma / beta / moving_mean / moving_variance``; None: no
    BatchNorm)."""
    w = np.asarray(params[f"{conv}.weight"], np.float64)
    b = np.asarray(params.get(f"{conv}.bias", np.zeros(w.shape[0])), np.float64)
    if bn is None or f"{bn}.gamma" not in params:
        return _f32(w), _f32(b)
    mean, var, gamma, beta = (
        np.asarray(params[f"{bn}.{k}"], np.float64)
        for k in ("moving_mean", "moving_variance", "gamma", "beta")
    )
    s = gamma / np.sqrt(var + eps)
    return _f32(w * s[:, None, None, None]), _f32((b - mean) * s + beta)


def backbone_of(params: Mapping[str, np.ndarray]) -> str:
    """``rec_vgg7`` or ``rec_resnet34`` from the parameter names; ValueError otherwise."""
    if "backbone.conv1.conv.weight" in params:
        return "rec_vgg7"
    if "backbone.conv1_1.conv.weight" in params:
        return "rec_resnet34"
    raise ValueError(
        "params: no MindOCR CRNN backbone found (expected backbone.conv1.conv.weight for VGG7 "
        "or backbone.conv1_1.conv.weight for ResNet34_vd)"
    )


class _Slots:
    """Activation slots: 0 is the input; ``free(*busy)`` is the lowest slot >= 1 not in busy."""

    @staticmethod
    def free(*busy: int) -> int:
        s = 1
        while s in busy:
            s += 1
        return s


def _conv(net, params, name, inp, out, *, relu=True, res=-1, stride=(1, 1), pool=None,
          same_pad=True):  # fmt: skip
    """One conv block: VGG7's ``<name>.conv`` / ``.bn`` or ResNet34_vd's ``.conv`` / ``.norm``."""
    vgg = f"{name}.norm.gamma" not in params
    w, b = fold_conv(params, f"{name}.conv", f"{name}.bn" if vgg else f"{name}.norm",
                     VGG_BN_EPS if vgg else RESNET_BN_EPS)  # fmt: skip
    p = (w.shape[2] - 1) // 2 if same_pad else 0
    net.add_conv(inp, out, res, w, b, stride, (p, p, p, p), relu, pool)
    net.name_last(name.removeprefix("backbone."))


def _vgg7(net, params) -> int:
    cur = 0
    for i in range(1, 8):
        name = f"backbone.conv{i}"
        out = _Slots.free(cur)
        _conv(net, params, name, cur, out, pool=_VGG_POOLS.get(f"conv{i}"),
              same_pad=i < 7)  # fmt: skip
        cur = out
    return cur


def _resnet34(net, params) -> int:
    cur = 0
    for i, name in enumerate(("conv1_1", "conv1_2", "conv1_3")):
        out = _Slots.free(cur)
        _conv(net, params, f"backbone.{name}", cur, out, pool=(3, 3, 2, 2) if i == 2 else None)
        cur = out
    i = 0
    while f"backbone.block_list.{i}.conv0.conv.weight" in params:
        blk = f"backbone.block_list.{i}"
        c_in, c_out = (params[f"{blk}.conv0.conv.weight"].shape[k] for k in (1, 0))
        stride = (2, 1) if c_in != c_out else (1, 1)  # the first block of stages 2-4
        mid = _Slots.free(cur)
        _conv(net, params, f"{blk}.conv0", cur, mid, stride=stride)
        res = cur
        if f"{blk}.short.conv.weight" in params:
            src = cur
            if stride != (1, 1):  # 'vd' shortcut: AvgPool(stride) then a 1x1 conv
                src = _Slots.free(cur, mid)
                net.add_pool(cur, src, True, stride, stride)
                net.name_last(f"{blk.removeprefix('backbone.')}.short.pool")
            res = _Slots.free(cur, mid, src)
            _conv(net, params, f"{blk}.short", src, res, relu=False)
        out = _Slots.free(mid, res)
        _conv(net, params, f"{blk}.conv1", mid, out, res=res)
        cur, i = out, i + 1
    if i == 0:
        raise ValueError("params: ResNet34_vd backbone without backbone.block_list.* weights")
    out = _Slots.free(cur)
    net.add_pool(cur, out, False, (2, 2), (2, 2))
    net.name_last("maxpool2d_2")
    return out


def _lstm(net, params, prefix="neck.seq_encoder") -> int:
    layers, D = 0, 2 if f"{prefix}.weight_ih_l0_reverse" in params else 1
    while f"{prefix}.weight_ih_l{layers}" in params:
        layers += 1
    if layers == 0:
        raise ValueError(f"params: no LSTM weights ({prefix}.weight_ih_l0)")
    weights = []
    for layer in range(layers):
        for sfx in ("", "_reverse")[:D]:
            names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            weights.append(tuple(_f32(params[f"{prefix}.{k}_l{layer}{sfx}"]) for k in names))
    H = weights[0][1].shape[1]
    net.set_lstm(H, layers, D == 2, weights, weights[0][0].shape[1])
    return D * H


def _head(net, params) -> None:
    w = np.asarray(params["head.dense1.weight"], np.float64)
    b = np.asarray(params["head.dense1.bias"], np.float64)
    if "head.dense2.weight" in params:  # no activation between (MindOCR's CTCHead)
        w2 = np.asarray(params["head.dense2.weight"], np.float64)
        b = w2 @ b + np.asarray(params["head.dense2.bias"], np.float64)
        w = w2 @ w
    net.set_head(_f32(w), _f32(b))


def build_net(params: Mapping[str, np.ndarray]):
    """The ``crnn_fast._C.InferNet`` of a MindOCR CRNN (VGG7 or ResNet34_vd backbone,
    ``RNNEncoder`` neck, ``CTCHead``) from its parameters: name -> array, as in the checkpoint
    (module docstring). Raises ValueError for a missing or misshapen parameter."""
    from .. import _C

    net = _C.InferNet()
    try:
        (_vgg7 if backbone_of(params) == "rec_vgg7" else _resnet34)(net, params)
        _lstm(net, params)
        _head(net, params)
    except KeyError as e:
        raise ValueError(f"params: missing parameter {e.args[0]}") from None
    return net
