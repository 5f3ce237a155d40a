"""``crnn-fast eval --per-set``: MindOCR's multi-dataset evaluation
(``tools/benchmarking/multi_dataset_eval.py``). Every leaf LMDB under ``eval.dataset``'s
``dataset_root``/``data_dir`` (e.g. ``evaluation/`` = CUTE80, IC03_860, ..., SVTP) is scored
on its own with the same model, and the benchmark figure is the **unweighted** mean of the
per-set accuracies (and of the NEDs), as MindOCR's README tables report it.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from .config import get

__all__ = ["evaluate_per_set", "format_table"]


def evaluate_per_set(cfg: dict, *, ckpt: str | None = None, progress: bool = True) -> dict:
    """``{"sets": [{"name", "path", "samples", "acc", "norm_edit_distance"}, ...],
    "mean_acc", "mean_norm_edit_distance", "total_samples"}``; names are the leaf folders'
    paths relative to the evaluated root, sorted."""
    from ..data import find_lmdbs, lmdb_size
    from .trainer import evaluate, model_from_checkpoint

    data_dir = get(cfg, "eval.dataset.data_dir")
    if not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(f"--per-set needs one eval.dataset.data_dir folder, got {data_dir!r}")
    root = get(cfg, "eval.dataset.dataset_root")
    top = Path(root, data_dir) if root else Path(data_dir)
    leaves = find_lmdbs(top)
    if not leaves:
        raise FileNotFoundError(f"no LMDB (a folder holding data.mdb) under {top}")
    net = model_from_checkpoint(cfg, ckpt)
    sets = []
    for leaf in leaves:
        one = copy.deepcopy(cfg)
        one["eval"]["dataset"].update(dataset_root=None, data_dir=str(leaf))
        m = evaluate(one, net=net, progress=progress)
        name = leaf.relative_to(top).as_posix() if leaf != top else leaf.name
        sets.append({"name": name, "path": str(leaf), "samples": lmdb_size(leaf),
                     "acc": m["acc"], "norm_edit_distance": m["norm_edit_distance"]})  # fmt: skip
    n = len(sets)
    return {
        "sets": sets,
        "mean_acc": sum(s["acc"] for s in sets) / n,
        "mean_norm_edit_distance": sum(s["norm_edit_distance"] for s in sets) / n,
        "total_samples": sum(s["samples"] for s in sets),
    }


def format_table(result: dict) -> str:
    """A Markdown table: one row per set, then the unweighted mean."""
    lines = ["| set | samples | acc % | NED |", "|---|---|---|---|"]
    for s in result["sets"]:
        lines.append(f"| {s['name']} | {s['samples']} | {100 * s['acc']:.2f} | "
                     f"{s['norm_edit_distance']:.4f} |")  # fmt: skip
    n, total = len(result["sets"]), result["total_samples"]
    acc, ned = 100 * result["mean_acc"], result["mean_norm_edit_distance"]
    lines.append(f"| **mean of {n} (unweighted)** | {total} | **{acc:.2f}** | {ned:.4f} |")
    return "\n".join(lines)
