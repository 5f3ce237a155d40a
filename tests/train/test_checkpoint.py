"""Resume checkpoints restore weights, optimizer state, loss scale and counters exactly (the
continued run equals an uninterrupted one); top-k / best / last bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Tensor  # noqa: E402
from tiny_net import TinyNet  # noqa: E402

from crnn_fast.train.checkpoint import CheckpointKeeper, load_resume, save_resume  # noqa: E402
from crnn_fast.train.optim import AdamW  # noqa: E402
from crnn_fast.train.step import TrainStep  # noqa: E402


def _step(seed):
    ms.set_seed(seed)
    net = TinyNet()
    return net, TrainStep(net, AdamW(net.trainable_params(), [1e-2, 5e-3, 2e-3, 1e-3, 1e-3]),
                          loss_scale=8.0, dynamic=True, scale_window=2)  # fmt: skip


def test_resume_continues_exactly(tmp_path):
    rng = np.random.default_rng(0)
    f32 = lambda *s: Tensor(rng.standard_normal(s, dtype=np.float32))  # noqa: E731
    batches = [(f32(8, 4), f32(8, 3)) for _ in range(5)]
    net_a, step_a = _step(1)
    for b in batches:
        step_a(*b)
    net_b, step_b = _step(1)
    for b in batches[:2]:
        step_b(*b)
    save_resume(
        tmp_path, step_b, {"epoch": 3, "step_in_epoch": 2, "global_step": 2, "best_acc": 0.5}
    )
    net_c, step_c = _step(99)  # a fresh process: different init
    counters = load_resume(tmp_path, step_c)
    assert counters == {"epoch": 3, "step_in_epoch": 2, "global_step": 2, "best_acc": 0.5}
    for b in batches[2:]:
        step_c(*b)
    for pa, pc in zip(net_a.trainable_params(), net_c.trainable_params()):
        np.testing.assert_array_equal(pa.asnumpy(), pc.asnumpy())
    assert float(step_c.scale.asnumpy()) == float(step_a.scale.asnumpy())
    with pytest.raises(FileNotFoundError, match="no resume checkpoint"):
        load_resume(tmp_path / "nowhere", step_c)


def test_keeper_top_k_best_last(tmp_path):
    net = TinyNet()
    keeper = CheckpointKeeper(tmp_path, top_k=2)
    best = -1.0
    for epoch, acc in enumerate([0.1, 0.5, 0.3, 0.7], 1):
        if keeper.epoch_end(net, epoch, acc, best):
            best = acc
    names = sorted(p.name for p in tmp_path.glob("*.ckpt"))
    assert names == ["best.ckpt", "e2.ckpt", "e4.ckpt", "last.ckpt"] and best == 0.7
    params = ms.load_checkpoint(str(tmp_path / "best.ckpt"))
    assert set(params) == {"dense.weight", "dense.bias"}
