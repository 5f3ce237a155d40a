"""Issue 13, the CLI and the newcomer path, through the real ``crnn-fast`` CLI
(``python -m crnn_fast.cli`` in a subprocess):

* ``predict`` on a folder with a truncated image, a directory named ``x.png``, names holding a
  tab or a newline and a symlink leading out of the folder: the readable images are predicted,
  the others skipped and reported (stderr, ``rec_results_unreadable.txt``, an empty-text line
  in ``rec_results.txt``), names escaped; ``--follow-symlinks`` reads the symlink; ``--strict``
  fails naming the file and writes nothing;
* errors print ``crnn-fast <cmd>: error: ...`` without a traceback (exit 1, usage 2);
  ``--debug`` / ``CRNN_FAST_DEBUG=1`` add it; an internal error hints at ``--debug``;
  Ctrl-C exits 130;
* ``--help`` ends in whole sentences; ``synth --train 0 --test 0`` and ``synth`` into a file
  are errors naming the arguments / the path;
* ``predict`` without ``--ckpt`` finds the quickstart's model and lists the paths it tried.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crnn_fast.cli import app as cli
from crnn_fast.train.predict import escape_field, unescape_field

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "CRNN_FAST_DEBUG": ""}


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    cmd = [sys.executable, "-m", "crnn_fast.cli", *args]
    return subprocess.run(
        cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout
    )


def png_bytes(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 80, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    """A randomly initialised CRNN-VGG7 checkpoint (the shipped configs' model)."""
    ms = pytest.importorskip("mindspore")
    from crnn_fast.models import build_model

    path = tmp_path_factory.mktemp("model") / "m.ckpt"
    ms.save_checkpoint(build_model("crnn_vgg7"), str(path))
    return path


def read_results(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        assert len(fields) == 2, line
        rows.append((unescape_field(fields[0]), unescape_field(fields[1])))
    return rows


# ---------------------------------------------------------------------------- predict


def test_escape_roundtrip():
    for name in ["a.png", "tab\there.png", "new\nline.png", "back\\slash\\t.png", "cr\r.png"]:
        esc = escape_field(name)
        assert "\t" not in esc and "\n" not in esc and "\r" not in esc
        assert unescape_field(esc) == name
    assert escape_field("image-000000001.png") == "image-000000001.png"


def test_predict_skips_and_reports_unreadable_entries(tmp_path, ckpt):
    folder, outside = tmp_path / "imgs", tmp_path / "outside"
    folder.mkdir(), outside.mkdir()
    (folder / "a_good.png").write_bytes(png_bytes(0))
    (folder / "b_truncated.png").write_bytes(png_bytes(1)[:200])
    (folder / "c_dir.png").mkdir()
    (folder / "d_tab\tname.png").write_bytes(png_bytes(2))
    (folder / "e_new\nline.png").write_bytes(png_bytes(3))
    (outside / "secret.png").write_bytes(png_bytes(4))
    (folder / "f_link_out.png").symlink_to(outside / "secret.png")
    (folder / "g_link_in.png").symlink_to(folder / "a_good.png")
    out = tmp_path / "rec_results.txt"
    r = run_cli("predict", str(folder), "--ckpt", str(ckpt),
                "--out", str(out), "--batch-size", "2")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    names = sorted(p.name for p in folder.iterdir())
    rows = read_results(out)
    assert [n for n, _ in rows] == names  # one line per entry, in order, names intact
    skipped = {"b_truncated.png", "c_dir.png", "f_link_out.png"}
    assert all(text == "" for n, text in rows if n in skipped)
    listed = read_results(tmp_path / "rec_results_unreadable.txt")
    assert {n for n, _ in listed} == skipped
    reasons = dict(listed)
    assert "not a readable image" in reasons["b_truncated.png"]
    assert "directory" in reasons["c_dir.png"]
    assert "--follow-symlinks" in reasons["f_link_out.png"]
    assert "skipped 3 unreadable of 7 entries" in r.stderr
    for n in skipped:
        assert n in r.stderr
    # the model saw the same image through the in-folder link
    assert dict(rows)["g_link_in.png"] == dict(rows)["a_good.png"]

    # MindOCR's recipe (system.distribute: True) predicts in one process too
    r = run_cli("predict", str(folder), "--config", "crnn_vgg7", "--ckpt", str(ckpt),
                "--out", str(out), "--follow-symlinks")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    listed = read_results(tmp_path / "rec_results_unreadable.txt")
    assert {n for n, _ in listed} == {"b_truncated.png", "c_dir.png"}


def test_predict_strict_fails_naming_the_file(tmp_path, ckpt):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(png_bytes(0))
    (folder / "broken.png").write_bytes(png_bytes(1)[:100])
    out = tmp_path / "rec_results.txt"
    r = run_cli("predict", str(folder), "--ckpt", str(ckpt),
                "--out", str(out), "--strict")  # fmt: skip
    assert r.returncode == 1, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]  # (libpng may complain on stderr first)
    assert last.startswith("crnn-fast predict: error: ") and "'broken.png'" in last
    assert "Traceback" not in r.stderr and not out.exists()
    (folder / "broken.png").unlink()
    (folder / "sub.png").mkdir()
    r = run_cli("predict", str(folder), "--ckpt", str(ckpt),
                "--out", str(out), "--strict")  # fmt: skip
    assert r.returncode == 1 and "sub.png" in r.stderr and "directory" in r.stderr


def test_predict_default_checkpoint_finds_the_quickstart_model(tmp_path, ckpt):
    """Without --ckpt (and with the default config, the quickstart's) predict loads
    crnn_fast_quickstart/ckpt/best.ckpt; with nothing there the error lists every path."""
    (tmp_path / "word.png").write_bytes(png_bytes(0))
    r = run_cli("predict", "word.png", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for tried in ("crnn_vgg7_synth/best.ckpt", "crnn_fast_quickstart/ckpt/best.ckpt", "--ckpt"):
        assert tried in r.stderr, r.stderr
    qs = tmp_path / "crnn_fast_quickstart" / "ckpt"
    qs.mkdir(parents=True)
    (qs / "best.ckpt").symlink_to(ckpt)
    r = run_cli("predict", "word.png", "--config", "crnn_vgg7_synth", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert '"checkpoint": "crnn_fast_quickstart/ckpt/best.ckpt"' in r.stdout
    assert (tmp_path / "rec_results.txt").read_text().startswith("word.png\t")


def test_quickstart_prints_a_predict_command_that_runs(tmp_path, ckpt):
    from crnn_fast.train.quickstart import predict_command

    work = tmp_path / "my work"
    (work / "ckpt").mkdir(parents=True)
    (work / "ckpt" / "best.ckpt").symlink_to(ckpt)
    (tmp_path / "w.png").write_bytes(png_bytes(0))
    cmd = predict_command(work, ["system.seed=1"], source=str(tmp_path / "w.png"))
    assert cmd.startswith("crnn-fast predict ") and "'" in cmd  # the space is quoted
    import shlex

    args = shlex.split(cmd)[1:]
    r = run_cli(*args, "--out", str(tmp_path / "r.txt"))
    assert r.returncode == 0, r.stderr[-3000:]


# ---------------------------------------------------------------------------- errors


def test_error_is_one_line_without_traceback_and_debug_adds_it(tmp_path):
    r = run_cli("train", "--config", str(tmp_path / "nope.yaml"))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("crnn-fast train: error: ")
    assert "nope.yaml" in r.stderr and "Traceback" not in r.stderr
    for args, env in (
        (["--debug", "train", "--config", str(tmp_path / "nope.yaml")], ENV),
        (["train", "--config", str(tmp_path / "nope.yaml"), "--debug"], ENV),
        (["train", "--config", str(tmp_path / "nope.yaml")], {**ENV, "CRNN_FAST_DEBUG": "1"}),
    ):
        r = run_cli(*args, env=env)
        assert r.returncode == 1 and "Traceback" in r.stderr and "nope.yaml" in r.stderr
    r = run_cli("predict", str(tmp_path / "missing_dir"))
    assert r.returncode == 1 and "missing_dir" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("predict", "x", "--beam", "-1")  # argparse usage error
    assert r.returncode == 2 and "crnn-fast predict: error: argument --beam" in r.stderr


def test_internal_error_hints_at_debug_and_ctrl_c_exits_130(monkeypatch, capsys):
    def boom(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "_run", boom)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "crnn-fast info: error: internal error (ZeroDivisionError)" in err
    assert "--debug" in err and "Traceback" not in err
    assert cli.main(["--debug", "info"]) == 1
    assert "Traceback" in capsys.readouterr().err

    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run", interrupt)
    assert cli.main(["info"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "interrupted" in err


def test_error_message_strips_mindspore_call_stack_and_quotes():
    exc = RuntimeError("bad value\n\n----------------\n- C++ Call Stack: (For developers)\nx.cc:1")
    assert cli.error_message(exc) == "bad value"
    assert cli.error_message(KeyError("no key 'x'")) == "no key 'x'"
    assert (
        cli.error_message(FileNotFoundError(2, "No such file", "a.yaml")) == "a.yaml: No such file"
    )


# ---------------------------------------------------------------------------- help, synth


def test_top_level_help_ends_in_whole_sentences():
    r = run_cli("--help")
    assert r.returncode == 0
    flat = " ".join(r.stdout.split())
    parser = cli.build_parser()
    assert parser.description.endswith(".") and parser.description in flat
    assert parser.epilog.endswith(".") and parser.epilog in flat
    sub = next(a for a in parser._actions if a.choices and "predict" in a.choices)
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert set(helps) == {
        "demo",
        "info",
        "train",
        "eval",
        "predict",
        "synth",
        "quickstart",
        "bench",
        "export",
    }
    for name, text in helps.items():
        assert text and not re.search(r"(->|,|:|\band|\bthe)$", text), (name, text)
        assert f"{name} {text}" in flat or text in flat, name


def test_synth_rejects_zero_images_and_a_file_as_output(tmp_path):
    r = run_cli("synth", str(tmp_path / "s"), "--train", "0", "--test", "0")
    assert r.returncode == 2 and "--train/--test" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s").exists()
    f = tmp_path / "a_file"
    f.write_text("x")
    r = run_cli("synth", str(f), "--train", "1", "--test", "0")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "Errno" not in r.stderr
    assert f"crnn-fast synth: error: output folder {f} is a file, not a directory" in r.stderr
    r = run_cli("synth", str(f / "sub"), "--train", "1", "--test", "0")
    assert r.returncode == 1 and f"{f} is a file, not a directory" in r.stderr
    from crnn_fast.synth import synth_lmdb

    with pytest.raises(ValueError, match="n_train and n_test are both 0"):
        synth_lmdb(tmp_path / "u", n_train=0, n_test=0, progress=False)
    with pytest.raises(NotADirectoryError, match="a_file is a file, not a directory"):
        synth_lmdb(f, n_train=1, n_test=0, progress=False)
    r = run_cli("synth", str(tmp_path / "t"), "--train", "0", "--test", "2")  # test only: fine
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "t" / "test" / "data.mdb").is_file()


def test_ctrl_c_exits_130_without_traceback(tmp_path):
    import signal
    import time

    cmd = [sys.executable, "-m", "crnn_fast.cli", "synth", str(tmp_path / "s"),
           "--train", "1000000", "--test", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "s").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.rstrip().endswith("crnn-fast synth: interrupted")
