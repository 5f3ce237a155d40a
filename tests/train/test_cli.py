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
