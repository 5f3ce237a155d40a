"""The shipped out-of-distribution set (``crnn_fast.evalsets``, built by
``benchmarks/ood/make_ood_set.py``): sizes per style, MindOCR labels equal to ``to_label`` of
the manifest's raw texts, every image decodes, and the manifest's hashes match the bytes."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from PIL import Image

from crnn_fast.data import lmdb_size, read_lmdb
from crnn_fast.evalsets import OOD_MANIFEST, OOD_ROOT, OOD_STYLES, ood_sets
from crnn_fast.synth.words import ALPHABET, to_label

SIZES = {"plain": 150, "textured": 150, "captcha": 100}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(OOD_MANIFEST.read_text(encoding="utf-8"))


def test_sets_and_sizes(manifest):
    sets = ood_sets()
    assert list(sets) == list(OOD_STYLES) == list(SIZES)
    assert all(p.parent == OOD_ROOT for p in sets.values())
    for style, path in sets.items():
        assert lmdb_size(path) == SIZES[style] == manifest["sets"][style]["samples"]
        assert not (path / "lock.mdb").exists()  # readers open it lock=False
    assert [s["style"] for s in manifest["samples"]] == [
        st for st in OOD_STYLES for _ in range(SIZES[st])
    ]


def test_labels_follow_mindocr_rule_and_images_decode(manifest):
    by_key = {(s["style"], s["key"]): s for s in manifest["samples"]}
    assert len(by_key) == sum(SIZES.values())
    for style, path in ood_sets().items():
        for i, (image, label) in enumerate(read_lmdb(path), 1):
            entry = by_key[(style, f"image-{i:09d}")]
            assert label == entry["label"] == to_label(entry["text"]), entry
            assert 1 <= len(label) <= 23 and set(label) <= set(ALPHABET)
            img = Image.open(io.BytesIO(image))
            img.load()
            assert img.height >= 24 and img.width >= 8
            if style == "captcha":
                assert re.fullmatch(r"[A-Za-z0-9]{4,8}", entry["text"])
                assert entry["font"] == "DroidSansMono.ttf"
            else:
                assert entry["font"] in manifest["trdg_fonts"]


def test_texts_are_what_real_crops_hold(manifest):
    texts = [s["text"] for s in manifest["samples"] if s["style"] != "captcha"]
    assert any(" " in t for t in texts)  # phrases
    assert any(re.search(r"[!?.,'&:/$-]", t) for t in texts)  # punctuation the label drops
    assert any(t != t.lower() for t in texts) and any(t.isupper() for t in texts)
    assert any(t.isdigit() for t in texts)
    assert max(len(to_label(t)) for t in texts) > 12  # long lines too


def test_fonts_are_trdg_text_families_only(manifest):
    families = tuple(manifest["trdg_families"])
    assert families and all(f.startswith(families) for f in manifest["trdg_fonts"])
    for bad in ("Pacifico", "Amatic", "Capture", "FFF_Tusj", "BEBAS", "Thin", "Hairline"):
        assert not any(bad in f for f in manifest["trdg_fonts"])


def test_manifest_hashes_match_the_lmdb_bytes(manifest):
    for style, path in ood_sets().items():
        digest = hashlib.sha256((path / "data.mdb").read_bytes()).hexdigest()
        assert digest == manifest["sets"][style]["data_mdb_sha256"]
        h = hashlib.sha256()  # make_ood_set.records_sha256: independent of the LMDB layout
        for data, label in read_lmdb(path):
            h.update(len(data).to_bytes(8, "little") + data + label.encode() + b"\n")
        assert h.hexdigest() == manifest["sets"][style]["records_sha256"]


def test_package_data_lists_the_set():
    root = OOD_ROOT.parents[2]
    line = re.search(r'^"crnn_fast\.evalsets" = (\[.*\])$',
                     (root / "pyproject.toml").read_text(), re.M)  # fmt: skip
    globs = json.loads(line.group(1))
    shipped = {p for g in globs for p in (root / "crnn_fast" / "evalsets").glob(g)}
    assert shipped == {OOD_MANIFEST, *(p / "data.mdb" for p in ood_sets().values())}
