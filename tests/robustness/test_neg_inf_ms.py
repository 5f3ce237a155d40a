"""-inf scores in the MindSpore layers (issue 13, item 6), PYNATIVE, both op backends.

``crnn_fast.nn.CTCLoss``, ``CTCGreedyDecoder`` and ``CTCBeamSearchDecoder`` accept -inf logits /
log-probs as probability 0 with the NumPy API's results (the loss gradient through
``ms.value_and_grad`` is 0 at -inf entries, never NaN). Errors (NaN, +inf, a frame that is -inf
for every class, -inf in probs) run in a subprocess, so a MindSpore crash after a failed op
fails the test instead of killing pytest. The decoders raise ``ValueError`` from their host
checks; the CTC loss keeps its logits on the device, so its value errors come from the kernel
(aot: MindSpore's RuntimeError, pyfunc: NaN outputs) with the message in ``last_error()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor

import crnn_fast

if hasattr(ms, "set_device"):
    ms.set_device("CPU")
else:
    ms.set_context(device_target="CPU")

NINF = -np.inf
T, B, C = 6, 3, 5  # B != T: a swapped layout shows


def logits(seed: int = 0, p: float = 0.35) -> np.ndarray:
    """(T, B, C) float32 with -inf at ~p of the entries, every frame keeping a finite class."""
    rng = np.random.default_rng(seed)
    x = (2 * rng.standard_normal((T, B, C))).astype(np.float32)
    x[rng.random((T, B, C)) < p] = NINF
    x[np.arange(T)[:, None], np.arange(B), rng.integers(0, C, (T, B))] = 0.25
    return x


LABELS = np.array([[0, 1, 4], [2, 2, 4], [3, 0, 1]], np.int32)  # MindOCR padding: blank C-1


def test_ctc_loss_layer(backend):
    from crnn_fast import nn as cnn

    ms.set_context(mode=ms.PYNATIVE_MODE)
    x = logits()
    x[:, 1, 2] = NINF  # sample 1 (label 2, 2) is infeasible: loss inf / 0, gradient 0
    lab_len = np.array([2, 2, 3], np.int32)
    for zi in (False, True):
        fn = cnn.CTCLoss(reduction="none", zero_infinity=zi)
        loss = fn(Tensor(x), Tensor(LABELS)).asnumpy()
        _, grad = ms.value_and_grad(lambda p, f=fn: f(p, Tensor(LABELS))[[0, 2]].sum())(Tensor(x))
        want, want_grad = crnn_fast.ctc_loss(
            x, LABELS, np.full(B, T, np.int32), lab_len, zero_infinity=zi
        )
        assert_close(loss, want, 1e-6, 1e-6, "loss")
        assert loss[1] == (0.0 if zi else np.inf)
        g = grad.asnumpy()
        assert np.isfinite(g).all() and np.all(g[np.isneginf(x)] == 0) and np.all(g[:, 1] == 0)
        assert_close(g[:, [0, 2]], want_grad[:, [0, 2]], 1e-5, 1e-5, "grad")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["logits", "log_probs"])
def test_greedy_layer(backend, kind, batch_first):
    from crnn_fast import nn as cnn

    x = logits(1)
    if kind == "log_probs":
        x = crnn_fast.reference.ctc.log_softmax(x).astype(np.float32)
    s = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    il = np.array([6, 2, 5], np.int32)
    ids, lengths, conf = cnn.CTCGreedyDecoder(input_kind=kind, batch_first=batch_first)(
        Tensor(s), Tensor(il)
    )
    want = crnn_fast.ctc_greedy_decode(s, il, input_kind=kind, batch_first=batch_first)
    np.testing.assert_array_equal(ids.asnumpy(), want.ids)
    np.testing.assert_array_equal(lengths.asnumpy(), want.lengths)
    mean = want.probs.sum(1) / np.maximum(want.lengths, 1)
    assert_close(conf.asnumpy(), mean, 1e-6, 1e-6, "confidence")


@pytest.mark.parametrize("opts", [{}, {"top_k": 2, "logp_cutoff": -3.0}], ids=["all", "pruned"])
@pytest.mark.parametrize("kind", ["logits", "log_probs"])
def test_beam_layer(backend, kind, opts):
    from crnn_fast import nn as cnn

    x = logits(2)
    if kind == "log_probs":
        x = crnn_fast.reference.ctc.log_softmax(x).astype(np.float32)
    ids, lengths, scores = cnn.CTCBeamSearchDecoder(4, 3, input_kind=kind, **opts)(Tensor(x))
    want = crnn_fast.ctc_beam_search(x, beam_width=4, top_n=3, input_kind=kind, **opts)
    np.testing.assert_array_equal(ids.asnumpy(), want.ids)
    np.testing.assert_array_equal(lengths.asnumpy(), want.lengths)
    assert_close(scores.asnumpy(), want.scores.astype(np.float32), 1e-5, 1e-5, "scores")


# ---- errors, in a subprocess ----------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, mindspore as ms
    from mindspore import Tensor
    ms.set_device("CPU")
    from crnn_fast import registry
    registry.set_active(sys.argv[1])  # for the whole script
    from crnn_fast import nn as cnn
    from crnn_fast.ops import _custom as cops

    T, B, C = 6, 3, 5
    labels = Tensor(np.array([[0, 1, 4], [2, 2, 4], [3, 0, 1]], np.int32))
    layers = {
        "loss": lambda k: cnn.CTCLoss(reduction="none"),
        "greedy": lambda k: cnn.CTCGreedyDecoder(input_kind=k),
        "beam": lambda k: cnn.CTCBeamSearchDecoder(3, input_kind=k),
    }
    for layer in sys.argv[2:]:
        for poison in ("nan", "pinf", "frame", "probs_ninf"):
            if poison == "probs_ninf" and layer == "loss":
                continue
            kind = "probs" if poison == "probs_ninf" else "logits"
            x = np.full((T, B, C), 0.2, np.float32)
            x[1, 0, 3] = -np.inf  # accepted (logits); in probs a negative value
            if poison == "frame":
                x[2, 1, :] = -np.inf
            elif poison != "probs_ninf":
                x[3, 1, 2] = np.nan if poison == "nan" else np.inf
            f = layers[layer](kind)
            args = (Tensor(x), labels) if layer == "loss" else (Tensor(x),)
            res = {"layer": layer, "poison": poison, "exc": None, "msg": ""}
            try:
                out = f(*args)
                out = out if isinstance(out, tuple) else (out,)
                res["nan_out"] = bool(np.isnan(out[-1].asnumpy()).any())
            except Exception as e:
                res["exc"], res["msg"] = type(e).__name__, str(e)
            res["last"] = cops.last_error()
            print(json.dumps(res), flush=True)
    """
)

FRAME = r"scores[t=2, b=1] is -inf for every class (no class has non-zero probability)"
NAN = "scores contains NaN or +Inf within the frames read (batch index 1)"
NEG = "scores has negative values with input_kind='probs' (batch index 0)"
DECODER_WANT = {"nan": NAN, "pinf": NAN, "frame": FRAME, "probs_ninf": NEG}


def run_error_script(backend: str, layer: str) -> dict:
    """{poison: result} of one layer's error cases, run in a fresh process (one per layer, so
    a crash in one layer does not hide the others' results)."""
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT, backend, layer], capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, f"rc {p.returncode}\n{p.stderr[-3000:]}"
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return {r["poison"]: r for r in rows}


# The backends whose MindSpore layers run crnn_fast's fused ops (cpu: aot, numpy: pyfunc today;
# stock runs MindSpore's own ops), among those crnn_fast.backends() reports usable: a new one
# joins the day it registers. cpu is always expected: its absence fails (as in conftest.py).
_USABLE = [name for name, s in crnn_fast.backends()["registry"].items() if s["usable"]]
ERROR_BACKENDS = [n for n in crnn_fast.registry.fused_op_backends() if n == "cpu" or n in _USABLE]


def error_backends(op: str) -> list[str]:
    """The backends of ERROR_BACKENDS that run ``op`` (a backend still growing, e.g.
    ascend-emu, joins the layers of the ops it has)."""
    if not crnn_fast.registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    return [n for n in ERROR_BACKENDS if crnn_fast.registry.implements(n, op)]


@pytest.mark.parametrize("error_backend", error_backends("ctc_loss"))
def test_loss_layer_errors(error_backend):
    """The loss reports value errors from its kernel, naming the frame and batch index."""
    backend, res = error_backend, run_error_script(error_backend, "loss")
    nan = (
        "logits: non-finite input (NaN or +Inf) (batch index 1)"  # aot message
        if crnn_fast.registry.ms_ops(backend) == "aot"
        else "logits contains NaN or +Inf within the frames read (batch index 1)"  # pyfunc
    )
    for poison, msg in (("nan", nan), ("pinf", nan), ("frame", "logits" + FRAME[len("scores") :])):
        r = res[poison]  # raised at the call (the Cell waits for its kernel in PYNATIVE)
        assert r["exc"] == "ValueError" and msg in r["msg"], r
        assert msg in r["last"], r


@pytest.mark.parametrize("error_backend", error_backends("ctc_beam_search"))
def test_beam_layer_errors(error_backend):
    res = run_error_script(error_backend, "beam")
    for poison, msg in DECODER_WANT.items():
        r = res[poison]
        assert r["exc"] == "ValueError" and r["msg"] == msg, r


@pytest.mark.parametrize("error_backend", error_backends("ctc_greedy_decode"))
def test_greedy_layer_errors(error_backend):
    """Needs the greedy decoder's host-side value check (r13-mslayers: ``_validate.check_finite``
    with ``input_kind``); before it, the aot op fails with MindSpore's RuntimeError and, after a
    few failed calls, MindSpore may segfault (issue 13, item 2)."""
    res = run_error_script(error_backend, "greedy")
    for poison, msg in DECODER_WANT.items():
        r = res[poison]
        assert r["exc"] == "ValueError" and r["msg"] == msg, r
