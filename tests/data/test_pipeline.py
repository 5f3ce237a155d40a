"""build_dataset: MindOCR's crnn train / eval sections -> batched GeneratorDataset pipelines
(columns, shapes, dtypes, values), sharding, refine_batch_size, filters, corrupt records."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from data_helpers import jpeg, png, text_image

from crnn_fast.data import (
    CharDict,
    LMDBRecDataset,
    build_dataset,
    build_source,
    decode_eval_texts,
    decode_image,
    encode_label,
    resize_norm,
    write_lmdb,
)

ms = pytest.importorskip("mindspore")
msds = pytest.importorskip("mindspore.dataset")

LABELS = ["Hello", "WORLD", "ab-c!", "x" * 30, "??", "Ünïcode", "42", "Straße", "a b", "zz"]
TRAIN_PIPE = [
    {"DecodeImage": {"img_mode": "BGR", "to_float32": False}},
    {"RecCTCLabelEncode": {"max_text_len": 23, "character_dict_path": None,
                           "use_space_char": False, "lower": True}},
    {"RecResizeImg": {"image_shape": [32, 100], "padding": False}},
    {"NormalizeImage": {"bgr_to_rgb": True, "is_hwc": True, "mean": [127.0] * 3,
                        "std": [127.0] * 3}},
    {"ToCHWImage": None},
]  # fmt: skip
EVAL_PIPE = [
    {"DecodeImage": {"img_mode": "RGB", "to_float32": False}},
    TRAIN_PIPE[1],
    {"RecResizeNormForInfer": {"target_height": 32, "target_width": 100, "keep_ratio": False,
                               "padding": False, "norm_before_pad": False}},
    {"ToCHWImage": None},
]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """root/training/{mj, st} (5 + 5 records) and root/validation (10 records)."""
    root = tmp_path_factory.mktemp("lmdb")
    rng = np.random.default_rng(0)
    recs = []
    for i, t in enumerate(LABELS):
        img = text_image(rng, t[:8], int(rng.integers(20, 70)), int(rng.integers(60, 250)))
        recs.append((png(img) if i % 2 else jpeg(img), t))
    write_lmdb(root / "training" / "mj", recs[:5])
    write_lmdb(root / "training" / "st", recs[5:])
    write_lmdb(root / "validation", recs)
    return root, recs


def config(root, **over) -> dict:
    cfg = {
        "system": {"seed": 42},
        "train": {
            "dataset": {"type": "LMDBDataset", "dataset_root": str(root), "data_dir": "training/",
                        "sample_ratio": 1.0, "shuffle": True, "transform_pipeline": TRAIN_PIPE,
                        "output_columns": ["image", "text_seq"], "net_input_column_index": [0],
                        "label_column_index": [1]},
            "loader": {"shuffle": True, "batch_size": 4, "drop_remainder": True,
                       "max_rowsize": 12, "num_workers": 8},
        },
        "eval": {
            "dataset": {"type": "LMDBDataset", "dataset_root": str(root),
                        "data_dir": "validation/", "sample_ratio": 1.0, "shuffle": False,
                        "transform_pipeline": EVAL_PIPE,
                        "output_columns": ["image", "text_padded", "text_length"]},
            "loader": {"shuffle": False, "batch_size": 4, "drop_remainder": False,
                       "max_rowsize": 12, "num_workers": 2},
        },
    }  # fmt: skip
    cfg = copy.deepcopy(cfg)
    for k, v in over.items():
        sec, sub, key = k.split("__")
        cfg[sec][sub][key] = v
    return cfg


def batches(ds) -> list[tuple[np.ndarray, ...]]:
    return list(ds.create_tuple_iterator(num_epochs=1, output_numpy=True))


def test_train_batches(data):
    root, recs = data
    msds.config.set_seed(1)
    ds = build_dataset(config(root), is_train=True)
    out = batches(ds)
    assert len(out) == 2 == ds.get_dataset_size()  # 10 samples, 4 per batch, remainder dropped
    for image, text_seq in out:
        assert image.shape == (4, 3, 32, 100) and image.dtype == np.float32
        assert text_seq.shape == (4, 23) and text_seq.dtype == np.int32
        assert image.min() >= -1.0 and image.max() <= 128 / 127
    # the values: sample by sample against the reference transforms, in the source's order
    src, cols = build_source(config(root), is_train=True)
    assert cols == ["image", "text_seq"] and len(src) == 10
    d = CharDict()
    for i in range(len(src)):
        image, seq = src[i]
        path, k = src.location(i)
        buf, label = recs[(k - 1) + (5 if path.name == "st" else 0)]
        np.testing.assert_array_equal(image, resize_norm(decode_image(buf)))
        enc = encode_label(label, d, 23)
        want = enc[0] if enc is not None else np.full(23, 36, np.int32)
        np.testing.assert_array_equal(seq, want)
        if label == "x" * 30:  # too long: kept, all blank (MindOCR)
            assert (seq == 36).all()


def test_eval_batches_texts_and_refine(data, caplog):
    root, recs = data
    ds = build_dataset(config(root), is_train=False)
    out = batches(ds)
    assert [b[0].shape[0] for b in out] == [2] * 5  # refine_batch_size: 4 -> 2 (divides 10)
    texts = []
    for image, padded, length in out:
        assert image.shape[1:] == (3, 32, 100) and image.dtype == np.float32
        assert padded.dtype == np.int32 and length.dtype == np.int32
        assert padded.shape[1] >= 23
        texts += decode_eval_texts((image, padded, length))
    assert texts == LABELS  # raw labels, the 30-character one included
    d = next(build_dataset(config(root), is_train=False).create_dict_iterator(output_numpy=True))
    assert decode_eval_texts(d, "ignored decoder") == LABELS[:2]
    unrefined = build_dataset(config(root), is_train=False, refine_batch_size=False)
    assert [b[0].shape[0] for b in batches(unrefined)] == [4, 4, 2]
    # train and eval pipelines give bit-identical image tensors (MINDOCR_CRNN.md s5)
    tr_src, _ = build_source(config(root, train__dataset__shuffle=False), is_train=True)
    ev_src, _ = build_source(config(root), is_train=False)
    for i in range(10):
        np.testing.assert_array_equal(tr_src[i][0], ev_src[i][0])


@pytest.mark.parametrize("is_train", [False, True])
def test_two_shards_disjoint_halves(data, is_train):
    root, _ = data
    cfg = config(root, eval__dataset__output_columns=["image", "text_padded", "text_length"],
                 train__dataset__output_columns=["image", "text_padded", "text_length"],
                 train__loader__batch_size=1)  # fmt: skip
    seen = []
    for shard in (0, 1):
        msds.config.set_seed(5)  # shuffled shards must share the permutation
        ds = build_dataset(cfg, is_train=is_train, num_shards=2, shard_id=shard)
        seen.append([t for b in batches(ds) for t in decode_eval_texts(b)])
    assert len(seen[0]) == len(seen[1]) == 5
    assert set(seen[0]).isdisjoint(seen[1]) and sorted(seen[0] + seen[1]) == sorted(LABELS)
    with pytest.raises(ValueError, match="shard_id"):
        build_dataset(cfg, is_train=is_train, num_shards=2, shard_id=2)
    with pytest.raises(ValueError, match="both"):
        build_dataset(cfg, is_train=is_train, num_shards=2)


def test_columns_filters_and_section(data):
    root, _ = data
    cfg = config(root, train__dataset__output_columns=["image", "text_seq", "length"],
                 train__dataset__shuffle=False, train__loader__shuffle=False,
                 train__loader__drop_remainder=False, train__loader__batch_size=10)  # fmt: skip
    image, seq, length = batches(build_dataset(cfg["train"], is_train=True))[0]  # a bare section
    assert length.dtype == np.int32 and length.tolist() == [5, 5, 3, 0, 0, 5, 2, 5, 2, 2]
    cfg["train"]["dataset"].update(filter_max_len=True, filter_zero_text_image=True)
    src, _ = build_source(cfg, is_train=True)
    assert len(src) == 8  # "x" * 30 and "??" filtered out, as MindOCR's flags do
    cfg["train"]["dataset"].update(filter_max_len=False, sample_ratio=0.5)
    assert len(build_source(cfg, is_train=True)[0]) == 4  # round(10 * 0.5) - "??"


def test_config_errors(data):
    root, _ = data
    cfg = config(root, train__dataset__output_columns=["image", "label"])
    with pytest.raises(ValueError, match="not produced"):
        build_source(cfg, is_train=True)
    cfg = config(root, train__dataset__type="RecDataset")
    with pytest.raises(ValueError, match="LMDBDataset"):
        build_source(cfg, is_train=True)
    pipe = [TRAIN_PIPE[0], TRAIN_PIPE[1], {"RecResizeImg": {"image_shape": [32, 100]}}]
    with pytest.raises(NotImplementedError, match="padding"):
        build_source(config(root, train__dataset__transform_pipeline=pipe), is_train=True)
    with pytest.raises(ValueError, match="unknown transform 'RandomRotate'"):
        build_source(config(root, train__dataset__transform_pipeline=[{"RandomRotate": {}}]),
                     is_train=True)  # fmt: skip
    with pytest.raises(ValueError, match="unknown transform 'op'"):
        build_source(config(root, train__dataset__transform_pipeline=["op"]), is_train=True)
    with pytest.raises(ValueError, match="no 'eval' section"):
        build_source({"train": cfg["train"]}, is_train=False)


def test_corrupt_record_through_the_loader(tmp_path, data):
    root, recs = data
    bad = list(recs[:4])
    bad[2] = (b"\x00" * 50, "broken")
    write_lmdb(tmp_path / "bad" / "db", bad)
    cfg = config(tmp_path, eval__dataset__data_dir="bad", eval__loader__batch_size=1)
    texts = [t for b in batches(build_dataset(cfg, is_train=False)) for t in decode_eval_texts(b)]
    assert texts == [LABELS[0], LABELS[1], LABELS[3], LABELS[3]]  # skipped: the next valid one
    cfg["eval"]["dataset"]["on_corrupt"] = "raise"
    with pytest.raises(RuntimeError, match="image-000000003") as e:  # MindSpore wraps it
        batches(build_dataset(cfg, is_train=False))
    msg = str(e.value)
    assert "CorruptRecordError" in msg and "bad/db" in msg and "does not decode" in msg
    assert isinstance(build_source(cfg, is_train=False)[0], LMDBRecDataset)


def test_python_multiprocessing_workers(data):
    """Forked loader workers reopen the LMDB environments (fork safety), same batches."""
    root, _ = data
    cfg = config(root, eval__loader__python_multiprocessing=True, eval__loader__num_workers=2)
    out = batches(build_dataset(cfg, is_train=False))
    assert [t for b in out for t in decode_eval_texts(b)] == LABELS


def test_without_opencv(data, monkeypatch):
    """The Pillow / NumPy path, chosen when cv2 is missing, gives the same tensors."""
    import crnn_fast.data.transforms as tf

    pytest.importorskip("cv2")
    root, _ = data
    src = build_source(config(root), is_train=False, backend="cv2")[0]
    want = [src[i] for i in range(len(src))]
    monkeypatch.setattr(tf, "HAS_CV2", False)
    got = build_source(config(root), is_train=False)[0]
    for i in range(len(want)):
        for a, b in zip(got[i], want[i]):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ImportError, match="opencv"):
        tf.resize(np.zeros((4, 4, 3), np.uint8), backend="cv2")
