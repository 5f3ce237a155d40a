"""Every conv layer of MindOCR's CRNN backbones at a (B, 3, 32, 100) input, for bench_conv.py.

The table is *derived*, not typed in: ``vgg7_convs()`` and ``resnet34_vd_convs()`` walk each
backbone layer by layer with shape arithmetic (convs, pools, the vd shortcut's AvgPool) as
``shared/MINDOCR_CRNN.md`` §1.1 / §1.2 describe it, record every conv with its input H, W, and
assert the documented intermediate and final shapes: VGG7 ends at (B, 512, 1, 24); ResNet34_vd's
stages end at (B, 64, 16, 50), (B, 128, 8, 50), (B, 256, 4, 50) and (B, 512, 2, 50) before the
last max-pool. ``distinct()`` then folds identical configurations (C_in, C_out, H, W, k, stride,
pad) into one ``ConvLayer`` with its multiplicity, named after its first occurrence.

Result (``python -m crnn_fast.bench.conv_layers`` prints it; C_in→C_out @ H×W, k, stride, pad, ×n):

* VGG7 (bias, ×1 each): conv1 3→64 @32×100 k3 p1; conv2 64→128 @16×50 k3 p1; conv3 128→256
  @8×25 k3 p1; conv4 256→256 @8×25; conv5 256→512 @4×25; conv6 512→512 @4×25; conv7 512→512
  @2×25 k2 p0 (valid).
* ResNet34_vd (no bias; 39 convs, 14 distinct): conv1_1 3→32 @32×100 ×1; conv1_2 32→32 ×1;
  conv1_3 32→64 ×1; s0b0.conv0 64→64 @16×50 k3 ×6; s0b0.short 64→64 k1 ×1; s1b0.conv0 64→128
  @16×50 k3 s(2,1) ×1; s1b0.conv1 128→128 @8×50 ×7; s1b0.short 64→128 @8×50 k1 ×1 (after
  AvgPool (2,1)); s2b0.conv0 128→256 @8×50 s(2,1) ×1; s2b0.conv1 256→256 @4×50 ×11; s2b0.short
  128→256 @4×50 k1 ×1; s3b0.conv0 256→512 @4×50 s(2,1) ×1; s3b0.conv1 512→512 @2×50 ×5;
  s3b0.short 256→512 @2×50 k1 ×1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

IN_C, IN_H, IN_W = 3, 32, 100  # MindOCR's recognition input (B, 3, 32, 100)


@dataclass(frozen=True)
class ConvLayer:
    """One conv configuration. x (B, c_in, h, w), w (c_out, c_in, k, k), pad on all four sides;
    y (B, c_out, ho, wo). ``mult``: how often it occurs in its backbone."""

    backbone: str  # "vgg7" | "resnet34"
    name: str  # first occurrence, e.g. "conv4", "s2b0.conv0"
    c_in: int
    c_out: int
    h: int
    w: int
    k: int
    stride: tuple[int, int]
    pad: int
    bias: bool
    mult: int = 1

    @property
    def id(self) -> str:
        """``backbone.name``, e.g. ``vgg7.conv4``: the benchmark group suffix."""
        return f"{self.backbone}.{self.name}"

    @property
    def out_hw(self) -> tuple[int, int]:
        ho = (self.h + 2 * self.pad - self.k) // self.stride[0] + 1
        wo = (self.w + 2 * self.pad - self.k) // self.stride[1] + 1
        return ho, wo

    def fwd_flops(self, batch: int) -> float:
        """2 * B * C_out * C_in * kh * kw * H_out * W_out (groups = 1)."""
        ho, wo = self.out_hw
        return 2.0 * batch * self.c_out * self.c_in * self.k * self.k * ho * wo

    def flops(self, batch: int, direction: str) -> float:
        """``fwd``: the forward; ``fwd+bwd``: plus d_x and d_w (twice the forward)."""
        return self.fwd_flops(batch) * (3 if direction == "fwd+bwd" else 1)

    @property
    def config(self) -> tuple:
        return (self.c_in, self.c_out, self.h, self.w, self.k, self.stride, self.pad, self.bias)

    @property
    def text(self) -> str:
        """Short description: ``256→512 @4×50 k3 s2,1 p1``."""
        s = f" s{self.stride[0]},{self.stride[1]}" if self.stride != (1, 1) else ""
        return f"{self.c_in}→{self.c_out} @{self.h}×{self.w} k{self.k}{s} p{self.pad}"


class _Walker:
    """Tracks (C, H, W) through a backbone and records each conv with its input shape."""

    def __init__(self, backbone: str, bias: bool) -> None:
        self.backbone, self.bias = backbone, bias
        self.c, self.h, self.w = IN_C, IN_H, IN_W
        self.convs: list[ConvLayer] = []
        self.ops: list[tuple[str, Any]] = []  # ("conv", ConvLayer) | ("pool", (s_h, s_w))

    def conv(
        self, name: str, c_out: int, k: int, stride: tuple[int, int] = (1, 1), pad: int = -1
    ) -> _Walker:
        """A conv with padding (k - 1) // 2 unless ``pad`` >= 0 is given."""
        pad = (k - 1) // 2 if pad < 0 else pad
        b = self.backbone
        layer = ConvLayer(b, name, self.c, c_out, self.h, self.w, k, stride, pad, self.bias)
        self.convs.append(layer)
        self.ops.append(("conv", layer))
        self.c, (self.h, self.w) = c_out, layer.out_hw
        return self

    def pool_same(self, stride: tuple[int, int]) -> _Walker:
        """Max/avg pool with pad_mode 'same': ceil(H / s_h), ceil(W / s_w)."""
        self.h, self.w = -(-self.h // stride[0]), -(-self.w // stride[1])
        self.ops.append(("pool", stride))
        return self

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.c, self.h, self.w


VGG7_BN = ("conv3", "conv5", "conv7")  # RecVGG convs followed by BatchNorm2d(eps=1e-4)


def _vgg7_walk() -> _Walker:
    v = _Walker("vgg7", bias=True)
    v.conv("conv1", 64, 3).pool_same((2, 2)).conv("conv2", 128, 3).pool_same((2, 2))
    v.conv("conv3", 256, 3).conv("conv4", 256, 3).pool_same((2, 1))
    v.conv("conv5", 512, 3).conv("conv6", 512, 3).pool_same((2, 1))
    v.conv("conv7", 512, 2, pad=0)
    assert v.shape == (512, 1, 24), v.shape
    return v


def vgg7_convs() -> list[ConvLayer]:
    """RecVGG (§1.1): the 7 convs in order, checked to end at (B, 512, 1, 24)."""
    return _vgg7_walk().convs


def vgg7_ops() -> list[tuple[str, Any]]:
    """RecVGG as a layer list for building it in a framework: ("conv", ConvLayer) (bias,
    pad_mode 'pad', or 'valid' where pad is 0), ("bn", C) (eps 1e-4), ("relu", None) and
    ("maxpool", (s_h, s_w)) (kernel = stride, 'same', which needs no padding here)."""
    ops: list[tuple[str, Any]] = []
    for kind, arg in _vgg7_walk().ops:
        if kind == "pool":
            ops.append(("maxpool", arg))
            continue
        ops.append(("conv", arg))
        if arg.name in VGG7_BN:
            ops.append(("bn", arg.c_out))
        ops.append(("relu", None))
    return ops


def resnet34_vd_convs() -> list[ConvLayer]:
    """RecResNet layers=34 (§1.2): all 39 convs in order, stage outputs checked."""
    r = _Walker("resnet34", bias=False)
    r.conv("conv1_1", 32, 3).conv("conv1_2", 32, 3).conv("conv1_3", 64, 3)
    assert r.shape == (64, 32, 100), r.shape
    r.pool_same((2, 2))  # maxpool2d_1 3x3 s2 'same' (pads 0 top/left, 1 bottom/right)
    want = [(64, 16, 50), (128, 8, 50), (256, 4, 50), (512, 2, 50)]
    block = 0
    for stage, (depth, filters) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
        for i in range(depth):
            stride = (2, 1) if i == 0 and stage != 0 else (1, 1)
            c_in, h_in, w_in = r.shape
            name = f"s{stage}b{i}"
            r.conv(f"{name}.conv0", filters, 3, stride).conv(f"{name}.conv1", filters, 3)
            out = r.shape
            if i == 0:  # shortcut conv on the block input; vd (stride != 1): AvgPool first
                r.c, r.h, r.w = c_in, h_in, w_in
                if stride != (1, 1):
                    r.pool_same(stride)
                r.conv(f"{name}.short", filters, 1)
                assert r.shape == out, (r.shape, out)
            block += 1
        assert r.shape == want[stage], (stage, r.shape)
    assert block == 16 and len(r.convs) == 39, (block, len(r.convs))
    return r.convs


def distinct(convs: list[ConvLayer]) -> list[ConvLayer]:
    """One ConvLayer per configuration (first occurrence's name), ``mult`` = occurrences."""
    seen: dict[tuple, ConvLayer] = {}
    for c in convs:
        if c.config in seen:
            seen[c.config] = replace(seen[c.config], mult=seen[c.config].mult + 1)
        else:
            seen[c.config] = replace(c, mult=1)
    return list(seen.values())


VGG7 = distinct(vgg7_convs())
RESNET34 = distinct(resnet34_vd_convs())
LAYERS: dict[str, ConvLayer] = {c.id: c for c in VGG7 + RESNET34}
assert len(VGG7) == 7 and sum(c.mult for c in RESNET34) == 39


if __name__ == "__main__":
    for c in LAYERS.values():
        print(f"{c.id:22s} {c.text:28s} x{c.mult:<3d} {c.fwd_flops(64) / 1e9:6.2f} GFLOP fwd @B=64")
