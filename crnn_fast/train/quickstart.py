"""``crnn-fast quickstart``: the main job, end to end on generated data.

1. ``crnn-fast synth``: ``n_train`` training and ``n_test`` held-out word crops of the
   realistic ``mix`` (test fonts, words and seeds never seen in training) under
   ``WORKDIR/data``, and ``n_train`` clean crops of plain words under ``WORKDIR/data/clean``
   (reused when present with the same settings);
2. ``crnn-fast train`` with the shipped ``crnn_vgg7_synth.yaml`` (CRNN-VGG7, MindOCR's recipe
   at batch 16 and lr 5e-4, 4 epochs; the first :data:`CURRICULUM_EPOCHS` on the clean crops:
   ``train.curriculum``) into ``WORKDIR/ckpt`` (best.ckpt, curves.png);
3. ``crnn-fast eval`` of best.ckpt on the held-out test LMDB (word accuracy, NED), then on the
   out-of-distribution set ``crnn_fast.evalsets`` per style (400 word crops by trdg and
   captcha, other renderers and fonts, never trained on; the first ``ood_limit`` of each
   style when given), scored with the same rule;
4. ``crnn-fast predict`` on the test LMDB -> ``WORKDIR/rec_results.txt``; the first few
   predictions are printed beside their labels;
5. the speed of one training step (forward, CTC loss, backward, AdamW) at the training batch
   size on crnn_fast's kernels and on MindSpore's own ops (``backend="stock"``), same process,
   same batch: ``stock_steps`` timed stock steps after one warm-up (a stock step at batch 16
   takes about half a minute on 2 cores, almost all of it in MindSpore's CPU convolutions), with
   a progress bar per backend unless ``progress=False``.

It ends with the exact ``crnn-fast predict`` command for its model. Returns (and writes to
``WORKDIR/quickstart.json``) every figure it prints.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from pathlib import Path

from .config import get, load_config

log = logging.getLogger("crnn_fast")

__all__ = ["DEFAULT_WORKDIR", "predict_command", "quickstart"]

DEFAULT_WORKDIR = "crnn_fast_quickstart"  # `crnn-fast predict` without --ckpt also looks here
# The first epoch trains on clean crops of plain words (train.curriculum): on the realistic
# mix alone the CTC loss stayed on its plateau (~22) for ~800 of 1560 steps at batch 32; on the
# clean crops it leaves it after ~600-700 steps at batch 16 (an epoch is 781 steps).
CURRICULUM_EPOCHS = 1


def predict_command(work: Path, overrides: list[str] | None = None, source: str | None = None):
    """The ``crnn-fast predict`` command line for the quickstart's model in ``work``."""
    args = ["crnn-fast", "predict", source or str(work / "data" / "test"),
            "--config", "crnn_vgg7_synth", "--ckpt", str(work / "ckpt" / "best.ckpt")]  # fmt: skip
    for o in overrides or []:
        args += ["-o", o]
    return " ".join(shlex.quote(a) for a in args)


def _reusable(meta_path: Path, want: dict) -> bool:
    if not meta_path.is_file():
        return False
    meta = json.loads(meta_path.read_text())
    return all(meta.get(k) == v for k, v in want.items())


def _synth(data: Path, n_train: int, n_test: int, seed: int, workers: int, progress: bool):
    """Generates the LMDBs unless their ``synth.json`` says they were made with these
    settings: ``data/train`` + ``data/test`` (the ``mix``: realistic text and images) and the
    curriculum's ``data/clean/train`` (``easy`` images of ``plain`` words, another seed)."""
    from ..synth import synth_lmdb
    from ..synth.generate import GENERATOR_VERSION

    want = {"n_train": n_train, "n_test": n_test, "seed": seed, "difficulty": "mix",
            "generator": GENERATOR_VERSION}  # fmt: skip
    clean = {"n_train": n_train, "n_test": 0, "seed": seed + 1, "difficulty": "easy",
             "text": "plain", "generator": GENERATOR_VERSION}  # fmt: skip
    if _reusable(data / "synth.json", want) and _reusable(data / "clean" / "synth.json", clean):
        print(f"[1/5] synth: reusing {data} ({n_train} train / {n_test} test images, "
              f"{n_train} clean)")  # fmt: skip
        return json.loads((data / "synth.json").read_text())
    print(f"[1/5] synth: {n_train} train / {n_test} held-out test images -> {data}, "
          f"{n_train} clean (the curriculum's first epochs) -> {data / 'clean'}")  # fmt: skip
    meta = synth_lmdb(data, n_train=n_train, n_test=n_test, seed=seed, difficulty="mix",
                      workers=workers, overwrite=True, progress=progress)  # fmt: skip
    synth_lmdb(data / "clean", n_train=n_train, n_test=0, seed=seed + 1, difficulty="easy",
               text="plain", workers=workers, overwrite=True, progress=progress)  # fmt: skip
    return meta


def _show_predictions(cfg: dict, results: list, test_lmdb: Path, show: int) -> int:
    """Prints the first ``show`` predictions beside their labels; returns how many match."""
    from ..data import CharDict, read_lmdb

    # the dictionary's view of a label (RecCTCLabelEncode: lower-cased, other chars dropped)
    cd = CharDict(get(cfg, "postprocess.character_dict_path"),
                  bool(get(cfg, "postprocess.use_space_char", False)))  # fmt: skip
    labels = []
    for _, lab in read_lmdb(test_lmdb):
        lab = lab.lower() if cd.lower else lab
        labels.append("".join(ch for ch in lab if ch in cd.index))
    for (name, text, conf), label in list(zip(results, labels))[:show]:
        mark = "ok  " if text == label else "MISS"
        print(f"    {mark} {name}  label {label!r:16} predicted {text!r:16} conf {conf:.3f}")
    return sum(text == label for (_, text, _), label in zip(results, labels))


def quickstart(
    workdir: str | Path = DEFAULT_WORKDIR,
    *,
    n_train: int = 12500,
    n_test: int = 500,
    seed: int = 0,
    workers: int = 2,
    stock_steps: int = 1,
    fast_steps: int = 5,
    show: int = 8,
    overrides: list[str] | None = None,
    progress: bool = True,
    ood_limit: int | None = None,
) -> dict:
    """See the module docstring. ``overrides``: ``key.sub=value`` applied to the config after
    the work-folder paths (e.g. ``scheduler.num_epochs=1``)."""
    from ..configs import config_path
    from ..evalsets import ood_sets
    from .ood_eval import score_sets
    from .ood_eval import summary as ood_summary
    from .predict import predict
    from .speed import first_train_batch, time_train_step
    from .trainer import evaluate, setup_context, train

    if stock_steps < 0 or fast_steps < 1:
        raise ValueError(f"need stock_steps >= 0, fast_steps >= 1: {stock_steps}, {fast_steps}")
    if ood_limit is not None and ood_limit < 1:
        raise ValueError(f"ood_limit must be >= 1 or None, got {ood_limit}")
    work = Path(workdir)
    data, ckpt_dir = work / "data", work / "ckpt"
    t_start = time.perf_counter()
    _synth(data, n_train, n_test, seed, workers, progress)
    paths = [
        f"train.dataset.dataset_root={data}",
        f"eval.dataset.dataset_root={data}",
        f"train.ckpt_save_dir={ckpt_dir}",
        f"eval.ckpt_load_path={ckpt_dir / 'best.ckpt'}",
        "train.curriculum.data_dir=clean/train",
        f"train.curriculum.epochs={CURRICULUM_EPOCHS}",
    ]
    cfg = load_config(config_path(), paths + list(overrides or []))
    setup_context(cfg)
    epochs, batch = get(cfg, "scheduler.num_epochs"), get(cfg, "train.loader.batch_size")
    print(f"[2/5] train: CRNN-VGG7, {epochs} epochs at batch {batch} -> {ckpt_dir}")
    summary = train(cfg, progress=progress)  # SIGINT/SIGTERM: save and stop
    if summary.get("stopped"):
        raise KeyboardInterrupt(f"training stopped; train_resume.ckpt saved in {ckpt_dir}")
    best = ckpt_dir / "best.ckpt"
    print(f"[3/5] eval: {best} on the held-out test LMDB {data / 'test'}")
    metrics = evaluate(cfg, ckpt=str(best), progress=progress)
    print("      and on other renderers' word crops (crnn_fast.evalsets: trdg, captcha)")
    ood = ood_summary(score_sets(cfg, ood_sets(), ckpt=str(best), limit=ood_limit))
    print(f"[4/5] predict: {data / 'test'} -> {work / 'rec_results.txt'}")
    t0 = time.perf_counter()
    results = predict(cfg, data / "test", ckpt=str(best), out=work / "rec_results.txt")
    predict_s = time.perf_counter() - t0
    hits = _show_predictions(cfg, results, data / "test", show)
    print(f"[5/5] speed of one training step at batch {batch}: crnn_fast vs MindSpore's own ops"
          + (" (a stock step takes ~30 s on 2 cores)" if stock_steps else ""),
          flush=True)  # fmt: skip
    image_label = first_train_batch(cfg)
    speed = {"crnn_fast": time_train_step(cfg, None, fast_steps, batch=image_label,
                                          progress=progress)}  # fmt: skip
    if stock_steps:
        speed["stock"] = time_train_step(cfg, "stock", stock_steps, batch=image_label,
                                         progress=progress)  # fmt: skip
    out = {
        "workdir": str(work),
        "train": {k: summary[k] for k in ("global_step", "seconds", "images_per_s", "best_acc")},
        "test_acc": metrics["acc"],
        "test_norm_edit_distance": metrics["norm_edit_distance"],
        "test_images": len(results),
        **ood,
        "predict": {"exact": hits, "seconds": predict_s, "images_per_s": len(results) / predict_s},
        "step_speed": speed,
        "total_seconds": time.perf_counter() - t_start,
        "predict_command": predict_command(work, overrides),
    }
    (work / "quickstart.json").write_text(json.dumps(out, indent=2))
    _print_summary(out, batch)
    return out


def _print_summary(out: dict, batch: int) -> None:
    tr, sp = out["train"], out["step_speed"]
    fast = sp["crnn_fast"]["median_s"]
    print("\n=== crnn-fast quickstart: summary ===")
    print(f"training       {tr['global_step']} steps in {tr['seconds'] / 60:.1f} min "
          f"({tr['images_per_s']:.0f} images/s, validation included)")  # fmt: skip
    print(f"held-out test  word accuracy {100 * out['test_acc']:.1f} %, "
          f"norm. edit distance {out['test_norm_edit_distance']:.3f} "
          f"({out['test_images']} images, unseen fonts and words)")  # fmt: skip
    acc, n_ood = out["ood_acc"], sum(out["ood_images"].values())
    print("other renderers word accuracy "
          + " / ".join(f"{k} {100 * a:.1f} %" for k, a in acc.items())
          + f" ({n_ood} images by trdg and captcha, never trained on)")  # fmt: skip
    p = out["predict"]
    print(f"predict        {p['images_per_s']:.0f} images/s (native path, batch 64, load included)")
    print(f"train step     crnn_fast {fast:.3f} s at batch {batch} "
          f"({sp['crnn_fast']['images_per_s']:.0f} images/s)")  # fmt: skip
    if "stock" in sp:
        stock = sp["stock"]["median_s"]
        print(f"               MindSpore's own ops {stock:.1f} s -> crnn_fast is "
              f"{stock / fast:.0f}x faster (same process, same batch)")  # fmt: skip
    print(f"total          {out['total_seconds'] / 60:.1f} min; figures in "
          f"{Path(out['workdir']) / 'quickstart.json'}")  # fmt: skip
    print("\nRecognise your own word crops (an image, a folder of images or an LMDB in place of "
          "the test LMDB):")  # fmt: skip
    print(f"  {out['predict_command']}")
