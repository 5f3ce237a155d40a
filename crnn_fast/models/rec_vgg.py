"""MindOCR's VGG7 backbone of CRNN (``rec_vgg7``, class ``RecVGG``; contract
``MINDOCR_CRNN.md`` section 1.1), on crnn_fast's convolutions.

x (B, 3, 32, W) -> [(B, 512, 1, ceil(W / 4) - 1)]; at 32x100: (B, 512, 1, 24), T = 24.

Checkpoint names: ``conv{1..7}.conv.weight`` / ``.bias`` and, for conv3, conv5 and conv7,
``.bn.{moving_mean, moving_variance, gamma, beta}`` (44 tensors for the whole CRNN).
"""

from __future__ import annotations

from mindspore import dtype as mstype
from mindspore import nn
from mindspore.common.initializer import TruncatedNormal

from . import _layers
from ._registry import register_backbone

__all__ = ["RecVGG", "VGGConvBlock", "rec_vgg7"]


class VGGConvBlock(nn.Cell):
    """MindOCR's VGG ``Conv`` block: Conv2d (bias; weight ~ TruncatedNormal(0.02), bias ~
    TruncatedNormal(0.01), i.e. N(0, sigma^2) as MindSpore truncates at +-2 absolute) ->
    BatchNorm2d (eps 1e-4, momentum 0.9; only when ``use_bn``) -> ReLU.

    x (B, C_in, H, W) -> (B, C_out, H_out, W_out). Children ``conv``, ``bn`` (if ``use_bn``) and
    ``relu``; ``crnn_fast.models.fold_for_inference`` replaces them in place.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        use_bn: bool = False,
        pad_mode: str = "pad",
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.conv = _layers.conv2d(
            in_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            pad_mode=pad_mode,
            has_bias=True,
            weight_init=TruncatedNormal(0.02),
            bias_init=TruncatedNormal(),
        )
        if use_bn:
            self.bn = nn.BatchNorm2d(
                num_features=out_channels,
                eps=1e-4,
                momentum=0.9,
                gamma_init=1,
                beta_init=0,
                moving_mean_init=0,
                moving_var_init=1,
            )
        self.use_bn = use_bn
        self.relu = nn.ReLU()
        self.fused = None

    def fuse_training(self, pool: nn.MaxPool2d | None = None) -> bool:
        """Trains this block (and ``pool`` after it) as one fused op when the backend can;
        returns whether it does."""
        self.fused = _layers.train_block(self.conv, self.bn if self.use_bn else None, True, pool)
        return self.fused is not None

    def construct(self, x):
        if self.training and self.fused is not None and x.dtype == mstype.float32:
            f, c = self.fused, self.conv
            if self.use_bn:
                bn = self.bn
                return f(x, c.weight, c.bias, bn.gamma, bn.beta, bn.moving_mean,
                         bn.moving_variance, f.no_residual)  # fmt: skip
            s = f.stand_in
            return f(x, c.weight, c.bias, s, s, s, s, f.no_residual)
        y = self.conv(x)
        if self.use_bn:
            y = self.bn(y)
        return self.relu(y)


class RecVGG(nn.Cell):
    """VGG7: seven conv blocks and four max-pools (2x2/2 twice, then (2,1)/(2,1) twice, all
    'same' but never padded at height 32 with an even width after the first pool).

    x (B, 3, 32, W) -> [(B, 512, 1, W')]: a one-element list, as MindOCR's backbones return.
    ``out_channels`` = 512.
    """

    def __init__(self, in_channels: int = 3, **kwargs) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"RecVGG got unexpected arguments {sorted(kwargs)}")
        block = VGGConvBlock
        self.conv1 = block(in_channels, 64, use_bn=False, padding=1)
        self.conv2 = block(64, 128, use_bn=False, padding=1)
        self.conv3 = block(128, 256, use_bn=True, padding=1)
        self.conv4 = block(256, 256, use_bn=False, padding=1)
        self.conv5 = block(256, 512, use_bn=True, padding=1)
        self.conv6 = block(512, 512, use_bn=False, padding=1)
        self.conv7 = block(512, 512, kernel_size=2, pad_mode="valid", padding=0, use_bn=True)
        self.maxpool2d1 = nn.MaxPool2d(kernel_size=2, stride=2, pad_mode="same")
        self.maxpool2d2 = nn.MaxPool2d(kernel_size=(2, 1), stride=(2, 1), pad_mode="same")
        self.out_channels = 512
        self.pools_fused = False
        self.set_training_fusion(True)

    BLOCKS = ("conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7")

    def set_training_fusion(self, on: bool) -> int:
        """Trains each conv block -- with the max-pool after conv1, conv2, conv4 and conv6 --
        as one fused op (``on``, and the backend has the kernel) or unfused; returns how many
        blocks are fused. Parameters, eval mode and checkpoints are the same either way."""
        pooled = {"conv1": self.maxpool2d1, "conv2": self.maxpool2d1,
                  "conv4": self.maxpool2d2, "conv6": self.maxpool2d2}  # fmt: skip
        blocks = [getattr(self, n) for n in self.BLOCKS]
        fused = [on and b.fuse_training(pooled.get(n)) for n, b in zip(self.BLOCKS, blocks)]
        self.pools_fused = all(fused)
        if not self.pools_fused:  # all or none: the pools then run as separate layers
            for b in blocks:
                b.fused = None
        return sum(b.fused is not None for b in blocks)

    def construct(self, x):
        if self.training and self.pools_fused and x.dtype == mstype.float32:
            x = self.conv2(self.conv1(x))  # each with the max-pool after it
            x = self.conv4(self.conv3(x))
            x = self.conv6(self.conv5(x))
            return [self.conv7(x)]
        x = self.conv1(x)  # (B, 64, 32, W)
        x = self.maxpool2d1(x)  # (B, 64, 16, ceil(W / 2))
        x = self.conv2(x)
        x = self.maxpool2d1(x)  # (B, 128, 8, W4 = ceil(ceil(W / 2) / 2))
        x = self.conv3(x)
        x = self.conv4(x)
        x = self.maxpool2d2(x)  # (B, 256, 4, W4)
        x = self.conv5(x)
        x = self.conv6(x)
        x = self.maxpool2d2(x)  # (B, 512, 2, W4)
        x = self.conv7(x)  # (B, 512, 1, W4 - 1)
        return [x]


@register_backbone
def rec_vgg7(pretrained: bool = False, **kwargs) -> RecVGG:
    """MindOCR's ``rec_vgg7`` (there is no pretrained backbone checkpoint, as in MindOCR)."""
    if pretrained:
        raise NotImplementedError("there is no pretrained checkpoint for the rec_vgg7 backbone")
    return RecVGG(**kwargs)


register_backbone(RecVGG)
