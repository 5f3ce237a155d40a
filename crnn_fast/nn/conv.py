"""``crnn_fast.nn.Conv2d``: a drop-in ``mindspore.nn.Conv2d`` running crnn_fast's conv kernels.

It *is* a ``mindspore.nn.Conv2d`` (subclass): same constructor and parameters (``weight``,
``bias``), so checkpoints load both ways; only ``construct`` differs. NCHW only; ``pad_mode``
"pad" and "valid" always, "same" when its padding does not depend on the input size (stride 1,
the CRNN backbones' case). Other configurations (NHWC, "same" with stride > 1) run the stock
layer, with the reason logged once at construction. float16 inputs or parameters are computed
in float32 inside and the output is cast back to the input's dtype.
"""

from __future__ import annotations

import logging

from mindspore import dtype as mstype
from mindspore import nn

from .. import registry
from ..ops import _custom as c
from ..ops.conv2d import Conv2dOp
from ._params import adopt_parameters

log = logging.getLogger("crnn_fast")


def _last_two(v) -> tuple[int, int]:
    t = (v, v) if isinstance(v, int) else tuple(v)
    return int(t[-2]), int(t[-1])  # MindSpore also accepts (1, 1, s_h, s_w)


def _fused_pads(layer: nn.Conv2d, kernel, stride, dilation):
    """(top, bottom, left, right) if the fused op can run this layer, else None and a reason."""
    if layer.data_format != "NCHW":
        return None, f"data_format {layer.data_format!r}"
    if layer.pad_mode == "valid":
        return (0, 0, 0, 0), ""
    if layer.pad_mode == "pad":
        p = layer.padding
        p = (p,) * 4 if isinstance(p, int) else tuple(p)
        return (p * 2 if len(p) == 2 else p), ""
    if stride != (1, 1):
        return None, "pad_mode 'same' with stride > 1 (padding depends on the input size)"
    tot = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return (tot[0] // 2, tot[0] - tot[0] // 2, tot[1] // 2, tot[1] - tot[1] // 2), ""


class Conv2d(c.EagerCheckCell, nn.Conv2d):
    """Drop-in ``mindspore.nn.Conv2d`` (see the module docstring). x (B, C_in, H, W) ->
    y (B, C_out, H_out, W_out)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.backend = registry.active()
        kernel = tuple(self.weight.shape[2:])
        stride, dilation = _last_two(self.stride), _last_two(self.dilation)
        pads, why = _fused_pads(self, kernel, stride, dilation)
        # (a backend without conv kernels -- the accelerators' -- runs the framework's own)
        stock = registry.is_stock(self.backend) or not (
            c.has_aot(self.backend, "conv2d_forward")
            if registry.ms_ops(self.backend) == "aot"
            else registry.implements(self.backend, "conv2d_forward")
        )
        self.use_stock = stock or pads is None
        if pads is None and not stock:
            log.info("crnn_fast.nn.Conv2d runs the stock op for this layer: %s", why)
        if not self.use_stock:
            self.fused = Conv2dOp(stride, pads, dilation, self.group, backend=self.backend)

    @classmethod
    def from_stock(cls, stock: nn.Conv2d) -> Conv2d:
        """A crnn_fast Conv2d sharing ``stock``'s configuration and Parameter objects."""
        new = cls(
            stock.in_channels,
            stock.out_channels,
            tuple(stock.weight.shape[2:]),
            stride=stock.stride,
            pad_mode=stock.pad_mode,
            padding=stock.padding,
            dilation=stock.dilation,
            group=stock.group,
            has_bias=stock.has_bias,
            data_format=stock.data_format,
            dtype=stock.weight.dtype,
        )
        adopt_parameters(new, stock, ("weight", "bias") if stock.has_bias else ("weight",))
        return new

    def construct(self, x):
        if self.use_stock:
            return nn.Conv2d.construct(self, x)
        dtype = x.dtype
        if dtype != mstype.float32:
            x = x.astype(mstype.float32)
        w = self.weight
        if w.dtype != mstype.float32:
            w = w.astype(mstype.float32)
        if self.has_bias:
            b = self.bias
            if b.dtype != mstype.float32:
                b = b.astype(mstype.float32)
            y = self.fused(x, w, b)
        else:
            y = self.fused(x, w)
        return y if dtype == mstype.float32 else y.astype(dtype)
