"""``crnn-fast quickstart``, ``train``, ``eval``, ``predict`` and ``synth`` (subcommands
registered by ``crnn_fast.cli``).

    crnn-fast quickstart [--workdir DIR] [--train N] [--test N] [--stock-steps K] [-o ...]

    crnn-fast train [--config FILE] [-o key.sub=value ...] [--resume [CKPT]] [--backend B]
    crnn-fast eval  [--config FILE] [-o key.sub=value ...] [--ckpt CKPT] [--per-set] [--backend B]
    crnn-fast predict SOURCE [--config FILE] [--ckpt CKPT] [--beam W] [--out rec_results.txt]
    crnn-fast synth OUT [--train N] [--test N] [--seed S] [--difficulty easy|medium|hard]

``--config`` defaults to the shipped ``crnn_vgg7_synth.yaml``; a bare name (``crnn_vgg7``)
picks a shipped config. ``--backend cpu|numpy|stock`` sets ``CRNN_FAST_BACKEND`` (``stock``:
MindSpore's own layers, for comparison). Under ``msrun`` set ``-o system.distribute=True``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path


def _config(args: argparse.Namespace) -> dict:
    from .configs import config_path
    from .train.config import load_config

    path = Path(args.config) if args.config else config_path()
    if args.config and not path.is_file() and "/" not in args.config:
        path = config_path(args.config)
    return load_config(path, args.opt)


def _add_overrides(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE", help=help_text)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="YAML config (default: the shipped crnn_vgg7_synth)")
    _add_overrides(p, "override a config value, e.g. -o train.loader.batch_size=32")
    p.add_argument(
        "--backend",
        choices=["cpu", "numpy", "stock"],
        help="crnn_fast kernels (cpu), the NumPy reference, or MindSpore's own ops",
    )


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Registers ``train``, ``eval``, ``predict``, ``synth`` and ``quickstart`` on the main
    parser's subparsers."""
    p = sub.add_parser("train", help="train a CRNN from a MindOCR-style YAML config")
    _common(p)
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="CKPT",
        help="continue from train_resume.ckpt (in train.ckpt_save_dir or CKPT)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("eval", help="evaluate a checkpoint on eval.dataset (accuracy, NED)")
    _common(p)
    p.add_argument("--ckpt", help="model checkpoint (default: eval.ckpt_load_path)")
    p.add_argument(
        "--per-set",
        action="store_true",
        help="score every leaf LMDB under eval.dataset on its own; table + unweighted mean "
        "(MindOCR's multi_dataset_eval)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = sub.add_parser("predict", help="recognise images (file, folder or LMDB) -> rec_results.txt")
    _common(p)
    p.add_argument("source", help="an image file, a folder of images or an LMDB folder")
    p.add_argument("--ckpt", help="model checkpoint (default: eval.ckpt_load_path)")
    p.add_argument("--out", default="rec_results.txt", help="output file (name<TAB>text lines)")
    p.add_argument("--beam", type=int, default=0, help="prefix beam search width (0: greedy)")
    p.add_argument("--batch-size", type=int, default=64)
    p = sub.add_parser("synth", help="write synthetic word crops as MindOCR LMDBs (train, test)")
    p.add_argument("out", help="output folder: OUT/train, OUT/test, OUT/synth.json")
    p.add_argument("--train", type=int, default=20000, help="training images")
    p.add_argument("--test", type=int, default=1000, help="held-out test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--difficulty", choices=["easy", "medium", "hard"], default="easy")
    p.add_argument("--format", choices=["jpg", "png"], default="jpg")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument(
        "--test-words",
        type=float,
        default=0.1,
        help="share of the word list only the test split uses",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing LMDBs")
    p.add_argument("--preview", metavar="PNG", help="also save a montage of training samples")
    _add_quickstart(sub)


def _add_quickstart(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quickstart",
        help="the main job: synth -> train CRNN-VGG7 -> eval -> predict -> speed vs stock",
    )
    p.add_argument("--workdir", default="crnn_fast_quickstart", help="data, checkpoints, results")
    p.add_argument("--train", type=int, default=10000, help="synthetic training images")
    p.add_argument("--test", type=int, default=500, help="held-out test images")
    p.add_argument("--seed", type=int, default=0, help="synth seed")
    p.add_argument("--workers", type=int, default=2, help="synth rendering processes")
    p.add_argument(
        "--stock-steps",
        type=int,
        default=1,
        help="timed training steps on MindSpore's own ops (~1 min each; 0: skip)",
    )
    p.add_argument("--show", type=int, default=8, help="predictions to print")
    _add_overrides(p, "override a value of crnn_vgg7_synth.yaml, e.g. -o scheduler.num_epochs=1")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def quickstart(args: argparse.Namespace) -> int:
    from .train.quickstart import quickstart as run_quickstart

    run_quickstart(
        args.workdir,
        n_train=args.train,
        n_test=args.test,
        seed=args.seed,
        workers=args.workers,
        stock_steps=args.stock_steps,
        show=args.show,
        overrides=args.opt,
        progress=not args.no_progress,
    )
    return 0


def synth(args: argparse.Namespace) -> int:
    from .synth import synth_lmdb

    out = synth_lmdb(
        args.out,
        n_train=args.train,
        n_test=args.test,
        seed=args.seed,
        difficulty=args.difficulty,
        image_format=args.format,
        workers=args.workers,
        test_words=args.test_words,
        overwrite=args.overwrite,
    )
    if args.preview and out.get("train"):
        from .synth.preview import save_montage

        save_montage(out["train"]["path"], args.preview)
    print(json.dumps(out, indent=2, default=str))
    return 0


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.cmd == "synth":
        return synth(args)
    if args.cmd == "quickstart":
        return quickstart(args)
    if args.backend:
        os.environ["CRNN_FAST_BACKEND"] = args.backend
    cfg = _config(args)
    if args.cmd == "train":
        from .train.trainer import train

        out = train(cfg, resume=args.resume, progress=not args.no_progress)
    elif args.cmd == "predict":
        from .train.predict import predict
        from .train.trainer import setup_context

        setup_context(cfg)
        res = predict(
            cfg,
            args.source,
            ckpt=args.ckpt,
            out=args.out,
            beam_width=args.beam,
            batch_size=args.batch_size,
        )
        for name, text, _ in res[:20]:
            print(f"{name}\t{text}")
        out = {"images": len(res), "written": args.out}
    else:
        from .train.trainer import evaluate, setup_context

        setup_context(cfg)
        if args.per_set:
            from .train.multi_eval import evaluate_per_set, format_table

            out = evaluate_per_set(cfg, ckpt=args.ckpt, progress=not args.no_progress)
            print(format_table(out))
        else:
            out = evaluate(cfg, ckpt=args.ckpt, progress=not args.no_progress)
    print(json.dumps(out, indent=2, default=str))
    return 0
