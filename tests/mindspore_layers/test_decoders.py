"""crnn_fast.nn.decoders (greedy / beam search Cells) and crnn_fast.nn.postprocess
(MindOCR's RecCTCLabelDecode) vs the NumPy references, PYNATIVE and GRAPH, cpu (aot) and numpy
(pyfunc) backends; MindOCR's confidence rule and doc example; bad inputs."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor

import crnn_fast._backend as backend_mod
from crnn_fast import registry
from crnn_fast.nn.decoders import CTCBeamSearchDecoder, CTCGreedyDecoder, decoder_backend
from crnn_fast.nn.postprocess import CTCLabelDecode
from crnn_fast.reference import ctc as ref
from crnn_fast.reference import ctc_beam as ref_beam

DOC_SEQ = [10, 10, 36, 10, 11, 36, 36, 12, 12]  # a a _ a b _ _ c c (MINDOCR_CRNN.md section 3)


def scores_for(rng, kind: str, T: int, B: int, C: int, batch_first: bool) -> np.ndarray:
    """Peaked random scores (repeats and blanks are common) in the requested form."""
    x = 3.0 * rng.standard_normal((B, T, C) if batch_first else (T, B, C))
    if kind == "logits":
        return x.astype(np.float32)
    lp = ref.log_softmax(x)
    return (np.exp(lp) if kind == "probs" else lp).astype(np.float32)


def doc_probs(peak: float = 0.9) -> np.ndarray:
    """(1, 9, 37) probabilities whose argmax spells a a _ a b _ _ c c with max prob ``peak``."""
    p = np.full((1, len(DOC_SEQ), 37), (1 - peak) / 36, np.float32)
    p[0, np.arange(len(DOC_SEQ)), DOC_SEQ] = peak
    return p


def mindocr_decode(preds: np.ndarray, chars: list[str], blank: int, lower: bool) -> dict:
    """A straightforward re-implementation of MindOCR's RecCTCLabelDecode.__call__."""
    idx, prob = preds.argmax(-1), preds.max(-1)
    texts, confs = [], []
    for b in range(idx.shape[0]):
        keep = np.ones(idx.shape[1], bool)
        keep[1:] = idx[b, 1:] != idx[b, :-1]
        keep &= idx[b] != blank
        text = [chars[i].lower() if lower else chars[i] for i in idx[b][keep]]
        texts.append("".join(text))
        confs.append(np.mean(prob[b][keep]) if keep.any() else np.mean([0]))
    raw = [[chars[i] for i in row] for row in idx]
    return {"texts": texts, "confs": confs, "raw_chars": raw}


GREEDY_CASES = [  # (input_kind, batch_first, T, B, C, input_lengths or None, float16)
    ("logits", False, 7, 4, 5, [7, 0, 3, 1], False),
    ("probs", True, 6, 3, 4, None, False),
    ("log_probs", False, 1, 1, 3, [1], False),
    ("logits", True, 5, 2, 6, [0, 5], True),
]


# The backends that emulate an accelerator's kernels (not every op yet, so not in the module's
# backend table): the greedy decoder on each of them.
EMULATED = [
    n
    for n in ("cuda-emu", "ascend-emu")
    if registry.usable(n) and registry.implements(n, "ctc_greedy_decode")
]


def test_greedy_matches_reference(ms_mode, backend):
    check_greedy(backend)


@pytest.mark.parametrize("backend", EMULATED, indirect=True)
def test_greedy_on_the_emulated_backends(ms_mode, backend):
    check_greedy(backend)


def check_greedy(backend):
    rng = np.random.default_rng(1)
    for kind, batch_first, T, B, C, lens, half in GREEDY_CASES:
        x = scores_for(rng, kind, T, B, C, batch_first)
        if half:
            x = x.astype(np.float16)
        dec = CTCGreedyDecoder(input_kind=kind, batch_first=batch_first)
        assert dec.backend == backend
        args = (Tensor(x),) if lens is None else (Tensor(x), Tensor(np.array(lens, np.int64)))
        ids, n, conf = (o.asnumpy() for o in dec(*args))
        want = ref.ctc_greedy_decode(x.astype(np.float32), lens, None, kind, batch_first)
        case = f"{kind} batch_first={batch_first} lens={lens}"
        assert ids.dtype == np.int32 and n.dtype == np.int32 and conf.dtype == np.float32, case
        np.testing.assert_array_equal(ids, want.ids, err_msg=case)
        np.testing.assert_array_equal(n, want.lengths, err_msg=case)
        expect = [want.probs[b, :k].mean() if k else 0.0 for b, k in enumerate(want.lengths)]
        assert_close(conf, expect, 1e-6, 1e-6, case)


def test_greedy_matches_stock_ctc_greedy_decoder(ms_mode, backend):
    """Same ids as MindSpore's own ops.CTCGreedyDecoder (blank = C - 1, repeats merged), which
    returns them as a sparse tensor."""
    rng = np.random.default_rng(3)
    T, B, C = 9, 5, 6
    logits = rng.standard_normal((T, B, C)).astype(np.float32)
    logits[:, 1, C - 1] += 5.0  # sample 1 mostly blank
    lens = np.array([9, 9, 4, 1, 7], np.int32)
    ids, lengths, _ = CTCGreedyDecoder()(Tensor(logits), Tensor(lens))
    idx, vals, _, _ = ms.ops.CTCGreedyDecoder(merge_repeated=True)(Tensor(logits), Tensor(lens))
    idx, vals = idx.asnumpy(), vals.asnumpy()
    for b in range(B):
        stock = vals[idx[:, 0] == b][np.argsort(idx[idx[:, 0] == b, 1])]
        ours = ids.asnumpy()[b, : lengths.asnumpy()[b]]
        assert ours.tolist() == stock.tolist(), (b, ours, stock)


def test_greedy_confidence_rule():
    """MindOCR's rule on the doc example: "aabc" (ids 10 10 11 12), conf = mean = 0.9; and an
    all-blank sample gets confidence 0."""
    p = np.concatenate([doc_probs(), doc_probs()[:, [2, 2, 5, 6, 2, 2, 6, 5, 2]]])
    p[0, 4, 11], p[0, 4, 0] = 0.6, 0.4 - 35 * (0.1 / 36)  # kept 'b' frame: max prob 0.6
    ids, n, conf = (o.asnumpy() for o in CTCGreedyDecoder(-1, "probs", True)(Tensor(p)))
    np.testing.assert_array_equal(ids[0, :4], [10, 10, 11, 12])
    np.testing.assert_array_equal(n, [4, 0])
    assert (ids[1] == -1).all()
    assert_close(conf, [(0.9 * 3 + 0.6) / 4, 0.0], 1e-6, 0, "confidences")


@pytest.mark.parametrize("batch_first", [False, True])
def test_beam_matches_reference(ms_mode, backend, batch_first):
    rng = np.random.default_rng(2)
    T, B, C = 6, 3, 5
    x = scores_for(rng, "logits", T, B, C, batch_first)
    lens = np.array([6, 0, 4], np.int32)
    dec = CTCBeamSearchDecoder(beam_width=4, top_n=2, batch_first=batch_first)
    for args in ((Tensor(x), Tensor(lens)), (Tensor(x),)):
        ids, n, score = (o.asnumpy() for o in dec(*args))
        use = lens if len(args) == 2 else None
        want = ref_beam.ctc_beam_search(x, use, None, 4, 2, batch_first=batch_first)
        assert ids.shape == (B, 2, T) and n.shape == score.shape == (B, 2)
        assert score.dtype == np.float32
        np.testing.assert_array_equal(ids[:, 0], want.ids[:, 0])
        np.testing.assert_array_equal(n[:, 0], want.lengths[:, 0])
        assert_close(score, want.scores, 1e-5, 1e-5, "beam scores")


def test_beam_search_op_alone_matches_the_numpy_api(ms_mode, backend):
    """``crnn_fast.ops.CTCBeamSearchOp`` (the op under ``CTCBeamSearchDecoder``) used on its
    own: the NumPy API's result on the backend it was built for."""
    import crnn_fast
    from crnn_fast.ops import CTCBeamSearchOp

    rng = np.random.default_rng(4)
    x = scores_for(rng, "log_probs", 7, 3, 5, False)
    lens = np.array([7, 2, 5], np.int32)
    op = CTCBeamSearchOp(beam_width=3, top_n=2, input_kind="log_probs")
    assert op.backend == backend
    for use in (lens, None):
        args = (Tensor(x),) if use is None else (Tensor(x), Tensor(use))
        ids, n, score = (o.asnumpy() for o in op(*args))
        want = crnn_fast.ctc_beam_search(x, use, beam_width=3, top_n=2, input_kind="log_probs")
        np.testing.assert_array_equal(ids, want.ids)
        np.testing.assert_array_equal(n, want.lengths)
        assert_close(score, want.scores.astype(np.float32), 1e-6, 0, "beam scores")


def test_beam_top1_equals_greedy_when_peaked():
    """One class per frame with probability ~1: beam top-1 = greedy, any width (probs input)."""
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 4, (2, 8))
    p = np.full((2, 8, 4), 1e-6, np.float32)
    np.put_along_axis(p, idx[..., None], 1 - 3e-6, -1)
    g_ids, g_n, _ = CTCGreedyDecoder(input_kind="probs", batch_first=True)(Tensor(p))
    b_ids, b_n, _ = CTCBeamSearchDecoder(3, 1, input_kind="probs", batch_first=True)(Tensor(p))
    np.testing.assert_array_equal(b_ids.asnumpy()[:, 0], g_ids.asnumpy())
    np.testing.assert_array_equal(b_n.asnumpy()[:, 0], g_n.asnumpy())


# One character per line, as MindOCR's dict files; upper case, a space, a multi-letter
# lower() ("\u0130" -> 2 chars) and a final sigma (lowered per character, as MindOCR).
TOY_DICT = ["0", "1", "A", "b", "C", " ", "\u0130", "\u03a3", "\u00e9", "z"]


@pytest.mark.parametrize(
    "toy, use_space, blank_at_last, lower",
    [(False, False, True, False), (True, True, True, False), (True, False, False, True)],
)
def test_postprocess_matches_mindocr(tmp_path, toy, use_space, blank_at_last, lower):
    path = None
    chars = list("0123456789abcdefghijklmnopqrstuvwxyz")
    if toy:
        path = tmp_path / "dict.txt"
        path.write_bytes("\r\n".join(TOY_DICT[:5] + TOY_DICT[6:]).encode() + b"\n")
        chars = TOY_DICT[:5] + TOY_DICT[6:]
    dec = CTCLabelDecode(path, use_space, lower, blank_at_last)
    chars += [" "] * use_space
    chars = [*chars, "<PAD>"] if blank_at_last else ["<PAD>", *chars]
    assert dec.num_classes == len(chars) and dec.character == dict(enumerate(chars))
    blank = len(chars) - 1 if blank_at_last else 0
    assert dec.blank_idx == blank and dec.ignore_indices == [blank]
    assert dec.lower == (lower or path is None)
    rng = np.random.default_rng(4)
    x = scores_for(rng, "probs", 12, 5, len(chars), True)
    x[0] = 0.0
    x[0, :, blank] = 1.0  # an all-blank sample: text "", conf 0
    want = mindocr_decode(x, chars, blank, dec.lower)
    for preds in (x, Tensor(x), (Tensor(x[:, :, ::-1].copy()), Tensor(x))):
        got = dec(preds)
        assert got["texts"] == want["texts"] and got["raw_chars"] == want["raw_chars"]
        assert_close(got["confs"], want["confs"], 1e-7, 1e-6, "confs")
        assert got["texts"][0] == "" and got["confs"][0] == 0
        assert [type(c) for c in got["confs"]] == [type(c) for c in want["confs"]]
    ids, n, conf = CTCGreedyDecoder(blank, "probs", True)(Tensor(x))  # decoded input
    got = dec((ids, n, conf))
    assert got["texts"] == want["texts"] and got["raw_chars"] is None
    assert_close(got["confs"], want["confs"], 1e-6, 1e-6, "confs (decoded)")
    r = ref.ctc_greedy_decode(x, None, blank, "probs", True)
    assert dec(r)["texts"] == want["texts"]


def test_postprocess_doc_example(tmp_path):
    got = CTCLabelDecode()(doc_probs())
    assert got["texts"] == ["aabc"]
    assert abs(got["confs"][0] - 0.9) < 1e-6
    assert got["raw_chars"] == [["a", "a", "<PAD>", "a", "b", "<PAD>", "<PAD>", "c", "c"]]
    path = tmp_path / "dict.txt"
    path.write_text("\n".join(TOY_DICT) + "\n", encoding="utf-8")
    p = np.zeros((1, 5, len(TOY_DICT) + 1), np.float32)
    p[0, np.arange(5), [2, 2, 7, 10, 7]] = 1.0  # A A Sigma <PAD> Sigma
    for lower, text in ((False, "A\u03a3\u03a3"), (True, "a\u03c3\u03c3")):
        out = CTCLabelDecode(path, lower=lower, raw_chars=False)(p)
        assert out["texts"] == [text] and out["raw_chars"] is None


def test_postprocess_bad_inputs():
    dec = CTCLabelDecode()
    with pytest.raises(ValueError, match="preds has C = 5 classes"):
        dec(np.zeros((1, 3, 5), np.float32))
    with pytest.raises(ValueError, match="preds must have rank 3"):
        dec(np.zeros((3, 37), np.float32))
    with pytest.raises(TypeError, match="preds must be floating"):
        dec(np.zeros((1, 3, 37), np.int32))
    with pytest.raises(ValueError, match="lengths must be in"):
        dec((np.zeros((1, 3), np.int32), np.array([4]), np.zeros((1, 3), np.float32)))


def test_stock_backend_maps_to_a_kernel(monkeypatch, use_backend):
    use_backend("stock")
    assert decoder_backend() == "cpu" and CTCGreedyDecoder().backend == "cpu"
    monkeypatch.setattr(backend_mod, "_C", None)
    assert decoder_backend() == "numpy"


LEN_SHAPE = r"input_lengths must have shape \(B,\) = \(2,\)"
BAD = [  # (decoder, scores shape, scores dtype, input_lengths or None, error, match)
    ("greedy", (4, 5), np.float32, None, ValueError, "scores must have rank 3"),
    ("greedy", (4, 2, 5), np.float64, None, TypeError, "scores must be float32 or float16"),
    ("greedy", (4, 2, 5), np.int32, None, TypeError, "scores must be float32 or float16"),
    ("greedy", (4, 2, 5), np.float32, np.array([1, 2, 3], np.int32), ValueError, LEN_SHAPE),
    ("greedy", (4, 2, 5), np.float32, np.array([1.0, 2]), TypeError, "input_lengths must be int"),
    ("blank5", (4, 2, 5), np.float32, None, ValueError, "blank must be in"),
    ("beam", (4, 2, 2, 5), np.float32, None, ValueError, "scores must have rank 3"),
    ("beam", (4, 2, 5), np.float64, None, TypeError, "scores must be float32 or float16"),
    ("beam", (4, 2, 5), np.float32, np.array([[1, 2]], np.int32), ValueError, LEN_SHAPE),
]
VALUE_BAD = [  # PYNATIVE-only host checks: (decoder, input_lengths, poison, match)
    ("greedy", [1, 5], None, r"input_lengths\[1\] = 5 is outside \[0, T = 4\]"),
    ("greedy", [-1, 2], None, r"input_lengths\[0\] = -1"),
    ("beam", [4, 9], None, r"input_lengths\[1\] = 9"),
    ("beam", None, np.nan, "scores contains NaN"),
    ("beam_probs", None, -0.5, "scores has negative values"),
]


def make(name: str):
    if name == "greedy":
        return CTCGreedyDecoder()
    if name == "blank5":
        return CTCGreedyDecoder(blank=5)
    return CTCBeamSearchDecoder(3, input_kind="probs" if name == "beam_probs" else "logits")


@pytest.mark.parametrize("case", BAD, ids=lambda c: f"{c[0]}-{np.dtype(c[2]).name}-{c[4].__name__}")
def test_bad_inputs_pynative(case):
    name, shape, dtype, lens, err, match = case
    x = Tensor(np.ones(shape, dtype))
    with pytest.raises(err, match=match):
        make(name)(x) if lens is None else make(name)(x, Tensor(lens))


def test_bad_inputs_graph_compile_time():
    """Shape/dtype errors are raised while compiling (the eager checks are compiled out)."""
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        for name, shape, dtype, lens, err, match in BAD:
            x = Tensor(np.ones(shape, dtype))
            with pytest.raises(err, match=match):
                make(name)(x) if lens is None else make(name)(x, Tensor(lens))
        x = np.zeros((4, 2, 3), np.float32)
        x[1, 1, 2] = np.nan  # GRAPH: the search's own check, raised from the pyfunc at run time
        with pytest.raises(ValueError, match="scores contains NaN"):
            make("beam")(Tensor(x))[0].asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.mark.parametrize("case", VALUE_BAD, ids=["len5", "len-1", "beam-len9", "nan", "neg"])
def test_bad_values_pynative(case):
    name, lens, poison, match = case
    x = np.full((4, 2, 3), 0.25, np.float32)
    if poison is not None:
        x[2, 1, 0] = poison
    args = (Tensor(x),) if lens is None else (Tensor(x), Tensor(np.array(lens, np.int32)))
    with pytest.raises(ValueError, match=match):
        make(name)(*args)


def test_bad_constructor_args():
    with pytest.raises(ValueError, match="input_kind"):
        CTCGreedyDecoder(input_kind="softmax")
    with pytest.raises(TypeError, match="blank"):
        CTCGreedyDecoder(blank=1.5)
    with pytest.raises(ValueError, match="beam_width"):
        CTCBeamSearchDecoder(beam_width=0)
    with pytest.raises(ValueError, match="top_n"):
        CTCBeamSearchDecoder(beam_width=2, top_n=3)
    with pytest.raises(TypeError, match="scores must be a mindspore Tensor"):
        CTCGreedyDecoder()(np.zeros((2, 1, 3), np.float32))
    with pytest.raises(ValueError, match="T, B >= 1"):
        CTCBeamSearchDecoder()(Tensor(np.zeros((0, 1, 3), np.float32)))
    with pytest.raises(FileNotFoundError):
        CTCLabelDecode("/nonexistent/dict.txt")
