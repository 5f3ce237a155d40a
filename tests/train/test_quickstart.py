"""``crnn-fast quickstart`` (the README's main job) end to end at a tiny size: synth, train,
eval (in-domain and out-of-distribution per style), predict and the crnn_fast-vs-stock step
timing all run and report consistent figures;
the synthetic data is reused only when it was made with the same settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("mindspore")

from crnn_fast.train.quickstart import _synth  # noqa: E402


def test_quickstart_tiny_end_to_end(tmp_path):
    work = tmp_path / "qs"
    cmd = [sys.executable, "-m", "crnn_fast.cli", "quickstart", "--workdir", str(work),
           "--train", "8", "--test", "6", "--workers", "1", "--stock-steps", "1", "--show", "3",
           "--ood-limit", "4",
           "--no-progress", "-o", "system.mode=1", "-o", "train.loader.batch_size=4",
           "-o", "loss.batch_size=4", "-o", "scheduler.num_epochs=1",
           "-o", "scheduler.warmup_epochs=0.5"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for stage in ("[1/5] synth", "[2/5] train", "[3/5] eval", "[4/5] predict", "[5/5] speed"):
        assert stage in run.stdout
    assert "word accuracy" in run.stdout and "faster (same process, same batch)" in run.stdout
    # it ends with the predict command for its model
    assert (
        f"crnn-fast predict {work / 'data' / 'test'} --config crnn_vgg7_synth --ckpt "
        f"{work / 'ckpt' / 'best.ckpt'} -o system.mode=1" in run.stdout.strip().splitlines()[-1]
    )
    out = json.loads((work / "quickstart.json").read_text())
    assert out["train"]["global_step"] == 2 and out["test_images"] == 6
    assert 0.0 <= out["test_acc"] <= 1.0 and 0.0 <= out["predict"]["exact"] <= 6
    assert out["predict_command"] in run.stdout
    # the out-of-distribution set, per style, beside the in-domain figure (4 images a style)
    styles = ["plain", "textured", "captcha"]
    assert list(out["ood_acc"]) == styles and out["ood_images"] == dict.fromkeys(styles, 4)
    for key in ("ood_acc", "ood_norm_edit_distance"):
        assert all(0.0 <= v <= 1.0 for v in out[key].values())
    ood_line = next(ln for ln in run.stdout.splitlines() if ln.startswith("other renderers"))
    assert ood_line == (
        "other renderers word accuracy "
        + " / ".join(f"{s} {100 * out['ood_acc'][s]:.1f} %" for s in styles)
        + " (12 images by trdg and captcha, never trained on)"
    )
    speed = out["step_speed"]
    assert speed["crnn_fast"]["backend"] == "cpu" and speed["stock"]["backend"] == "stock"
    for s in speed.values():
        assert s["batch_size"] == 4 and len(s["seconds"]) >= 1 and s["median_s"] > 0
    lines = (work / "rec_results.txt").read_text().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [f"image-{i:09d}" for i in range(1, 7)]
    assert {"best.ckpt", "curves.png", "history.json"} <= {
        p.name for p in (work / "ckpt").iterdir()
    }


def test_synth_is_reused_only_with_the_same_settings(tmp_path, capsys):
    first = _synth(tmp_path, 4, 2, 0, 1, False)
    assert first["train"]["n"] == 4
    _synth(tmp_path, 4, 2, 0, 1, False)
    assert "reusing" in capsys.readouterr().out
    again = _synth(tmp_path, 5, 2, 0, 1, False)  # other settings: regenerated in place
    assert again["train"]["n"] == 5 and "reusing" not in capsys.readouterr().out
