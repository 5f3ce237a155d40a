"""MindOCR's AdamW in float64 (MINDOCR_CRNN.md s6): the oracle of crnn_fast.train.optim.AdamW
and of the multi-tensor step kernel (crnn/adamw.h)."""

from __future__ import annotations

import numpy as np


def adamw(
    params: list[np.ndarray],
    grads_per_step: list[list[np.ndarray]],
    lrs: list[float],
    wds: list[float],
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> list[np.ndarray]:
    """The parameters after one step per entry of ``grads_per_step`` (step t with learning
    rate ``lrs[t]``), ``wds[i]`` the decoupled weight decay of ``params[i]``; moments from 0:
        m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
        p -= lr (m / (1 - b1^t) / (eps + sqrt(v / (1 - b2^t))) + wd p)"""
    p = [np.asarray(x, np.float64).copy() for x in params]
    m = [np.zeros_like(x) for x in p]
    v = [np.zeros_like(x) for x in p]
    for t, (grads, lr) in enumerate(zip(grads_per_step, lrs), 1):
        for i, g in enumerate(grads):
            g = np.asarray(g, np.float64)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            mh, vh = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            p[i] -= lr * (mh / (eps + np.sqrt(vh)) + wds[i] * p[i])
    return p
