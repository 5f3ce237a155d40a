"""Issue 14: one validation per op. The argument checks live once in C++ (csrc/check_ctc.h,
check_lstm.h, check_conv.h, check_common.h); the pybind11 functions and the MindSpore aot
entries both call them, and the NumPy fallback calls the CTC ones through
``_C.check_ctc_targets`` / ``_C.check_ctc_beam_options`` when ``_C`` is compiled. These tests
feed the same bad input to each path and compare the messages:

* pybind (``_C.ctc_loss``, ``_C.ctc_greedy_decode``, ``lstm_forward``) vs aot (a PYNATIVE
  MindSpore op, in a child process: a failed aot op must not leak into later tests' MindSpore
  state);
* ``_C.check_ctc_targets`` (what the fallback and the layers' host checks call) vs the aot
  entry's own padding rule;
* the pure-NumPy fallback of ``crnn_fast._validate`` (used only without ``_C``) vs the C++ check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from crnn_fast import _validate as v
from crnn_fast import registry


@pytest.fixture(autouse=True)
def _compiled():
    """These tests compare the compiled checks with the others: a missing _C is a failure, as
    for the ``backend`` fixture, never a skip."""
    if not registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the shared C++ checks cannot be tested")


T, B, C, S = 6, 2, 5, 3  # blank = C - 1 = 4


def _loss_case(name: str) -> dict:
    """A valid ctc_loss input with one thing wrong (int32 lists, for JSON)."""
    labels = [[1, 2, 0], [3, 1, 0]]
    in_len, lab_len = [6, 5], [2, 3]
    if name == "label_outside":
        labels[1][1] = 7
    elif name == "label_negative":
        labels[0][0] = -3
    elif name == "label_blank":
        labels[0][1] = 4
    elif name == "input_length_long":
        in_len[1] = 7
    elif name == "input_length_negative":
        in_len[0] = -1
    elif name == "label_length_long":
        lab_len[0] = 4
    return dict(labels=labels, input_lengths=in_len, label_lengths=lab_len)


LOSS_CASES = [
    ("label_outside", "labels[1, 1] = 7 is outside [0, C) (C = 5, blank = 4)"),
    ("label_negative", "labels[0, 0] = -3 is outside [0, C)"),
    ("label_blank", "labels[0, 1] = 4 equals blank (C = 5, blank = 4)"),
    ("input_length_long", "input_lengths[1] = 7 is outside [0, T = 6]"),
    ("input_length_negative", "input_lengths[0] = -1 is outside [0, T = 6]"),
    ("label_length_long", "label_lengths[0] = 4 is outside [0, S = 3]"),
]

# labels (B, S) whose lengths come from the padding (blank = 4 or -1 at the end)
PADDING_CASES = [
    ([[1, 4, 2], [1, 2, 4]], "labels[0, 2] = 2 follows padding at position 1"),
    ([[1, 9, 4], [1, 2, 4]], "labels[0, 1] = 9 is outside [0, C) (C = 5, blank = 4); pad labels"),
    ([[1, -1, -1], [-1, 3, 4]], "labels[1, 1] = 3 follows padding at position 0"),
]

GREEDY_CASES = [
    ([6, 7], "input_lengths[1] = 7 is outside [0, T = 6]"),
    ([-2, 3], "input_lengths[0] = -2 is outside [0, T = 6]"),
]


LSTM_SEQ = [6, 9]  # seq_length[1] > T


def _pybind_message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as e:
        fn(*args, **kwargs)
    return str(e.value)


def _aot_messages() -> dict:
    """The aot entries' messages for every case, from one PYNATIVE child process."""
    pytest.importorskip("mindspore")
    cases = {
        "loss": {name: _loss_case(name) for name, _ in LOSS_CASES},
        "padding": [labels for labels, _ in PADDING_CASES],
        "greedy": [lens for lens, _ in GREEDY_CASES],
        "lstm_seq": LSTM_SEQ,
    }
    code = textwrap.dedent(
        f"""
        import json
        import numpy as np
        import mindspore as ms
        from crnn_fast import ops as cops
        if hasattr(ms, "set_device"):
            ms.set_device("CPU")
        ms.set_context(mode=ms.PYNATIVE_MODE)
        cases = json.loads({json.dumps(json.dumps(cases))})
        logits = ms.Tensor(np.zeros(({T}, {B}, {C}), np.float32))
        i32 = lambda x: ms.Tensor(np.array(x, np.int32))

        def message(run):
            try:
                run()
            except ValueError:  # raised at the call: the op waits for its kernel in PYNATIVE
                return cops.last_error()
            return "no error"

        out = {{"loss": {{}}, "padding": [], "greedy": []}}
        for name, c in cases["loss"].items():
            args = (logits, i32(c["labels"]), i32(c["input_lengths"]), i32(c["label_lengths"]))
            out["loss"][name] = message(lambda: cops.CTCLossOp()(*args)[0].asnumpy())
        for labels in cases["padding"]:
            out["padding"].append(
                message(lambda: cops.CTCLossOp()(logits, i32(labels))[0].asnumpy())
            )
        for lens in cases["greedy"]:
            op = cops.CTCGreedyOp()
            out["greedy"].append(message(lambda: op(logits, i32(lens))[0].asnumpy()))
        x = ms.Tensor(np.zeros(({T}, {B}, 4), np.float32))
        seq = i32(cases["lstm_seq"])
        w = ms.Tensor(np.zeros(4 * 3 * (4 + 3 + 2), np.float32))  # W_ih, W_hh, b_ih, b_hh
        out["lstm"] = message(lambda: cops.LSTMOp(4, 3)(x, None, None, seq, w)[0].asnumpy())
        print("RESULT", json.dumps(out))
        """
    )
    env = {**os.environ, "CRNN_FAST_BACKEND": "cpu", "CRNN_FAST_NUM_THREADS": "2"}
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert p.returncode == 0, p.stderr
    line = next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


@pytest.fixture(scope="module")
def aot() -> dict:
    return _aot_messages()


def _loss_args(name: str):
    c = _loss_case(name)
    i32 = lambda x: np.array(x, np.int32)  # noqa: E731
    logits = np.zeros((T, B, C), np.float32)
    return logits, i32(c["labels"]), i32(c["input_lengths"]), i32(c["label_lengths"])


@pytest.mark.parametrize("name,want", LOSS_CASES)
def test_ctc_loss_pybind_and_aot_same_message(aot, name, want):
    from crnn_fast import _C

    got = _pybind_message(_C.ctc_loss, *_loss_args(name))
    assert want in got
    # aot: "crnn_fast aot ctc_loss: <the same message>"
    assert aot["loss"][name] == f"crnn_fast aot ctc_loss: {got}"


@pytest.mark.parametrize("i", range(len(PADDING_CASES)))
def test_label_padding_check_and_aot_same_message(aot, i):
    from crnn_fast import _C

    labels, want = PADDING_CASES[i]
    got = _pybind_message(_C.check_ctc_targets, np.array(labels, np.int32), None, None, T, C)
    assert want in got
    assert aot["padding"][i] == f"crnn_fast aot ctc_loss: {got}"


@pytest.mark.parametrize("i", range(len(GREEDY_CASES)))
def test_ctc_greedy_pybind_and_aot_same_message(aot, i):
    from crnn_fast import _C

    lens, want = GREEDY_CASES[i]
    scores = np.zeros((T, B, C), np.float32)
    got = _pybind_message(_C.ctc_greedy_decode, scores, np.array(lens, np.int32))
    assert got == want
    assert aot["greedy"][i] == f"crnn_fast aot ctc_greedy: {got}"


@pytest.mark.parametrize("name,want", LOSS_CASES)
def test_fallback_target_check_calls_the_binding_check(name, want):
    """ctc_loss on the numpy backend (with _C compiled) raises the binding's message."""
    from crnn_fast import _C

    logits, labels, il, ll = _loss_args(name)
    with registry.backend_scope("numpy"):
        import crnn_fast

        with pytest.raises(ValueError) as e:
            crnn_fast.ctc_loss(logits, labels, il, ll)
    assert str(e.value) == _pybind_message(_C.ctc_loss, logits, labels, il, ll)


# ---- the pure-NumPy fallback (no _C) keeps the C++ messages ------------------------------


def _message(fn, *args) -> tuple[str, str]:
    try:
        fn(*args)
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e)
    return "ok", ""


TARGET_CASES = [
    *[(_loss_args(name)[1:], -1, False) for name, _ in LOSS_CASES],
    *[((np.array(lab, np.int32), None, None), -1, False) for lab, _ in PADDING_CASES],
    ((np.array([[1, 2, 0], [3, 1, 0]], np.int32), None, np.array([2, 2], np.int32)), 7, False),
    ((np.array([[1, 2, 0], [3, 1, 0]], np.int32), None, np.array([2, 2], np.int32)), -3, False),
    ((np.array([[1, 2, 0], [3, 1, 0]], np.int32), None, np.array([2, 2], np.int32)), -3, True),
    ((np.array([[1, 2, 0], [3, 1, 0]], np.int32), None, np.array([2, 2], np.int32)), -6, True),
    ((np.array([[1, 2, 0], [3, 1, 0]], np.int32), None, np.array([2, 2], np.int32)), 2.0, False),
]

BEAM_CASES = [(0, 1, -np.inf), (4097, 1, 0.0), (4, 5, 0.0), (4, 0, 0.0), (4, 1, np.nan),
              (4, 1, "x"), (4.0, 1, 0.0), (4, 2, -1.5)]  # fmt: skip


@pytest.fixture
def no_compiled(monkeypatch):
    monkeypatch.setattr(registry, "has_compiled_module", lambda: False)


@pytest.mark.parametrize("i", range(len(TARGET_CASES)))
def test_numpy_target_check_matches_cpp(no_compiled, i):
    from crnn_fast import _C

    (labels, il, ll), blank, from_end = TARGET_CASES[i]
    args = (labels, il, ll, T, C, blank, from_end)
    want = _message(_C.check_ctc_targets, *args)
    assert _message(v.check_ctc_targets, *args) == want
    if want[0] == "ok":
        np.testing.assert_array_equal(v.check_ctc_targets(*args)[1], _C.check_ctc_targets(*args)[1])


@pytest.mark.parametrize("case", BEAM_CASES)
def test_numpy_beam_option_check_matches_cpp(no_compiled, case):
    from crnn_fast import _C

    assert _message(v.check_beam_options, *case) == _message(_C.check_ctc_beam_options, *case)


def test_lstm_pybind_and_aot_same_message(aot):
    """LSTM: the seq_length range check (csrc/check_common.h) is the same in both layers."""
    import crnn_fast
    from crnn_fast.reference import lstm as ref_lstm

    params = ref_lstm.init_lstm_params(4, 3, dtype=np.float32, rng=np.random.default_rng(0))
    x = np.zeros((T, B, 4), np.float32)
    with registry.backend_scope("cpu"):
        got = _pybind_message(
            crnn_fast.lstm_forward, x, params, 3, seq_length=np.array(LSTM_SEQ, np.int32)
        )
    assert got == "seq_length[1] = 9 is outside [0, T = 6]"
    assert aot["lstm"].startswith("crnn_fast aot ") and aot["lstm"].endswith(f": {got}")


DECODE_CASES = [
    (np.array([6, 7], np.int32), -1, "logits"),
    (np.array([-1, 2], np.int32), -1, "probs"),
    (None, 5, "logits"),
    (None, -2, "log_probs"),
    (None, 2, "softmax"),
    (np.array([6, 6], np.int32), 0, "log_probs"),
]


@pytest.mark.parametrize("case", DECODE_CASES)
def test_numpy_decode_check_matches_cpp(no_compiled, case):
    from crnn_fast import _C

    lens, blank, kind = case
    want = _message(_C.check_ctc_decode_args, lens, T, C, blank, kind)
    assert _message(v.check_decode_args, lens, T, C, blank, kind) == want
    if want[0] == "ok":
        assert v.check_decode_args(lens, T, C, blank, kind) == blank
