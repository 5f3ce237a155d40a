"""crnn_fast.ctc_loss (compiled CPU kernel and NumPy fallback) vs the float64 reference.

Error bounds (the measured maxima are printed by test_report_max_errors):
  float64 kernel: loss and grad within 1e-9 (absolute + relative) of the reference;
  float32 kernel: loss within 2e-6 relative; grad of sample b within 1e-6 * (1 + |loss_b|)
  absolute: gamma = exp(alpha + beta - ll) subtracts log-space values of size ~|loss|, so
  float32 rounding there scales with the loss (PyTorch's float32 CPU CTC shares this).
  float16 logits (float32 compute, float32 loss, float16 grad), against the reference on the
  float16 values themselves: loss as float32; grad the float32 bound plus the rounding to
  float16, half an ulp: 2^-11 |g| (+ 2^-25 for subnormals), i.e. <= 4.9e-4 for |g| <= 1.
The ascend-emu backend (the Ascend C kernel on our API model) has the float32 bounds and takes
no float64 (its float64 cases check the TypeError instead).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, max_err, random_labels

import crnn_fast
from crnn_fast.reference import ctc_loss as ref_ctc_loss

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("ctc_loss",)
# backends whose ctc_loss takes no float64 logits (TypeError): the Ascend vector units have none
NO_FLOAT64 = ("ascend-emu",)


def rejects_float64(backend, dtype, x, *args):
    """True (after checking the TypeError) when `backend` takes no float64 and dtype is float64."""
    if backend not in NO_FLOAT64 or dtype != np.float64:
        return False
    with pytest.raises(TypeError, match="ascend-emu backend takes float32.*got float64"):
        crnn_fast.ctc_loss(x.astype(np.float64), *args)
    return True


TOL = {np.float64: (1e-9, 1e-9, 1e-9), np.float32: (2e-6, 2e-6, 1e-6)}  # loss atol, rtol, grad


def assert_grad_close(grad, ref_grad, ref_loss, dtype, name):
    """Per-sample absolute bound TOL[dtype][2] * (1 + |loss_b|) (infeasible: exactly 0)."""
    mag = np.where(np.isfinite(ref_loss), np.abs(ref_loss), 0.0)
    for b in range(grad.shape[1]):
        assert_close(grad[:, b], ref_grad[:, b], TOL[dtype][2] * (1 + mag[b]), 0, f"{name}[b={b}]")


# float16 rounding of the gradient: relative half ulp, and half the subnormal spacing
HALF_U, HALF_TINY = 2.0**-11, 2.0**-25


def assert_half_grad_close(grad, ref_grad, ref_loss, name):
    """|grad - ref| <= f32 bound * (1 + u) + u |ref| + tiny per element (see the docstring)."""
    assert grad.dtype == np.float16
    mag = np.where(np.isfinite(ref_loss), np.abs(ref_loss), 0.0)
    f32 = TOL[np.float32][2] * (1 + mag)[None, :, None]
    bound = f32 * (1 + HALF_U) + HALF_U * np.abs(ref_grad) + HALF_TINY
    err = np.abs(grad.astype(np.float64) - ref_grad)
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{name}: {bad.sum()} elements out of bound, worst excess {np.max(err - bound):.3g} "
        f"at {np.unravel_index(np.argmax(err - bound), err.shape)}"
    )


def make_case(rng, T, B, C, S, blank, ragged=True, repeat_prob=0.3, lengths=None, scale=2.0):
    x = (scale * rng.standard_normal((T, B, C))).astype(np.float64)
    labels, lens = random_labels(rng, B, S, C, blank, lengths=lengths, repeat_prob=repeat_prob)
    in_len = rng.integers(0, T + 1, B).astype(np.int32) if ragged else np.full(B, T, np.int32)
    return x, labels, in_len, lens


CASES = {
    # name: (T, B, C, S, blank, ragged, lengths)
    "T1_B1": (1, 1, 5, 1, 4, False, [1]),
    "T1_empty": (1, 3, 5, 1, 4, False, [0, 0, 1]),
    "B1": (7, 1, 6, 3, 0, False, [3]),
    "label_len_0": (9, 4, 6, 4, 5, True, [0, 0, 0, 0]),
    "repeats": (12, 6, 5, 6, 4, False, None),
    "blank0": (15, 5, 9, 5, 0, True, None),
    "crnn_37": (24, 16, 37, 23, 36, False, None),
    "ragged_37": (25, 16, 37, 10, 36, True, None),
    "large_alphabet": (8, 3, 6625, 5, 6624, False, None),
    "long_T": (256, 3, 12, 60, 11, False, None),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(backend, rng, case, dtype):
    T, B, C, S, blank, ragged, lengths = CASES[case]
    x, labels, in_len, lens = make_case(rng, T, B, C, S, blank, ragged, lengths=lengths)
    xd = x.astype(dtype)
    if rejects_float64(backend, dtype, xd, labels, in_len, lens):
        return
    loss, grad = crnn_fast.ctc_loss(xd, labels, in_len, lens, blank=blank)
    assert loss.dtype == dtype and grad.dtype == dtype and grad.shape == (T, B, C)
    ref_loss, ref_grad = ref_ctc_loss(xd.astype(np.float64), labels, in_len, lens, blank)
    latol, lrtol, _ = TOL[dtype]
    assert_close(loss, ref_loss, latol, lrtol, f"{case} loss")
    assert_grad_close(grad, ref_grad, ref_loss, dtype, f"{case} grad")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_length_and_minimum_feasible_T(backend, dtype):
    """label length = T (distinct labels), T = L + repeats (exactly feasible), one short."""
    C, blank = 6, 5
    labels = np.array([[0, 1, 2, 3], [1, 1, 2, 2], [1, 1, 2, 2]], np.int32)
    x = np.random.default_rng(1).standard_normal((6, 3, C)).astype(dtype)
    in_len = np.array([4, 6, 5], np.int32)  # 4 = L; 6 = 4 + 2 repeats; 5 infeasible
    if rejects_float64(backend, dtype, x, labels, in_len, [4, 4, 4]):
        return
    loss, grad = crnn_fast.ctc_loss(x, labels, in_len, [4, 4, 4], blank=blank)
    ref_loss, ref_grad = ref_ctc_loss(x.astype(np.float64), labels, in_len, [4, 4, 4], blank)
    assert np.isfinite(loss[:2]).all() and loss[2] == np.inf and np.all(grad[:, 2] == 0)
    assert_close(loss, ref_loss, *TOL[dtype][:2], "loss")
    assert_grad_close(grad, ref_grad, ref_loss, dtype, "grad")


def test_zero_infinity_and_loss_only(backend, rng):
    x, labels, in_len, lens = make_case(rng, 5, 6, 7, 4, 6, ragged=True, repeat_prob=0.8)
    x = x.astype(np.float32) if backend in NO_FLOAT64 else x
    lens[:] = 4
    labels[:, :4] = 2  # "2222" needs 7 frames: all infeasible
    loss, grad = crnn_fast.ctc_loss(x, labels, in_len, lens, zero_infinity=True)
    assert np.all(loss == 0) and np.all(grad == 0)
    loss2, none = crnn_fast.ctc_loss(x, labels, in_len, lens, compute_grad=False)
    assert none is None and np.all(loss2 == np.inf)


def test_threads_and_layout_do_not_change_results(rng):
    x, labels, in_len, lens = make_case(rng, 20, 9, 11, 6, 10)
    x32 = x.astype(np.float32)
    a = crnn_fast.ctc_loss(x32, labels, in_len, lens, num_threads=1)
    b = crnn_fast.ctc_loss(x32, labels, in_len, lens, num_threads=2)
    xf = np.asfortranarray(x32)  # non-contiguous input is copied, same result
    c = crnn_fast.ctc_loss(xf, labels.astype(np.int64), in_len.astype(np.int16), list(lens))
    for other in (b, c):
        assert np.array_equal(a[0], other[0]) and np.array_equal(a[1], other[1])


def test_padding_values_ignored_and_blank_default(rng):
    x, labels, in_len, lens = make_case(rng, 10, 4, 8, 5, 7, ragged=False)
    noisy = labels.copy()
    for b in range(4):
        noisy[b, lens[b] :] = rng.integers(-5, 50, 5 - lens[b])
    a = crnn_fast.ctc_loss(x, labels, in_len, lens)
    b = crnn_fast.ctc_loss(x, noisy, in_len, lens, blank=7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_report_max_errors(rng, capsys):
    """Prints the max errors per dtype seen on the CRNN and large-alphabet shapes."""
    rows = []
    for T, B, C, S in [(25, 32, 37, 23), (40, 4, 6625, 40), (256, 2, 37, 100)]:
        x, labels, in_len, lens = make_case(rng, T, B, C, S, C - 1, ragged=False, scale=3.0)
        for dt in (np.float32, np.float64):
            xd = x.astype(dt)
            rl, rg = ref_ctc_loss(xd.astype(np.float64), labels, in_len, lens)
            loss, grad = crnn_fast.ctc_loss(xd, labels, in_len, lens)
            rel = max_err(loss, rl) / max(1.0, float(np.abs(rl[np.isfinite(rl)]).max()))
            rows.append((T, B, C, dt.__name__, max_err(loss, rl), rel, max_err(grad, rg)))
            assert_close(loss, rl, *TOL[dt][:2], "loss")
            assert_grad_close(grad, rg, rl, dt, "grad")
    with capsys.disabled():
        for T, B, C, dt, el, rel, eg in rows:
            print(f"T={T} B={B} C={C} {dt}: loss abs {el:.2e} (rel {rel:.2e}), grad abs {eg:.2e}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_poisoned_outputs_are_fully_written(backend, rng, dtype):
    """NaN-filled preallocated outputs: every element must be overwritten (ragged lengths,
    an infeasible sample and an empty label included)."""
    x, labels, in_len, lens = make_case(rng, 12, 7, 9, 5, 8, ragged=True, repeat_prob=0.5)
    in_len[0], lens[0], labels[0] = 3, 5, 1  # "11111" needs 9 frames: infeasible
    lens[1] = 0
    loss_out = np.full(7, np.nan, dtype)
    grad_out = np.full((12, 7, 9), np.nan, dtype)
    xd = x.astype(dtype)
    if rejects_float64(backend, dtype, xd, labels, in_len, lens):
        return
    loss, grad = crnn_fast.ctc_loss(xd, labels, in_len, lens, loss_out=loss_out, grad_out=grad_out)
    assert loss is loss_out and grad is grad_out
    ref_loss, ref_grad = ref_ctc_loss(xd.astype(np.float64), labels, in_len, lens)
    assert_close(loss, ref_loss, *TOL[dtype][:2], "loss")
    assert_grad_close(grad, ref_grad, ref_loss, dtype, "grad")


@pytest.mark.parametrize("case", list(CASES))
def test_float16_matches_reference(backend, rng, case):
    """float16 logits: float32 loss and float16 grad (into NaN-poisoned outputs), against the
    reference on the float16 values; two runs bit-identical."""
    T, B, C, S, blank, ragged, lengths = CASES[case]
    x, labels, in_len, lens = make_case(rng, T, B, C, S, blank, ragged, lengths=lengths)
    x16 = x.astype(np.float16)
    loss_out = np.full(B, np.nan, np.float32)
    grad_out = np.full((T, B, C), np.nan, np.float16)
    loss, grad = crnn_fast.ctc_loss(
        x16, labels, in_len, lens, blank=blank, loss_out=loss_out, grad_out=grad_out
    )
    assert loss is loss_out and grad is grad_out
    ref_loss, ref_grad = ref_ctc_loss(x16.astype(np.float64), labels, in_len, lens, blank)
    assert_close(loss, ref_loss, *TOL[np.float32][:2], f"{case} loss")
    assert_half_grad_close(grad, ref_grad, ref_loss, f"{case} grad")
    loss2, grad2 = crnn_fast.ctc_loss(x16, labels, in_len, lens, blank=blank)
    assert loss2.dtype == np.float32 and grad2.dtype == np.float16
    assert loss2.tobytes() == loss.tobytes() and grad2.tobytes() == grad.tobytes()


def test_float16_bad_inputs(backend, rng):
    """NaN in float16 logits, and outputs of another dtype than the float16 call writes."""
    x, labels, in_len, lens = make_case(rng, 6, 3, 7, 3, 6, ragged=False)
    x16 = x.astype(np.float16)
    bad = x16.copy()
    bad[2, 1, 3] = np.nan
    with pytest.raises(ValueError, match=r"logits.*NaN.*batch index 1"):
        crnn_fast.ctc_loss(bad, labels, in_len, lens)
    with pytest.raises(TypeError, match=r"grad_out must have dtype float16, got float32"):
        crnn_fast.ctc_loss(x16, labels, in_len, lens, grad_out=np.zeros(x16.shape, np.float32))
    with pytest.raises(TypeError, match=r"loss_out must have dtype float32, got float16"):
        crnn_fast.ctc_loss(x16, labels, in_len, lens, loss_out=np.zeros(3, np.float16))
    loss, none = crnn_fast.ctc_loss(x16, labels, in_len, lens, compute_grad=False)
    assert none is None and loss.dtype == np.float32


def test_float16_cpu_chunks_are_the_float32_kernel_rounded(rng):
    """The CPU's float16 path runs the float32 kernel on chunks of samples (~32 MB of float32
    staging): at C = 6625 a batch of 40 spans several chunks. Loss and grad must be exactly the
    float32 kernel's on the widened logits (grad rounded to nearest even), and a value error in
    a later chunk must name its own sample."""
    T, B, C, S = 40, 40, 6625, 12
    x, labels, in_len, lens = make_case(rng, T, B, C, S, C - 1, ragged=True)
    x16 = x.astype(np.float16)
    for threads in (1, 0):
        l32, g32 = crnn_fast.ctc_loss(x16.astype(np.float32), labels, in_len, lens)
        l16, g16 = crnn_fast.ctc_loss(x16, labels, in_len, lens, num_threads=threads)
        assert l16.tobytes() == l32.tobytes()
        assert g16.tobytes() == g32.astype(np.float16).tobytes()
    in_len[[33, 37]] = T
    x16[3, 37, 5] = np.nan
    x16[9, 33, :] = -np.inf
    with pytest.raises(ValueError, match=r"logits\[t=9, b=33\] is -inf for every class"):
        crnn_fast.ctc_loss(x16, labels, in_len, lens)
    x16[9, 33, :] = 0
    with pytest.raises(ValueError, match=r"logits contains NaN .*batch index 37"):
        crnn_fast.ctc_loss(x16, labels, in_len, lens)
