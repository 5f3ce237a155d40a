"""Training-time fusion of the backbones' conv blocks (``crnn_fast.nn.conv_block``): the fused
model's features, parameter gradients and moving statistics against the float64 reference
backbone (backbone_reference.py) and against the same model trained unfused.

Bounds, and why they are what they are:
* features: within 1e-4 of their largest magnitude (float32 rounding through 7 / 39 layers,
  measured 3e-6 / 1.2e-5);
* gradients: the forward is continuous, the gradient is not -- a pre-ReLU value or two pool
  candidates within rounding of each other decide differently in float32 and float64 (and
  between any two float32 orderings, the unfused MindSpore model included), and one such flip
  moves a whole dy element. At B = 2 the late layers sum over only B H W = 50-200 positions, so
  a flip is visible: the gradient of all parameters together (one vector) is within 3e-2 of the
  reference in L2 norm (measured 4e-3 VGG7, 9e-3 ResNet34; 1.5e-6 when nothing flips). The
  kernel itself is checked element-wise against float64 in tests/test_conv_block.py;
* moving statistics after two training forwards: within 1e-5 of the unfused model's;
* loss curves over 6 training steps (AdamW, the trainer's step): within 1e-4 (VGG7, measured
  2e-6) and 5e-3 (ResNet34, measured 1.2e-3: Adam divides by the root of tiny second moments,
  so early flips grow over the steps) of the unfused model's, relative.
"""

from __future__ import annotations

import backbone_reference
import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor

from crnn_fast.bench.train_cells import BackboneLoss, GradStep
from crnn_fast.models import backend_scope, build_model
from crnn_fast.ops import conv_block

pytestmark = pytest.mark.skipif(not conv_block.supported("cpu"), reason="no compiled _C")

MODELS = {"vgg7": ("crnn_vgg7", 7), "resnet34": ("crnn_resnet34", 39)}


def backbone(model: str, fused: bool):
    ms.set_seed(0)
    with backend_scope("cpu"):
        net = build_model(MODELS[model][0], backend="cpu")
    bb = net.backbone
    assert bb.set_training_fusion(fused) == (MODELS[model][1] if fused else 0)
    bb.set_train(True)
    return bb


def train_grads(bb, x: np.ndarray, d_f: np.ndarray):
    step = GradStep(BackboneLoss(bb, Tensor(d_f)), bb.trainable_params(), wrt_inputs=False)
    step.set_train(True)
    _, grads = step(Tensor(x))
    names = [p.name.removeprefix("backbone.") for p in bb.trainable_params()]
    return dict(zip(names, (g.asnumpy() for g in grads)))


WIDTH = 40  # a narrow text line keeps the float64 reference quick


def inputs(model: str, batch: int):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (batch, 3, 32, WIDTH)).astype(np.float32)
    t = WIDTH // 4 - 1 if model == "vgg7" else -(-WIDTH // 4)
    return x, rng.standard_normal((batch, 512, 1, t)).astype(np.float32)


@pytest.mark.parametrize(
    "model, mode", [("vgg7", "graph"), ("vgg7", "pynative"), ("resnet34", "graph")]
)
def test_fused_training_matches_float64_reference(model, mode, request):
    if mode == "graph":
        request.getfixturevalue("graph_mode")
    bb = backbone(model, fused=True)
    params = {p.name.removeprefix("backbone."): p.asnumpy() for p in bb.get_parameters()}
    x, d_f = inputs(model, 2)
    f_ref, g_ref = backbone_reference.run(model, x, params, d_f)
    f = bb(Tensor(x))[0].asnumpy()
    assert np.abs(f - f_ref).max() <= 1e-4 * np.abs(f_ref).max()
    grads = train_grads(bb, x, d_f)
    assert set(grads) == set(g_ref) and all(np.isfinite(g).all() for g in grads.values())
    err = np.sqrt(sum(np.sum((g - g_ref[n]) ** 2) for n, g in grads.items()))
    assert err <= 3e-2 * np.sqrt(sum(np.sum(g**2) for g in g_ref.values()))


@pytest.mark.parametrize("model", sorted(MODELS))
def test_fused_moving_statistics_match_unfused(model, graph_mode):
    x, _ = inputs(model, 2)
    stats = {}
    for fused in (True, False):
        bb = backbone(model, fused)
        for _ in range(2):
            bb(Tensor(x))
        stats[fused] = {p.name: p.asnumpy() for p in bb.get_parameters() if "moving" in p.name}
    assert stats[True].keys() == stats[False].keys() and stats[True]
    for k, v in stats[False].items():
        assert np.abs(stats[True][k] - v).max() <= 1e-5 * (1 + np.abs(v).max()), k


def losses(model: str, fused: bool, batch: int, steps: int, amp: str = "O0") -> list[float]:
    """Per-step training losses of the whole CRNN (the trainer's step: CTC loss, AdamW) with
    MindOCR's ``system.amp_level`` ``amp``."""
    from crnn_fast.configs import config_path
    from crnn_fast.train.config import load_config
    from crnn_fast.train.trainer import build_train_step

    cfg = load_config(config_path(MODELS[model][0]), [
        f"train.loader.batch_size={batch}", f"loss.batch_size={batch}", f"system.amp_level={amp}",
        "loss_scaler.type=static", "loss_scaler.loss_scale=1.0",
    ])  # fmt: skip
    ms.set_seed(0)
    with backend_scope("cpu"):
        net, step, _ = build_train_step(cfg, steps, 1)
    net.backbone.set_training_fusion(fused)
    step.set_train(True)
    rng = np.random.default_rng(9)
    x = Tensor(rng.uniform(-1, 1, (batch, 3, 32, 100)).astype(np.float32))
    labels = np.full((batch, cfg["loss"]["max_label_len"]), 36, np.int32)
    for b in range(batch):
        n = int(rng.integers(1, 8))
        labels[b, :n] = rng.integers(0, 36, n)
    return [float(step(x, Tensor(labels))[0].asnumpy()) for _ in range(steps)]


@pytest.mark.parametrize("model", sorted(MODELS))
def test_fused_loss_curve_matches_unfused(model, graph_mode):
    fused, unfused = losses(model, True, 4, 6), losses(model, False, 4, 6)
    assert all(np.isfinite(fused)) and fused[-1] < fused[0]
    np.testing.assert_allclose(fused, unfused, rtol={"vgg7": 1e-4, "resnet34": 5e-3}[model])


@pytest.mark.parametrize("model", sorted(MODELS))
def test_bf16_amp_loss_curve(model, graph_mode):
    """``system.amp_level: O2`` on the CPU: bfloat16 GEMM inputs where the CPU has AVX512-BF16
    (else float32, with a warning). The loss curve over 6 steps stays within 2e-2 of float32's,
    relative (measured 4e-4 VGG7, 3.6e-3 ResNet34), and differs from it where bf16 ran."""
    from crnn_fast.precision import cpu_bf16_native, cpu_matmul_precision

    fp32 = losses(model, True, 4, 6)
    assert cpu_matmul_precision() == "float32"
    bf16 = losses(model, True, 4, 6, amp="O2")
    native = cpu_bf16_native()
    assert cpu_matmul_precision() == ("bfloat16" if native else "float32")
    assert all(np.isfinite(bf16)) and bf16[-1] < bf16[0]
    np.testing.assert_allclose(bf16, fp32, rtol=2e-2)
    assert (bf16 != fp32) if native else (bf16 == fp32)
