"""MindOCR training pieces: AdamW vs a NumPy transcription of its update (groups, per-step lr,
PYNATIVE and GRAPH), the warmup-cosine schedule vs MindOCR's published values, RecMetric vs the
contract's example, config overrides."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Parameter, Tensor  # noqa: E402
from tiny_net import ApplyGrads  # noqa: E402

from crnn_fast.reference import adamw as reference_adamw  # noqa: E402
from crnn_fast.train.config import apply_overrides, get  # noqa: E402
from crnn_fast.train.metric import RecMetric, levenshtein  # noqa: E402
from crnn_fast.train.optim import AdamW, build_optimizer, param_groups  # noqa: E402
from crnn_fast.train.schedule import build_schedule, warmup_cosine_decay  # noqa: E402


@pytest.mark.parametrize("mode", ["pynative", "graph"])
def test_adamw_matches_mindocr_update(mode):
    ms.set_context(mode=ms.GRAPH_MODE if mode == "graph" else ms.PYNATIVE_MODE)
    try:
        rng = np.random.default_rng(0)
        init = [rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,), (2,))]
        names = ["conv.weight", "conv.bias", "bn.gamma"]
        params = [Parameter(Tensor(x), name=n) for x, n in zip(init, names)]
        lrs = [1e-2, 5e-3, 2e-3, 1e-3]
        opt = AdamW(param_groups(params, 0.1, True), lrs)
        apply = ApplyGrads(opt)
        steps = [[rng.standard_normal(x.shape) for x in init] for _ in lrs]
        for grads in steps:
            apply(tuple(Tensor(g.astype(np.float32)) for g in grads))
        want = reference_adamw(init, steps, lrs, [0.1, 0.0, 0.0])
        for p, w in zip(params, want):
            np.testing.assert_allclose(p.asnumpy(), w, rtol=2e-5, atol=2e-6)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_param_groups_follow_filter_bias_and_bn():
    names = ("a.weight", "a.bias", "bn.gamma", "bn.beta", "lstm.weight_ih_l0", "lstm.bias_hh_l0")
    ps = [Parameter(Tensor(np.zeros(2, np.float32)), name=n) for n in names]
    g = param_groups(ps, 1e-4, True)
    assert [p.name for p in g[0]["params"]] == ["a.weight", "lstm.weight_ih_l0"]
    assert g[0]["weight_decay"] == 1e-4 and g[1]["weight_decay"] == 0.0 and len(g[1]["params"]) == 4
    assert len(param_groups(ps, 1e-4, False)) == 1
    with pytest.raises(ValueError, match="optimizer 'lion'"):
        build_optimizer({"opt": "lion"}, ps, 1e-3)


def test_schedule_matches_mindocr_values():
    lr = warmup_cosine_decay(5e-4, 0.0, 1, 9, 4)
    assert len(lr) == 40
    np.testing.assert_allclose(lr[:6], [0, 1.25e-4, 2.5e-4, 3.75e-4, 5e-4, 4.99e-4], atol=1e-6)
    assert lr[-1] == pytest.approx(9.5e-7, rel=0.01)
    s = {"scheduler": "warmup_cosine_decay", "lr": 5e-4, "min_lr": 0.0, "warmup_epochs": 1,
         "decay_epochs": 9, "num_epochs": 10}  # fmt: skip
    assert build_schedule(s, 4, 10) == lr
    assert len(build_schedule(s, 4, 12)) == 48 and build_schedule(s, 4, 12)[-1] == lr[-1]
    with pytest.raises(ValueError, match="steps_per_epoch"):
        warmup_cosine_decay(1e-3, 0, 1, 1, 0)


def test_rec_metric_contract_example():
    m = RecMetric()
    m.update(["hello", "world1", "ab"], ["Hel lo!", "World", "a-b"])
    r = m.eval()
    assert r["acc"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["norm_edit_distance"] == pytest.approx(0.9444, abs=1e-4)
    m.clear()
    m.update([""], [""])
    assert m.eval() == {"acc": 1.0, "norm_edit_distance": 1.0}
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3


def test_config_overrides():
    cfg = {"train": {"loader": {"batch_size": 16}}, "system": {"distribute": True}}
    out = apply_overrides(cfg, ["train.loader.batch_size=32", "system.distribute=False",
                                "eval.dataset.data_dir=[a, b]"])  # fmt: skip
    assert get(out, "train.loader.batch_size") == 32 and get(out, "system.distribute") is False
    assert (
        get(out, "eval.dataset.data_dir") == ["a", "b"]
        and cfg["train"]["loader"]["batch_size"] == 16
    )
    assert get(out, "no.such.key", 7) == 7
    with pytest.raises(ValueError, match="key.sub=value"):
        apply_overrides(cfg, ["justakey"])
    with pytest.raises(ValueError, match="not a section"):
        apply_overrides(cfg, ["train.loader.batch_size.x=1"])
