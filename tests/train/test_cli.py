"""The CLI's synth subcommand writes LMDBs the data pipeline reads; train/eval parse their
options (the runs themselves: test_trainer.py)."""

from __future__ import annotations

import json

import pytest

from crnn_fast.cli import main
from crnn_fast.data.lmdb_dataset import LMDBRecDataset


def test_synth_cli_writes_lmdbs_the_dataset_reads(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "s"), "--train", "12", "--test", "4", "--seed", "3",
                 "--preview", str(tmp_path / "p.png")]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["train"]["n"] == 12 and out["test"]["n"] == 4 and (tmp_path / "p.png").is_file()
    ds = LMDBRecDataset(tmp_path / "s" / "train")
    assert len(ds) == 12
    image, label = ds[0]
    assert image.ndim == 3 and image.shape[0] == 32 and label == label.lower()


@pytest.mark.parametrize(
    "cmd,flag", [("train", "--resume"), ("eval", "--ckpt"), ("synth", "--difficulty")]
)
def test_subcommands_parse(cmd, flag, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0 and flag in capsys.readouterr().out


def test_predict_file_folder_lmdb_greedy_and_beam(tmp_path, capsys):
    import mindspore as ms

    from crnn_fast.configs import config_path
    from crnn_fast.models import build_model
    from crnn_fast.train.config import load_config
    from crnn_fast.train.predict import collect_images, predict

    assert (
        main(["synth", str(tmp_path / "s"), "--train", "5", "--test", "0", "--format", "png"]) == 0
    )
    capsys.readouterr()
    lmdb_dir = tmp_path / "s" / "train"
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name, buf in collect_images(lmdb_dir):
        (folder / f"{name}.png").write_bytes(buf)
    ms.save_checkpoint(build_model("crnn_vgg7"), str(tmp_path / "m.ckpt"))
    cfg = load_config(config_path("crnn_vgg7"))
    out = tmp_path / "rec_results.txt"
    greedy = predict(cfg, folder, ckpt=str(tmp_path / "m.ckpt"), out=out, batch_size=2)
    lines = out.read_text().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [f"image-{i:09d}.png" for i in range(1, 6)]
    assert all(len(ln.split("\t")) == 2 for ln in lines)
    from_lmdb = predict(cfg, lmdb_dir, ckpt=str(tmp_path / "m.ckpt"), out=None)
    assert [t for _, t, _ in from_lmdb] == [t for _, t, _ in greedy]
    one = predict(cfg, folder / "image-000000001.png", ckpt=str(tmp_path / "m.ckpt"), out=None)
    assert one[0][1] == greedy[0][1]
    beam = predict(cfg, folder, ckpt=str(tmp_path / "m.ckpt"), out=None, beam_width=5)
    assert len(beam) == 5 and all(c <= 0.0 for _, _, c in beam)  # log-probabilities
    (folder / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.png"):
        predict(cfg, folder, ckpt=str(tmp_path / "m.ckpt"), out=None, strict=True)
    skipping = predict(cfg, folder, ckpt=str(tmp_path / "m.ckpt"), out=out)  # the default
    assert [t for _, t, _ in skipping] == [t for _, t, _ in greedy]
    assert [n for n, _ in skipping.skipped] == ["broken.png"]
    assert out.read_text().splitlines()[0] == "broken.png\t"  # in its place, empty text
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        predict(cfg, folder, ckpt=str(tmp_path / "none.ckpt"), out=None)
