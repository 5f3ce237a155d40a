"""Data-parallel training through MindSpore's own launcher: ``msrun`` with two CPU workers, each
on different data; after 20 steps both ranks hold identical weights (the crnn_fast ops' grads
are all-reduced like any other)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

JOB = Path(__file__).with_name("data_parallel_job.py")


def test_msrun_two_workers_end_with_identical_weights(tmp_path):
    msrun = shutil.which("msrun", path=str(Path(sys.executable).parent)) or shutil.which("msrun")
    assert msrun, "msrun (installed with MindSpore) not found"
    env = dict(os.environ, CRNN_FAST_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")]
    )
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    cmd = [msrun, "--worker_num=2", "--local_worker_num=2", "--master_port=8139",
           f"--log_dir={tmp_path}", "--join=True", str(JOB)]  # fmt: skip
    run = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    logs = "".join(p.read_text() for p in sorted(tmp_path.glob("worker_*.log")))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:] + logs[-3000:]
    found = re.findall(r"rank (\d) loss (\S+) weights checksum (\S+) (\S+)", logs)
    assert len(found) == 2, logs[-3000:]
    (_, loss0, *w0), (_, loss1, *w1) = sorted(found)
    assert loss0 != loss1, "the ranks did not see different data"
    assert w0 == w1, f"weights differ across ranks: {w0} vs {w1}"
