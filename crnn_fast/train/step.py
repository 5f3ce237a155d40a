"""One training step as a Cell (GRAPH or PYNATIVE): loss scaling, gradient all-reduce for data
parallel, unscaling, overflow check, optional global-norm clipping, optimizer update.

``TrainStep(net_with_loss, optimizer, loss_scale=1024.0, dynamic=False, clip_norm=0.0,
drop_overflow_update=False)(*inputs) -> (loss, finite, scale)``. As MindOCR's train wrapper: the
loss is multiplied by the scale before differentiation and the gradients divided by it before the
optimizer; with ``drop_overflow_update=False`` (the CRNN recipes) the update runs even when a
gradient is not finite. ``dynamic=True`` halves the scale on overflow and doubles it after
``scale_window`` finite steps (MindSpore's DynamicLossScaleUpdateCell rule). The finite flag
is computed only when something reads it (a dynamic scale or ``drop_overflow_update``); it is
True otherwise.
"""

from __future__ import annotations

import numpy as np
from mindspore import Parameter, Tensor, context, nn, ops
from mindspore.context import ParallelMode

__all__ = ["TrainStep"]

_unscale = ops.MultitypeFuncGraph("crnn_fast_unscale")


@_unscale.register("Tensor", "Tensor")
def _unscale_one(inv_scale, g):
    return g * ops.cast(inv_scale, g.dtype)


_finite = ops.MultitypeFuncGraph("crnn_fast_finite")


@_finite.register("Tensor")
def _finite_one(g):
    return ops.isfinite(g).all()


class TrainStep(nn.Cell):
    """See the module docstring. ``net_with_loss(*inputs)`` returns a scalar loss."""

    def __init__(
        self,
        net_with_loss: nn.Cell,
        optimizer: nn.Optimizer,
        loss_scale: float = 1.0,
        dynamic: bool = False,
        scale_factor: float = 2.0,
        scale_window: int = 1000,
        clip_norm: float = 0.0,
        drop_overflow_update: bool = False,
    ) -> None:
        super().__init__(auto_prefix=False)
        self.network = net_with_loss
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = optimizer.parameters
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        f32 = lambda x: Tensor(np.float32(x))  # noqa: E731
        self.scale = Parameter(f32(loss_scale), name="loss_scale", requires_grad=False)
        self.good_steps = Parameter(f32(0), name="loss_scale_good_steps", requires_grad=False)
        self.dynamic, self.factor, self.window = dynamic, f32(scale_factor), f32(scale_window)
        self.clip, self.clip_norm = clip_norm > 0, float(clip_norm)
        self.drop_overflow_update = drop_overflow_update
        self.check_finite = dynamic or drop_overflow_update  # else nothing reads the flag
        self.all_finite = Tensor(True)
        self.hyper_map = ops.HyperMap()
        mode = context.get_auto_parallel_context("parallel_mode")
        self.reduce = mode in (ParallelMode.DATA_PARALLEL, ParallelMode.HYBRID_PARALLEL)
        if self.reduce:
            self.reducer = nn.DistributedGradReducer(self.weights, mean=True)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        scale = self.scale
        sens = ops.ones_like(loss) * ops.cast(scale, loss.dtype)
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        if self.reduce:
            grads = self.reducer(grads)
        grads = self.hyper_map(ops.partial(_unscale, 1.0 / scale), grads)
        finite = self.all_finite
        if self.check_finite:
            finite = ops.stack(self.hyper_map(_finite, grads)).all()
        if self.dynamic:
            good = ops.select(finite, self.good_steps + 1.0, ops.zeros_like(self.good_steps))
            grow = good >= self.window
            new_scale = ops.select(finite, ops.select(grow, scale * self.factor, scale),
                                   ops.maximum(scale / self.factor, 1.0))  # fmt: skip
            ops.assign(self.good_steps, ops.select(grow, ops.zeros_like(good), good))
            ops.assign(self.scale, new_scale)
        if self.clip:
            grads = ops.clip_by_global_norm(grads, self.clip_norm)
        if self.drop_overflow_update:
            if finite:
                loss = ops.depend(loss, self.optimizer(grads))
        else:
            loss = ops.depend(loss, self.optimizer(grads))
        return loss, finite, scale
