"""The shipped configs load, their anchors resolve, and their model sections build the model
with the contract's parameter count."""

from __future__ import annotations

import pytest

pytest.importorskip("mindspore")
from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.train.config import get, load_config  # noqa: E402
from crnn_fast.train.schedule import build_schedule  # noqa: E402

PARAMS = {"crnn_vgg7": 8_727_973, "crnn_resnet34": 24_498_309, "crnn_vgg7_synth": 8_727_973}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_shipped_config(name):
    from crnn_fast.models import build_model_from_config

    cfg = load_config(config_path(name), ["train.loader.batch_size=8"])
    assert get(cfg, "train.loader.batch_size") == 8
    assert get(cfg, "loss.max_label_len") == get(cfg, "common.max_text_len")
    assert get(cfg, "loss.pred_seq_len") > get(cfg, "loss.max_label_len")
    assert get(cfg, "model.head.out_channels") == 37
    lr = build_schedule(cfg["scheduler"], 10, int(get(cfg, "scheduler.num_epochs")))
    assert max(lr) == pytest.approx(float(get(cfg, "scheduler.lr")), rel=0.05) and lr[0] == 0.0
    net = build_model_from_config(cfg["model"])
    assert sum(p.size for p in net.get_parameters()) == PARAMS[name]


def test_config_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shipped config"):
        config_path("nope")
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("system: {}\n")
    with pytest.raises(ValueError, match="lacks the section"):
        load_config(bad)
