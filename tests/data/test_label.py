"""Label encoding = MindOCR's RecCTCLabelEncode (str2idx) and the CharDict rules shared with
crnn_fast.nn.CTCLabelDecode; hypothesis fuzz over random Unicode."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crnn_fast.data import DEFAULT_CHARACTERS, CharDict, encode_label

D = CharDict()  # the CRNN default: 0-9a-z, blank 36


def ids(text: str, max_len: int = 23, d: CharDict = D):
    r = encode_label(text, d, max_len)
    return None if r is None else (r[0][: r[1]].tolist(), r[0], r[1])


def test_default_dict():
    assert D.chars == list(DEFAULT_CHARACTERS) and D.lower
    assert (D.blank, D.num_classes, len(D), D.space_idx) == (36, 37, 36, None)
    assert CharDict(lower=False).lower  # forced for the default dictionary, as MindOCR


def test_contract_examples():
    """MINDOCR_CRNN.md s2, verified there on a toy LMDB."""
    got, row, n = ids("Hello")
    assert got == [17, 14, 21, 21, 24] and n == 5
    assert row.dtype == np.int32 and row.shape == (23,) and (row[5:] == 36).all()
    assert ids("ab-c!")[0] == [10, 11, 12]
    assert ids("x" * 30) is None  # too long: MindOCR keeps the sample with an all-blank target
    assert ids("??") is None  # nothing in the dictionary


@pytest.mark.parametrize(
    "text, want",
    [
        ("ABC", [10, 11, 12]),  # uppercase -> lowercase
        ("a b", [10, 11]),  # space is out of the default dictionary
        ("Ünï-cødé9", [23, 12, 13, 9]),  # accented letters are not in 0-9a-z
        ("a" * 23, [10] * 23),  # exactly max_len
        ("0", [0]),
    ],
)
def test_edge_cases(text, want):
    assert ids(text)[0] == want


@pytest.mark.parametrize("text", ["", "a" * 24, " ", "!!!", "ß"])
def test_none_cases(text):
    assert encode_label(text, D, 23) is None


def test_length_checked_before_filtering():
    """str2idx compares the *raw* length: 24 chars of which only 3 are valid is still too long."""
    assert encode_label("abc" + "-" * 21, D, 23) is None
    assert ids("abc" + "-" * 20)[0] == [10, 11, 12]


def test_dict_file_space_and_case(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_text("a\nB\nc\n", encoding="utf-8")
    d = CharDict(p)
    assert d.chars == ["a", "B", "c"] and not d.lower and d.blank == 3
    assert ids("aBcb", d=d)[0] == [0, 1, 2]  # case kept, 'b' out of dictionary
    d = CharDict(p, lower=True)
    assert ids("ABC", d=d)[0] == [0, 2]  # 'b' lowered is not in the dictionary (it has 'B')
    ds = CharDict(p, use_space_char=True)
    assert ds.chars[-1] == " " and ds.space_idx == 3 and ds.blank == 4 and ds.num_classes == 5
    assert ids("a c", d=ds)[0] == [0, 3, 2]
    p.write_text("a\n \nb\n", encoding="utf-8")  # space already listed: not appended again
    d2 = CharDict(p, use_space_char=True)
    assert d2.chars == ["a", " ", "b", ] and d2.space_idx == 2 and d2.blank == 3  # fmt: skip


def test_dict_duplicate_maps_to_last(tmp_path, caplog):
    p = tmp_path / "dup.txt"
    p.write_text("a\nb\na\n", encoding="utf-8")
    d = CharDict(p)
    assert "twice" in caplog.text
    assert d.blank == 3 and ids("ab", d=d)[0] == [2, 1]  # MindOCR's {c: idx} dict: last wins


def test_consistent_with_ctc_label_decode():
    """The decoder's dictionary (crnn_fast.nn.postprocess) is the encoder's."""
    from crnn_fast.nn.postprocess import CTCLabelDecode

    for kw in ({}, {"use_space_char": True}):
        dec, enc = CTCLabelDecode(**kw), CharDict(**kw)
        assert [dec.character[i] for i in range(enc.blank)] == enc.chars
        assert dec.blank_idx == enc.blank and dec.num_classes == enc.num_classes
    assert D.decode(ids("Hello")[1]) == "hello"


def test_from_config():
    d = CharDict.from_config({"max_text_len": 23, "character_dict_path": None, "lower": True})
    assert d.chars == D.chars
    with pytest.raises(ValueError, match="blank_at_last"):
        CharDict.from_config({"blank_at_last": False})
    with pytest.raises(ValueError, match="max_len"):
        encode_label("a", D, 0)
    with pytest.raises(TypeError):
        encode_label(b"abc", D, 5)


def reference(text: str, d: CharDict, max_len: int):
    """str2idx transcribed from MindOCR (rec_transforms.py)."""
    if len(text) == 0 or len(text) > max_len:
        return None
    if d.lower:
        text = text.lower()
    out = [d.index[c] for c in text if c in d.index]
    return out or None


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40), st.integers(1, 30), st.sampled_from(["default", "custom"]))
def test_fuzz_encode_label(text, max_len, which):
    d = D if which == "default" else CharDict(chars=list("aBç 文\u0307"), lower=True)
    r = encode_label(text, d, max_len)
    want = reference(text, d, max_len)
    if want is None or len(want) > max_len:
        assert r is None
        return
    row, n = r
    assert row.dtype == np.int32 and row.shape == (max_len,)
    assert n == len(want) and row[:n].tolist() == want
    assert (row[n:] == d.blank).all() and (row[:n] < d.blank).all() and (row >= 0).all()
