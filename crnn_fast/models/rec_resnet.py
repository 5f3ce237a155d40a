"""MindOCR's ResNet34_vd backbone of CRNN (``rec_resnet34``, class ``RecResNet``; contract
``MINDOCR_CRNN.md`` section 1.2), on crnn_fast's convolutions.

x (B, 3, 32, W) -> [(B, 512, 1, ceil(W / 4))]; at 32x100: (B, 512, 1, 25), T = 25; at the
Chinese variant's 32x320: (B, 512, 1, 80).

Layout: stem ``conv1_1`` 3->32, ``conv1_2`` 32->32, ``conv1_3`` 32->64 (3x3, BN, ReLU), then
``maxpool2d_1`` 3x3/2 'same' -- MindSpore's 'same' pads the *bottom/right* by 1 and the
top/left by 0 at even sizes (not a symmetric padding of 1) -- then 16 ``BasicBlock``s in
``block_list`` (stages of 3, 4, 6, 3 blocks; 64, 128, 256, 512 channels; the first block of
stages 2-4 strides (2, 1) and has a 'vd' shortcut: AvgPool (2, 1)/(2, 1), then a 1x1 conv),
then ``maxpool2d_2`` 2x2/2 'same' (no padding at even sizes).

Checkpoint names: ``conv1_{1,2,3}.conv.weight``, ``.norm.{moving_mean, moving_variance, gamma,
beta}``, ``block_list.{i}.conv0|conv1|short.conv.weight`` and ``.norm.*`` (short in blocks 0, 3,
7, 13); convs have no bias (213 tensors for the whole CRNN).
"""

from __future__ import annotations

from mindspore import dtype as mstype
from mindspore import nn

from . import _layers
from ._registry import register_backbone

__all__ = ["BasicBlock", "ConvNormLayer", "RecResNet", "rec_resnet34"]


class ConvNormLayer(nn.Cell):
    """[AvgPool(stride)/stride 'same' when ``is_vd_mode``] -> Conv2d (no bias, MindSpore's
    default HeUniform(sqrt 5) init, padding (k - 1) // 2, stride 1 in vd mode) -> BatchNorm2d
    (eps 1e-5, momentum 0.9) -> [ReLU when ``act``].

    x (B, C_in, H, W) -> (B, C_out, H / s_h, W / s_w). Children ``pool2d_avg``, ``conv``,
    ``norm``, ``act_func``; ``crnn_fast.models.fold_for_inference`` replaces conv/norm/act_func
    in place. After ``fuse_training`` the conv, norm, ReLU (and a max-pool after them, or the
    BasicBlock's shortcut add and ReLU: ``construct(x, r)`` -> relu(norm(conv(x)) + r)) train as
    one fused op (``crnn_fast.nn.conv_block``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int | tuple[int, int] = 1,
        is_vd_mode: bool = False,
        act: bool = False,
    ) -> None:
        super().__init__()
        self.is_vd_mode = is_vd_mode
        self.pool2d_avg = nn.AvgPool2d(kernel_size=stride, stride=stride, pad_mode="same")
        self.conv = _layers.conv2d(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel_size,
            stride=1 if is_vd_mode else stride,
            pad_mode="pad",
            padding=(kernel_size - 1) // 2,
        )
        self.norm = nn.BatchNorm2d(
            num_features=out_channels,
            eps=1e-5,
            momentum=0.9,
            gamma_init=1,
            beta_init=0,
            moving_mean_init=0,
            moving_var_init=1,
        )
        self.act_func = nn.ReLU()
        self.act = act
        self.fused = None

    def fuse_training(self, pool: nn.MaxPool2d | None = None, residual: bool = False) -> bool:
        """Trains conv -> norm -> [+ r] -> [ReLU] -> [pool] as one fused op when the backend can
        (ReLU when ``act`` or ``residual``); returns whether it does."""
        relu = self.act or residual
        self.fused = _layers.train_block(self.conv, self.norm, relu, pool, residual)
        return self.fused is not None

    def construct(self, x, r=None):
        if self.is_vd_mode:
            x = self.pool2d_avg(x)
        if self.training and self.fused is not None and x.dtype == mstype.float32:
            f, n = self.fused, self.norm
            r = f.no_residual if r is None else r
            return f(x, self.conv.weight, f.no_bias, n.gamma, n.beta, n.moving_mean,
                     n.moving_variance, r)  # fmt: skip
        y = self.conv(x)
        y = self.norm(y)
        if self.act:
            y = self.act_func(y)
        return y


class BasicBlock(nn.Cell):
    """relu(conv1(conv0(x)) + short(x)): conv0 3x3 (stride, ReLU), conv1 3x3 (no ReLU), and
    ``short`` = a 1x1 ConvNormLayer (vd mode when ``stride[0] != 1`` and not ``if_first``) only
    when ``shortcut`` is False, else the identity.

    x (B, C_in, H, W) -> (B, C_out, H / s_h, W / s_w).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: tuple[int, int],
        shortcut: bool = True,
        if_first: bool = False,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.conv0 = ConvNormLayer(in_channels, out_channels, 3, stride=stride, act=True)
        self.conv1 = ConvNormLayer(out_channels, out_channels, 3, act=False)
        if not shortcut:
            self.short = ConvNormLayer(
                in_channels,
                out_channels,
                1,
                stride=stride,
                is_vd_mode=not if_first and stride[0] != 1,
            )
        self.shortcut = shortcut
        self.relu = nn.ReLU()
        self.residual_fused = False

    def set_training_fusion(self, on: bool) -> bool:
        """Trains conv0, the shortcut conv and conv1 with the add and ReLU as fused ops (``on``,
        and the backend can); returns whether they are."""
        convs = [self.conv0, self.conv1] + ([] if self.shortcut else [self.short])
        fused = on and all(
            [self.conv0.fuse_training(), self.conv1.fuse_training(residual=True)]
            + ([] if self.shortcut else [self.short.fuse_training()])
        )
        if not fused:
            for c in convs:
                c.fused = None
        self.residual_fused = fused
        return fused

    def construct(self, x):
        if self.shortcut:
            short = x
        else:
            short = self.short(x)
        if self.training and self.residual_fused and x.dtype == mstype.float32:
            return self.conv1(self.conv0(x), short)  # relu(norm(conv(.)) + short), fused
        y = self.conv1(self.conv0(x))
        return self.relu(short + y)


class RecResNet(nn.Cell):
    """ResNet34_vd for recognition (module docstring). x (B, in_channels, 32, W) ->
    [(B, 512, 1, ceil(W / 4))], a one-element list. ``out_channels`` = 512."""

    DEPTH = (3, 4, 6, 3)
    NUM_CHANNELS = (64, 64, 128, 256)
    NUM_FILTERS = (64, 128, 256, 512)

    def __init__(self, in_channels: int = 3, layers: int = 34, **kwargs) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"RecResNet got unexpected arguments {sorted(kwargs)}")
        if layers != 34:
            raise ValueError(f"only layers=34 is supported (as in MindOCR), got {layers}")
        self.layers = layers
        self.out_channels = 512
        self.conv1_1 = ConvNormLayer(in_channels, 32, 3, stride=1, act=True)
        self.conv1_2 = ConvNormLayer(32, 32, 3, stride=1, act=True)
        self.conv1_3 = ConvNormLayer(32, 64, 3, stride=1, act=True)
        self.maxpool2d_1 = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="same")
        blocks = []
        for stage, depth in enumerate(self.DEPTH):
            for i in range(depth):
                blocks.append(
                    BasicBlock(
                        self.NUM_CHANNELS[stage] if i == 0 else self.NUM_FILTERS[stage],
                        self.NUM_FILTERS[stage],
                        stride=(2, 1) if i == 0 and stage != 0 else (1, 1),
                        shortcut=i != 0,
                        if_first=stage == 0 and i == 0,
                    )
                )
        self.block_list = nn.SequentialCell(blocks)
        self.maxpool2d_2 = nn.MaxPool2d(kernel_size=2, stride=2, pad_mode="same")
        self.stem_pool_fused = False
        self.set_training_fusion(True)

    def set_training_fusion(self, on: bool) -> int:
        """Trains every ConvNormLayer -- conv1_3 with the stem max-pool, each BasicBlock's conv1
        with its shortcut add and ReLU -- as one fused op (``on``, and the backend has the
        kernel) or unfused; returns how many layers are fused. Parameters, eval mode and
        checkpoints are the same either way."""
        stem = [self.conv1_1.fuse_training(), self.conv1_2.fuse_training()]
        stem.append(self.conv1_3.fuse_training(self.maxpool2d_1))
        blocks = [b.set_training_fusion(on) for b in self.block_list]
        self.stem_pool_fused = on and all(stem) and all(blocks)
        if not self.stem_pool_fused:  # all or none
            for c in (self.conv1_1, self.conv1_2, self.conv1_3):
                c.fused = None
            for b in self.block_list:
                b.set_training_fusion(False)
        layers = [c for _, c in self.cells_and_names() if isinstance(c, ConvNormLayer)]
        return sum(c.fused is not None for c in layers)

    def construct(self, x):
        y = self.conv1_1(x)  # (B, 32, 32, W)
        y = self.conv1_2(y)
        y = self.conv1_3(y)  # (B, 64, 32, W); fused: with the max-pool
        if not (self.training and self.stem_pool_fused and x.dtype == mstype.float32):
            y = self.maxpool2d_1(y)  # (B, 64, 16, ceil(W / 2)): pads bottom/right only
        y = self.block_list(y)  # (B, 512, 2, ceil(W / 2))
        y = self.maxpool2d_2(y)  # (B, 512, 1, ceil(W / 4))
        return [y]


@register_backbone
def rec_resnet34(pretrained: bool = False, **kwargs) -> RecResNet:
    """MindOCR's ``rec_resnet34`` (no pretrained backbone checkpoint exists, as in MindOCR,
    whose default ``pretrained=True`` raises; here the default is False)."""
    if pretrained:
        raise NotImplementedError("there is no pretrained checkpoint for the rec_resnet34 backbone")
    return RecResNet(layers=34, **kwargs)


register_backbone(RecResNet)
