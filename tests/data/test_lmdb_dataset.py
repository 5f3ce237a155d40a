"""LMDBRecDataset: MindOCR's key layout and index list, several LMDBs, shuffle / sample_ratio,
corrupt records in both modes, fork / pickle / thread safety."""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
from concurrent.futures import ThreadPoolExecutor

import lmdb
import numpy as np
import pytest
from data_helpers import make_records, png, raw_lmdb

from crnn_fast.data import (
    CorruptRecordError,
    LMDBFormatError,
    LMDBRecDataset,
    close_envs,
    decode_image,
    find_lmdbs,
    write_lmdb,
)

LOG = "crnn_fast.data"


def labels(ds) -> list[str]:
    return [ds[i][1] for i in range(len(ds))]


def test_key_layout_round_trip(tmp_path, rng):
    recs = make_records(rng, ["Hello", "wörld", "42"])
    assert write_lmdb(tmp_path / "db", recs) == 3
    env = lmdb.open(str(tmp_path / "db"), readonly=True, lock=False)
    with env.begin() as txn:
        keys = sorted(k for k, _ in txn.cursor())
        assert txn.get(b"num-samples") == b"3"
        assert txn.get(b"label-000000002").decode() == "wörld"  # 1-based, %09d
    env.close()
    assert keys == sorted([b"num-samples"] + [b"%s-%09d" % (k, i) for k in (b"image", b"label")
                                              for i in (1, 2, 3)])  # fmt: skip
    LMDBRecDataset(tmp_path / "db")  # opens the LMDB in this process ...
    write_lmdb(tmp_path / "db", make_records(rng, ["old"]), overwrite=True)  # ... a rewrite closes
    with pytest.raises(FileExistsError, match="overwrite"):
        write_lmdb(tmp_path / "db", recs)
    assert write_lmdb(tmp_path / "db", recs, overwrite=True) == 3
    ds = LMDBRecDataset(tmp_path / "db")
    assert len(ds) == 3 and ds.sizes == [3]
    for i, (buf, label) in enumerate(recs):
        img, got = ds[i]
        assert got == label and img.dtype == np.uint8 and img.shape == (32, 100, 3)
        np.testing.assert_array_equal(img, decode_image(buf))
    assert ds.index.tolist() == [[0, 1], [0, 2], [0, 3]]
    assert ds[-1][1] == "42"
    with pytest.raises(IndexError):
        ds[3]


def test_tree_of_lmdbs(lmdb_tree, tmp_path, caplog):
    found = find_lmdbs(lmdb_tree)
    assert [p.relative_to(lmdb_tree).as_posix() for p in found] == ["a", "b/b1", "b/b2"]
    assert find_lmdbs(lmdb_tree / "a") == [lmdb_tree / "a"]  # a root that is itself an LMDB
    ds = LMDBRecDataset(lmdb_tree)
    assert ds.sizes == [3, 4, 5] and len(ds) == 12
    want = [f"a_{i}" for i in (1, 2, 3)] + [f"b1_{i}" for i in range(1, 5)]
    assert labels(ds) == want + [f"b2_{i}" for i in range(1, 6)]
    assert ds.index[:4].tolist() == [[0, 1], [0, 2], [0, 3], [1, 1]]
    assert ds.location(3) == (lmdb_tree / "b" / "b1", 1)
    listed = LMDBRecDataset([lmdb_tree / "b" / "b2", lmdb_tree / "a"])  # list order kept
    assert labels(listed)[:6] == [f"b2_{i}" for i in range(1, 6)] + ["a_1"]
    write_lmdb(lmdb_tree / "b", make_records(np.random.default_rng(1), ["x"]))  # not a leaf
    with caplog.at_level(logging.WARNING, LOG):
        assert len(find_lmdbs(lmdb_tree)) == 3
    assert "not a leaf" in caplog.text
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no LMDB"):
        LMDBRecDataset(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        find_lmdbs(tmp_path / "nowhere")


def test_shuffle_seed_42_and_sample_ratio(lmdb_tree):
    base = LMDBRecDataset(lmdb_tree)
    a = LMDBRecDataset(lmdb_tree, shuffle=True)
    b = LMDBRecDataset(lmdb_tree, shuffle=True, seed=42)
    assert a.index.tolist() == b.index.tolist() != base.index.tolist()
    assert labels(a) == labels(b)
    # MindOCR: np.random.seed(42) (set_seed) then np.random.shuffle of a float (N, 2) array
    mind = np.zeros((12, 2))
    mind[:, 0] = [0] * 3 + [1] * 4 + [2] * 5
    mind[:, 1] = [1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 5]
    state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(42)  # noqa: NPY002  (MindOCR's legacy global RNG, on purpose)
        np.random.shuffle(mind)  # noqa: NPY002
    finally:
        np.random.set_state(state)  # noqa: NPY002
    assert a.index.tolist() == mind.astype(np.int64).tolist()
    assert LMDBRecDataset(lmdb_tree, shuffle=True, seed=7).index.tolist() != a.index.tolist()
    half = LMDBRecDataset(lmdb_tree, shuffle=True, sample_ratio=0.5)
    assert half.index.tolist() == a.index[:6].tolist()
    assert len(LMDBRecDataset(lmdb_tree, sample_ratio=0.125)) == 2  # round(1.5), as MindOCR
    assert labels(LMDBRecDataset(lmdb_tree, sample_ratio=0.25)) == ["a_1", "a_2", "a_3"]
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="sample_ratio"):
            LMDBRecDataset(lmdb_tree, sample_ratio=bad)
    with pytest.raises(ValueError, match="on_corrupt"):
        LMDBRecDataset(lmdb_tree, on_corrupt="ignore")


def corrupt_db(path, rng):
    """5 records: #2 garbage image bytes, #3 no label key, #4 no image key, #5 non-UTF-8 label."""
    good = [png(rng.integers(0, 256, (8, 20, 3), dtype=np.uint8)) for _ in range(5)]
    items = {b"num-samples": b"5"}
    for i in range(1, 6):
        items[b"image-%09d" % i] = good[i - 1]
        items[b"label-%09d" % i] = f"w{i}".encode()
    items[b"image-000000002"] = b"\x00garbage\xff" * 5
    del items[b"label-000000003"], items[b"image-000000004"]
    items[b"label-000000005"] = b"\xff\xfe"
    return raw_lmdb(path, items)


@pytest.mark.parametrize(
    "pos, key, reason",
    [
        (1, "image-000000002", "does not decode"),
        (2, "label-000000003", "missing"),
        (3, "image-000000004", "missing"),
        (4, "label-000000005", "UTF-8"),
    ],
)
def test_corrupt_raise(tmp_path, rng, pos, key, reason):
    db = corrupt_db(tmp_path / "bad", rng)
    ds = LMDBRecDataset(db, on_corrupt="raise")
    assert ds[0][1] == "w1"
    with pytest.raises(CorruptRecordError, match=reason) as e:
        ds[pos]
    assert e.value.key == key and e.value.path == db
    assert str(db) in str(e.value) and key in str(e.value)
    again = CorruptRecordError(str(e.value))  # how MindSpore's loader re-raises it
    assert str(again) == str(e.value) and again.key is None


def test_corrupt_skip(tmp_path, rng, caplog):
    db = corrupt_db(tmp_path / "bad", rng)
    ds = LMDBRecDataset(db)  # on_corrupt="skip" by default
    with caplog.at_level(logging.DEBUG, LOG):
        got = labels(ds)
        assert got == ["w1", "w1", "w1", "w1", "w1"]  # 2..5 corrupt: the next valid wraps to 1
        assert labels(ds) == got  # deterministic
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "image-000000002" in warnings[0].getMessage()
    assert ds.corrupt_count == 4
    caplog.clear()
    with caplog.at_level(logging.WARNING, LOG):
        assert ds.log_summary() == 4
        assert ds.log_summary() == 4  # nothing new: no second log
    assert len(caplog.records) == 1
    msg = caplog.records[0].getMessage()
    assert "4 corrupt record(s) skipped" in msg
    for key in ("image-000000002", "label-000000003", "image-000000004", "label-000000005"):
        assert key in msg


def test_skip_returns_next_valid(tmp_path, rng):
    recs = make_records(rng, ["a", "b", "c", "d"], (8, 8))
    recs[1] = (b"junk", "b")
    write_lmdb(tmp_path / "db", recs)
    ds = LMDBRecDataset(tmp_path / "db")
    assert labels(ds) == ["a", "c", "c", "d"] and ds.corrupt_count == 1
    ok = LMDBRecDataset(tmp_path / "db", on_corrupt="raise")
    assert ok[0][1] == "a"
    with pytest.raises(CorruptRecordError):
        ok[1]


def test_all_corrupt(tmp_path):
    write_lmdb(tmp_path / "db", [(b"x", "a"), (b"y", "b")])
    with pytest.raises(CorruptRecordError, match="all 2 records"):
        LMDBRecDataset(tmp_path / "db")[0]


@pytest.mark.parametrize(
    "value, match",
    [(None, "missing"), (b"abc", "not an integer"), (b"1.5", "not an integer"),
     (b"-3", "negative")],
)  # fmt: skip
def test_bad_num_samples(tmp_path, rng, value, match, caplog):
    good = tmp_path / "root" / "good"
    write_lmdb(good, make_records(rng, ["ok1", "ok2"], (8, 8)))
    items = {b"image-000000001": png(np.zeros((4, 4, 3), np.uint8)), b"label-000000001": b"x"}
    if value is not None:
        items[b"num-samples"] = value
    bad = raw_lmdb(tmp_path / "root" / "bad", items)
    with pytest.raises(LMDBFormatError, match=match) as e:
        LMDBRecDataset(tmp_path / "root", on_corrupt="raise")
    assert e.value.path == bad and str(bad) in str(e.value)
    with caplog.at_level(logging.WARNING, LOG):
        ds = LMDBRecDataset(tmp_path / "root")  # skip: the bad LMDB is left out
    assert ds.paths == [good] and labels(ds) == ["ok1", "ok2"]
    assert str(bad) in caplog.text and "left out" in caplog.text
    with pytest.raises(ValueError, match="no samples"):
        LMDBRecDataset(bad)


def test_unopenable_lmdb(tmp_path, rng):
    (tmp_path / "root" / "junk").mkdir(parents=True)
    (tmp_path / "root" / "junk" / "data.mdb").write_bytes(b"not an lmdb" * 100)
    with pytest.raises(LMDBFormatError, match="cannot be opened"):
        LMDBRecDataset(tmp_path / "root", on_corrupt="raise")


def test_transform_and_label_filter(lmdb_tree):
    ds = LMDBRecDataset(lmdb_tree, transform=lambda img, s: (img.shape, s.upper()))
    assert ds[0] == ((16, 40, 3), "A_1")
    ds = LMDBRecDataset(lmdb_tree, label_filter=lambda s: s.startswith("b2") or s == "a_2")
    assert labels(ds) == ["a_2"] + [f"b2_{i}" for i in range(1, 6)]

    def boom(img, s):
        if s == "a_2":
            raise RuntimeError("bad shape")
        return s

    with pytest.raises(CorruptRecordError, match="transform failed.*bad shape"):
        LMDBRecDataset(lmdb_tree, transform=boom, on_corrupt="raise")[1]
    assert LMDBRecDataset(lmdb_tree, transform=boom)[1] == "a_3"


def _child(ds, q):
    q.put([ds[i][1] for i in range(len(ds))])


def test_fork_pickle_and_threads(lmdb_tree):
    ds = LMDBRecDataset(lmdb_tree, shuffle=True)
    want = labels(ds)  # the parent holds open environments when it forks
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(ds, q))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0 and got == want
    assert labels(ds) == want  # the parent's environments still work after the fork
    clone = pickle.loads(pickle.dumps(ds))  # a spawned worker's copy; same process here
    assert labels(clone) == want
    other = LMDBRecDataset(lmdb_tree / "a")  # a second dataset over an open LMDB shares it
    assert labels(other) == want_a(want)
    with ThreadPoolExecutor(4) as ex:
        assert [r[1] for r in ex.map(ds.__getitem__, range(len(ds)))] == want
    close_envs()
    assert labels(ds) == want  # reopened on demand


def want_a(labels_: list[str]) -> list[str]:
    return sorted(s for s in labels_ if s.startswith("a_"))
