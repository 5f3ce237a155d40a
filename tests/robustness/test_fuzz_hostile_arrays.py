"""Hypothesis fuzz of every binding with hostile arrays: broadcast views, strided / Fortran /
negative-stride / read-only layouts, outputs aliasing inputs, -inf-bearing values, and (in a
child process under an address-space limit) broadcasts whose contiguous copy cannot be had.

The oracle of each call is the same call on plain C-contiguous copies of the same values
(the layout must not change the result). Every call either
* returns the plain call's result (allclose, NaN only where the plain one has NaN, and no NaN
  at all), or
* raises TypeError/ValueError/MemoryError whose message names one of the call's arguments,
never a crash. ``-inf`` scores/logits may be accepted (probability 0) or rejected with a
ValueError naming the argument: both are fine here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crnn_fast
from crnn_fast import registry
from crnn_fast.reference import lstm as ref_lstm

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
ERRORS = (TypeError, ValueError, MemoryError)
LAYOUTS = ["broadcast", "broadcast_axis0", "strided", "fortran", "reversed", "readonly", "neginf"]


@dataclass
class Case:
    """A valid call: flat named arguments (params entries as "params['weight_ih_l0']"),
    `call(args) -> outputs`, and which names are outputs written in place."""

    args: dict
    call: Callable[[dict], tuple]
    outputs: tuple = ()
    aliases: list = field(default_factory=list)  # (output or input name, name it may alias)
    scalars: tuple = ()


class Draw:
    """What the case builders draw from: hypothesis' data here, fixed values in the sweep."""

    def __init__(self, data=None):
        self.data = data

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi)) if self.data else min(lo + 1, hi)

    def bool(self) -> bool:
        return self.data.draw(st.booleans()) if self.data else True

    def choice(self, seq):
        return self.data.draw(st.sampled_from(seq)) if self.data else seq[0]


def _params(args: dict) -> dict:
    return {k[8:-2]: a for k, a in args.items() if k.startswith("params['")}


def _flat_params(p: dict) -> dict:
    return {f"params['{k}']": a for k, a in p.items()}


def ctc_loss_case(d, rng) -> Case:
    T, B, C, S = d.int(1, 6), d.int(1, 4), d.int(2, 6), 3
    dtype = d.choice([np.float32, np.float64])
    lab_len = rng.integers(0, S + 1, B).astype(np.int32)
    labels = rng.integers(0, C - 1, (B, S)).astype(np.int32)  # blank = C - 1 never used
    args = {
        "logits": rng.standard_normal((T, B, C)).astype(dtype),
        "labels": labels,
        "input_lengths": rng.integers(0, T + 1, B).astype(np.int32),
        "label_lengths": lab_len,
    }
    if d.bool():
        args["loss_out"] = np.empty(B, dtype)
        args["grad_out"] = np.empty((T, B, C), dtype)

    def call(a):
        return crnn_fast.ctc_loss(
            a["logits"], a["labels"], a["input_lengths"], a["label_lengths"],
            loss_out=a.get("loss_out"), grad_out=a.get("grad_out"),
        )  # fmt: skip

    aliases = [("grad_out", "logits"), ("loss_out", "logits"), ("loss_out", "labels")]
    return Case(args, call, ("loss_out", "grad_out"), aliases, ("blank", "num_threads"))


def _scores(d, rng, kind):
    T, B, C = d.int(1, 6), d.int(1, 4), d.int(2, 6)
    x = rng.standard_normal((T, B, C)).astype(np.float32)
    if kind != "logits":
        p = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
        x = (p if kind == "probs" else np.log(p)).astype(np.float32)
    lens = rng.integers(0, T + 1, B).astype(np.int32) if d.bool() else None
    return x, lens


def greedy_case(d, rng) -> Case:
    kind = d.choice(["logits", "probs", "log_probs"])
    x, lens = _scores(d, rng, kind)
    args = {"scores": x} if lens is None else {"scores": x, "input_lengths": lens}
    return Case(
        args,
        lambda a: tuple(
            crnn_fast.ctc_greedy_decode(a["scores"], a.get("input_lengths"), input_kind=kind)
        ),  # fmt: skip
        scalars=("blank", "input_kind", "num_threads"),
    )


def beam_case(d, rng) -> Case:
    kind = d.choice(["logits", "probs", "log_probs"])
    x, lens = _scores(d, rng, kind)
    width = d.int(1, 4)
    args = {"scores": x} if lens is None else {"scores": x, "input_lengths": lens}
    return Case(
        args,
        lambda a: tuple(
            crnn_fast.ctc_beam_search(
                a["scores"], a.get("input_lengths"), beam_width=width, top_n=1, input_kind=kind
            )
        ),  # fmt: skip
        scalars=("blank", "beam_width", "input_kind", "num_threads"),
    )


def _lstm_setup(d, rng):
    T, B, I, H = (d.int(1, 4) for _ in range(4))
    L, bi = d.int(1, 2), d.bool()
    p = ref_lstm.init_lstm_params(I, H, L, bi, True, rng=rng, dtype=np.float32)
    D = 2 if bi else 1
    args = {"x": rng.standard_normal((T, B, I)).astype(np.float32), **_flat_params(p)}
    if d.bool():
        args["h0"] = rng.standard_normal((L * D, B, H)).astype(np.float32)
        args["c0"] = rng.standard_normal((L * D, B, H)).astype(np.float32)
    if d.bool():
        args["seq_length"] = rng.integers(0, T + 1, B).astype(np.int32)
    kw = dict(hidden_size=H, num_layers=L, bidirectional=bi)
    return args, kw


def _lstm_fwd(a, kw, training=False):
    return crnn_fast.lstm_forward(
        a["x"], _params(a), **kw, h0=a.get("h0"), c0=a.get("c0"),
        seq_length=a.get("seq_length"), training=training,
    )  # fmt: skip


SCALARS_LSTM = ("hidden_size", "num_layers", "num_threads", "params")


def lstm_forward_case(d, rng) -> Case:
    args, kw = _lstm_setup(d, rng)
    return Case(
        args, lambda a: tuple(_lstm_fwd(a, kw))[:3], aliases=[("h0", "c0")], scalars=SCALARS_LSTM
    )


def lstm_backward_case(d, rng) -> Case:
    args, kw = _lstm_setup(d, rng)
    out = _lstm_fwd(args, kw, training=True)
    args.update(output=out.output, reserve=out.reserve, d_output=np.ones_like(out.output))
    if d.bool():
        args["d_h_n"], args["d_c_n"] = np.ones_like(out.h_n), np.full_like(out.c_n, 0.5)

    def call(a):
        g = crnn_fast.lstm_backward(
            a["d_output"], a.get("d_h_n"), a.get("d_c_n"), x=a["x"], output=a["output"],
            reserve=a["reserve"], params=_params(a), **kw, h0=a.get("h0"), c0=a.get("c0"),
            seq_length=a.get("seq_length"),
        )  # fmt: skip
        return (g.d_x, g.d_h0, g.d_c0, *(g.d_params[k] for k in sorted(g.d_params)))

    return Case(args, call, aliases=[("d_h_n", "d_c_n"), ("h0", "c0")], scalars=SCALARS_LSTM)


def _conv_setup(d, rng):
    B, Ci, Co, k = (d.int(1, 3) for _ in range(4))
    H, W = d.int(k, 6), d.int(k, 6)
    x = rng.standard_normal((B, Ci, H, W)).astype(np.float32)
    w = rng.standard_normal((Co, Ci, k, k)).astype(np.float32)
    return x, w


def conv_forward_case(d, rng) -> Case:
    x, w = _conv_setup(d, rng)
    args = {"x": x, "w": w, "b": rng.standard_normal(w.shape[0]).astype(np.float32)}
    return Case(
        args,
        lambda a: (crnn_fast.conv2d_forward(a["x"], a["w"], a["b"], padding=1),),
        aliases=[("w", "x")],
        scalars=("stride", "padding", "dilation", "groups", "num_threads"),
    )


def conv_backward_case(d, rng) -> Case:
    x, w = _conv_setup(d, rng)
    y = crnn_fast.conv2d_forward(x, w)
    args = {"d_y": rng.standard_normal(y.shape).astype(np.float32), "x": x, "w": w}
    return Case(
        args,
        lambda a: tuple(crnn_fast.conv2d_backward(a["d_y"], a["x"], a["w"])),
        aliases=[("w", "x"), ("d_y", "x")],
        scalars=("stride", "padding", "dilation", "groups", "num_threads"),
    )


BINDINGS = {
    "ctc_loss": ctc_loss_case,
    "ctc_greedy_decode": greedy_case,
    "ctc_beam_search": beam_case,
    "lstm_forward": lstm_forward_case,
    "lstm_backward": lstm_backward_case,
    "conv2d_forward": conv_forward_case,
    "conv2d_backward": conv_backward_case,
}


def hostile(a: np.ndarray, layout: str, rng) -> np.ndarray:
    """`a` re-laid out (same shape; values changed only by broadcast and neginf)."""
    if layout == "broadcast":
        return np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * a.ndim), a.shape)
    if layout == "broadcast_axis0":
        return np.broadcast_to(a[:1], a.shape)
    if layout == "strided":
        big = np.zeros(tuple(2 * n + 1 for n in a.shape), a.dtype)
        view = big[tuple(slice(1, None, 2) for _ in a.shape)]
        view[...] = a
        return view
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "reversed":
        return np.ascontiguousarray(a[::-1])[::-1]
    if layout == "readonly":
        r = a.copy()
        r.flags.writeable = False
        return r
    assert layout == "neginf"
    r = a.copy()
    if r.dtype.kind == "f":
        r.flat[rng.integers(0, r.size, 1 + r.size // 8)] = -np.inf
    return r


def alias_of(target: np.ndarray, shape, dtype) -> np.ndarray | None:
    """A C-contiguous writeable array of `shape`/`dtype` inside `target`'s memory, if it fits."""
    need = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if not target.flags.c_contiguous or target.nbytes < need or need == 0:
        return None
    return target.reshape(-1).view(np.uint8)[:need].view(dtype).reshape(shape)


def outcome(case: Case, args: dict):
    try:
        return "ok", tuple(np.asarray(o) for o in case.call(args))
    except ERRORS as e:
        return type(e), str(e)


def names_an_argument(msg: str, case: Case, args: dict) -> bool:
    return any(n in msg for n in (*args, *case.outputs, *case.scalars))


def check(case: Case, hostile_args: dict) -> None:
    """The hostile call names an argument when it fails, and does what the plain call does."""
    got = outcome(case, hostile_args)
    if got[0] != "ok":
        assert names_an_argument(got[1], case, hostile_args), f"{got[0].__name__}: {got[1]}"
    want = outcome(case, plain(hostile_args))
    assert got[0] == want[0], f"hostile {got} vs plain {want}"
    if got[0] != "ok":
        assert got[1] == want[1]
        return
    for g, w in zip(got[1], want[1]):
        assert not np.isnan(g).any(), "NaN in the result"
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)


def plain(args: dict) -> dict:
    return {k: np.array(a, order="C", copy=True) if isinstance(a, np.ndarray) else a
            for k, a in args.items()}  # fmt: skip


@pytest.mark.parametrize("backend_name", ["cpu", "numpy"])
@pytest.mark.parametrize("binding", list(BINDINGS))
@SETTINGS
@given(data=st.data())
def test_fuzz_hostile_layouts(backend_name, binding, data):
    with registry.backend_scope(backend_name):
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
        case = BINDINGS[binding](Draw(data), rng)
        arrays = [k for k, a in case.args.items() if isinstance(a, np.ndarray)]
        name = data.draw(st.sampled_from(arrays))
        layout = data.draw(st.sampled_from(LAYOUTS))
        args = dict(case.args)
        args[name] = hostile(args[name], layout, rng)
        if name in case.outputs:
            a = args[name]
            if not (a.flags.c_contiguous and a.flags.writeable):
                got = outcome(case, args)
                assert got[0] is ValueError and name in got[1], got
                return
            args[name] = np.empty_like(a)  # content is overwritten: compare on fresh buffers
        check(case, args)


@pytest.mark.parametrize("backend_name", ["cpu", "numpy"])
@pytest.mark.parametrize("binding", list(BINDINGS))
@SETTINGS
@given(data=st.data())
def test_fuzz_aliased_arrays(backend_name, binding, data):
    """An output inside an input's memory is a ValueError naming both; inputs sharing memory
    with each other (read only) give the plain result."""
    with registry.backend_scope(backend_name):
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
        case = BINDINGS[binding](Draw(data), rng)
        pairs = [(a, b) for a, b in case.aliases if a in case.args and b in case.args]
        if not pairs:
            return
        a, b = data.draw(st.sampled_from(pairs))
        args = dict(case.args)
        if a in case.outputs:
            view = alias_of(args[b], args[a].shape, args[a].dtype)
            if view is None:
                return
            args[a] = view
            got = outcome(case, args)
            assert got[0] is ValueError and f"{a} shares memory with {b}" in got[1], got
            return
        # two inputs in one buffer: b's values first, then a's right after (both read only)
        buf = np.concatenate([args[b].reshape(-1), args[a].reshape(-1).astype(args[b].dtype)])
        args[b] = buf[: args[b].size].reshape(args[b].shape)
        args[a] = buf[args[b].size :].astype(args[a].dtype, copy=False).reshape(args[a].shape)
        if args[a].shape == args[b].shape and data.draw(st.booleans()):
            args[a] = args[b]  # the very same array for both (e.g. h0 is c0)
        check(case, args)


# ---- huge broadcasts, in a child process under an address-space limit --------------------

SWEEP = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import test_fuzz_hostile_arrays as f

    with open("/proc/self/status") as fh:
        vm = next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (1 << 30), vm + (1 << 30)))
    report = []
    for binding, make in f.BINDINGS.items():
        case = make(f.Draw(), np.random.default_rng(0))
        for name, a in case.args.items():
            if not isinstance(a, np.ndarray) or name in case.outputs:
                continue
            huge = a.shape[:-1] + (2**36 // max(1, int(np.prod(a.shape[:-1]))),)
            args = dict(case.args)
            args[name] = np.broadcast_to(a.reshape(-1)[:1], huge)
            try:
                out = case.call(args)
                nan = any(np.isnan(np.asarray(o)).any() for o in out)
                report.append([binding, name, "nan" if nan else "ok", ""])
            except Exception as e:
                report.append([binding, name, type(e).__name__, str(e)])
    print(json.dumps(report))
    """
)


# Arguments read only in part (labels[b, :label_lengths[b]]): a huge broadcast may just work.
READ_IN_PART = {("ctc_loss", "labels")}


@pytest.mark.parametrize("backend_name", ["cpu", "numpy"])
def test_huge_broadcast_of_every_argument(backend_name):
    """Each array argument of each binding replaced by a 256 GiB broadcast (no memory used):
    MemoryError or ValueError naming it (or, for READ_IN_PART, a result without NaN), never a
    crash or a hang."""
    env = {**os.environ, "CRNN_FAST_BACKEND": backend_name, "CRNN_FAST_NUM_THREADS": "2"}
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(
        [sys.executable, "-c", SWEEP, here], capture_output=True, text=True, env=env, timeout=600
    )
    assert p.returncode == 0, f"rc {p.returncode}:\n{p.stderr[-3000:]}"
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(report) >= 25
    for binding, name, exc, msg in report:
        if (binding, name) in READ_IN_PART and exc == "ok":
            continue
        assert exc in ("MemoryError", "ValueError"), (binding, name, exc, msg)
        assert name in msg, (binding, name, exc, msg)
