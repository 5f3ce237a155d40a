"""``synth_lmdb`` end to end: MindOCR's LMDB layout, image format, determinism, splits."""

from __future__ import annotations

import io
import json
from pathlib import Path

import lmdb
import numpy as np
import pytest
from PIL import Image

from crnn_fast.data.lmdb_io import close_envs, lmdb_size, open_env, read_lmdb, write_lmdb
from crnn_fast.synth import fonts as fonts_mod
from crnn_fast.synth import generate, synth_lmdb
from crnn_fast.synth.words import ALPHABET, load_words, split_words

N_TRAIN, N_TEST = 24, 8


def records(path) -> dict[bytes, bytes]:
    """Every key/value of an LMDB."""
    with open_env(path).begin() as txn:
        return {bytes(k): bytes(v) for k, v in txn.cursor()}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "s0"
    return synth_lmdb(out, n_train=N_TRAIN, n_test=N_TEST, seed=0, progress=False)


def test_layout_round_trip(synth):
    for split, n in (("train", N_TRAIN), ("test", N_TEST)):
        rec = records(synth[split]["path"])
        assert synth[split]["n"] == n and lmdb_size(synth[split]["path"]) == n
        assert rec[b"num-samples"] == str(n).encode()
        expected = {b"num-samples"}
        expected |= {b"image-%09d" % i for i in range(1, n + 1)}
        expected |= {b"label-%09d" % i for i in range(1, n + 1)}
        assert set(rec) == expected  # 1-based, nothing else
        for i in range(1, n + 1):
            label = rec[b"label-%09d" % i].decode("utf-8")
            assert label and label == label.lower() and set(label) <= set(ALPHABET)
            im = Image.open(io.BytesIO(rec[b"image-%09d" % i]))
            assert im.format == "JPEG" and im.mode == "RGB"
            assert im.height == 32 and 16 <= im.width <= 320


def test_result_and_metadata(synth):
    meta = json.loads((Path(synth["out_dir"]) / "synth.json").read_text())
    assert meta["seed"] == 0 and meta["n_train"] == N_TRAIN and meta["difficulty"] == "mix"
    assert meta["generator"] == generate.GENERATOR_VERSION
    assert len(meta["render_config"]["mix"]) == len(meta["render_config"]["weights"]) == 5
    assert synth["images_per_s"] > 0 and synth["words_disjoint"]
    assert meta["train_fonts"] == synth["train_fonts"]


def test_deterministic_bytes(synth, tmp_path):
    again = synth_lmdb(tmp_path, n_train=N_TRAIN, n_test=N_TEST, seed=0, progress=False)
    first = Path(synth["out_dir"])
    for split in ("train", "test"):
        assert records(again[split]["path"]) == records(synth[split]["path"])
        # the files too, not only the records
        assert (tmp_path / split / "data.mdb").read_bytes() == (
            first / split / "data.mdb"
        ).read_bytes()
    assert (tmp_path / "synth.json").read_bytes() == (first / "synth.json").read_bytes()


def test_other_seed_differs(synth, tmp_path):
    other = synth_lmdb(tmp_path, n_train=N_TRAIN, n_test=0, seed=1, progress=False)
    assert other["test"]["path"] is None
    a, b = records(other["train"]["path"]), records(synth["train"]["path"])
    same = sum(a[b"image-%09d" % i] == b[b"image-%09d" % i] for i in range(1, N_TRAIN + 1))
    assert same == 0


def test_train_and_test_streams_differ(synth):
    a, b = records(synth["train"]["path"]), records(synth["test"]["path"])
    assert not {a[b"image-%09d" % i] for i in range(1, N_TRAIN + 1)} & {
        b[b"image-%09d" % i] for i in range(1, N_TEST + 1)
    }


def test_workers_give_the_same_bytes(synth, tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "_CHUNK", 8)  # 3 chunks over 2 processes
    par = synth_lmdb(tmp_path, n_train=N_TRAIN, n_test=0, seed=0, workers=2, progress=False)
    assert records(par["train"]["path"]) == records(synth["train"]["path"])


def test_font_split_is_disjoint(synth):
    if len(fonts_mod.discover_fonts()) < 2:
        pytest.skip("fewer than 2 fonts installed: the splits share the font")
    assert synth["fonts_disjoint"] and synth["font_source"] in ("system", "env")
    assert not set(synth["train_fonts"]) & set(synth["test_fonts"])
    plans, _ = generate.plan_splits(seed=0)
    assert not set(plans["train"].fonts) & set(plans["test"].fonts)


def test_word_split_is_disjoint(synth):
    train_words, test_words = split_words(load_words())
    train_labels = {lab for _, lab in read_lmdb(synth["train"]["path"])}
    test_labels = {lab for _, lab in read_lmdb(synth["test"]["path"])}
    assert not train_labels & set(test_words)
    assert not test_labels & set(train_words)
    plans, info = generate.plan_splits(seed=0, test_words=0.0)
    assert not info["words_disjoint"] and plans["train"].words == plans["test"].words


def test_pillow_default_font_fallback(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(fonts_mod, "discover_fonts", lambda dirs=None, **kw: [])
    res = synth_lmdb(tmp_path, n_train=6, n_test=3, seed=0, image_format="png", progress=False)
    assert res["font_source"] == "pillow-default" and not res["fonts_disjoint"]
    assert res["train_fonts"] == res["test_fonts"] == ["pillow-default"]
    assert "Pillow's bundled font" in caplog.text
    for data, label in read_lmdb(res["train"]["path"]):
        im = Image.open(io.BytesIO(data))
        assert im.format == "PNG" and im.mode == "RGB" and im.height == 32
        assert set(label) <= set(ALPHABET)
        assert np.asarray(im).std() > 10


def test_empty_font_env_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv(fonts_mod.FONT_ENV, str(tmp_path))  # a folder with no fonts
    train, test, source = fonts_mod.font_sets()
    assert source == "pillow-default" and train == test == [fonts_mod.DEFAULT_FONT]


def test_overwrite_and_bad_arguments(synth, tmp_path):
    synth_lmdb(tmp_path, n_train=2, n_test=0, progress=False)
    with pytest.raises(FileExistsError):
        synth_lmdb(tmp_path, n_train=2, n_test=0, progress=False)
    synth_lmdb(tmp_path, n_train=3, n_test=0, overwrite=True, progress=False)
    assert lmdb_size(tmp_path / "train") == 3
    with pytest.raises(ValueError, match="difficulty"):
        synth_lmdb(tmp_path, n_train=1, n_test=0, difficulty="extreme", progress=False)
    with pytest.raises(ValueError, match="image_format"):
        synth_lmdb(tmp_path, n_train=1, n_test=0, image_format="bmp", progress=False)
    with pytest.raises(ValueError, match="n_train"):
        synth_lmdb(tmp_path, n_train=-1, n_test=0, progress=False)
    with pytest.raises(ValueError, match="seed"):
        synth_lmdb(tmp_path, n_train=1, n_test=0, seed=-2, progress=False)


def test_write_lmdb_grows_the_map(tmp_path):
    rng = np.random.default_rng(0)
    blobs = [rng.bytes(40_000) for _ in range(10)]  # 400 kB through a 64 kB initial map
    n = write_lmdb(
        tmp_path, ((b, f"w{i}") for i, b in enumerate(blobs)), map_size=1 << 16, progress=False
    )
    assert n == 10
    assert list(read_lmdb(tmp_path)) == [(b, f"w{i}") for i, b in enumerate(blobs)]
    assert list(read_lmdb(tmp_path, limit=2)) == [(blobs[0], "w0"), (blobs[1], "w1")]


def test_reads_as_mindocr_reads_it(synth):
    """MindOCR's LMDBDataset opening flags and its cv2 decode + 100x32 resize."""
    cv2 = pytest.importorskip("cv2")
    close_envs()  # LMDB allows one environment per file and process: release crnn_fast's
    env = lmdb.open(
        synth["train"]["path"],
        max_readers=32,
        readonly=True,
        lock=False,
        readahead=False,
        meminit=False,
    )
    with env.begin(write=False) as txn:
        n = int(txn.get(b"num-samples"))
        for i in range(1, n + 1):
            buf = np.frombuffer(txn.get(b"image-%09d" % i), np.uint8)
            img = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            assert img.ndim == 3 and img.shape[0] == 32
            assert cv2.resize(img, (100, 32), interpolation=cv2.INTER_LINEAR).shape == (32, 100, 3)
    env.close()
