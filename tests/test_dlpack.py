"""The DLPack entries (crnn_fast.dlpack) against the float64 references, on the shared case
table, in three flavours: NumPy arrays on the CPU kernels, NumPy arrays on the CUDA kernels'
source run by the SIMT executor (emulate=True), and -- marked ``gpu``, deselected by default and
run by benchmarks/gpu/device_check.sh on a GPU -- PyTorch CUDA tensors on the CUDA kernels.
Outputs are NaN-poisoned (the allocator of crnn_fast.dlpack is patched to fill them), results
must be bit-identical across two runs, and value errors raise what the NumPy-level API raises."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from helpers import assert_close

import crnn_fast.dlpack as cd
from crnn_fast.reference import ctc as ref_ctc
from crnn_fast.reference import ctc_beam as ref_beam
from crnn_fast.reference import lstm as ref_lstm

FLAVOURS = ["numpy-cpu", "numpy-emu", pytest.param("torch-cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=FLAVOURS)
def fl(request, monkeypatch):
    """(to_device, to_numpy, emulate) of a flavour, with NaN-poisoned output allocation."""
    real_empty = cd._empty

    def poisoned(like, shape, dtype):
        t = real_empty(like, shape, dtype)
        t[...] = float("nan") if "float" in dtype else -7
        return t

    monkeypatch.setattr(cd, "_empty", poisoned)
    if request.param == "torch-cuda":
        import torch

        assert torch.cuda.is_available(), "the gpu tests need a CUDA device"
        return (lambda a: torch.as_tensor(a, device="cuda"), lambda t: t.cpu().numpy(), False)
    return (np.ascontiguousarray, np.asarray, request.param == "numpy-emu")


# (T, B, C, S, blank, input_lengths, label_lengths, repeats): the shared CTC case table
CTC_CASES = {
    "T=1 B=1 L=0": (1, 1, 5, 2, 4, [1], [0], False),
    "repeats": (12, 3, 6, 4, 0, [12, 9, 7], [4, 4, 3], True),
    "L=T": (5, 2, 9, 5, 8, [5, 5], [5, 5], False),
    "min feasible T": (7, 1, 6, 4, 5, [7], [4], True),
    "min feasible T - 1": (7, 1, 6, 4, 5, [6], [4], True),
    "blank 0, C=37": (25, 4, 37, 8, 0, None, None, False),
    "blank C-1, C=37": (25, 4, 37, 8, 36, None, None, False),
    "C=6625": (6, 2, 6625, 4, 0, None, None, False),
    "ragged": (30, 5, 11, 10, 10, [30, 1, 17, 0, 25], [10, 0, 6, 0, 9], False),
    "long T": (260, 2, 8, 30, 7, [260, 200], [30, 25], False),
}


def ctc_case(name, rng):
    T, B, C, S, blank, il, ll, repeats = CTC_CASES[name]
    x = (2 * rng.standard_normal((T, B, C))).astype(np.float32)
    il = np.array(il if il is not None else rng.integers(1, T + 1, B), np.int32)
    ll = np.array(ll if ll is not None else rng.integers(0, S + 1, B), np.int32)
    labels = rng.integers(0, C - 1, (B, S)).astype(np.int32)
    labels[labels >= blank] += 1
    if repeats:
        labels[:] = 1 + blank % 2
    return x, labels, il, ll, blank


@pytest.mark.parametrize("name", list(CTC_CASES))
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss(fl, name, zero_infinity, rng):
    dev, host, emulate = fl
    x, labels, il, ll, blank = ctc_case(name, rng)
    x[0, 0, ::3] = -np.inf  # probability 0 (never a whole frame)
    args = [dev(a) for a in (x, labels, il, ll)]
    loss, grad = cd.ctc_loss(*args, blank=blank, zero_infinity=zero_infinity, emulate=emulate)
    want_loss, want_grad = ref_ctc.ctc_loss(x.astype(np.float64), labels, il, ll, blank)
    if zero_infinity:
        want_loss = np.where(np.isinf(want_loss), 0.0, want_loss)
    assert_close(host(loss), want_loss, 1e-4, 1e-5, f"{name} loss")
    assert_close(host(grad), want_grad, 1e-4, 2e-5, f"{name} grad")
    loss2, grad2 = cd.ctc_loss(*args, blank=blank, zero_infinity=zero_infinity, emulate=emulate)
    assert host(loss2).tobytes() == host(loss).tobytes(), "two runs differ"
    assert host(grad2).tobytes() == host(grad).tobytes(), "two runs differ"


def test_ctc_loss_value_errors(fl, rng):
    dev, _, emulate = fl
    x, labels, il, ll, blank = ctc_case("blank 0, C=37", rng)
    il[:] = 25
    x[5, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"logits contains NaN or \+Inf .*batch index 2"):
        cd.ctc_loss(*(dev(a) for a in (x, labels, il, ll)), blank=blank, emulate=emulate)
    x[5, 2, 3] = 0
    x[7, 1, :] = -np.inf
    with pytest.raises(ValueError, match=r"logits\[t=7, b=1\] is -inf for every class"):
        cd.ctc_loss(*(dev(a) for a in (x, labels, il, ll)), blank=blank, emulate=emulate)


# ---- float16 / bfloat16 logits ---------------------------------------------------------------
# Bound (against the reference on the narrow logits themselves): loss as float32 above;
# grad the float32 bound plus the rounding to the narrow type, half an ulp:
# u |g| + tiny with u = 2^-11 (float16: <= 4.9e-4 for |g| <= 1), 2^-8 (bfloat16: <= 3.9e-3).
NARROW_U = {"float16": (2.0**-11, 2.0**-25), "bfloat16": (2.0**-8, 2.0**-134)}


def bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), nearest even (no NaN in the tests)."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_values(bits):
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)


class Bf16Array:
    """A NumPy uint16 array exported through DLPack as bfloat16 (NumPy has no bfloat16 dtype):
    the (kDLUInt, 16) dtype of NumPy's capsule is rewritten to (kDLBfloat, 16)."""

    dtype = "bfloat16"

    def __init__(self, bits):
        self.bits = bits
        self.shape = bits.shape

    def __dlpack__(self, stream=None):
        cap = self.bits.__dlpack__()
        get = ctypes.pythonapi.PyCapsule_GetPointer
        get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
        dtype_at = get(cap, b"dltensor") + 20  # DLTensor: data, device, ndim, then dtype
        code, bits = (
            ctypes.c_uint8.from_address(dtype_at),
            ctypes.c_uint8.from_address(dtype_at + 1),
        )
        assert (code.value, bits.value) == (1, 16), "NumPy exports uint16 as (kDLUInt, 16)"
        code.value = 4  # kDLBfloat
        return cap


def narrow_ctc(x32, labels, il, ll, blank, dtype, fl, zero_infinity=False):
    """(loss, grad as float32 NumPy, logits' narrow values as float64) of a narrow call."""
    dev, host, emulate = fl
    args = [dev(a) for a in (labels, il, ll)]
    torch_flavour = dev(np.zeros(1)).__class__.__module__.startswith("torch")
    if dtype == "float16" or torch_flavour:
        x = x32.astype(np.float16) if dtype == "float16" else x32
        xd = dev(x)
        if dtype == "bfloat16":
            import torch

            xd = xd.to(torch.bfloat16)
        loss, grad = cd.ctc_loss(
            xd, *args, blank=blank, zero_infinity=zero_infinity, emulate=emulate
        )
        assert cd._dtype_name(grad) == dtype and cd._dtype_name(loss) == "float32"
        g = host(grad.float()) if torch_flavour else host(grad).astype(np.float32)
        xv = host(xd.float()) if torch_flavour else x
        return host(loss), g, xv.astype(np.float64)
    # bfloat16 from NumPy: the DLPack entry itself, outputs NaN-poisoned
    T, B, C = x32.shape
    host_dev = "cuda-emu" if emulate else "cpu"
    lib = cd._lib()
    nbytes = lib.dlpack_workspace_size("ctc_loss", [T, B, C, labels.shape[1], 2], host_dev)
    ws = np.empty(max(1, -(-nbytes // 4)), np.float32)
    xb = bf16_bits(x32)
    loss = np.full(B, np.nan, np.float32)
    grad = np.full((T, B, C), 0x7FC0, np.uint16)
    lib.dlpack_ctc_loss(
        Bf16Array(xb), *args, loss, Bf16Array(grad), ws, blank, zero_infinity, 0, host_dev
    )
    cd._raise_recorded(ws, 0, host_dev, "logits")
    return loss, bf16_values(grad), bf16_values(xb).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", list(CTC_CASES))
def test_ctc_loss_narrow(fl, name, dtype, rng):
    x, labels, il, ll, blank = ctc_case(name, rng)
    x[0, 0, ::3] = -np.inf
    loss, grad, xv = narrow_ctc(x, labels, il, ll, blank, dtype, fl)
    want_loss, want_grad = ref_ctc.ctc_loss(xv, labels, il, ll, blank)
    assert_close(loss, want_loss, 1e-4, 1e-5, f"{name} {dtype} loss")  # as float32 above
    u, tiny = NARROW_U[dtype]
    f32 = 1e-4 + 2e-5 * np.abs(want_grad)  # the float32 bound of test_ctc_loss
    bound = f32 * (1 + u) + u * np.abs(want_grad) + tiny
    err = np.abs(grad - want_grad)
    assert (err <= bound).all(), f"{name} {dtype} grad: worst excess {np.max(err - bound):.3g}"
    loss2, grad2, _ = narrow_ctc(x, labels, il, ll, blank, dtype, fl)
    assert loss2.tobytes() == loss.tobytes() and grad2.tobytes() == grad.tobytes()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_ctc_loss_narrow_errors(fl, dtype, rng):
    x, labels, il, ll, blank = ctc_case("blank 0, C=37", rng)
    il[:] = 25
    x[5, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"logits contains NaN or \+Inf .*batch index 2"):
        narrow_ctc(x, labels, il, ll, blank, dtype, fl)
    x[5, 2, 3] = 0
    x[7, 1, :] = -np.inf
    with pytest.raises(ValueError, match=r"logits\[t=7, b=1\] is -inf for every class"):
        narrow_ctc(x, labels, il, ll, blank, dtype, fl)


def test_ctc_loss_narrow_dtype_mismatch(rng):
    """grad must have the logits' dtype; other logits dtypes are refused, naming the argument."""
    x, labels, il, ll, blank = ctc_case("L=T", rng)
    T, B, C = x.shape
    lib = cd._lib()
    ws = np.empty(
        lib.dlpack_workspace_size("ctc_loss", [T, B, C, 5, 2], "cpu") // 4 + 1, np.float32
    )
    loss = np.empty(B, np.float32)
    x16 = x.astype(np.float16)
    with pytest.raises(TypeError, match=r"grad must be float16"):
        lib.dlpack_ctc_loss(x16, labels, il, ll, loss, np.empty(x.shape, np.float32), ws, blank,
                            False, 0, "cpu")  # fmt: skip
    with pytest.raises(TypeError, match=r"grad must be bfloat16"):
        lib.dlpack_ctc_loss(Bf16Array(bf16_bits(x)), labels, il, ll, loss, x16.copy(), ws, blank,
                            False, 0, "cpu")  # fmt: skip
    with pytest.raises(TypeError, match=r"loss must be float32"):
        lib.dlpack_ctc_loss(x16, labels, il, ll, loss.astype(np.float16), x16.copy(), ws, blank,
                            False, 0, "cpu")  # fmt: skip
    with pytest.raises(TypeError, match=r"logits must be float32, float16 or bfloat16"):
        lib.dlpack_ctc_loss(x.astype(np.float64), labels, il, ll, loss, None, ws, blank, False, 0,
                            "cpu")  # fmt: skip
    with pytest.raises(
        TypeError, match=r"logits must be float32, float16 or bfloat16, got float64"
    ):
        cd.ctc_loss(x.astype(np.float64), labels, il, ll, blank=blank)
    with pytest.raises(TypeError, match=r"NumPy has no bfloat16"):
        cd._empty(x, (2,), "bfloat16")


@pytest.mark.parametrize("kind", ["logits", "probs", "log_probs"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_greedy(fl, kind, batch_first, rng):
    dev, host, emulate = fl
    T, B, C = 40, 5, 37
    x = rng.integers(0, 4, (T, B, C)).astype(np.float32)  # ties: the lowest class wins
    if kind == "probs":
        x *= 0.1
    il = rng.integers(0, T + 1, B).astype(np.int32)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    got = cd.ctc_greedy_decode(dev(xs), dev(il), -1, kind, batch_first, emulate=emulate)
    want = ref_ctc.ctc_greedy_decode(xs, il, C - 1, kind, batch_first)
    np.testing.assert_array_equal(host(got.ids), want.ids)
    np.testing.assert_array_equal(host(got.lengths), want.lengths)
    np.testing.assert_array_equal(host(got.frames), want.frames)
    assert_close(host(got.probs), want.probs, 2e-6, 1e-7, "greedy probs")


@pytest.mark.parametrize("kind", ["logits", "probs"])
@pytest.mark.parametrize(("width", "top_n", "top_k"), [(1, 1, 0), (6, 3, 0), (8, 2, 3)])
def test_beam_search(fl, kind, width, top_n, top_k, rng):
    dev, host, emulate = fl
    T, B, C = 12, 4, 9
    x = rng.standard_normal((T, B, C)).astype(np.float32)
    if kind == "probs":
        x = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    il = rng.integers(0, T + 1, B).astype(np.int32)
    got = cd.ctc_beam_search(
        dev(x), dev(il), 0, width, top_n, top_k, input_kind=kind, emulate=emulate
    )
    want = ref_beam.ctc_beam_search(x, il, 0, width, top_n, top_k, input_kind=kind)
    np.testing.assert_array_equal(host(got.ids), want.ids)
    np.testing.assert_array_equal(host(got.lengths), want.lengths)
    assert_close(host(got.scores), want.scores, 1e-6, 1e-6, "beam scores")


# (T, B, I, H, layers, bidirectional, has_bias, h0/c0, seq_length)
LSTM_CASES = {
    "T=1 B=1 uni": (1, 1, 3, 5, 1, False, True, False, False),
    "bi, h0/c0, lengths, H=20": (7, 4, 6, 20, 1, True, True, True, True),
    "2 layers bi, no bias": (6, 3, 5, 12, 2, True, False, False, True),
    "3 layers uni": (5, 2, 4, 9, 3, False, True, True, False),
    "H=33, 2 layers bi": (9, 5, 7, 33, 2, True, True, True, True),
}


@pytest.mark.parametrize("name", list(LSTM_CASES))
def test_lstm(fl, name, rng):
    dev, host, emulate = fl
    T, B, I, H, L, bi, bias, init, lengths = LSTM_CASES[name]
    D = 2 if bi else 1
    shapes = ref_lstm.lstm_param_shapes(I, H, L, bi, bias)
    params = {k: (0.4 * rng.standard_normal(s)).astype(np.float32) for k, s in shapes.items()}
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0 = rng.standard_normal((L * D, B, H)).astype(np.float32) if init else None
    c0 = rng.standard_normal((L * D, B, H)).astype(np.float32) if init else None
    seq = rng.integers(0, T + 1, B).astype(np.int32) if lengths else None
    if seq is not None:
        seq[0] = T
    d = {k: dev(v) for k, v in params.items()}

    def opt(a):
        return None if a is None else dev(a)

    y, h_n, c_n, reserve = cd.lstm_forward(
        dev(x), d, H, L, bi, bias, opt(h0), opt(c0), opt(seq), training=True, emulate=emulate
    )
    p64 = {k: v.astype(np.float64) for k, v in params.items()}

    def as64(a):
        return None if a is None else a.astype(np.float64)

    want = ref_lstm.lstm_forward(x.astype(np.float64), p64, H, L, bi, as64(h0), as64(c0), seq)
    assert_close(host(y), want.output, 1e-4, 2e-5, f"{name} y")
    assert_close(host(h_n), want.h_n, 1e-4, 2e-5, f"{name} h_n")
    assert_close(host(c_n), want.c_n, 1e-4, 2e-5, f"{name} c_n")
    dy = rng.standard_normal((T, B, D * H)).astype(np.float32)
    dh = rng.standard_normal((L * D, B, H)).astype(np.float32)
    dc = rng.standard_normal((L * D, B, H)).astype(np.float32)
    dx, dh0, dc0, grads = cd.lstm_backward(
        dev(dy), dev(dh), dev(dc), dev(x), y, reserve, d, H, L, bi, bias, opt(h0), opt(c0),
        opt(seq), emulate=emulate,
    )  # fmt: skip
    g = ref_lstm.lstm_backward(dy.astype(np.float64), as64(dh), as64(dc), want.cache)
    assert_close(host(dx), g.d_x, 1e-4, 1e-4, f"{name} dx")
    assert_close(host(dh0), g.d_h0, 1e-4, 1e-4, f"{name} dh0")
    assert_close(host(dc0), g.d_c0, 1e-4, 1e-4, f"{name} dc0")
    for k in params:
        assert_close(host(grads[k]), g.d_params[k], 1e-4, 2e-4, f"{name} {k}")
