"""``train.curriculum``: the first epochs read another data folder (the quickstart's clean crops),
the rest ``train.dataset.data_dir``; a folder giving another number of batches is refused."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mindspore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_helpers import png, text_image  # noqa: E402

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.data import build_dataset, write_lmdb  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.trainer import _check_curriculum, epoch_config  # noqa: E402


def _db(root: Path, name: str, words: list[str], n: int) -> None:
    rng = np.random.default_rng(len(name))
    items = [(png(text_image(rng, words[i % len(words)])), words[i % len(words)]) for i in range(n)]
    write_lmdb(root / name, items, overwrite=True)


def _cfg(root: Path, *extra: str) -> dict:
    return load_config(config_path(), [
        f"train.dataset.dataset_root={root}", "train.loader.batch_size=4", "loss.batch_size=4",
        "system.mode=1", *extra,
    ])  # fmt: skip


def _labels(cfg: dict) -> set[str]:
    from crnn_fast.data import CharDict

    ds = build_dataset(cfg, is_train=True)
    cd = CharDict(None, False)
    out = set()
    for _, label in ds.create_tuple_iterator(num_epochs=1, output_numpy=True):
        for row in label:
            out.add("".join(cd.chars[i] for i in row if i < len(cd.chars)))
    return out


def test_first_epochs_read_the_curriculum_folder(tmp_path):
    _db(tmp_path, "train", ["real"], 8)
    _db(tmp_path, "clean", ["clean"], 8)
    cfg = _cfg(tmp_path, "train.curriculum.data_dir=clean", "train.curriculum.epochs=2")
    assert epoch_config(cfg, 0)["train"]["dataset"]["data_dir"] == "clean"
    assert epoch_config(cfg, 1)["train"]["dataset"]["data_dir"] == "clean"
    assert epoch_config(cfg, 2) is cfg and cfg["train"]["dataset"]["data_dir"] == "train"
    assert _labels(epoch_config(cfg, 0)) == {"clean"} and _labels(epoch_config(cfg, 2)) == {"real"}
    _check_curriculum(cfg, 2, {})  # 8 samples / batch 4 on both sides
    plain = _cfg(tmp_path)
    assert epoch_config(plain, 0) is plain


def test_curriculum_must_match_the_batches_per_epoch(tmp_path):
    _db(tmp_path, "train", ["real"], 8)
    _db(tmp_path, "clean", ["clean"], 12)
    cfg = _cfg(tmp_path, "train.curriculum.data_dir=clean", "train.curriculum.epochs=1")
    with pytest.raises(ValueError, match=r"train\.curriculum\.data_dir 'clean' gives 3 batches"):
        _check_curriculum(cfg, 2, {})
    bad = _cfg(tmp_path, "train.curriculum.epochs=1")
    with pytest.raises(ValueError, match="train.curriculum must be"):
        _check_curriculum(bad, 2, {})
