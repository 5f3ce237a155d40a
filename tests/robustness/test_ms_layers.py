"""Issue 13, the MindSpore layers (crnn_fast.nn / crnn_fast.ops): failed kernels must raise a
clear exception at the failing call and never kill the process; empty or mismatched batches
are named before any kernel runs.

Crash cases run in a subprocess (PYNATIVE, NaN calls interleaved with valid ones, as found by
the probe: a segfault in 3 of 4 processes before the fix) and assert a clean exception on
stderr and rc 1. The rest run in-process, in PYNATIVE and GRAPH mode where both apply.
"""

from __future__ import annotations

import os
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn, ops

import crnn_fast.nn as cnn
import crnn_fast.ops as cops
from crnn_fast.reference import ctc as ref
from crnn_fast.train.step import TrainStep

if hasattr(ms, "set_device"):  # (as tests/mindspore_layers/conftest.py)
    ms.set_device("CPU")
else:
    ms.set_context(device_target="CPU")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(params=["pynative", "graph"])
def ms_mode(request):
    """Runs the test in PYNATIVE or GRAPH mode (restored to PYNATIVE afterwards)."""
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


def scores(rng, T=8, B=2, C=5) -> np.ndarray:
    return (3 * rng.standard_normal((T, B, C))).astype(np.float32)


def with_nan(x: np.ndarray, at=(3, 1, 2)) -> np.ndarray:
    x = x.copy()
    x[at] = np.nan
    return x


# ---- crash cases (subprocess) ---------------------------------------------------------------

LOOP = """
import numpy as np, mindspore as ms
from mindspore import Tensor, ops
ms.set_device("CPU")
import crnn_fast.nn as cnn, crnn_fast.ops as cops
rng = np.random.default_rng(0)
good = (3 * rng.standard_normal((8, 2, 5))).astype(np.float32)
bad = good.copy(); bad[3, 1, 2] = np.nan
labels = Tensor(np.array([[1, 2], [3, 3]], np.int32))
{setup}
want = [o.asnumpy() for o in call(Tensor(good))]
for i in range(20):
    try:
        call(Tensor(bad))
    except {error} as e:
        assert {match!r} in str(e), str(e)
    else:
        raise SystemExit("no error for NaN input")
    got = [o.asnumpy() for o in call(Tensor(good))]
    assert all(np.array_equal(a, b) for a, b in zip(got, want)), "wrong result after an error"
call(Tensor(bad))  # uncaught: the process must end with this exception, rc 1
"""

CRASH = {  # name: (setup defining call(x) -> tuple of Tensors, backend, error, message)
    "greedy-decoder": (
        "dec = cnn.CTCGreedyDecoder()\ncall = lambda x: dec(x)",
        "cpu",
        "ValueError",
        "scores contains NaN",
    ),
    "greedy-op-then-ops": (  # the raw op, no host check: its kernel fails, then ops use outputs
        "op = cops.CTCGreedyOp()\n"
        "def call(x):\n"
        "    ids, n, p = op(x)\n"
        "    return ids, n, p.sum(1) / ops.maximum(n, 1).astype(ms.float32)",
        "cpu",
        "ValueError",
        "crnn_fast aot ctc_greedy: scores",
    ),
    "ctc-loss-mean-by-length": (
        "loss = cnn.CTCLoss(reduction='mean_by_length')\ncall = lambda x: (loss(x, labels),)",
        "cpu",
        "ValueError",
        "crnn_fast aot ctc_loss_reduced: logits",  # (the Cell's fused reduction)
    ),
    "lstm-batch-first": (
        "lstm = cnn.LSTM(5, 3, batch_first=True, bidirectional=True)\n"
        "call = lambda x: ((lstm(x)[0] * 2).sum(-1),)",
        "cpu",
        "ValueError",
        "crnn_fast aot lstm_forward_infer: x contains NaN",
    ),
    "conv-relu": (
        "conv = cnn.Conv2d(2, 3, 3)\ncall = lambda x: (ops.relu(conv(x.reshape(1, 2, 8, 5))),)",
        "cpu",
        "ValueError",
        "crnn_fast aot conv2d_forward: x contains NaN",
    ),
    "greedy-op-numpy": (
        "op = cops.CTCGreedyOp()\n"
        "def call(x):\n"
        "    ids, n, p = op(x)\n"
        "    return ids, n, p.sum(1) / ops.maximum(n, 1).astype(ms.float32)",
        "numpy",
        "ValueError",
        "scores contains NaN",
    ),
}


@pytest.mark.parametrize("name", list(CRASH))
def test_failed_kernel_raises_at_the_call_and_never_crashes(name):
    """20 NaN calls between valid ones: each raises a clean exception at the call, the valid
    calls give the first valid call's result, and the last NaN call ends the process (rc 1)."""
    setup, backend, error, match = CRASH[name]
    code = LOOP.format(setup=setup, error=error, match=match)
    env = {**os.environ, "CRNN_FAST_BACKEND": backend, "PYTHONPATH": ROOT}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert p.returncode == 1, f"rc {p.returncode}\n{p.stderr[-3000:]}"
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{error}: ") and match in last, p.stderr[-3000:]


# ---- a failed call raises there, the next call works ----------------------------------------


def test_failed_op_raises_at_its_call_and_next_call_is_right(backend, rng):
    """PYNATIVE: the raw ops have no host check; their kernel's failure must raise at the
    failing call (not at the next, unrelated one), and the next call must be correct."""
    x = scores(rng)
    op = cops.CTCGreedyOp()
    with pytest.raises(ValueError, match="scores contains NaN|crnn_fast aot ctc_greedy: scores"):
        op(Tensor(with_nan(x)))  # outputs never read
    ids, lengths, _ = op(Tensor(x))
    r = ref.ctc_greedy_decode(x, blank=4)
    np.testing.assert_array_equal(lengths.asnumpy(), r.lengths)
    np.testing.assert_array_equal(ids.asnumpy(), r.ids)

    labels = Tensor(np.array([[1, 2], [3, 3]], np.int32))
    loss = cnn.CTCLoss(reduction="none")
    want = loss(Tensor(x), labels).asnumpy()
    with pytest.raises(ValueError, match="logits"):
        loss(Tensor(with_nan(x)), labels)
    np.testing.assert_array_equal(loss(Tensor(x), labels).asnumpy(), want)


def test_greedy_decoder_nan(ms_mode, backend, rng):
    """NaN in the frames read: ValueError naming scores (PYNATIVE: the host check before the
    op; GRAPH: the op's own check, from the graph call)."""
    x = with_nan(scores(rng))
    with pytest.raises(ValueError, match="scores"):
        cnn.CTCGreedyDecoder()(Tensor(x))


def test_greedy_decoder_ignores_nan_past_input_length(rng):
    """(cpu backend: the NumPy pyfunc's own scan covers every frame; see ops/ctc_greedy.py)"""
    x = scores(rng)
    bad = with_nan(x, (6, 1, 2))
    lens = np.array([8, 5], np.int32)
    ids, lengths, _ = cnn.CTCGreedyDecoder()(Tensor(bad), Tensor(lens))
    r = ref.ctc_greedy_decode(x, lens, blank=4)
    np.testing.assert_array_equal(lengths.asnumpy(), r.lengths)
    np.testing.assert_array_equal(ids.asnumpy(), r.ids)


def test_graph_kernel_error_is_named(ms_mode):
    """A value only the kernel checks (labels after padding): ValueError with its message in
    both modes (was MindSpore's RuntimeError "... is 1")."""
    x = scores(np.random.default_rng(0), B=2)
    labels = Tensor(np.array([[1, 4, 2], [3, 3, 4]], np.int32))
    with pytest.raises(ValueError, match=r"labels\[0, 2\] = 2 follows padding"):
        cops.CTCLossOp()(Tensor(x), labels)


# ---- shape errors named before the kernel ---------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_empty_batch(ms_mode, batch_first):
    lstm = cnn.LSTM(4, 3, batch_first=batch_first)
    x = Tensor(np.zeros((0, 5, 4) if batch_first else (5, 0, 4), np.float32))
    with pytest.raises(ValueError, match=r"x has an empty batch \(B = 0\)"):
        lstm(x)


def test_lstm_no_time_steps(ms_mode):
    with pytest.raises(ValueError, match=r"x has no time steps \(T = 0\)"):
        cnn.LSTM(4, 3)(Tensor(np.zeros((0, 2, 4), np.float32)))


def test_ctc_loss_batch_size_mismatch(ms_mode, rng):
    loss = cnn.CTCLoss(pred_seq_len=8, max_label_len=2, batch_size=4)
    labels = Tensor(np.ones((5, 2), np.int32))
    with pytest.raises(ValueError, match=r"B = 5 .*batch_size = 4"):
        loss(Tensor(scores(rng, B=5)), labels)
    assert np.isfinite(loss(Tensor(scores(rng, B=4)), Tensor(np.ones((4, 2), np.int32))).asnumpy())


def test_ctc_loss_empty_labels(rng):
    """S = 0 (no label at all): the loss of the all-blank path (was an argmin ValueError)."""
    x = scores(rng)
    got = cnn.CTCLoss(reduction="none")(Tensor(x), Tensor(np.zeros((2, 0), np.int32)))
    want = -ref.log_softmax(x.astype(np.float64))[:, :, 4].sum(0)
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5)


@pytest.mark.parametrize(
    "x_shape, w_shape, match",
    [
        ((0, 2, 8, 8), (3, 2, 3, 3), r"x has an empty batch \(B = 0\)"),
        ((1, 2, 8, 8), (0, 2, 3, 3), r"w has no output channels \(C_out = 0\)"),
        ((1, 2, 8, 8), (3, 2, 0, 3), r"w has an empty kernel \(kh, kw\) = \(0, 3\)"),
    ],
)
def test_conv_empty_shapes(ms_mode, x_shape, w_shape, match):
    x, w = (Tensor(np.zeros(s, np.float32)) for s in (x_shape, w_shape))
    with pytest.raises(ValueError, match=match):
        cops.Conv2dOp()(x, w)


def test_cells_keep_working_after_errors(rng):
    """PYNATIVE grad after a failed forward inside value_and_grad (the grad state is reset)."""
    x = scores(rng)
    labels = Tensor(np.array([[1, 2], [3, 3]], np.int32))
    grad = ms.value_and_grad(cnn.CTCLoss(), 0)
    with pytest.raises(ValueError, match="logits"):
        grad(Tensor(with_nan(x)), labels)
    loss, dx = grad(Tensor(x), labels)
    assert np.isfinite(loss.asnumpy()) and np.isfinite(dx.asnumpy()).all()
    assert ops.isfinite(dx).all()


# ---- a non-finite incoming gradient is a value, not an error --------------------------------


class _ConvLstmLoss(nn.Cell):
    """conv -> LSTM -> mean square: both fused backward kernels see the scaled gradient."""

    def __init__(self):
        super().__init__()
        self.conv = cnn.Conv2d(1, 2, 3)
        self.lstm = cnn.LSTM(32, 3)

    def construct(self, x):
        y = self.conv(x)  # (4, 2, 4, 4): pad_mode "same"
        y, _ = self.lstm(y.reshape(4, 1, 32))
        return (y * y).mean() * 100


def test_loss_scale_overflow_skips_the_step(ms_mode):
    """A dynamic loss scale that overflows: the conv / LSTM backward pass the inf gradient on,
    the step reports it (finite False), skips the update and halves the scale; the next steps
    run (the backward kernels used to reject inf dy: a dead train graph in GRAPH mode, a
    segfault in PYNATIVE)."""
    net = _ConvLstmLoss()
    step = TrainStep(
        net,
        nn.SGD(net.trainable_params(), 1e-3),
        loss_scale=3e38,
        dynamic=True,
        drop_overflow_update=True,
    )
    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 4, 4)).astype(np.float32))
    scales = []
    for _ in range(3):
        loss, finite, scale = step(x)
        assert np.isfinite(loss.asnumpy()) and not finite.asnumpy()
        scales.append(float(scale.asnumpy()))
    np.testing.assert_allclose(scales, [1.5e38, 7.5e37, 3.75e37], rtol=1e-6)
