"""PyTorch (CPU) peer of crnn_fast's CRNN models, layer for layer, for the train-step benchmark.

``build_torch_crnn("crnn_vgg7" | "crnn_resnet34")`` is MindOCR's CRNN as crnn_fast builds it
(``crnn_fast.models.build_model``): backbone -> ``neck.seq_encoder`` 2-layer BiLSTM (512 -> 256
per direction, zero initial state) -> ``head.dense1`` Linear(512, 37). x (B, 3, 32, W) float32;
``.train()``: logits (T, B, C); ``.eval()``: softmax probabilities (B, T, C). T = 24 (VGG7) /
25 (ResNet34_vd) at W = 100. Module names mirror the MindSpore parameter names (BN gamma/beta/
moving_mean/moving_variance -> weight/bias/running_mean/running_var), which
``load_from_mindspore`` relies on. ``torch_ctc_loss`` is crnn_fast's ``CTCLoss()`` contract.

MindSpore pad modes: 'pad' = symmetric explicit padding (torch ``padding``), 'valid' = none,
'same' (the pools) = output ceil(n / s), total padding max((out - 1) * s + k - n, 0) split with
the *smaller half first* (ResNet's 3x3/2 stem pool at 32x100 pads only bottom/right by 1).
BatchNorm momentum 0.9 (MindSpore: running = 0.9 * running + 0.1 * batch) is torch's 0.1.
``check_against_crnn_fast`` compares outputs and loss with crnn_fast (imports MindSpore).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["build_torch_crnn", "check_against_crnn_fast", "load_from_mindspore", "torch_ctc_loss"]

NUM_CLASSES, HIDDEN = 37, 256
_BN_LEAVES = ("gamma", "beta", "moving_mean", "moving_variance")
_BN_NAMES = dict(zip(_BN_LEAVES, ("weight", "bias", "running_mean", "running_var")))
Pair = tuple[int, int]


def _same_pool(x: torch.Tensor, k: Pair, s: Pair, mode: str) -> torch.Tensor:
    """MindSpore's ``MaxPool2d`` / ``AvgPool2d`` with ``pad_mode='same'`` on (B, C, H, W) ->
    (B, C, ceil(H / s_h), ceil(W / s_w)); padding is excluded from averages and maxima."""
    before, after = [], []
    for n, kk, ss in zip(x.shape[2:], k, s):
        total = max((math.ceil(n / ss) - 1) * ss + kk - n, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    if all(b == 0 for b in before) and all(kk >= ss for kk, ss in zip(k, s)):
        # only trailing padding: torch's ceil_mode windows clip at the end, same result, no copy
        if mode == "max":
            return F.max_pool2d(x, k, s, ceil_mode=True)
        return F.avg_pool2d(x, k, s, ceil_mode=True)
    if mode != "max":
        raise NotImplementedError(f"'same' avg pool with leading padding {before}")
    x = F.pad(x, (before[1], after[1], before[0], after[0]), value=-math.inf)
    return F.max_pool2d(x, k, s)


class SamePool2d(nn.Module):
    """Max or avg pool, MindSpore 'same' padding (see ``_same_pool``)."""

    def __init__(self, kernel: Pair, stride: Pair, mode: str) -> None:
        super().__init__()
        self.k, self.s, self.mode = kernel, stride, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _same_pool(x, self.k, self.s, self.mode)


class VGGConvBlock(nn.Module):
    """Conv2d (bias) -> [BatchNorm2d eps 1e-4] -> ReLU; (B, C_in, H, W) -> (B, C_out, H', W')."""

    def __init__(
        self, cin: int, cout: int, k: int = 3, padding: int = 1, use_bn: bool = False
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, 1, padding, bias=True)
        nn.init.trunc_normal_(self.conv.weight, std=0.02, a=-2.0, b=2.0)
        nn.init.trunc_normal_(self.conv.bias, std=0.01, a=-2.0, b=2.0)
        self.bn = nn.BatchNorm2d(cout, eps=1e-4, momentum=0.1) if use_bn else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu(self.bn(x) if self.bn is not None else x)


class RecVGG(nn.Module):
    """VGG7: (B, 3, 32, W) -> (B, 512, 1, ceil(W / 4) - 1); 32x100 -> (B, 512, 1, 24)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = VGGConvBlock(3, 64)
        self.conv2 = VGGConvBlock(64, 128)
        self.conv3 = VGGConvBlock(128, 256, use_bn=True)
        self.conv4 = VGGConvBlock(256, 256)
        self.conv5 = VGGConvBlock(256, 512, use_bn=True)
        self.conv6 = VGGConvBlock(512, 512)
        self.conv7 = VGGConvBlock(512, 512, k=2, padding=0, use_bn=True)  # 'valid'
        self.maxpool2d1 = SamePool2d((2, 2), (2, 2), "max")
        self.maxpool2d2 = SamePool2d((2, 1), (2, 1), "max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool2d1(self.conv1(x))  # (B, 64, 16, ceil(W / 2))
        x = self.maxpool2d1(self.conv2(x))  # (B, 128, 8, W4)
        x = self.maxpool2d2(self.conv4(self.conv3(x)))  # (B, 256, 4, W4)
        x = self.maxpool2d2(self.conv6(self.conv5(x)))  # (B, 512, 2, W4)
        return self.conv7(x)  # (B, 512, 1, W4 - 1)


class ConvNormLayer(nn.Module):
    """[vd: AvgPool stride/stride 'same'] -> Conv2d (no bias, padding (k - 1) // 2, stride 1
    in vd mode) -> BatchNorm2d (eps 1e-5) -> [ReLU]."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        stride: Pair = (1, 1),
        vd: bool = False,
        act: bool = False,
    ) -> None:
        super().__init__()
        self.pool2d_avg = SamePool2d(stride, stride, "avg") if vd else None
        self.conv = nn.Conv2d(cin, cout, k, (1, 1) if vd else stride, (k - 1) // 2, bias=False)
        self.norm = nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool2d_avg is not None:
            x = self.pool2d_avg(x)
        y = self.norm(self.conv(x))
        return F.relu(y) if self.act else y


class BasicBlock(nn.Module):
    """relu(conv1(conv0(x)) + short(x)); ``short`` is a 1x1 ConvNormLayer unless identity."""

    def __init__(self, cin: int, cout: int, stride: Pair, shortcut: bool, if_first: bool) -> None:
        super().__init__()
        self.conv0 = ConvNormLayer(cin, cout, 3, stride, act=True)
        self.conv1 = ConvNormLayer(cout, cout, 3)
        vd = not if_first and stride[0] != 1
        self.short = None if shortcut else ConvNormLayer(cin, cout, 1, stride, vd=vd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        short = x if self.short is None else self.short(x)
        return F.relu(short + self.conv1(self.conv0(x)))


class RecResNet(nn.Module):
    """ResNet34_vd: (B, 3, 32, W) -> (B, 512, 1, ceil(W / 4)); 32x100 -> (B, 512, 1, 25)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1_1 = ConvNormLayer(3, 32, 3, act=True)
        self.conv1_2 = ConvNormLayer(32, 32, 3, act=True)
        self.conv1_3 = ConvNormLayer(32, 64, 3, act=True)
        self.maxpool2d_1 = SamePool2d((3, 3), (2, 2), "max")
        blocks = []
        for stage, (depth, cin, cout) in enumerate(
            zip((3, 4, 6, 3), (64, 64, 128, 256), (64, 128, 256, 512))
        ):
            for i in range(depth):
                stride = (2, 1) if i == 0 and stage != 0 else (1, 1)
                first = stage == 0 and i == 0
                blocks.append(BasicBlock(cin if i == 0 else cout, cout, stride, i != 0, first))
        self.block_list = nn.Sequential(*blocks)
        self.maxpool2d_2 = SamePool2d((2, 2), (2, 2), "max")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1_3(self.conv1_2(self.conv1_1(x)))  # (B, 64, 32, W)
        y = self.maxpool2d_1(y)  # (B, 64, 16, ceil(W / 2)), padded bottom/right only
        y = self.block_list(y)  # (B, 512, 2, ceil(W / 2))
        return self.maxpool2d_2(y)  # (B, 512, 1, ceil(W / 4))


class RNNEncoder(nn.Module):
    """(B, 512, 1, T) -> (T, B, 2 * HIDDEN), forward direction first; attribute seq_encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.seq_encoder = nn.LSTM(512, HIDDEN, num_layers=2, bias=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq_encoder(x.squeeze(2).permute(2, 0, 1))[0]


class CTCHead(nn.Module):
    """(T, B, 512) -> train: logits (T, B, C); eval: softmax probabilities (B, T, C)."""

    def __init__(self) -> None:
        super().__init__()
        self.dense1 = nn.Linear(2 * HIDDEN, NUM_CLASSES)
        bound = 1.0 / math.sqrt(2 * HIDDEN)  # MindOCR's "crnn_customised" init
        nn.init.uniform_(self.dense1.weight, -bound, bound)
        nn.init.uniform_(self.dense1.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dense1(x)
        return h if self.training else h.softmax(2).transpose(0, 1)


class TorchCRNN(nn.Module):
    """backbone -> neck -> head; x (B, 3, 32, W) -> logits (T, B, C) | probs (B, T, C)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone, self.neck, self.head = backbone, RNNEncoder(), CTCHead()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))


def build_torch_crnn(name: str) -> nn.Module:
    """The torch CRNN ``name`` ("crnn_vgg7" | "crnn_resnet34"), in training mode (torch's
    default; crnn_fast's models start in inference mode)."""
    backbones = {"crnn_vgg7": RecVGG, "crnn_resnet34": RecResNet}
    if name not in backbones:
        raise ValueError(f"unknown model {name!r}; known: {sorted(backbones)}")
    return TorchCRNN(backbones[name]())


def _torch_tensors(tmodel: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters + BN running stats (MindSpore's Parameter set; no num_batches_tracked)."""
    out = dict(tmodel.named_parameters())
    out.update({n: b for n, b in tmodel.named_buffers() if not n.endswith("num_batches_tracked")})
    return out


def _torch_name(ms_name: str) -> str:
    """The torch name of a MindSpore parameter (only BatchNorm's leaf names differ)."""
    head, _, leaf = ms_name.rpartition(".")
    return f"{head}.{_BN_NAMES[leaf]}" if leaf in _BN_NAMES else ms_name


def count_parameters(tmodel: nn.Module) -> int:
    """Elements of the parameters and BN running stats, as MindSpore counts its Parameters."""
    return sum(t.numel() for t in _torch_tensors(tmodel).values())


def load_from_mindspore(tmodel: nn.Module, ms_model: Any) -> None:
    """Copies every Parameter of the crnn_fast / MindSpore model ``ms_model`` into ``tmodel``
    (names as in ``ms_model.parameters_and_names()``); raises KeyError / ValueError when a
    name is unmatched on either side or a shape differs."""
    target = _torch_tensors(tmodel)
    done = set()
    with torch.no_grad():
        for ms_name, param in ms_model.parameters_and_names():
            name = _torch_name(ms_name)
            if name not in target:
                raise KeyError(f"MindSpore parameter {ms_name} has no torch peer {name}")
            value = torch.from_numpy(np.ascontiguousarray(param.asnumpy(), dtype=np.float32))
            if tuple(value.shape) != tuple(target[name].shape):
                raise ValueError(f"{ms_name}: shape {tuple(value.shape)} vs {target[name].shape}")
            target[name].copy_(value)
            done.add(name)
    missing = sorted(set(target) - done)
    if missing:
        raise KeyError(f"torch tensors not set from MindSpore ({len(missing)}): {missing[:8]}")


def torch_ctc_loss(
    logits_tbc: torch.Tensor, labels_bs: torch.Tensor, blank: int = -1
) -> torch.Tensor:
    """crnn_fast ``CTCLoss()`` / MindOCR: logits (T, B, C), labels (B, S) padded with ``blank``
    (default -1 = C - 1); label length = run of valid non-blank labels before the first pad;
    input lengths all T; mean over samples of the per-sample NLL; zero_infinity False."""
    T, B, C = logits_tbc.shape
    blank = blank if blank >= 0 else C + blank
    labels = labels_bs.long()
    valid = (labels != blank) & (labels >= 0) & (labels < C)
    label_lengths = valid.long().cumprod(1).sum(1)
    log_probs = F.log_softmax(logits_tbc.float(), 2)
    input_lengths = torch.full((B,), T, dtype=torch.long)  # zero_infinity: False (defaults)
    loss = F.ctc_loss(log_probs, labels, input_lengths, label_lengths, blank, "none")
    return loss.mean().to(logits_tbc.dtype)


def train_step(model, opt, x: torch.Tensor, labels: torch.Tensor, autocast: bool) -> float:  # noqa: ANN001
    """One PyTorch training step of the CRNN peer: zero_grad, the forward (under
    ``torch.autocast("cpu", torch.bfloat16)`` when ``autocast``: float32 master weights),
    MindOCR's CTC loss (blank 36) in float32, backward, ``opt.step()``; returns the loss."""
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", torch.bfloat16, enabled=autocast):
        logits = model(x)
    loss = torch_ctc_loss(logits.float(), labels, 36)
    loss.backward()
    opt.step()
    return loss.item()


def check_against_crnn_fast(name: str, batch: int = 2, seed: int = 0) -> dict[str, float]:
    """Builds crnn_fast's ``name`` (MindSpore PYNATIVE, CPU) and the torch peer with its weights;
    returns max abs diffs of the eval probabilities (B, T, C) (``probs``), the train-mode
    logits (T, B, C) (``logits``), the BN running stats after that train forward
    (``running``) and the CTC loss on random labels (``loss``; ``loss_ms`` its value), plus
    the parameter counts (``params_ms``, ``params_torch``)."""
    import mindspore as ms

    from crnn_fast.models import build_model
    from crnn_fast.nn import CTCLoss

    ms.set_context(mode=ms.PYNATIVE_MODE)
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
    rng = np.random.default_rng(seed)
    ms.set_seed(seed)
    ms_model, tmodel = build_model(name), build_torch_crnn(name)
    load_from_mindspore(tmodel, ms_model)
    x = rng.standard_normal((batch, 3, 32, 100), dtype=np.float32)
    out: dict[str, float] = {
        "params_ms": int(sum(p.size for _, p in ms_model.parameters_and_names())),
        "params_torch": count_parameters(tmodel),
    }
    ms_model.set_train(False)
    tmodel.eval()
    with torch.no_grad():
        probs_t = tmodel(torch.from_numpy(x)).numpy()
    probs_m = ms_model(ms.Tensor(x)).asnumpy()
    out["probs"] = float(np.abs(probs_t - probs_m).max())
    ms_model.set_train(True)
    tmodel.train()
    with torch.no_grad():
        logits_t = tmodel(torch.from_numpy(x))
    logits_m = ms_model(ms.Tensor(x))
    out["logits"] = float(np.abs(logits_t.numpy() - logits_m.asnumpy()).max())
    peers = _torch_tensors(tmodel)
    out["running"] = max(
        float(np.abs(p.asnumpy() - peers[_torch_name(n)].numpy()).max())
        for n, p in ms_model.parameters_and_names()
        if "moving_" in n
    )
    T, B, C = logits_t.shape
    S = T - 1  # MindOCR's max_text_len (23 / 24); lengths up to T // 2 keep CTC feasible
    labels = np.full((B, S), C - 1, dtype=np.int32)
    for b, n in enumerate(rng.integers(1, T // 2 + 1, size=B)):
        labels[b, :n] = rng.integers(0, C - 1, size=n)
    loss_t = float(torch_ctc_loss(logits_t, torch.from_numpy(labels)))
    loss_m = float(CTCLoss()(logits_m, ms.Tensor(labels)).asnumpy())
    out["loss"], out["loss_ms"] = abs(loss_t - loss_m), loss_m
    return out


if __name__ == "__main__":
    for model_name in ("crnn_vgg7", "crnn_resnet34"):
        r = check_against_crnn_fast(model_name, batch=2)
        print(
            f"{model_name}: max|diff| probs {r['probs']:.2e} logits {r['logits']:.2e} "
            f"BN running stats {r['running']:.2e} loss {r['loss']:.2e} (loss {r['loss_ms']:.4f}); "
            f"params MindSpore {r['params_ms']:,} torch {r['params_torch']:,}"
        )
