"""Issue 13, data and trainer: LMDBs whose ``num-samples`` exceeds their records (64 of 100,
10^12), a symlink loop under a dataset root, config typos (YAML and ``-o``, through the real
CLI), a truncated ``history.json`` then a real ``--resume``, and the once-per-process logs
(``LMDB records``, the refined eval batch size, the corrupt-record summaries)."""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from data_helpers import png, raw_lmdb, text_image  # noqa: E402

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.data import (  # noqa: E402
    LMDBFormatError,
    LMDBRecDataset,
    find_lmdbs,
    lmdb_size,
    write_lmdb,
)
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.config_schema import (  # noqa: E402
    SCHEMA,
    TRANSFORMS,
    ConfigKeyError,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
LOG = "crnn_fast.data"
WORDS = ["cat", "dog", "sun", "hat", "red", "box"]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "crnn_fast.cli", *args]
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=timeout)


def _short_db(path: Path, num_samples: int, records: int = 64) -> Path:
    """An LMDB claiming ``num_samples`` but holding ``records`` samples."""
    rng = np.random.default_rng(0)
    img = png(text_image(rng, "cat", 16, 40))
    items = {b"num-samples": str(num_samples).encode()}
    for i in range(1, records + 1):
        items[b"image-%09d" % i], items[b"label-%09d" % i] = img, WORDS[i % 6].encode()
    return raw_lmdb(path, items)


def _good_db(path: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(1)
    write_lmdb(path, [(png(text_image(rng, WORDS[i % 6])), WORDS[i % 6]) for i in range(n)],
               overwrite=True)  # fmt: skip
    return path


def _tiny_config(tmp: Path, ckpt: str, *extra: str) -> Path:
    """The shipped default config on tmp/db/{train, test}, batch 8, PYNATIVE, as a YAML file."""
    cfg = load_config(config_path(), [
        f"train.dataset.dataset_root={tmp / 'db'}", f"eval.dataset.dataset_root={tmp / 'db'}",
        "train.loader.batch_size=8", "loss.batch_size=8", "eval.loader.batch_size=6",
        "scheduler.num_epochs=1", "system.mode=1", f"train.ckpt_save_dir={tmp / ckpt}", *extra,
    ])  # fmt: skip
    path = tmp / f"{ckpt}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


# -- #4: num-samples larger than the records ---------------------------------------------------
def test_num_samples_exceeding_records_is_an_error(tmp_path, caplog):
    short = _short_db(tmp_path / "root" / "short", 100)
    with pytest.raises(LMDBFormatError) as e:
        lmdb_size(short)
    msg = str(e.value)
    assert e.value.path == short and str(short) in msg
    assert "'num-samples' = 100" in msg and "64 'label-*'" in msg and "label-000000100" in msg
    with pytest.raises(LMDBFormatError, match="'num-samples' = 100"):
        LMDBRecDataset(short, on_corrupt="raise")
    with pytest.raises(ValueError, match=r"no samples.*left out.*'num-samples' = 100.*64"):
        LMDBRecDataset(short)  # skip: the LMDB is left out, and then nothing is left
    good = _good_db(tmp_path / "root" / "good")
    with caplog.at_level(logging.WARNING, LOG):
        ds = LMDBRecDataset(tmp_path / "root")  # skip: the short LMDB is left out, said why
    assert ds.paths == [good] and len(ds) == 6  # no duplicates of the 64 records
    assert str(short) in caplog.text and "left out" in caplog.text and "100" in caplog.text


def test_missing_middle_and_last_key_stay_corrupt_records(tmp_path):
    """Only a count no record backs is an LMDB error: a record missing one key is skipped."""
    db = _short_db(tmp_path / "db", 8, 8)
    import lmdb

    env = lmdb.open(str(db))
    with env.begin(write=True) as txn:
        txn.delete(b"image-000000003")
        txn.delete(b"image-000000008")
    env.close()
    ds = LMDBRecDataset(db)
    assert len(ds) == 8 and [ds[i][1] for i in (2, 7)] == [WORDS[4], WORDS[1]]
    assert ds.log_summary() == 2


def test_huge_num_samples_names_lmdb_and_key_before_allocating(tmp_path):
    """10^12 used to ask NumPy for 3.6 TiB; run under a 3 GiB address-space limit."""
    db = _short_db(tmp_path / "huge", 10**12)
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from crnn_fast.data import LMDBRecDataset\n"
        f"LMDBRecDataset({str(db)!r}, on_corrupt=sys.argv[1])\n"
    )
    for mode, exc in (("raise", "LMDBFormatError"), ("skip", "ValueError")):
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", code, mode], env=_env(), capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert run.returncode == 1, run.stderr
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith(f"crnn_fast.data.lmdb_io.{exc}") or last.startswith(exc), last
        assert str(db) in last and "'num-samples' = 1000000000000" in last, last
        assert "MemoryError" not in run.stderr and time.perf_counter() - t0 < 60


@pytest.mark.parametrize("num_samples, on_corrupt", [(100, "skip"), (10**12, "raise")])
def test_bad_num_samples_through_the_cli(tmp_path, num_samples, on_corrupt):
    short = _short_db(tmp_path / "db" / "train", num_samples)
    _good_db(tmp_path / "db" / "test")
    cfg = _tiny_config(tmp_path, "ck", f"train.dataset.on_corrupt={on_corrupt}")
    run = _cli("train", "--config", str(cfg), "--no-progress")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    assert str(short) in out and f"'num-samples' = {num_samples}" in out and "64" in out
    assert "MemoryError" not in out and not (tmp_path / "ck" / "train_resume.ckpt").exists()


# -- #5: symlink loops -------------------------------------------------------------------------
def test_symlink_loop_lists_each_lmdb_once(tmp_path):
    root = tmp_path / "root"
    a, b = _good_db(root / "a", 3), _good_db(root / "sub" / "b", 4)
    (root / "loop").symlink_to(root, target_is_directory=True)  # root/loop/loop/... forever
    (root / "sub" / "up").symlink_to("..", target_is_directory=True)
    (root / "zz_alias").symlink_to(root / "a", target_is_directory=True)  # a second path to a
    found = find_lmdbs(root)
    assert found == [a, b]  # each once, sorted; the first path of a directory wins
    assert find_lmdbs(root) == found  # stable
    assert len(LMDBRecDataset(root)) == 7
    assert find_lmdbs(root / "loop") == [root / "loop" / "a", root / "loop" / "sub" / "b"]


# -- #7: unknown config keys -------------------------------------------------------------------
def test_yaml_typo_fails_fast_through_the_cli(tmp_path):
    cfg = yaml.safe_load(config_path().read_text())
    cfg["scheduler"]["num_epoch"] = 2
    cfg["train"]["ckpt_save_dir"] = str(tmp_path / "ck")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(cfg))
    t0 = time.perf_counter()
    run = _cli("train", "--config", str(path), "--no-progress")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    assert "'scheduler.num_epoch'" in out and "did you mean 'scheduler.num_epochs'" in out
    assert str(path) in out and not (tmp_path / "ck").exists()
    assert time.perf_counter() - t0 < 120  # before any data or model is touched


def test_override_typo_fails_fast_through_the_cli(tmp_path):
    run = _cli("train", "-o", "scheduler.num_epochz=1", "-o",
               f"train.ckpt_save_dir={tmp_path / 'ck'}", "--no-progress")  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    assert "'scheduler.num_epochz' (from -o scheduler.num_epochz=1" in out
    assert "did you mean 'scheduler.num_epochs'" in out and not (tmp_path / "ck").exists()


def test_config_key_errors_name_key_and_suggestion(tmp_path):
    base = config_path()
    cases = {
        "train.num_epochs=3": ("train.num_epochs", "scheduler.num_epochs"),
        "optimizer.lr=0.1": ("optimizer.lr", "scheduler.lr"),
        "model.head.wieght_init=normal": ("model.head.wieght_init", "model.head.weight_init"),
        "eval.loader.batchsize=4": ("eval.loader.batchsize", "eval.loader.batch_size"),
        "train.dataset.transform_pipeline=[{DecodeImage: {img_mod: RGB}}]": (
            "train.dataset.transform_pipeline[0].DecodeImage.img_mod",
            "train.dataset.transform_pipeline[0].DecodeImage.img_mode",
        ),
        "train.dataset.transform_pipeline=[{RecResizeImgs: {}}]": (
            "train.dataset.transform_pipeline[0].RecResizeImgs",
            "train.dataset.transform_pipeline[0].RecResizeImg",
        ),
    }
    for override, (key, hint) in cases.items():
        with pytest.raises(ConfigKeyError) as e:
            load_config(base, [override])
        assert e.value.keys == [key] and e.value.suggestions == [hint], str(e.value)
        assert f"{key!r}" in str(e.value) and f"{hint!r}" in str(e.value)
    with pytest.raises(ConfigKeyError, match="'sytem' .*did you mean 'system'"):
        load_config(base, ["sytem.seed=1"])
    with pytest.raises(ConfigKeyError, match=r"'xyz' \(from -o xyz.a=1; known here: system, "):
        load_config(base, ["xyz.a=1"])
    with pytest.raises(ValueError, match="'scheduler' must be a mapping"):
        load_config(base, ["scheduler=5"])


def test_every_shipped_and_mindocr_key_is_accepted():
    for name in ("crnn_vgg7", "crnn_resnet34", "crnn_vgg7_synth"):
        load_config(config_path(name))
    # MindOCR's CRNN YAML sections and keys (MINDOCR_CRNN.md s7), optional ones included
    recipe = yaml.safe_load(config_path("crnn_resnet34").read_text())
    recipe["system"].update(amp_level_infer="O0", device_id=0, val_interval=1, val_start_epoch=1,
                            ckpt_save_policy="top_k", ckpt_max_keep=5, refine_batch_size=True,
                            log_level="logging.INFO")  # fmt: skip
    recipe["model"].update(pretrained=None, resume=False)
    recipe["train"].update(clip_grad=False, clip_norm=5.0, ema=False, ema_decay=0.9999,
                           gradient_accumulation_steps=1)  # fmt: skip
    recipe["scheduler"].update(decay_rate=0.9, warmup_factor=0.0, milestones=[1])
    recipe["optimizer"].update(beta1=0.9, beta2=0.999, grouping_strategy=None)
    recipe["loss_scaler"].update(type="dynamic", scale_factor=2.0, scale_window=1000)
    recipe["train"]["dataset"].update(
        filter_max_len=False, max_text_len=24, label_standandize=False, check_rec_image=False,
        filter_zero_text_image=False, extra_count_if_repeat=False, random_choice_if_none=False,
    )  # fmt: skip
    recipe["predict"] = {"ckpt_load_path": "x.ckpt", "dataset": {"type": "PredictDataset"}}
    ignored = validate(recipe)
    assert "system.log_interval" in ignored and "train.dataset_sink_mode" in ignored


def test_schema_covers_every_key_the_code_reads():
    """Every dotted ``get(cfg, "...")`` in the package, the model parts' arguments and the
    transforms the pipeline implements are in the schema (it cannot drift from the code)."""
    from crnn_fast.data.pipeline import RecTransform
    from crnn_fast.models.heads import CTCHead
    from crnn_fast.models.necks import RNNEncoder
    from crnn_fast.models.rec_resnet import RecResNet

    def has(path: str) -> bool:
        node = SCHEMA
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return node == "open"
            node = node[part]
        return True

    read = set()
    for f in (ROOT / "crnn_fast").rglob("*.py"):
        read |= set(re.findall(r"get\(cfg, \"([a-z_.]+)\"", f.read_text()))
    assert len(read) > 20 and [p for p in sorted(read) if not has(p)] == []
    parts = {"backbone": RecResNet, "neck": RNNEncoder, "head": CTCHead}
    for kind, cls in parts.items():
        args = set(inspect.signature(cls).parameters) - {"kwargs"}
        if kind != "backbone":
            args -= {"in_channels"}  # given by BaseModel from the previous part
        assert args <= set(SCHEMA["model"][kind]), (kind, args - set(SCHEMA["model"][kind]))
    implemented = {m[1:] for m in vars(RecTransform) if m.startswith("_") and m[1:2].isupper()}
    assert implemented == set(TRANSFORMS)


# -- #9: history.json --------------------------------------------------------------------------
def test_history_written_atomically(tmp_path, monkeypatch):
    from crnn_fast.train import checkpoint

    path = tmp_path / "history.json"
    first = {"loss": [[1, 2.5]], "val": []}
    checkpoint.save_history(path, first)

    def killed(*a):
        raise KeyboardInterrupt  # the process dies after writing the data, before the rename

    monkeypatch.setattr(checkpoint.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_history(path, {"loss": [[1, 2.5], [2, 2.0]], "val": []})
    assert checkpoint.load_history(path) == first


def test_truncated_history_then_real_resume(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 24), ("test", 6)):
        recs = [(png(text_image(rng, WORDS[i % 6])), WORDS[i % 6]) for i in range(n)]
        write_lmdb(tmp_path / "db" / split, recs)
    cfg = _tiny_config(tmp_path, "ck", "scheduler.num_epochs=2", "train.resume_interval=1")
    cmd = [sys.executable, "-m", "crnn_fast.cli", "train", "--config", str(cfg), "--no-progress"]
    run = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)  # fmt: skip
    history = tmp_path / "ck" / "history.json"
    deadline = time.time() + 600
    while time.time() < deadline and run.poll() is None:  # stop it after step 2 of 6
        if history.exists() and len(json.loads(history.read_text())["loss"]) >= 2:
            run.send_signal(signal.SIGTERM)  # (the polled file is always complete JSON now)
            break
        time.sleep(0.05)
    out = run.communicate(timeout=600)[0]
    assert run.returncode == 0, out[-3000:]
    done = json.loads(out[out.index("{") :])["global_step"]
    assert 2 <= done < 6
    text = history.read_text()
    history.write_text(text[: len(text) // 2])  # as a kill in the middle of a plain write left it
    resumed = _cli("train", "--config", str(cfg), "--no-progress", "--resume")
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out[-3000:]
    assert str(history) in out and "resuming from the checkpoint alone" in out
    assert "JSONDecodeError" in out and "Traceback" not in out
    final = json.loads(resumed.stdout[resumed.stdout.index("{") :])
    assert final["global_step"] == 6 and final["steps_run"] == 6 - done
    assert [s for s, _ in json.loads(history.read_text())["loss"]] == list(range(done + 1, 7))
    other = _cli("train", "--config", str(cfg), "--no-progress", "--resume",
                 "-o", "scheduler.num_epochs=3")  # fmt: skip
    assert other.returncode == 1 and "learning_rate (6,) (this run: (9,))" in other.stderr


# -- low: logs once, corrupt-record summaries inside the test --------------------------------
def test_records_and_refined_batch_logged_once(tmp_path, caplog, monkeypatch):
    pytest.importorskip("mindspore")
    from crnn_fast.data import build_dataset, lmdb_dataset

    monkeypatch.setattr(lmdb_dataset, "_LOGGED", set())  # as in a fresh process

    _good_db(tmp_path / "db" / "test", 10)
    cfg = load_config(config_path(), [f"eval.dataset.dataset_root={tmp_path / 'db'}",
                                      "eval.loader.batch_size=4"])  # fmt: skip
    with caplog.at_level(logging.DEBUG, LOG):
        for _ in range(3):  # as the trainer's epochs
            build_dataset(cfg, is_train=False)
    recs = [r for r in caplog.records if r.getMessage().startswith("LMDB records")]
    batch = [r for r in caplog.records if "batch size 4 -> 2" in r.getMessage()]
    assert [r.levelno for r in recs] == [logging.INFO] + [logging.DEBUG] * 2
    assert [r.levelno for r in batch] == [logging.INFO] + [logging.DEBUG] * 2
    assert batch[0].getMessage().startswith("eval loader: batch size 4 -> 2")
    assert "eval.loader.batch_size" in batch[0].getMessage()
    cfg["system"]["refine_batch_size"] = False  # MindOCR's switch for its eval loader
    ds = build_dataset(cfg, is_train=False)
    assert [b[0].shape[0] for b in ds.create_tuple_iterator(num_epochs=1)] == [4, 4, 2]


def test_corrupt_summaries_are_not_printed_after_pytest(tmp_path):
    """The data tests that read corrupt records on purpose log their summaries inside the
    test: nothing follows pytest's own summary line."""
    tests = ROOT / "tests" / "data" / "test_lmdb_dataset.py"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests),
         "-k", "skip_returns_next_valid or all_corrupt or transform_and_label_filter"],
        env=_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0 and re.search(r"\d+ passed", run.stdout), run.stdout[-2000:]
    after = run.stdout[run.stdout.rindex("passed") :] + run.stderr
    assert "corrupt record" not in after, after


def test_corrupt_record_warned_once_per_process(tmp_path, caplog):
    """The trainer opens its LMDBs again every epoch: a corrupt record is warned about and
    summarised once, not once per epoch."""
    recs = [(png(text_image(np.random.default_rng(2), w)), w) for w in WORDS[:4]]
    recs[1] = (b"junk", recs[1][1])
    write_lmdb(tmp_path / "db", recs)
    with caplog.at_level(logging.WARNING, LOG):
        for _ in range(3):
            ds = LMDBRecDataset(tmp_path / "db")
            assert [ds[i][1] for i in range(4)] == ["cat", "sun", "sun", "hat"]
            assert ds.log_summary() == 1
    msgs = [r.getMessage() for r in caplog.records if "image-000000002" in r.getMessage()]
    assert len(msgs) == 2 and "1 corrupt record(s) skipped" in msgs[1], msgs
