"""Issue 13, the trainer's process state: the SIGINT/SIGTERM handlers it installs for "save and
stop" are restored when training ends (Ctrl-C works again afterwards), and MindOCR's recipes
(``system.distribute: True``) run as one process, with a warning, when no launcher started it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest

pytest.importorskip("mindspore")

from crnn_fast.train.trainer import _LAUNCHER_ENV, _stop_flag  # noqa: E402


def _mark(signum, frame):  # a handler of the caller's, to be found again afterwards
    raise AssertionError("not called")


@pytest.mark.parametrize("fail", [False, True])
def test_stop_flag_restores_the_previous_handlers(fail):
    before = {s: signal.signal(s, _mark) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(RuntimeError) if fail else contextlib.nullcontext():
            with _stop_flag() as flag:
                assert signal.getsignal(signal.SIGINT) is not _mark
                os.kill(os.getpid(), signal.SIGTERM)  # handled: sets the flag, no exit
                assert flag["stop"]
                if fail:
                    raise RuntimeError("a failing step")
        assert signal.getsignal(signal.SIGINT) is _mark
        assert signal.getsignal(signal.SIGTERM) is _mark
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def test_distribute_without_a_launcher_runs_one_process():
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from crnn_fast.train.trainer import setup_context\n"
        "print(setup_context({'system': {'distribute': True, 'mode': 1}}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_ENV}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "(0, 1)"
    assert "system.distribute is True but no launcher started this process" in run.stderr


@pytest.mark.parametrize("blocking", [None, False])
def test_pynative_on_cpu_runs_blocking_unless_configured_off(blocking):
    system = {"mode": 1} if blocking is None else {"mode": 1, "pynative_blocking": blocking}
    code = (
        "from crnn_fast.train.trainer import setup_context\n"
        "from crnn_fast.runtime import is_blocking\n"
        f"setup_context({{'system': {system!r}}})\n"
        "print('blocking', is_blocking())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MS_DEV_LAUNCH_BLOCKING"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == f"blocking {blocking is None}"
