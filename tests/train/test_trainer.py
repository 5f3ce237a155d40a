"""``crnn-fast train`` end to end on a tiny LMDB: checkpoints, curves, val-while-train, eval;
and a real run killed with SIGTERM mid-epoch that resumes and ends with the same weights as an
uninterrupted run (no completed step lost, none repeated)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("mindspore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_helpers import png, text_image  # noqa: E402

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.data import write_lmdb  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402

WORDS = ["cat", "dog", "sun", "hat", "red", "box"]


def _config(tmp: Path, ckpt: str, epochs: int = 2) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 6)):
        write_lmdb(
            tmp / "db" / split,
            [(png(text_image(rng, WORDS[i % 6])), WORDS[i % 6]) for i in range(n)],
            overwrite=True,  # the runs of a test share (identical) data
        )
    cfg = load_config(config_path(), [
        f"train.dataset.dataset_root={tmp / 'db'}", f"eval.dataset.dataset_root={tmp / 'db'}",
        "train.loader.batch_size=8", "loss.batch_size=8", "eval.loader.batch_size=6",
        f"scheduler.num_epochs={epochs}", "system.mode=1", "train.resume_interval=1",
        f"train.ckpt_save_dir={tmp / ckpt}",
    ])  # fmt: skip
    path = tmp / f"{ckpt}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(cfg: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "crnn_fast.cli", "train", "--config", str(cfg), "--no-progress"]
    return subprocess.Popen(
        [*cmd, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _weights(ckpt: Path) -> dict:
    import mindspore as ms

    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(ckpt)).items()}


def test_train_eval_and_killed_run_resumes_exactly(tmp_path):
    full = _cli(_config(tmp_path, "full"))
    out = full.communicate(timeout=600)[0]
    assert full.returncode == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["global_step"] == 6 and summary["epoch"] == 2 and not summary["stopped"]
    names = {p.name for p in (tmp_path / "full").iterdir()}
    assert {"best.ckpt", "last.ckpt", "train_resume.ckpt", "curves.png", "history.json"} <= names

    cfg = _config(tmp_path, "killed")
    run = _cli(cfg)
    history = tmp_path / "killed" / "history.json"
    deadline = time.time() + 600
    while time.time() < deadline and run.poll() is None:  # kill mid-epoch 1 (after step 2)
        if history.exists() and len(json.loads(history.read_text() or "{}").get("loss", [])) >= 2:
            run.send_signal(signal.SIGTERM)
            break
        time.sleep(0.05)
    out = run.communicate(timeout=600)[0]
    assert run.returncode == 0, out
    stopped = json.loads(out[out.index("{") :])
    assert stopped["stopped"] and 2 <= stopped["global_step"] < 6, stopped
    resumed = _cli(cfg, "--resume")
    out = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0, out
    final = json.loads(out[out.index("{") :])
    assert final["global_step"] == 6 and final["steps_run"] == 6 - stopped["global_step"]
    steps = [s for s, _ in json.loads(history.read_text())["loss"]]
    assert steps == list(range(1, 7))  # every step once
    a, b = _weights(tmp_path / "full" / "last.ckpt"), _weights(tmp_path / "killed" / "last.ckpt")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_msrun_two_workers_train_identical_weights(tmp_path):
    """`msrun --worker_num=2 crnn-fast train ... system.distribute=True`: one shard per rank,
    gradients averaged, both ranks end with the same weights."""
    import shutil

    bindir = Path(sys.executable).parent
    msrun = shutil.which("msrun", path=str(bindir)) or shutil.which("msrun")
    assert msrun, "msrun (installed with MindSpore) not found"
    cfg = _config(tmp_path, "dp", epochs=1)
    job = tmp_path / "job.py"  # msrun runs a script file: the CLI's entry point
    job.write_text("import sys\nfrom crnn_fast.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "CRNN_FAST_NUM_THREADS": "1"}
    env["PATH"] = os.pathsep.join([str(bindir), env.get("PATH", "")])
    cmd = [msrun, "--worker_num=2", "--local_worker_num=2", "--master_port=8141",
           f"--log_dir={tmp_path / 'logs'}", "--join=True", str(job), "train", "--config", str(cfg),
           "--no-progress", "-o", "system.distribute=True",
           "-o", "system.val_while_train=False"]  # fmt: skip
    run = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    logs = [p.read_text() for p in sorted((tmp_path / "logs").glob("worker_*.log"))]
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + "".join(logs)[-3000:]
    dec = json.JSONDecoder()
    outs = [dec.raw_decode(log[log.rindex('{\n  "epoch"') :])[0] for log in logs]
    sums, steps = [o["params_checksum"] for o in outs], [o["global_step"] for o in outs]
    assert len(sums) == 2 and sums[0] == sums[1], sums
    assert (
        steps == [24 // 2 // 8] * 2
    )  # each rank: its half of 24 samples, batch 8 (drop remainder)
