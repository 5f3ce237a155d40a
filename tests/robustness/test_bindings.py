"""Issue 13, bindings slice: every case as a test (NumPy-level API, compiled and fallback).

* crash #1: a non-contiguous input whose contiguous copy cannot be allocated raised nothing and
  the process segfaulted; now MemoryError names the argument, its shape and the bytes needed.
  Run in a child process under RLIMIT_AS (a crash there cannot kill pytest, and the limit makes
  the failure deterministic on any machine);
* silent #3: an output aliasing an input (``grad_out=logits``) is a ValueError naming both;
* the low items: labels out of range vs padding, conv C_out/kh = 0, pybind signature dumps,
  LSTM backward without a reserve, huge label padding, num_threads range, greedy with negative
  probs, conv "valid" with padding, the CTC scratch kept after a call.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import crnn_fast
from crnn_fast import _validate as v
from crnn_fast import registry
from crnn_fast.reference import lstm as ref_lstm

# Child prelude: limit() caps the address space at the current size + `extra` bytes, so an
# allocation above that fails (as on a small machine) instead of swapping on a large one.
PRELUDE = textwrap.dedent(
    """
    import resource
    import numpy as np
    import crnn_fast

    def limit(extra=1 << 30):
        with open("/proc/self/status") as f:
            vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + extra, vm + extra))
    """
)


def run_child(code: str, backend: str = "cpu") -> subprocess.CompletedProcess:
    env = {**os.environ, "CRNN_FAST_BACKEND": backend, "CRNN_FAST_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def assert_clean_error(p: subprocess.CompletedProcess, expected: str) -> None:
    """The child died of a Python exception (rc 1, not a signal) whose last line has `expected`."""
    last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
    assert p.returncode == 1, f"rc {p.returncode} (a crash is negative), stderr:\n{p.stderr}"
    assert expected in last, f"expected {expected!r} in the last line of:\n{p.stderr}"


HUGE = (1000, 100000, 100)  # 37 GiB as float32: the case

# (code, expected text of the MemoryError): one per binding argument that was copied unchecked.
HUGE_CASES = {
    "ctc_loss logits": (
        """
        x = np.broadcast_to(np.float32(0), (1000, 100000, 100))
        lab = np.ones((100000, 3), np.int32)
        il, ll = np.full(100000, 1000, np.int32), np.full(100000, 3, np.int32)
        limit()
        crnn_fast.ctc_loss(x, lab, il, ll)
        """,
        "MemoryError: logits of shape (1000, 100000, 100) and dtype float32 is not "
        "C-contiguous and its contiguous copy needs 40000000000 bytes (37.3 GiB)",
    ),
    "ctc_loss labels (1 GiB broadcast under a memory limit)": (
        """
        x = np.zeros((5, 1, 6), np.float32)
        lab = np.broadcast_to(np.int32(1), (1, 2**28))
        limit(512 << 20)
        crnn_fast.ctc_loss(x, lab, np.array([5], np.int32), np.array([2**28], np.int32))
        """,
        "MemoryError: labels of shape (1, 268435456) and dtype int32 is not C-contiguous",
    ),
    "ctc_greedy_decode scores": (
        """
        limit()
        crnn_fast.ctc_greedy_decode(np.broadcast_to(np.float32(0), (1000, 100000, 100)))
        """,
        "MemoryError: scores of shape (1000, 100000, 100)",
    ),
    "ctc_beam_search scores": (
        """
        limit()
        crnn_fast.ctc_beam_search(np.broadcast_to(np.float32(0), (1000, 100000, 100)))
        """,
        "MemoryError: scores of shape (1000, 100000, 100)",
    ),
    "lstm_forward x": (
        """
        from crnn_fast.reference import lstm as ref
        p = ref.init_lstm_params(100, 2, dtype=np.float32)
        limit()
        crnn_fast.lstm_forward(np.broadcast_to(np.float32(0), (1000, 100000, 100)), p, 2)
        """,
        "MemoryError: x of shape (1000, 100000, 100)",
    ),
    "lstm_forward params": (
        """
        from crnn_fast.reference import lstm as ref
        H, I = 2**14, 2**16
        p = {k: np.zeros(1, np.float32) for k in ("bias_ih_l0", "bias_hh_l0")}
        p["bias_ih_l0"] = p["bias_hh_l0"] = np.zeros(4 * H, np.float32)
        p["weight_ih_l0"] = np.broadcast_to(np.float32(0), (4 * H, I))
        p["weight_hh_l0"] = np.broadcast_to(np.float32(0), (4 * H, H))
        limit()
        crnn_fast.lstm_forward(np.zeros((1, 1, I), np.float32), p, H)
        """,
        "MemoryError: params['weight_ih_l0'] of shape (65536, 65536)",
    ),
    "conv2d_forward x": (
        """
        limit()
        x = np.broadcast_to(np.float32(0), (100, 1000, 1000, 100))
        crnn_fast.conv2d_forward(x, np.zeros((1, 1000, 1, 1), np.float32))
        """,
        "MemoryError: x of shape (100, 1000, 1000, 100)",
    ),
}


@pytest.mark.parametrize("case", list(HUGE_CASES))
def test_huge_noncontiguous_input_is_a_memory_error(case):
    code, expected = HUGE_CASES[case]
    assert_clean_error(run_child(code), expected)


def test_huge_input_on_the_numpy_fallback_names_the_argument():
    code = """
    x = np.broadcast_to(np.float32(0), (20000, 4, 10000))
    lab = np.ones((4, 3), np.int32)
    il, ll = np.full(4, 20000, np.int32), np.full(4, 3, np.int32)
    limit()
    crnn_fast.ctc_loss(x, lab, il, ll)
    """
    assert_clean_error(run_child(code, "numpy"), "MemoryError: logits of shape (20000, 4, 10000)")


def test_huge_broadcast_labels_are_read_up_to_the_longest_label(backend):
    """Only labels[b, :label_lengths[b]] are read: a broadcast labels is not copied whole."""
    x, labels, il, ll = _ctc_args()
    big = np.broadcast_to(np.int32(1), (3, 2**40))
    loss, grad = crnn_fast.ctc_loss(x, big, il, ll)
    want = crnn_fast.ctc_loss(x, np.ones((3, 2), np.int32), il, ll)
    np.testing.assert_array_equal(loss, want[0])
    np.testing.assert_array_equal(grad, want[1])


def test_huge_used_label_is_a_memory_error_naming_the_workspace():
    """Labels of length 2**27 really used: the scratch (~T * 2L * 3 floats) cannot be had."""
    code = """
    x = np.zeros((4, 1, 6), np.float32)
    lab = np.ones((1, 2**27), np.int32)
    limit(512 << 20)
    crnn_fast.ctc_loss(x, lab, np.array([4], np.int32), np.array([2**27], np.int32))
    """
    assert_clean_error(run_child(code), "MemoryError: cannot allocate the ctc_loss workspace")


# ---- silent #3: outputs aliasing inputs --------------------------------------------------


def _ctc_args(dtype=np.float32):
    rng = np.random.default_rng(0)
    T, B, C = 6, 3, 5
    x = rng.standard_normal((T, B, C)).astype(dtype)
    labels = np.array([[0, 1], [2, 2], [3, 1]], np.int32)
    return x, labels, np.full(B, T, np.int32), np.array([2, 2, 1], np.int32)


def test_output_aliasing_an_input_is_rejected(backend):
    x, labels, il, ll = _ctc_args()
    T, B, C = x.shape
    with pytest.raises(ValueError, match="grad_out shares memory with logits"):
        crnn_fast.ctc_loss(x, labels, il, ll, grad_out=x)
    with pytest.raises(ValueError, match="loss_out shares memory with logits"):
        crnn_fast.ctc_loss(x, labels, il, ll, loss_out=x.reshape(-1)[:B])
    with pytest.raises(ValueError, match="loss_out shares memory with labels"):
        crnn_fast.ctc_loss(x, labels, il, ll, loss_out=labels.view(np.float32).reshape(-1)[:B])
    with pytest.raises(ValueError, match="loss_out shares memory with input_lengths"):
        crnn_fast.ctc_loss(x, labels, il, ll, loss_out=il.view(np.float32))
    g = np.empty((T, B, C), np.float32)
    with pytest.raises(ValueError, match="grad_out shares memory with loss_out"):
        crnn_fast.ctc_loss(x, labels, il, ll, loss_out=g.reshape(-1)[:B], grad_out=g)
    # separate outputs are filled and returned; inputs untouched
    x0 = x.copy()
    loss, grad = crnn_fast.ctc_loss(
        x, labels, il, ll, loss_out=np.empty(B, np.float32), grad_out=np.empty_like(x)
    )
    np.testing.assert_array_equal(x, x0)
    want = crnn_fast.ctc_loss(x, labels, il, ll)
    np.testing.assert_array_equal(loss, want[0])
    np.testing.assert_array_equal(grad, want[1])


def test_binding_rejects_aliasing_outputs_directly():
    x, labels, il, ll = _ctc_args(np.float64)
    with pytest.raises(ValueError, match="grad_out shares memory with logits"):
        registry.compiled_module().ctc_loss(x, labels, il, ll, -1, False, True, 0, None, x[:])


# ---- low items -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row,message",
    [
        ([3, 40, 5, 36, 36], r"labels\[1, 1\] = 40 is outside \[0, C\) \(C = 37, blank = 36\)"),
        ([3, 5, 36, 40], r"labels\[1, 3\] = 40 is outside \[0, C\)"),
        ([3, -2, 36, 36], r"labels\[1, 1\] = -2 is outside \[0, C\)"),
        ([3, 36, 5, 36], r"labels\[1, 2\] = 5 follows padding at position 1"),
        ([3, -1, 5, 36], r"labels\[1, 2\] = 5 follows padding at position 1"),
    ],
)
def test_label_out_of_range_is_not_called_padding(row, message):
    with pytest.raises(ValueError, match=message):
        v.label_lengths_from_padding(np.array([[1, 2, 3, 4], row[:4]], np.int32), 37, 36)


def test_padding_is_blank_or_minus_one():
    labels = np.array([[1, 2, 36, 36], [4, -1, -1, -1], [5, 6, 7, 8], [36, -1, 36, -1]])
    np.testing.assert_array_equal(v.label_lengths_from_padding(labels, 37, 36), [2, 1, 4, 0])


def test_mindspore_ctc_loss_reports_label_out_of_range():
    """The eager check of nn.CTCLoss and the aot op's own derivation agree (same message).
    In a child: a failed PYNATIVE aot op must not leak into later tests' MindSpore state."""
    pytest.importorskip("mindspore")
    code = """
    import mindspore as ms
    from crnn_fast import nn as cnn, ops as cops
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    logits = ms.Tensor(np.zeros((6, 2, 5), np.float32))
    labels = ms.Tensor(np.array([[1, 7, 2, 4], [1, 2, 4, 4]], np.int32))
    try:
        cnn.CTCLoss()(logits, labels)
    except ValueError as e:
        print("nn:", e)
    try:
        cops.CTCLossOp()(logits, labels)[0].asnumpy()
    except ValueError as e:  # raised at the call: the op waits for its kernel in PYNATIVE
        print("aot:", e, "| last_error:", cops.last_error())
    """
    p = run_child(code)
    assert p.returncode == 0, p.stderr
    want = "labels[0, 1] = 7 is outside [0, C) (C = 5, blank = 4)"
    assert f"nn: {want}" in p.stdout and want in p.stdout.split("aot:")[1], p.stdout


@pytest.mark.parametrize("shape", [(0, 1, 3, 3), (2, 1, 0, 3), (2, 1, 3, 0)])
def test_conv_empty_kernel_names_w(backend, shape):
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"w must have C_out, kh, kw >= 1, got shape"):
        crnn_fast.conv2d_forward(x, np.zeros(shape, np.float32))
    with pytest.raises(ValueError, match=r"w must have C_out, kh, kw >= 1"):
        crnn_fast.conv2d_backward(x, x, np.zeros(shape, np.float32))


def test_conv_valid_with_padding_is_an_error(backend):
    x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="padding must be 0 with pad_mode='valid'"):
        crnn_fast.conv2d_forward(x, w, pad_mode="valid", padding=1)
    with pytest.raises(ValueError, match="padding must be 0 with pad_mode='same'"):
        crnn_fast.conv2d_backward(np.zeros((1, 1, 4, 4), np.float32), x, w, 1, "same", (1, 1))
    assert crnn_fast.conv2d_forward(x, w, pad_mode="valid", padding=0).shape == (1, 1, 2, 2)


def _lstm(training=False, **kw):
    p = ref_lstm.init_lstm_params(3, 2, dtype=np.float32, rng=np.random.default_rng(0))
    x = np.ones((4, 2, 3), np.float32)
    return x, p, crnn_fast.lstm_forward(x, p, 2, training=training, **kw)


def _all_calls(num_threads):
    """Every public function with `num_threads` (all else valid)."""
    x, labels, il, ll = _ctc_args()
    xl, p, out = _lstm(training=True)
    cx, cw = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32)
    kw = dict(num_threads=num_threads)
    return {
        "ctc_loss": lambda: crnn_fast.ctc_loss(x, labels, il, ll, **kw),
        "greedy": lambda: crnn_fast.ctc_greedy_decode(x, **kw),
        "beam": lambda: crnn_fast.ctc_beam_search(x, **kw),
        "lstm_forward": lambda: crnn_fast.lstm_forward(xl, p, 2, **kw),
        "lstm_backward": lambda: crnn_fast.lstm_backward(
            np.ones_like(out.output),
            None,
            None,
            x=xl,
            output=out.output,
            reserve=out.reserve,
            params=p,
            hidden_size=2,
            **kw,
        ),  # fmt: skip
        "conv2d_forward": lambda: crnn_fast.conv2d_forward(cx, cw, **kw),
        "conv2d_backward": lambda: crnn_fast.conv2d_backward(
            np.zeros((1, 1, 2, 2), np.float32), cx, cw, **kw
        ),
    }


@pytest.mark.parametrize(
    "value,exc,message",
    [
        (-1, ValueError, r"num_threads must be in \[0, 4096\] \(0: all cores\), got -1"),
        (4097, ValueError, r"num_threads must be in \[0, 4096\]"),
        (2**31, ValueError, r"num_threads must be in \[0, 4096\]"),
        (2.0, TypeError, r"num_threads must be an integer, got float"),
    ],
)
def test_num_threads_out_of_range(backend, value, exc, message):
    for name, call in _all_calls(value).items():
        with pytest.raises(exc, match=message):
            call()
            pytest.fail(f"{name} accepted num_threads={value!r}")


def test_num_threads_zero_and_large_are_valid(backend):
    for n in (0, 1, 4096):
        for call in _all_calls(n).values():
            call()


def test_signature_dumps_are_named_errors(backend):
    x, labels, il, ll = _ctc_args()
    xl, p, _ = _lstm()
    cx, cw = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32)
    cases = [
        (lambda: crnn_fast.ctc_beam_search(x, beam_width=3.0), TypeError, "beam_width"),
        (lambda: crnn_fast.ctc_beam_search(x, top_n="1"), TypeError, "top_n"),
        (lambda: crnn_fast.ctc_beam_search(x, logp_cutoff="x"), TypeError, "logp_cutoff"),
        (lambda: crnn_fast.ctc_loss(x, labels, il, ll, blank=3.0), TypeError, "blank"),
        (lambda: crnn_fast.lstm_forward(xl, list(p.values()), 2), TypeError, "params must be"),
        (lambda: crnn_fast.lstm_forward(xl, p, 2.0), TypeError, "hidden_size"),
        (lambda: crnn_fast.lstm_forward(xl, p, 2, num_layers=[1]), TypeError, "num_layers"),
        (lambda: crnn_fast.conv2d_forward(cx, cw, groups=1.5), TypeError, "groups"),
    ]
    for call, exc, name in cases:
        with pytest.raises(exc, match=name) as info:
            call()
        assert "incompatible function arguments" not in str(info.value)


def test_binding_scalars_are_converted_with_named_errors():
    """Direct _C calls: the pybind11 overload dump is gone for every scalar argument."""
    C = registry.compiled_module()
    x, labels, il, ll = _ctc_args()
    xl, p, _ = _lstm()
    cx, cw = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32)
    cases = [
        (lambda: C.ctc_loss(x, labels, il, ll, -1, False, True, 2**31), ValueError, "num_threads"),
        (lambda: C.ctc_loss(x, labels, il, ll, -1, [0]), TypeError, "zero_infinity"),
        (lambda: C.ctc_greedy_decode(x, None, -1, 3), TypeError, "input_kind must be a str"),
        (lambda: C.ctc_greedy_decode(x, None, -1, "logits", "no"), TypeError, "batch_first"),
        (lambda: C.ctc_beam_search(x, None, -1, 3.0), TypeError, "beam_width"),
        (lambda: C.ctc_beam_search(x, None, -1, 2**70), ValueError, "beam_width"),
        (lambda: C.lstm_forward(xl, [1], 2), TypeError, "params must be a dict"),
        (
            lambda: C.lstm_forward(xl, p, 2, 1, False, True, None, None, None, "y"),
            TypeError,
            "training",
        ),  # fmt: skip
        (lambda: C.conv2d_forward(cx, cw, None, (1,), (0,) * 4, (1, 1), 1), ValueError, "stride"),
        (lambda: C.conv2d_forward(cx, cw, None, 1, (0,) * 4, (1, 1), 1), TypeError, "stride"),
        (
            lambda: C.conv2d_forward(cx, cw, None, (1, 1), (0,) * 4, (1, 1.5), 1),
            TypeError,
            "dilation",
        ),  # fmt: skip
    ]
    for call, exc, name in cases:
        with pytest.raises(exc, match=name) as info:
            call()
        assert "incompatible function arguments" not in str(info.value)


def test_lstm_backward_after_inference_forward_says_training(backend):
    x, p, out = _lstm(training=False)
    assert out.reserve is None
    with pytest.raises(ValueError, match=r"run lstm_forward\(\.\.\., training=True\)"):
        crnn_fast.lstm_backward(
            np.ones_like(out.output), None, None, x=x, output=out.output, reserve=out.reserve,
            params=p, hidden_size=2,
        )  # fmt: skip


def test_lstm_binding_backward_without_reserve():
    x, p, out = _lstm()
    C = registry.compiled_module()
    with pytest.raises(ValueError, match="reserve is None"):
        C.lstm_backward(np.ones_like(out.output), None, None, x, out.output, p, 2)


def test_huge_label_padding_works(backend):
    """labels padded to S = 2**28 (1 GiB of address space, pages untouched) with short labels:
    the scratch is sized by the longest label read (was std::bad_alloc)."""
    x, labels, il, ll = _ctc_args()
    big = np.zeros((3, 2**28), np.int32)
    big[:, :2] = labels
    loss, grad = crnn_fast.ctc_loss(x, big, il, ll)
    want = crnn_fast.ctc_loss(x, labels, il, ll)
    np.testing.assert_allclose(loss, want[0], rtol=1e-6)
    np.testing.assert_allclose(grad, want[1], atol=1e-7)


def test_greedy_rejects_negative_probs_like_beam(backend):
    p = np.full((4, 2, 3), 1 / 3, np.float32)
    p[2, 1, 0] = -0.1
    msg = r"scores has negative values with input_kind='probs' \(batch index 1\)"
    for decode in (crnn_fast.ctc_greedy_decode, crnn_fast.ctc_beam_search):
        with pytest.raises(ValueError, match=msg):
            decode(p, input_kind="probs")
        with pytest.raises(ValueError, match=msg):
            decode(np.ascontiguousarray(p.transpose(1, 0, 2)), input_kind="probs", batch_first=True)
        # frames past input_lengths are not read
        decode(p, np.array([4, 2], np.int32), input_kind="probs")


RSS_CODE = """
import os
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
{setup}
crnn_fast.ctc_loss(x, lab, il, ll)  # warm up (thread pool, small scratch)
before = rss()
out = crnn_fast.ctc_loss(x, big, il, ll2)
assert np.isfinite(out[0]).all(), out[0]
del out
print((rss() - before) / 2**20)
"""


@pytest.mark.parametrize(
    "setup",
    [
        # S = 20000 padding, labels of 5 (was ~240 MB kept: scratch sized by S, never released)
        """
x = np.zeros((250, 4, 37), np.float32)
lab = np.ones((4, 5), np.int32); big = np.full((4, 20000), 36, np.int32); big[:, :5] = 1
il = np.full(4, 250, np.int32); ll = ll2 = np.full(4, 5, np.int32)
""",
        # labels of 1400 really used: ~100 MB of scratch, above the 64 MB cache cap: released
        """
x = np.zeros((3000, 1, 37), np.float32)
lab = np.ones((1, 5), np.int32); big = np.ones((1, 1400), np.int32)
il = np.full(1, 3000, np.int32); ll = np.full(1, 5, np.int32); ll2 = np.full(1, 1400, np.int32)
""",
    ],
)
def test_ctc_scratch_is_not_kept(setup):
    p = run_child(RSS_CODE.format(setup=setup))
    assert p.returncode == 0, p.stderr
    grown = float(p.stdout.strip().splitlines()[-1])
    assert grown < 40, f"RSS grew by {grown:.0f} MiB after one call"


def test_mindspore_ctc_op_scratch_is_not_kept():
    """The aot CTC op (MindSpore layers) sizes its scratch by the longest label too."""
    pytest.importorskip("mindspore")
    code = """
    import os
    import mindspore as ms
    from crnn_fast import ops as cops
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    x = ms.Tensor(np.zeros((250, 4, 37), np.float32))
    labels = np.full((4, 20000), 36, np.int32)
    labels[:, :5] = 1
    op = cops.CTCLossOp()
    for S in (8, 9):  # warm up the op (new shapes) without the long padding
        op(x, ms.Tensor(labels[:, :S]))[0].asnumpy()
    before = rss()
    assert np.isfinite(op(x, ms.Tensor(labels))[0].asnumpy()).all()
    print((rss() - before) / 2**20)
    """
    p = run_child(code)
    assert p.returncode == 0, p.stderr
    grown = float(p.stdout.strip().splitlines()[-1])
    assert grown < 40, f"RSS grew by {grown:.0f} MiB after one call (was ~230)"


def test_mindspore_greedy_op_rejects_negative_probs():
    """The aot greedy op names negative probabilities as the bindings do (in a child)."""
    pytest.importorskip("mindspore")
    code = """
    import mindspore as ms
    from crnn_fast import ops as cops
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")
    ms.set_context(mode=ms.PYNATIVE_MODE)
    p = np.full((4, 2, 3), 1 / 3, np.float32)
    p[2, 1, 0] = -0.1
    try:
        cops.CTCGreedyOp(input_kind="probs")(ms.Tensor(p))[0].asnumpy()
    except ValueError as e:  # raised at the call: the op waits for its kernel in PYNATIVE
        print("aot:", e)
    """
    p = run_child(code)
    assert p.returncode == 0, p.stderr
    assert "scores has negative values with input_kind='probs' (batch index 1)" in p.stdout
