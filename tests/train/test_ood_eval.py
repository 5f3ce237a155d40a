"""``crnn_fast.train.ood_eval`` (alignment, confusion counting, per-set scoring) and the
``benchmarks/ood_report.py`` outputs, on hand-made cases and a fake model output."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mindspore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from data_helpers import png, text_image  # noqa: E402

import crnn_fast.train.predict as predict_mod  # noqa: E402
from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.data import write_lmdb  # noqa: E402
from crnn_fast.synth.words import ALPHABET  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.metric import levenshtein  # noqa: E402
from crnn_fast.train.ood_eval import (  # noqa: E402
    SetScore,
    align,
    confusions,
    edit_ops,
    format_pair,
    normalise,
    score_sets,
    score_texts,
    summary,
)


@pytest.mark.parametrize(
    "label, pred, ops",
    [
        ("abc", "abc", []),
        ("1000", "10o0", [("0", "o")]),
        ("helloworld", "heloworld", [("l", "")]),
        ("ocrtest", "ocricst", [("t", "i"), ("e", "c")]),
        ("ab", "abx", [("", "x")]),
        ("abc", "ac", [("b", "")]),
        ("ab", "", [("a", ""), ("b", "")]),
        ("", "x", [("", "x")]),
        ("mississippi", "mlsslssippl", [("i", "l")] * 3),
    ],
)
def test_edit_ops_by_hand(label, pred, ops):
    assert edit_ops(label, pred) == ops


def test_alignment_is_minimal_and_spells_both_texts():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = "".join(rng.choice(list("abl1i0o"), rng.integers(0, 9)))
        b = "".join(rng.choice(list("abl1i0o"), rng.integers(0, 9)))
        pairs = align(a, b)
        assert "".join(x for x, _ in pairs) == a and "".join(y for _, y in pairs) == b
        assert all(x or y for x, y in pairs)
        assert len(edit_ops(a, b)) == levenshtein(a, b)


def test_confusions_count_over_pairs():
    c = confusions([("mississippi", "mlsslssippl"), ("1000", "10o0"), ("lilt", "iiit"),
                    ("ok", "ok")])  # fmt: skip
    assert c.most_common() == [(("i", "l"), 3), (("l", "i"), 2), (("0", "o"), 1)]
    assert [format_pair(p) for p in [("l", "i"), ("e", ""), ("", "x")]] == [
        "l -> i", "e -> (missed)", "(extra) -> x"
    ]  # fmt: skip


def test_normalise_and_score_follow_mindocr_rule():
    assert normalise("Hello World!", ALPHABET) == "helloworld"
    assert normalise("Ab c!") == "abc!"  # the prediction side is not filtered
    m = score_texts(["Hello World", "1000", "OCR-test"], ["helloworld", "10o0", ""], ALPHABET)
    assert m["acc"] == pytest.approx(1 / 3)
    assert m["norm_edit_distance"] == pytest.approx(1 - (0 + 1 / 4 + 1) / 3)


@pytest.fixture
def fake_sets(tmp_path, monkeypatch):
    """Two tiny LMDBs and a fake ``predict`` (by LMDB folder name) that skips one record."""
    rng = np.random.default_rng(1)
    sets = {}
    for name, labels in (("plain", ["hello", "1000", "ocrtest"]), ("captcha", ["ab12", "xy"])):
        write_lmdb(tmp_path / name, [(png(text_image(rng, lab)), lab) for lab in labels])
        sets[name] = tmp_path / name
    outputs = {"plain": ["Hello", "10o0", "ocricst"], "captcha": ["ab12", None]}

    def fake_predict(cfg, source, *, out=None, batch_size=64, net=None, limit=None, **kw):
        assert net == "NET" and out is None  # one model, no results file
        texts = outputs[Path(source).name][:limit]
        res = [(f"image-{i:09d}", t, 0.5) for i, t in enumerate(texts, 1) if t is not None]
        skipped = [(f"image-{i:09d}", "bad") for i, t in enumerate(texts, 1) if t is None]
        return predict_mod.PredictResults(res, skipped)

    monkeypatch.setattr(predict_mod, "predict", fake_predict)
    return sets


def test_score_sets_on_a_fake_model_output(fake_sets):
    cfg = load_config(config_path())
    scores = score_sets(cfg, fake_sets, net="NET")
    assert list(scores) == ["plain", "captcha"]
    plain, cap = scores["plain"], scores["captcha"]
    assert plain.rows[0] == ("image-000000001", "hello", "hello", 0.5)
    assert plain.acc == pytest.approx(1 / 3) and len(plain.misreads) == 2
    assert plain.norm_edit_distance == pytest.approx(1 - (0 + 1 / 4 + 2 / 7) / 3)
    assert cap.rows[1] == ("image-000000002", "xy", "", 0.0)  # unreadable: empty prediction
    assert cap.skipped == [("image-000000002", "bad")] and cap.acc == pytest.approx(0.5)
    assert summary(scores) == {
        "ood_acc": {"plain": plain.acc, "captcha": 0.5},
        "ood_norm_edit_distance": {"plain": plain.norm_edit_distance, "captcha": 0.5},
        "ood_images": {"plain": 3, "captcha": 2},
    }
    assert len(score_sets(cfg, fake_sets, net="NET", limit=2)["plain"].rows) == 2


def test_report_markdown_and_sheet(fake_sets, tmp_path):
    import ood_report

    scores = score_sets(load_config(config_path()), fake_sets, net="NET")
    raw = {("plain", "image-000000003"): "OCR-test"}
    md = ood_report.render_markdown(scores, ["plain", "captcha"], "m.ckpt", "t", raw, 1.0)
    assert "| plain | 3 | 33.3 | 0.821 | 2 |" in md
    assert "| `0 -> o` | 1 | 0 | 1 |" in md and "| `t -> i` | 1 | 0 | 1 |" in md
    assert "| plain | 0003 | `OCR-test` | `ocrtest` | `ocricst` | 0.50 |" in md
    assert "| captcha | 0002 | `xy` | `xy` | (empty) | 0.00 |" in md
    sheet = tmp_path / "sheet.png"
    assert ood_report.misread_sheet(scores, ["plain", "captcha"], sheet) == 3
    assert Image.open(sheet).size[0] > 100


def test_score_texts_and_report_reject_bad_arguments(tmp_path):
    import ood_report

    with pytest.raises(ValueError, match="predictions for"):
        score_texts(["a", "b"], ["a"], ALPHABET)
    with pytest.raises(FileNotFoundError, match="--ckpt"):
        ood_report.main(["--ckpt", str(tmp_path / "none.ckpt"), "--tag", "x"])
    assert isinstance(SetScore("a", tmp_path, [], 0.0, 0.0).misreads, list)
    with pytest.raises(ValueError, match="limit must be >= 1"):
        predict_mod.predict(load_config(config_path()), tmp_path, limit=0)


def test_epoch_curve_scores_each_epoch_checkpoint(tmp_path, monkeypatch):
    import json

    import ood_epoch_curve

    run = tmp_path / "run"
    (run / "ckpt").mkdir(parents=True)
    for name in ("e10.ckpt", "e2.ckpt", "e1.ckpt", "best.ckpt", "e3x.ckpt"):
        (run / "ckpt" / name).write_bytes(b"")
    assert [e for e, _ in ood_epoch_curve.epoch_checkpoints(run / "ckpt")] == [1, 2, 10]
    (run / "ckpt" / "e10.ckpt").unlink()
    hist = {"loss": [], "val": [[1, 0.1, 0.5], [2, 0.3, 0.7], [3, 0.4, 0.8], [4, 0.5, 0.9]]}
    (run / "ckpt" / "history.json").write_text(json.dumps(hist))
    q = {"workdir": str(run), "train": {"global_step": 400, "seconds": 600.0}}
    (run / "quickstart.json").write_text(json.dumps(q))
    acc = {"e1.ckpt": 0.25, "e2.ckpt": 0.5}

    def fake_score(cfg, sets, *, ckpt):
        a = acc[Path(ckpt).name]
        return {
            n: SetScore(n, Path(p), [], a if n != "captcha" else 0.0, a) for n, p in sets.items()
        }

    monkeypatch.setattr(ood_epoch_curve, "score_sets", fake_score)
    rows, got_q = ood_epoch_curve.curve(run, {})
    assert got_q == q and [r["epoch"] for r in rows] == [1, 2]
    assert rows[1]["step"] == 200 and rows[1]["minutes"] == pytest.approx(5.0)
    assert rows[1]["in-domain"] == 0.5 and rows[1]["plain"] == 0.5 and rows[1]["captcha"] == 0.0
    md = ood_epoch_curve.render(rows, q, "t")
    assert "| 2 | 200 | 5.0 | 50.0 % | 50.0 % |" in md
    png_path = tmp_path / "c.png"
    ood_epoch_curve.plot(rows, "t", png_path)
    assert Image.open(png_path).size[0] > 100
    with pytest.raises(FileNotFoundError, match="quickstart.json"):
        ood_epoch_curve.main(["--run", str(tmp_path / "none"), "--tag", "x"])
