"""MindSpore cells of ``bench_train_step.py`` (GRAPH mode parses ``construct`` from source, so
they live in a file): one training phase each, forward + backward, and the optimizer alone."""

from __future__ import annotations

from mindspore import nn, ops


class BackboneLoss(nn.Cell):
    """sum(backbone(x)[0] * dy): x (B, 3, 32, 100) -> features (B, 512, 1, T), each element
    with its own upstream gradient dy."""

    def __init__(self, backbone, dy):
        super().__init__(auto_prefix=False)
        self.backbone, self.dy = backbone, dy

    def construct(self, x):
        return (self.backbone(x)[0] * self.dy).sum()


class NeckLoss(nn.Cell):
    """sum(neck([f]) * dh): f (B, 512, 1, T) -> (T, B, 512)."""

    def __init__(self, neck, dh):
        super().__init__(auto_prefix=False)
        self.neck, self.dh = neck, dh

    def construct(self, f):
        return (self.neck([f]) * self.dh).sum()


class HeadLoss(nn.Cell):
    """MindOCR's CTC loss of the head's logits: h (T, B, 512), label (B, S) -> scalar."""

    def __init__(self, head, loss_fn):
        super().__init__(auto_prefix=False)
        self.head, self.loss_fn = head, loss_fn

    def construct(self, h, label):
        return self.loss_fn(self.head(h), label)


class GradStep(nn.Cell):
    """(loss, gradients) of ``net`` w.r.t. ``weights`` and, with ``wrt_inputs``, its inputs."""

    def __init__(self, net, weights, wrt_inputs: bool):
        super().__init__(auto_prefix=False)
        self.net, self.weights = net, weights
        self.grad = ops.GradOperation(get_all=wrt_inputs, get_by_list=True)

    def construct(self, *inputs):
        return self.net(*inputs), self.grad(self.net, self.weights)(*inputs)


class OptimizerStep(nn.Cell):
    """One optimizer update from fixed gradients."""

    def __init__(self, optimizer):
        super().__init__(auto_prefix=False)
        self.optimizer = optimizer

    def construct(self, grads):
        return self.optimizer(grads)
