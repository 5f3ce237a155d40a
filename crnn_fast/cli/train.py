"""``crnn-fast quickstart``, ``train``, ``eval``, ``predict`` and ``synth`` (subcommands
registered by ``crnn_fast.cli.app``).

    crnn-fast quickstart [--workdir DIR] [--train N] [--test N] [--stock-steps K]
                         [--ood-limit N] [-o ...]

    crnn-fast train [--config FILE] [-o key.sub=value ...] [--resume [CKPT]] [--backend B]
    crnn-fast eval  [--config FILE] [-o key.sub=value ...] [--ckpt CKPT] [--per-set] [--backend B]
    crnn-fast predict SOURCE [--config FILE] [--ckpt CKPT] [--beam W] [--out rec_results.txt]
                     [--strict] [--follow-symlinks] [--engine native|mindspore]
    crnn-fast synth OUT [--train N] [--test N] [--seed S] [--difficulty mix|easy|...]

``--config`` defaults to the shipped ``crnn_vgg7_synth.yaml``; a bare name (``crnn_vgg7``)
picks a shipped config. ``eval`` and ``predict`` without ``--ckpt`` load the first checkpoint
that exists of: ``eval.ckpt_load_path``, ``<train.ckpt_save_dir>/best.ckpt`` and, for the
quickstart's config (``crnn_vgg7_synth``), ``crnn_fast_quickstart/ckpt/best.ckpt`` (the
quickstart's default work folder), each relative to the current directory; the error lists
the paths tried. ``--backend cpu|numpy|stock`` makes it the active backend and sets
``CRNN_FAST_BACKEND`` for child processes (``stock``: MindSpore's own layers, for
comparison). Under ``msrun`` set ``-o system.distribute=True``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from .. import registry


class UsageError(ValueError):
    """A wrong combination of command-line arguments (the CLI exits with status 2)."""


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse


NONNEG, POSITIVE = _int_at_least(0), _int_at_least(1)


def _config(args: argparse.Namespace) -> tuple[Path, dict]:
    """(config file, config with the -o overrides applied)."""
    from ..configs import config_path
    from ..train.config import load_config

    path = Path(args.config) if args.config else config_path()
    if args.config and not path.is_file() and "/" not in args.config:
        path = config_path(args.config)
    return path, load_config(path, args.opt)


def default_checkpoints(cfg: dict, config_file: str | Path | None = None) -> list[Path]:
    """Where ``eval``/``predict`` look without ``--ckpt``, in order: ``eval.ckpt_load_path``,
    ``<train.ckpt_save_dir>/best.ckpt`` and, when ``config_file`` is the quickstart's config,
    ``crnn_fast_quickstart/ckpt/best.ckpt``."""
    from ..configs import config_path
    from ..train.config import get
    from ..train.quickstart import DEFAULT_WORKDIR

    paths = []
    if get(cfg, "eval.ckpt_load_path"):
        paths.append(Path(get(cfg, "eval.ckpt_load_path")))
    if get(cfg, "train.ckpt_save_dir"):
        paths.append(Path(get(cfg, "train.ckpt_save_dir")) / "best.ckpt")
    if config_file is not None and Path(config_file).resolve() == config_path().resolve():
        paths.append(Path(DEFAULT_WORKDIR) / "ckpt" / "best.ckpt")
    out: list[Path] = []
    for p in paths:
        if os.path.normpath(p) not in [os.path.normpath(q) for q in out]:
            out.append(p)
    return out


def resolve_checkpoint(ckpt: str | None, cfg: dict, config_file: str | Path | None) -> str:
    """``ckpt`` when given, else the first of ``default_checkpoints`` that exists;
    FileNotFoundError listing the paths tried when none does."""
    if ckpt:
        return ckpt
    tried = default_checkpoints(cfg, config_file)
    for p in tried:
        if p.is_file():
            logging.getLogger("crnn_fast").info("checkpoint: %s", p)
            return str(p)
    raise FileNotFoundError(
        "no checkpoint found; tried "
        + (", ".join(str(p) for p in tried) or "nothing (eval.ckpt_load_path is not set)")
        + " (relative to the current directory); pass --ckpt PATH"
    )


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


_CKPT_HELP = (
    "model checkpoint (default: the first that exists of eval.ckpt_load_path, "
    "<train.ckpt_save_dir>/best.ckpt and, with the default config, "
    "crnn_fast_quickstart/ckpt/best.ckpt)"
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
    p.add_argument("--ckpt", help=_CKPT_HELP)
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
    p.add_argument("--ckpt", help=_CKPT_HELP)
    p.add_argument(
        "--out",
        default="rec_results.txt",
        help="output file: name<TAB>text lines (\\t \\n \\r \\\\ escaped in names); an "
        "unreadable entry gets an empty text and a name<TAB>reason line in "
        "<out stem>_unreadable.txt",
    )
    p.add_argument("--beam", type=NONNEG, default=0, help="prefix beam search width (0: greedy)")
    p.add_argument("--batch-size", type=POSITIVE, default=64)
    p.add_argument(
        "--engine",
        choices=("native", "mindspore"),
        default="native",
        help="native: the whole model as one crnn_fast call per batch (default); mindspore: "
        "the MindSpore model with folded conv blocks",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail on the first unreadable entry (default: skip and report it)",
    )
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="also read symlinks that lead out of the folder (default: skipped and reported)",
    )
    from ..synth.render import DIFFICULTY, MIXES

    p = sub.add_parser("synth", help="write synthetic word crops as MindOCR LMDBs (train, test)")
    p.add_argument("out", help="output folder: OUT/train, OUT/test, OUT/synth.json")
    p.add_argument("--train", type=NONNEG, default=20000, help="training images (0: none)")
    p.add_argument("--test", type=NONNEG, default=1000, help="held-out test images (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--difficulty",
        choices=[*MIXES, *DIFFICULTY],
        default="mix",
        help="mix: each image draws a real-* preset (realistic text, backgrounds, clutter)",
    )
    p.add_argument("--format", choices=["jpg", "png"], default="jpg")
    p.add_argument("--workers", type=POSITIVE, default=1, help="rendering processes")
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
    p.add_argument("--train", type=POSITIVE, default=12500, help="synthetic training images")
    p.add_argument("--test", type=POSITIVE, default=500, help="held-out test images")
    p.add_argument("--seed", type=int, default=0, help="synth seed")
    p.add_argument("--workers", type=POSITIVE, default=2, help="synth rendering processes")
    p.add_argument(
        "--stock-steps",
        type=NONNEG,
        default=1,
        help="timed training steps on MindSpore's own ops (~30 s each; 0: skip)",
    )
    p.add_argument("--show", type=NONNEG, default=8, help="predictions to print")
    p.add_argument(
        "--ood-limit",
        type=POSITIVE,
        default=None,
        help="score only the first N images of each out-of-distribution style (default: all)",
    )
    _add_overrides(p, "override a value of crnn_vgg7_synth.yaml, e.g. -o scheduler.num_epochs=1")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def quickstart(args: argparse.Namespace) -> int:
    from ..train.quickstart import quickstart as run_quickstart

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
        ood_limit=args.ood_limit,
    )
    return 0


def synth(args: argparse.Namespace) -> int:
    from ..synth import synth_lmdb

    if args.train == 0 and args.test == 0:
        raise UsageError("argument --train/--test: both are 0, nothing to write (at least one > 0)")
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
        from ..synth.preview import save_montage

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
        os.environ["CRNN_FAST_BACKEND"] = args.backend  # for child processes (msrun, workers)
        registry.set_active(args.backend)  # this process chose its backend at import
    cfg_file, cfg = _config(args)
    if args.cmd == "train":
        from ..train.trainer import train

        out = train(cfg, resume=args.resume, progress=not args.no_progress)
        if out.get("stopped"):  # SIGINT/SIGTERM: the trainer saved and returned (exit 0)
            print(f"crnn-fast train: stopped by a signal; train_resume.ckpt saved in "
                  f"{out['ckpt_dir']} (continue with --resume)", file=sys.stderr)  # fmt: skip
    elif args.cmd == "predict":
        out = _predict(args, cfg, cfg_file)
    else:
        from ..train.trainer import evaluate, setup_context

        ckpt = resolve_checkpoint(args.ckpt, cfg, cfg_file)
        setup_context(cfg)
        if args.per_set:
            from ..train.multi_eval import evaluate_per_set, format_table

            out = evaluate_per_set(cfg, ckpt=ckpt, progress=not args.no_progress)
            print(format_table(out))
        else:
            out = evaluate(cfg, ckpt=ckpt, progress=not args.no_progress)
    print(json.dumps(out, indent=2, default=str))
    return 0


def _predict(args: argparse.Namespace, cfg: dict, cfg_file: Path) -> dict:
    from ..train.predict import escape_field, predict, unreadable_path
    from ..train.trainer import setup_context

    if not os.path.lexists(args.source):
        raise FileNotFoundError(f"SOURCE {args.source} does not exist")
    ckpt = resolve_checkpoint(args.ckpt, cfg, cfg_file)
    if args.engine != "native" or args.beam:  # (the native path runs no MindSpore graph)
        # one process: MindOCR's recipes say system.distribute: True (for msrun training)
        setup_context({**cfg, "system": {**(cfg.get("system") or {}), "distribute": False}})
    start = time.perf_counter()
    res = predict(cfg, args.source, ckpt=ckpt, out=args.out, beam_width=args.beam,
                  batch_size=args.batch_size, strict=args.strict,
                  follow_symlinks=args.follow_symlinks, engine=args.engine)  # fmt: skip
    seconds = time.perf_counter() - start
    for name, text, _ in res[:20]:
        print(f"{escape_field(name)}\t{escape_field(text)}")
    out = {"images": len(res), "written": args.out, "checkpoint": ckpt, "engine": args.engine,
           "seconds": round(seconds, 3)}  # fmt: skip
    if res.skipped:
        out["unreadable"] = len(res.skipped)
        out["unreadable_list"] = str(unreadable_path(args.out))
    return out
