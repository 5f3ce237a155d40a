"""Train-step and inference speed of a config's model on one backend, measured in-process.

``time_train_step(cfg, backend, steps)`` builds the model, loss, optimizer and ``TrainStep`` of
``cfg`` on ``backend`` (``cpu`` | ``numpy`` | ``stock``), takes one real batch from
``train.dataset`` (or ``batch``), runs ``warmup`` steps (GRAPH compile included) and then
``steps`` timed ones, and returns ``{"backend", "batch_size", "seconds": [...], "median_s",
"images_per_s", "warmup_s"}``. ``crnn-fast quickstart`` prints it for crnn_fast and the stock
backend side by side; ``crnn_fast/bench/suites/bench_step.py`` uses the same builder. ``progress``:
a tqdm bar over the warm-up and timed steps whose elapsed time moves every second (a stock
step takes about a minute on 2 cores).
"""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np

__all__ = ["first_train_batch", "time_train_step"]


def first_train_batch(cfg: dict):
    """(image (B, 3, H, W) float32, label (B, max_text_len) int32) Tensors: the first batch of
    ``train.dataset`` in its shuffled order."""
    from ..data import build_dataset

    ds = build_dataset(cfg, is_train=True)
    image, label, *_ = next(ds.create_tuple_iterator(num_epochs=1))
    return image, label


@contextlib.contextmanager
def _step_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar (or None) refreshed every second by a helper thread, so that its elapsed time
    moves during a long step."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", leave=True)
    done = threading.Event()

    def tick():
        while not done.wait(1.0):
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield bar
    finally:
        done.set()
        thread.join()
        bar.close()


def time_train_step(
    cfg: dict, backend: str | None, steps: int, *, warmup: int = 1, batch=None,
    progress: bool = False,
) -> dict:  # fmt: skip
    """See the module docstring. The model's weights change with every step (a real update)."""
    from ..models import backend_scope
    from .trainer import build_train_step

    if steps < 1 or warmup < 0:
        raise ValueError(f"need steps >= 1 and warmup >= 0, got {steps}, {warmup}")
    image, label = batch if batch is not None else first_train_batch(cfg)
    with backend_scope(backend) as name:
        _, step_cell, _ = build_train_step(cfg, steps + warmup, 1)
    step_cell.set_train(True)
    times: list[float] = []
    with _step_bar(warmup + steps, f"{name} step (warm-up + timed)", progress) as bar:
        t0 = time.perf_counter()
        for _ in range(warmup):
            step_cell(image, label)[0].asnumpy()
            if bar is not None:
                bar.update(1)
        warm = time.perf_counter() - t0
        for _ in range(steps):
            t0 = time.perf_counter()
            step_cell(image, label)[0].asnumpy()
            times.append(time.perf_counter() - t0)
            if bar is not None:
                bar.set_postfix(last=f"{times[-1]:.2f}s", refresh=False)
                bar.update(1)
    med = float(np.median(times))
    return {"backend": name, "batch_size": int(image.shape[0]), "seconds": times,
            "median_s": med, "images_per_s": image.shape[0] / med, "warmup_s": warm}  # fmt: skip
