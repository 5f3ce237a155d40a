"""CRNN models (crnn_fast.models): MindOCR's parameter names, shapes, order and counts (the
contract's lists, MINDOCR_CRNN.md section 1.7 / MINDOCR_CRNN_resnet34_params.tsv) on every
backend; initializers and BatchNorm settings; the factory, MindOCR YAML ``model:`` sections
and the Chinese variant (crnn_resnet34_ch: 32x320, hidden 64, 6624 classes, ch_dict.txt).
Construction only, plus one small forward of the Chinese variant."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import yaml
from mindspore import nn
from model_helpers import CONTRACT_FILES, contract_params, image, model_params

import crnn_fast.models as M
import crnn_fast.nn as cnn
from crnn_fast import registry

# The project's shared folder: beside the checkout (dev machines), else the workspace's copy
# (a fresh clone elsewhere, as CI makes), else CRNN_FAST_SHARED.
SHARED = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared", Path("/work/shared"),
                 Path(os.environ.get("CRNN_FAST_SHARED", "/nonexistent"))) if p.is_dir()),
    Path("/nonexistent"),
)  # fmt: skip
COUNTS = {"crnn_vgg7": (8_727_973, 8_725_413), "crnn_resnet34": (24_498_309, 24_481_029)}
BACKENDS = ["cpu", "stock"]


def n_elements(params) -> int:
    return sum(int(np.prod(p.shape)) for p in params)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["crnn_vgg7", "crnn_resnet34"])
def test_parameter_names_shapes_order_are_mindocrs(name, backend):
    model = M.build_model(name, backend=backend)
    assert model.backend == backend
    got, want = model_params(model), contract_params(name)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:5]}, unexpected {extra[:5]}"
    assert got == want  # same order as MindOCR's parameters_and_names
    total, trainable = COUNTS[name]
    assert n_elements(model.get_parameters()) == total
    assert n_elements(model.trainable_params()) == trainable
    assert all(p.dtype == ms.float32 for p in model.get_parameters())


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_classes_per_backend(backend):
    model = M.build_model("crnn_resnet34", backend=backend)
    lstm, conv = model.neck.seq_encoder, model.backbone.block_list[3].short.conv
    if backend == "stock":
        assert type(lstm) is nn.LSTM and type(conv) is nn.Conv2d
    else:
        assert type(lstm) is cnn.LSTM and type(conv) is cnn.Conv2d
        assert lstm.backend == backend and not conv.use_stock and conv.fused.backend == backend
    assert registry.active() == registry._choose()  # the global choice is restored


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared contract directory is absent")
def test_embedded_lists_equal_the_contract():
    tsv = (SHARED / "MINDOCR_CRNN_resnet34_params.tsv").read_text(encoding="utf-8")
    assert CONTRACT_FILES["crnn_resnet34"].read_text(encoding="utf-8") == tsv
    md = (SHARED / "MINDOCR_CRNN.md").read_text(encoding="utf-8")
    block = re.search(r"crnn_vgg7 \(44 tensors.*?```\n(.*?)```", md, re.S).group(1)
    assert CONTRACT_FILES["crnn_vgg7"].read_text(encoding="utf-8") == block


def _std_bound(p) -> tuple[float, float]:
    a = p.asnumpy()
    return float(a.std()), float(np.abs(a).max())


def test_initializers_and_batchnorm_settings():
    vgg = M.build_model("crnn_vgg7")
    std, _ = _std_bound(vgg.backbone.conv5.conv.weight)  # TruncatedNormal(0.02)
    assert 0.019 < std < 0.021
    std, _ = _std_bound(vgg.backbone.conv6.conv.bias)  # TruncatedNormal() = sigma 0.01
    assert 0.008 < std < 0.012
    for cell in (vgg.backbone.conv3.bn, vgg.backbone.conv7.bn):
        assert cell.eps == pytest.approx(1e-4) and cell.momentum == pytest.approx(0.1)
    assert not hasattr(vgg.backbone.conv4, "bn")
    bound = 1 / math.sqrt(512)  # crnn_customised: U(+-1/sqrt(512)), weight and bias
    std, top = _std_bound(vgg.head.dense1.weight)  # 18944 samples
    assert 0.99 * bound < top <= bound and std == pytest.approx(bound / 3**0.5, rel=0.05)
    std, top = _std_bound(vgg.head.dense1.bias)  # 37 samples: loose statistics
    assert top <= bound and 0.4 * bound / 3**0.5 < std
    r34 = M.build_model("crnn_resnet34")
    w = r34.backbone.block_list[7].conv0.conv.weight  # HeUniform(sqrt 5): U(+-1/sqrt(fan_in))
    _, top = _std_bound(w)
    fan_in = 128 * 9
    assert 0.95 / math.sqrt(fan_in) < top <= 1 / math.sqrt(fan_in)
    assert not r34.backbone.conv1_1.conv.has_bias
    norms = [c for _, c in r34.cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    assert len(norms) == 39
    assert all(n.eps == pytest.approx(1e-5) and n.momentum == pytest.approx(0.1) for n in norms)
    for p in (norms[0].moving_mean, norms[0].beta):
        assert not p.asnumpy().any()
    for p in (norms[0].moving_variance, norms[0].gamma):
        assert (p.asnumpy() == 1).all()


def test_resnet_block_layout():
    bb = M.build_model("crnn_resnet34").backbone
    assert len(bb.block_list) == 16
    with_short = [i for i, b in enumerate(bb.block_list) if not b.shortcut]
    assert with_short == [0, 3, 7, 13]
    assert [bb.block_list[i].short.is_vd_mode for i in with_short] == [False, True, True, True]
    assert [tuple(bb.block_list[i].stride) for i in with_short] == [(1, 1)] + [(2, 1)] * 3
    pool = bb.maxpool2d_1
    assert isinstance(pool, nn.MaxPool2d) and pool.pad_mode.lower() == "same"


MINDOCR_VGG7_YAML = """
model:
  type: rec
  transform: null
  backbone:
    name: rec_vgg7
    pretrained: False
  neck:
    name: RNNEncoder
    hidden_size: 256
  head:
    name: CTCHead
    out_channels: 37
    weight_init: crnn_customised
    bias_init: crnn_customised
"""

MINDOCR_R34_CH_YAML = """
common:
  num_classes: &num_classes 6624
model:
  type: rec
  transform: null
  backbone:
    name: rec_resnet34
    pretrained: False
  neck:
    name: RNNEncoder
    hidden_size: 64
  head:
    name: CTCHead
    out_channels: *num_classes
"""


def test_build_from_mindocr_yaml():
    cfg = yaml.safe_load(MINDOCR_VGG7_YAML)
    for section in (cfg, cfg["model"]):  # a whole config or its model section
        model = M.build_model_from_config(section)
        assert model_params(model) == contract_params("crnn_vgg7")
        assert model.model_name == "rec_vgg7_RNNEncoder_CTCHead"
    assert cfg["model"]["backbone"]["name"] == "rec_vgg7"  # the caller's dict is not consumed
    assert model_params(M.build_model(cfg["model"])) == contract_params("crnn_vgg7")


def test_chinese_variant_from_config_and_by_name():
    spec = M.VARIANTS["crnn_resnet34_ch"]
    assert spec.input_size == (3, 32, 320) and spec.num_classes == 6624
    assert (spec.max_text_len, spec.pred_seq_len) == (40, 80)
    assert M.num_classes_of_dict(spec.character_dict_path) == 6624
    assert M.num_classes_of_dict(None) == 37
    from_yaml = M.build_model_from_config(yaml.safe_load(MINDOCR_R34_CH_YAML))
    by_name = M.build_model("crnn_resnet34_ch")
    H = 64  # every LSTM tensor and the head change; the backbone does not

    def lstm_shape(name: str) -> tuple[int, ...]:
        kind = name.split(".")[-1]
        if kind.startswith("bias"):
            return (4 * H,)
        if kind.startswith("weight_hh"):
            return (4 * H, H)
        return (4 * H, 512 if "_l0" in kind else 2 * H)

    want = {k: lstm_shape(k) for k, _ in contract_params("crnn_resnet34") if ".seq_encoder." in k}
    assert len(want) == 16 and want["neck.seq_encoder.weight_ih_l1_reverse"] == (256, 128)
    want.update({"head.dense1.weight": (6624, 2 * H), "head.dense1.bias": (6624,)})
    r34 = dict(contract_params("crnn_resnet34"))
    for model in (from_yaml, by_name):
        got = dict(model_params(model))
        assert got.keys() == r34.keys()
        assert {k: v for k, v in got.items() if v != r34[k]} == want
    # The YAML head has no weight_init: MindOCR's CTCHead defaults normal(0.01) / zeros apply;
    # the model function uses crnn_customised.
    assert not from_yaml.head.dense1.bias.asnumpy().any()
    assert by_name.head.dense1.bias.asnumpy().std() > 0.01
    model = M.build_model("crnn_resnet34_ch", backend="cpu")
    model.set_train(True)
    x = image(np.random.default_rng(0), 1, *spec.input_size[1:])
    assert model(x).shape == (80, 1, 6624)


@pytest.mark.skipif(not (SHARED / "dicts").is_dir(), reason="shared dicts are absent")
@pytest.mark.parametrize("name", ["ch_dict.txt", "en_dict.txt", "en_dict90.txt"])
def test_shipped_dicts_are_mindocrs(name):
    shipped = Path(M.character_dict_path(name)).read_bytes()
    assert shipped == (SHARED / "dicts" / name).read_bytes()
    assert M.character_dict_path(name[:-4]) == M.character_dict_path(name)
    cnn.CTCLabelDecode(M.character_dict_path(name))  # the postprocess reads it


def test_num_classes_override_and_kwargs():
    model = M.build_model("crnn_vgg7", num_classes=95, hidden_size=128, backend="stock")
    shapes = dict(model_params(model))
    assert shapes["head.dense1.weight"] == (95, 256)
    assert shapes["neck.seq_encoder.weight_hh_l0"] == (512, 128)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: M.build_model("crnn_vgg16"), ValueError),
        (lambda: M.build_model("crnn_vgg7", hidden=3), TypeError),
        (lambda: M.build_model("crnn_vgg7", backend="gpu"), ValueError),
        (lambda: M.build_model("crnn_vgg7", pretrained="https://x/y.ckpt"), ValueError),
        (lambda: M.build_model("crnn_vgg7", pretrained="/nonexistent.ckpt"), FileNotFoundError),
        (lambda: M.build_model_from_config({"backbone": {"name": "rec_vgg7"}}), ValueError),
        (lambda: M.build_model_from_config({"backbone": {"name": "x"}, "neck": {}}), ValueError),
        (lambda: M.rec_vgg7(pretrained=True), NotImplementedError),
        (lambda: M.character_dict_path("jp_dict"), FileNotFoundError),
    ],
)
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def test_transform_and_type_refused():
    cfg = yaml.safe_load(MINDOCR_VGG7_YAML)["model"]
    with pytest.raises(ValueError, match="transform"):
        M.build_model_from_config({**cfg, "transform": {"name": "STN_ON"}})
    with pytest.raises(ValueError, match="type"):
        M.build_model_from_config({**cfg, "type": "det"})
