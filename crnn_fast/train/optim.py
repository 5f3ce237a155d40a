"""MindOCR's AdamW (decoupled weight decay, bias-corrected moments) and its parameter groups.

Per parameter p with gradient g at step t (MINDOCR_CRNN.md s6):
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    p -= lr (m / (1 - b1^t) / (eps + sqrt(v / (1 - b2^t))) + wd p)
(eps outside the square root; wd only for parameters in a decayed group). MindSpore's own
``nn.AdamWeightDecay`` differs: no bias correction; its fused kernel runs the update here,
with the bias corrections folded into its lr, eps and decay (``_update``). ``param_groups``
applies MindOCR's ``filter_bias_and_bn``: names containing "beta", "gamma" or "bias" get no
weight decay. On a backend with the multi-tensor step (``cpu``; crnn_fast/ops/adamw.py) the
same update, bit for bit, runs for all parameters in one op.
"""

from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, nn, ops
from mindspore import dtype as mstype

from .. import registry
from ..ops.adamw import adamw_step_op, has_adamw_step

__all__ = ["AdamW", "build_optimizer", "param_groups"]

_adamw = ops.MultitypeFuncGraph("crnn_fast_adamw")


_fused_adam = ops.AdamWeightDecay()


@_adamw.register("Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor", "Tensor",
                 "Tensor", "Tensor", "Tensor")  # fmt: skip
def _update(b1, b2, lr_scale, eps_t, wd_scale, lr, wd, param, m, v, g):
    """MindOCR's bias-corrected update through MindSpore's fused in-place AdamWeightDecay
    kernel (one pass over p, m, v, g instead of a dozen element-wise ops), whose update is
    p -= lr_t (m / (sqrt(v) + eps_t) + wd_t p), without bias correction. With
    lr_t = lr sqrt(c2) / c1, eps_t = eps sqrt(c2) and wd_t = wd c1 / sqrt(c2) that is
    p -= lr (m / c1 / (eps + sqrt(v / c2)) + wd p), MindOCR's update."""
    g = ops.cast(g, mstype.float32)
    return _fused_adam(param, m, v, lr * lr_scale, b1, b2, eps_t, wd * wd_scale, g)


class AdamW(nn.Optimizer):
    """AdamW as MindOCR's (module docstring). ``params``: a list of Parameters or MindSpore
    group dicts ({'params': [...], 'weight_decay': float}); ``learning_rate``: float, list of
    per-step values or a LearningRateSchedule."""

    def __init__(
        self,
        params,
        learning_rate=1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        super().__init__(learning_rate, params, weight_decay)
        if not (0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0 and eps > 0.0):
            raise ValueError(f"need 0 <= beta1, beta2 < 1 and eps > 0, got {beta1}, {beta2}, {eps}")
        f32 = lambda x: Tensor(np.float32(x))  # noqa: E731
        self.b1, self.b2, self.eps = f32(beta1), f32(beta2), f32(eps)
        self.b1_power = Parameter(f32(1.0), name="beta1_power")
        self.b2_power = Parameter(f32(1.0), name="beta2_power")
        self.moments1 = self._parameters.clone(prefix="adam_m", init="zeros")
        self.moments2 = self._parameters.clone(prefix="adam_v", init="zeros")
        n = len(self._parameters)
        wd = self.weight_decay if self.is_group else (self.weight_decay,) * n
        self.wd = tuple(f32(w) for w in wd)
        # the multi-tensor step (fused: None = where the backend has it, float32 parameters)
        backend = registry.active()
        usable = not registry.is_stock(backend) and has_adamw_step(backend)
        usable = usable and all(p.dtype == mstype.float32 for p in self._parameters)
        if fused and not usable:
            raise ValueError(f"the fused AdamW step needs float32 parameters and the cpu backend "
                             f"(active: {backend!r})")  # fmt: skip
        self.fused = usable if fused is None else bool(fused)
        if self.fused:
            self.step_op = adamw_step_op(backend)
            wd_float = [float(np.asarray(w.asnumpy() if isinstance(w, Tensor) else w)) for w in wd]
            distinct = sorted(set(wd_float))  # Python floats: Tensors would sort by MindSpore ops
            self.wd_values = tuple(f32(w) for w in distinct)
            self.wd_index = tuple(distinct.index(w) for w in wd_float)

    def construct(self, gradients):
        lr = self.get_lr()
        self.assignadd(self.global_step, self.global_step_increase_tensor)
        b1p = self.b1_power * self.b1
        b2p = self.b2_power * self.b2
        ops.assign(self.b1_power, b1p)
        ops.assign(self.b2_power, b2p)
        c1, c2 = 1.0 - b1p, 1.0 - b2p
        root_c2 = ops.sqrt(c2)
        lr_scale, eps_t, wd_scale = root_c2 / c1, self.eps * root_c2, c1 / root_c2
        if self.fused:
            return self._fused_step(lr, lr_scale, eps_t, wd_scale, gradients)
        if self.is_group_lr:
            return self.hyper_map(
                ops.partial(_adamw, self.b1, self.b2, lr_scale, eps_t, wd_scale),
                lr, self.wd, self._parameters, self.moments1, self.moments2, gradients,
            )  # fmt: skip
        return self.hyper_map(
            ops.partial(_adamw, self.b1, self.b2, lr_scale, eps_t, wd_scale, lr),
            self.wd, self._parameters, self.moments1, self.moments2, gradients,
        )  # fmt: skip

    def _fused_step(self, lr, lr_scale, eps_t, wd_scale, gradients):
        """All parameters in one op, with the per-tensor scalars of ``_update`` (the same
        float32 products, each computed once)."""
        if self.is_group_lr:
            lrs = tuple(x * lr_scale for x in lr)
        else:
            lr_t = lr * lr_scale
            lrs = tuple(lr_t for _ in self.wd_index)
        wds = tuple(w * wd_scale for w in self.wd_values)
        wd_per = tuple(wds[i] for i in self.wd_index)
        return self.step_op(
            *self._parameters, *self.moments1, *self.moments2, *gradients,
            *lrs, *wd_per, self.b1, self.b2, eps_t,
        )  # fmt: skip


def param_groups(params: list[Parameter], weight_decay: float, filter_bias_and_bn: bool) -> list:
    """MindOCR's groups: [{'params': decayed, 'weight_decay': wd}, {'params': rest, 0.0}]."""
    if not filter_bias_and_bn:
        return [{"params": list(params), "weight_decay": weight_decay}]
    skip = ("beta", "gamma", "bias")
    decay = [p for p in params if not any(k in p.name for k in skip)]
    rest = [p for p in params if any(k in p.name for k in skip)]
    groups = [{"params": decay, "weight_decay": weight_decay}]
    return groups + ([{"params": rest, "weight_decay": 0.0}] if rest else [])


def build_optimizer(section: dict, params: list[Parameter], lr) -> nn.Optimizer:
    """The optimizer of a MindOCR ``optimizer:`` section (``opt: adamw`` | ``adam`` |
    ``momentum``), over ``params`` with learning rate ``lr`` (float or per-step list)."""
    name = str(section.get("opt", "adamw")).lower()
    wd = float(section.get("weight_decay", 0.0))
    groups = param_groups(params, wd, bool(section.get("filter_bias_and_bn", True)))
    if name == "adamw":
        b1, b2 = float(section.get("beta1", 0.9)), float(section.get("beta2", 0.999))
        return AdamW(groups, lr, b1, b2, float(section.get("eps", 1e-8)))
    if name == "adam":
        return nn.Adam(groups, lr)
    if name in ("momentum", "sgd"):
        return nn.Momentum(groups, lr, float(section.get("momentum", 0.9)),
                           use_nesterov=bool(section.get("nesterov", False)))  # fmt: skip
    raise ValueError(f"optimizer {name!r} is not supported (adamw, adam, momentum)")
