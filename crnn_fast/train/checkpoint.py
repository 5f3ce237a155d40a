"""Checkpoints as MindOCR writes them: ``best.ckpt`` (best validation accuracy), ``e{epoch}.ckpt``
(the top-k epochs by accuracy, the rest deleted), ``last.ckpt``, and ``train_resume.ckpt`` with
everything needed to continue a run exactly: weights, optimizer moments and step, loss-scale
state, and the counters (epoch, step within the epoch, global step, best accuracy).

Model checkpoints hold the network's parameters only, under the model's own names
(``backbone.conv1.conv.weight``, ...), so ``mindspore.load_checkpoint`` +
``load_param_into_net`` on a MindOCR BaseModel (or ours) loads them unchanged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import mindspore as ms
from mindspore import nn

__all__ = ["CheckpointKeeper", "load_history", "load_resume", "save_history", "save_resume"]

log = logging.getLogger("crnn_fast")

RESUME = "train_resume.ckpt"
_COUNTERS = ("epoch", "step_in_epoch", "global_step", "best_acc", "best_epoch")
_PREFIX = "resume."  # the optimizer has a Parameter named global_step


def _atomic_save(obj, path: Path, append: dict | None = None) -> None:
    tmp = path.with_name(path.stem + ".tmp.ckpt")  # MindSpore appends .ckpt to other names
    ms.save_checkpoint(obj, str(tmp), append_dict=append)
    os.replace(tmp, path)  # a run killed while writing keeps the previous file


def save_history(path: str | Path, history: dict[str, Any]) -> None:
    """Writes ``history`` as JSON to ``path`` atomically (a temporary file in the same folder,
    then ``os.replace``), like the checkpoints: a run killed while writing leaves the previous
    complete file, never a truncated one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(history))
    os.replace(tmp, path)


def _history_shape_ok(history: Any) -> bool:
    if not isinstance(history, dict):
        return False
    rows = [history.get(k, []) for k in ("loss", "val")]
    return all(isinstance(r, list) for r in rows) and all(
        isinstance(e, list) and len(e) >= 2 and all(isinstance(v, (int, float)) for v in e)
        for r in rows
        for e in r
    )


def load_history(path: str | Path) -> dict[str, Any]:
    """The ``history.json`` of an earlier run: ``{"loss": [[step, loss], ...], "val": [[epoch,
    acc, ned], ...]}``; ``{}`` when there is none. A file that does not parse or does not have
    that shape (e.g. truncated by a kill during a non-atomic write of an older version) gives
    a warning naming it and ``{}``: the run resumes from the checkpoint alone and its curves
    restart at the resume point."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
        if not _history_shape_ok(history):
            raise ValueError(f"expected {{'loss': [[step, loss], ...], 'val': [[epoch, acc, ned], "
                             f"...]}}, got {str(history)[:80]}")  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        log.warning(
            "%s is unreadable (%s: %s); resuming from the checkpoint alone, the loss and "
            "accuracy history restart here", path, type(e).__name__, e,
        )  # fmt: skip
        return {}
    return history


def save_resume(ckpt_dir: str | Path, train_step: nn.Cell, counters: dict) -> Path:
    """Writes ``train_resume.ckpt``: every Parameter of ``train_step`` (network, optimizer,
    loss scale) + ``counters`` (epoch, step_in_epoch, global_step, best_acc, best_epoch)."""
    path = Path(ckpt_dir) / RESUME
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(train_step, path, {_PREFIX + k: counters[k] for k in _COUNTERS if k in counters})
    return path


def load_resume(path: str | Path, train_step: nn.Cell) -> dict:
    """Loads a ``train_resume.ckpt`` into ``train_step``; returns its counters. Raises
    FileNotFoundError, or ValueError when the file does not match the network."""
    path = Path(path)
    if path.is_dir():
        path = path / RESUME
    if not path.is_file():
        raise FileNotFoundError(f"no resume checkpoint at {path}")
    data = ms.load_checkpoint(str(path))
    counters = {k: data.pop(_PREFIX + k) for k in _COUNTERS if _PREFIX + k in data}
    own = {p.name: tuple(p.shape) for p in train_step.get_parameters()}
    wrong = [f"{k} {tuple(v.shape)} (this run: {own[k]})" for k, v in data.items()
             if k in own and tuple(v.shape) != own[k]]  # fmt: skip
    if wrong:  # e.g. learning_rate: one value per step, scheduler.num_epochs x steps per epoch
        raise ValueError(
            f"{path} was written by a run with other shapes: {', '.join(wrong[:3])}; resume "
            "with the config it was written with (scheduler.num_epochs, batch size, model)"
        )
    missing, _ = ms.load_param_into_net(train_step, data, strict_load=True)
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} parameters of this run, e.g. {missing[:3]}")
    out = {}
    for k, v in counters.items():
        v = v.asnumpy().item() if hasattr(v, "asnumpy") else v
        out[k] = float(v) if k in ("best_acc",) else int(v)
    return out


class CheckpointKeeper:
    """best / top-k per-epoch / last model checkpoints in ``ckpt_dir`` (rank 0 only)."""

    def __init__(self, ckpt_dir: str | Path, top_k: int = 10) -> None:
        self.dir = Path(ckpt_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.top_k = top_k
        self.kept: list[tuple[float, int]] = []  # (acc, epoch)

    def epoch_end(self, net: nn.Cell, epoch: int, acc: float | None, best_acc: float) -> bool:
        """Saves last.ckpt, e{epoch}.ckpt if among the top-k, best.ckpt if ``acc`` beats
        ``best_acc``; returns whether it did."""
        _atomic_save(net, self.dir / "last.ckpt")
        if acc is None:
            return False
        self.kept.append((acc, epoch))
        self.kept.sort(key=lambda t: (-t[0], -t[1]))
        for _, e in self.kept[self.top_k :]:
            (self.dir / f"e{e}.ckpt").unlink(missing_ok=True)
        self.kept = self.kept[: self.top_k]
        if any(e == epoch for _, e in self.kept):
            _atomic_save(net, self.dir / f"e{epoch}.ckpt")
        if acc > best_acc:
            _atomic_save(net, self.dir / "best.ckpt")
            return True
        return False
