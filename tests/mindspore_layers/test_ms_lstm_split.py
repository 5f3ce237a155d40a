"""crnn_fast.nn.LSTM in PYNATIVE passes its parameters to the op as they are (no flat concat,
no split of the gradient) on the aot backends: the op's inputs, gradients equal to the flat
path's bit for bit and to the float64 reference, per-parameter shape errors, the per-layer
(dropout) path; and ``crnn_fast.pynative_blocking`` (a subprocess: it cannot be undone)."""

from __future__ import annotations

import os
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor
from test_ms_lstm import ATOL, CONFIGS, assert_same, make_inputs, reference, run_cell

import crnn_fast.nn as cnn
from crnn_fast import registry
from crnn_fast.ops import lstm as lstm_ops

BACKEND_OPS = ("lstm_forward", "lstm_backward")


@pytest.fixture
def pynative():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    yield


@pytest.fixture
def seen_weights(monkeypatch):
    """The ``weights`` argument of every LSTMOp call (as Python sees it: PYNATIVE)."""
    seen = []
    construct = lstm_ops.LSTMOp.construct

    def spy(self, x, h0=None, c0=None, seq_length=None, weights=None):
        seen.append(weights)
        return construct(self, x, h0, c0, seq_length, weights)

    monkeypatch.setattr(lstm_ops.LSTMOp, "construct", spy)
    return seen


@pytest.mark.parametrize("cfg", CONFIGS)
def test_split_weights_match_flat_and_reference(pynative, backend, cfg, rng, seen_weights):
    I, H, L, bidir, has_bias, batch_first, _, _ = cfg
    split = cnn.LSTM(I, H, L, has_bias=has_bias, batch_first=batch_first, bidirectional=bidir)
    flat = cnn.LSTM.from_stock(split)  # the same Parameter objects
    flat.stack.split_weights = False
    aot = registry.ms_ops(backend) == "aot"
    assert split.stack.split_weights == aot
    inputs = make_inputs(rng, cfg)
    got = run_cell(split, cfg, *inputs)
    n_params = len(split.trainable_params())
    assert isinstance(seen_weights[0], tuple) == aot
    if aot:  # the Parameters themselves, in the op's order
        assert len(seen_weights[0]) == n_params
        names = [name for name, _ in split.stack.layout]
        assert [p.name.split(".")[-1] for p in seen_weights[0]] == names
    seen_weights.clear()
    want = run_cell(flat, cfg, *inputs)
    assert not isinstance(seen_weights[0], tuple)  # one flat vector
    assert got[0] == want[0]
    for a, b in zip(got[1:4], want[1:4]):
        np.testing.assert_array_equal(a, b)
    for name, g in want[4].items():
        np.testing.assert_array_equal(got[4][name], g, err_msg=name)
    assert_same(got, reference(split, cfg, *inputs), ATOL, f"{backend} split")


def test_per_layer_path_passes_each_layers_parameters(pynative, rng, seen_weights):
    """dropout > 0 in training: one op per layer, each given that layer's parameters."""
    lstm = cnn.LSTM(4, 6, 3, dropout=0.5, bidirectional=True)
    lstm.set_train(True)
    x = Tensor(rng.standard_normal((5, 3, 4)).astype(np.float32))
    grads = ms.grad(lambda x: lstm(x)[0].sum(), 0, lstm.trainable_params())(x)
    assert [len(w) for w in seen_weights] == [8, 8, 8]
    assert [p.name.split(".")[-1] for p in seen_weights[1][:2]] == [
        "weight_ih_l1",
        "weight_ih_l1_reverse",
    ]
    assert all(np.isfinite(g.asnumpy()).all() for g in grads[1])


def test_eval_mode_split_grads_recompute_training_forward(pynative, rng, seen_weights):
    cfg = CONFIGS[1]
    I, H, L, bidir, has_bias, batch_first, _, _ = cfg
    lstm = cnn.LSTM(I, H, L, has_bias=has_bias, batch_first=batch_first, bidirectional=bidir)
    inputs = make_inputs(rng, cfg)
    got = run_cell(lstm, cfg, *inputs)
    got_eval = run_cell(lstm, cfg, *inputs, train=False)
    assert not lstm.training
    assert isinstance(seen_weights[-1], tuple)
    assert_same(got_eval, got, 1e-7, "eval vs train")


def test_split_weights_errors_name_the_parameter(pynative, rng):
    op = lstm_ops.LSTMOp(4, 6, 2, True, True)
    assert op.split_weights
    x = Tensor(rng.standard_normal((5, 3, 4)).astype(np.float32))
    ws = [Tensor(np.zeros(s, np.float32)) for _, s in op.layout]
    y, h, c = op(x, None, None, None, tuple(ws))
    assert y.shape == (5, 3, 12) and h.shape == (4, 3, 6)
    bad = list(ws)
    bad[7] = Tensor(np.zeros((24, 5), np.float32))  # weight_hh_l1_reverse
    with pytest.raises(ValueError, match=r"weight_hh_l1_reverse must have shape \(24, 6\)"):
        op(x, None, None, None, tuple(bad))
    with pytest.raises(ValueError, match="got 15 tensors"):
        op(x, None, None, None, tuple(ws[:-1]))
    with pytest.raises(ValueError, match="input_size = 4"):
        op(Tensor(np.zeros((5, 3, 7), np.float32)), None, None, None, tuple(ws))
    with pytest.raises(TypeError, match="weights must be float32"):
        op(x, None, None, None, tuple(w.astype(ms.float16) for w in ws))
    no_bias = lstm_ops.LSTMOp(4, 6, 2, True, False)
    y2, _, _ = no_bias(x, None, None, None, tuple(ws[:8]))  # the 8 matrices: no biases
    np.testing.assert_array_equal(y2.asnumpy(), y.asnumpy())  # zero weights either way


BLOCKING_SCRIPT = """
import numpy as np, mindspore as ms
import crnn_fast, crnn_fast.nn as cnn
from crnn_fast.reference import lstm as ref
ms.set_context(mode=ms.PYNATIVE_MODE)
from crnn_fast.runtime import is_blocking
before = is_blocking()
print("first", before, crnn_fast.pynative_blocking(), crnn_fast.pynative_blocking(), is_blocking())
rng = np.random.default_rng(3)
lstm = cnn.LSTM(5, 4, 2, bidirectional=True)
x = rng.standard_normal((6, 2, 5)).astype(np.float32)
params = lstm.trainable_params()
(dx, dw) = ms.grad(lambda z: lstm(z)[0].sum(), 0, params)(ms.Tensor(x))
P = {p.name.split(".")[-1]: p.asnumpy().astype(np.float64) for p in params}
r = ref.lstm_forward(x.astype(np.float64), P, 4, 2, True)
g = ref.lstm_backward(np.ones_like(r.output), None, None, r.cache)
names = [p.name.split(".")[-1] for p in params]
err = max(np.abs(dx.asnumpy() - g.d_x).max(),
          *(np.abs(d.asnumpy() - g.d_params[n]).max() for n, d in zip(names, dw)))
print("err", err)
"""


def test_pynative_blocking_switches_once_and_layers_stay_exact():
    env = {k: v for k, v in os.environ.items() if k != "MS_DEV_LAUNCH_BLOCKING"}
    r = subprocess.run(
        [sys.executable, "-c", BLOCKING_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    lines = dict(
        line.split(" ", 1) for line in r.stdout.splitlines() if line.startswith(("first", "err"))
    )
    assert lines["first"] == "False True False True"  # off, switched on, already on, on
    assert float(lines["err"]) < 1e-5
