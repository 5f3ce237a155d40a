"""``crnn-fast eval --per-set`` (MindOCR's multi_dataset_eval): each leaf LMDB scored alone
with one model, the benchmark figure the unweighted mean of the per-set accuracies."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mindspore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_helpers import png, text_image  # noqa: E402

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.data import write_lmdb  # noqa: E402
from crnn_fast.train import multi_eval  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402


def _tree(root: Path) -> None:
    rng = np.random.default_rng(0)
    for name, n in (("IIIT5k", 5), ("SVT", 3), ("IC13/IC13_857", 2)):
        write_lmdb(root / name, [(png(text_image(rng, "ab")), "ab")] * n)


def _cfg(root: Path, ckpt: Path) -> dict:
    return load_config(config_path(), [
        f"eval.dataset.dataset_root={root}", "eval.dataset.data_dir=.",
        f"eval.ckpt_load_path={ckpt}", "system.mode=1", "eval.loader.batch_size=4",
    ])  # fmt: skip


def test_per_set_runs_every_leaf_with_one_model(tmp_path, capsys):
    import mindspore as ms

    from crnn_fast.cli import main
    from crnn_fast.models import build_model

    _tree(tmp_path / "evaluation")
    ms.save_checkpoint(build_model("crnn_vgg7"), str(tmp_path / "m.ckpt"))
    res = multi_eval.evaluate_per_set(_cfg(tmp_path / "evaluation", tmp_path / "m.ckpt"))
    assert [s["name"] for s in res["sets"]] == ["IC13/IC13_857", "IIIT5k", "SVT"]
    assert [s["samples"] for s in res["sets"]] == [2, 5, 3] and res["total_samples"] == 10
    for s in res["sets"]:
        assert 0.0 <= s["acc"] <= 1.0 and 0.0 <= s["norm_edit_distance"] <= 1.0
    assert main(["eval", "--per-set", "--no-progress", "--ckpt", str(tmp_path / "m.ckpt"),
                 "-o", f"eval.dataset.dataset_root={tmp_path / 'evaluation'}",
                 "-o", "eval.dataset.data_dir=.", "-o", "system.mode=1"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "| IIIT5k | 5 |" in out and "mean of 3 (unweighted)" in out


def test_mean_is_unweighted_and_each_set_gets_its_own_dir(tmp_path, monkeypatch):
    import mindspore as ms

    import crnn_fast.train.trainer as trainer
    from crnn_fast.models import build_model

    _tree(tmp_path / "ev")
    ms.save_checkpoint(build_model("crnn_vgg7"), str(tmp_path / "m.ckpt"))
    scores = {"IIIT5k": 0.9, "SVT": 0.3, "IC13_857": 0.6}
    seen = []

    def fake_evaluate(cfg, *, net=None, ckpt=None, progress=True):
        assert net is not None  # one model for all sets
        leaf = Path(cfg["eval"]["dataset"]["data_dir"])
        seen.append(leaf.name)
        return {"acc": scores[leaf.name], "norm_edit_distance": scores[leaf.name] / 2}

    monkeypatch.setattr(trainer, "evaluate", fake_evaluate)
    res = multi_eval.evaluate_per_set(_cfg(tmp_path / "ev", tmp_path / "m.ckpt"), progress=False)
    assert sorted(seen) == sorted(scores)
    assert res["mean_acc"] == pytest.approx(0.6)  # (0.9 + 0.3 + 0.6) / 3, not sample-weighted
    assert res["mean_norm_edit_distance"] == pytest.approx(0.3)
    table = multi_eval.format_table(res)
    assert "| SVT | 3 | 30.00 | 0.1500 |" in table and "**60.00**" in table


def test_per_set_errors(tmp_path):
    cfg = _cfg(tmp_path / "nothing", tmp_path / "m.ckpt")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(FileNotFoundError, match="no LMDB"):
        multi_eval.evaluate_per_set(cfg)
    cfg["eval"]["dataset"]["data_dir"] = ["a", "b"]
    with pytest.raises(ValueError, match="one eval.dataset.data_dir"):
        multi_eval.evaluate_per_set(cfg)
