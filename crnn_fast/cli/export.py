"""``crnn-fast export``: a checkpoint as ONNX (for ONNX Runtime), MindIR (for MindSpore) or the
native path's weights file (``crnn``: for ``crnn_fast.infer.Recognizer.load``, any batch, no
MindSpore needed to run it), with ``OUT.json`` beside it (:mod:`crnn_fast.infer.export`).

    crnn-fast export [--config FILE] [-o key.sub=value ...] [--ckpt CKPT]
                     [--format onnx|mindir|crnn] [--out PATH] [--batch N | --dynamic-batch]
"""

from __future__ import annotations

import argparse
import json

from . import train as train_cmds


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``export`` on the main parser's subparsers."""
    from ..infer.export import FORMATS

    p = sub.add_parser(
        "export",
        help="write a checkpoint as ONNX, MindIR or native weights, plus a JSON of its "
        "pre/post-processing",
    )
    p.add_argument("--config", "-c", help="YAML config (default: the shipped crnn_vgg7_synth)")
    train_cmds._add_overrides(p, "override a config value, e.g. -o model.head.out_channels=37")
    p.add_argument("--ckpt", help=train_cmds._CKPT_HELP)
    p.add_argument("--format", choices=sorted(FORMATS), default="onnx", dest="fmt")
    p.add_argument(
        "--out", default="crnn", help="output path; .onnx/.mindir/.crnn and .json are added (crnn)"
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--batch",
        type=train_cmds.POSITIVE,
        default=1,
        help="the graph's fixed batch size (1; crnn: any)",
    )
    size.add_argument(
        "--dynamic-batch", action="store_true", help="any batch size (--format mindir only)"
    )


def run(args: argparse.Namespace) -> int:
    from ..infer.export import export_model
    from ..train.trainer import setup_context

    if args.dynamic_batch and args.fmt != "mindir":
        raise train_cmds.UsageError(
            "argument --dynamic-batch: needs --format mindir (ONNX graphs get a fixed batch)"
        )
    cfg_file, cfg = train_cmds._config(args)
    ckpt = train_cmds.resolve_checkpoint(args.ckpt, cfg, cfg_file)
    setup_context({**cfg, "system": {**(cfg.get("system") or {}), "distribute": False}})
    batch = None if args.dynamic_batch else args.batch
    out = export_model(cfg, ckpt=ckpt, fmt=args.fmt, out=args.out, batch=batch)
    print(json.dumps({k: out[k] for k in ("path", "sidecar", "format", "input")}, indent=2))
    return 0
