"""MindOCR's ``warmup_cosine_decay`` learning-rate schedule, one value per step.

Step i of the warmup (i < W = warmup_epochs * S, S steps per epoch) gets lr * i / W; step
W + j of the decay (j < D = decay_epochs * S) gets min_lr + (lr - min_lr) * (1 + cos(pi j / D))
/ 2. With lr 5e-4, S = 4, one warmup and nine decay epochs this gives MindOCR's
[0, 1.25e-4, 2.5e-4, 3.75e-4, 5e-4, 4.99e-4, ..., 9.5e-7] (MINDOCR_CRNN.md s6).
"""

from __future__ import annotations

import math

__all__ = ["build_schedule", "warmup_cosine_decay"]


def warmup_cosine_decay(
    lr: float, min_lr: float, warmup_epochs: float, decay_epochs: float, steps_per_epoch: int
) -> list[float]:
    """Learning rate of every step (length (warmup + decay) epochs x steps_per_epoch)."""
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    if lr < 0 or min_lr < 0 or warmup_epochs < 0 or decay_epochs < 0:
        raise ValueError("lr, min_lr, warmup_epochs and decay_epochs must be >= 0")
    warm = int(round(warmup_epochs * steps_per_epoch))
    decay = int(round(decay_epochs * steps_per_epoch))
    out = [lr * i / warm for i in range(warm)]
    out += [
        min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * j / decay)) for j in range(decay)
    ]
    return out


def build_schedule(scheduler: dict, steps_per_epoch: int, num_epochs: int) -> list[float]:
    """The per-step schedule of a MindOCR ``scheduler:`` section, cut or padded (with its last
    value) to num_epochs x steps_per_epoch steps."""
    name = scheduler.get("scheduler", "warmup_cosine_decay")
    lr = float(scheduler.get("lr", 5e-4))
    total = num_epochs * steps_per_epoch
    if name == "constant":
        return [lr] * total
    if name != "warmup_cosine_decay":
        raise ValueError(f"scheduler {name!r} is not supported (warmup_cosine_decay, constant)")
    warm = float(scheduler.get("warmup_epochs", 0))
    decay = float(scheduler.get("decay_epochs", num_epochs - warm))
    out = warmup_cosine_decay(lr, float(scheduler.get("min_lr", 0.0)), warm, decay, steps_per_epoch)
    out = out[:total]
    return out + [out[-1] if out else lr] * (total - len(out))
