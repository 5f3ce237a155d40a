"""``crnn-fast train`` / ``eval``: MindOCR-style training of a CRNN from a YAML config.

``train(cfg)`` builds the model (``crnn_fast.models``), MindOCR's CTC loss, the per-step
warmup-cosine schedule, AdamW with MindOCR's weight-decay groups, AMP, the loss scaler, the
LMDB pipelines (``crnn_fast.data``), then runs ``TrainStep`` epoch by epoch with a tqdm bar
(loss, lr, images/s), validation after each epoch (``system.val_while_train``), best / top-k
/ last checkpoints, ``train_resume.ckpt`` every ``train.resume_interval`` steps, at each
epoch end and on SIGINT/SIGTERM, and a PNG of the loss and accuracy curves. Each epoch's data
order depends only on (seed, epoch), so ``resume`` continues with the very next batch.
Data-parallel under ``msrun`` with ``system.distribute: True`` (gradient mean over ranks,
one data shard per rank; rank 0 writes checkpoints and logs).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import get

log = logging.getLogger("crnn_fast")

__all__ = [
    "build_train_step", "evaluate", "label_decoder", "model_from_checkpoint", "setup_context",
    "train",
]  # fmt: skip


# Set by msrun (MS_ROLE), an Ascend rank table, MindSpore's simulation mode or mpirun.
_LAUNCHER_ENV = ("MS_ROLE", "RANK_TABLE_FILE", "MS_SIMULATION_LEVEL", "OMPI_COMM_WORLD_SIZE")


def _pynative_blocking(cfg: dict, mode: int, target: str) -> None:
    """One process in PYNATIVE on the CPU: MindSpore's ops run blocking
    (``crnn_fast.pynative_blocking``; measured faster there, see crnn_fast/runtime.py) unless
    ``system.pynative_blocking: False``."""
    import mindspore as ms

    from ..runtime import pynative_blocking

    if mode == ms.PYNATIVE_MODE and target == "CPU" and get(cfg, "system.pynative_blocking", True):
        if pynative_blocking():
            log.info("PYNATIVE on the CPU: MindSpore ops run blocking (system.pynative_blocking)")


def setup_context(cfg: dict) -> tuple[int, int]:
    """MindSpore mode, CPU device, seed and (when ``system.distribute`` and started by ``msrun``)
    the data-parallel context; returns (rank, group size). MindOCR's recipes set
    ``system.distribute: True``: outside ``msrun`` they run as one process, with a warning. One
    process in PYNATIVE on the CPU runs MindSpore's ops blocking (``_pynative_blocking``)."""
    import mindspore as ms

    mode = ms.GRAPH_MODE if int(get(cfg, "system.mode", 0)) == 0 else ms.PYNATIVE_MODE
    ms.set_context(mode=mode)
    target = str(get(cfg, "system.device_target", "CPU"))
    if hasattr(ms, "set_device"):
        try:
            ms.set_device(target)
        except RuntimeError:  # the runtime already started in this process: fine if on target
            if ms.get_context("device_target") != target:
                raise
    ms.set_seed(int(get(cfg, "system.seed", 42)))
    if not get(cfg, "system.distribute", False):
        _pynative_blocking(cfg, mode, target)
        return 0, 1
    if not any(k in os.environ for k in _LAUNCHER_ENV):
        log.warning(
            "system.distribute is True but no launcher started this process (none of %s "
            "is set; use msrun): running as one process",
            ", ".join(_LAUNCHER_ENV),
        )
        _pynative_blocking(cfg, mode, target)
        return 0, 1
    from mindspore.communication import get_group_size, get_rank, init

    init()
    rank, size = get_rank(), get_group_size()
    ms.set_auto_parallel_context(
        parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True, device_num=size
    )
    return rank, size


def _cpu_kernels_train(ms) -> bool:  # noqa: ANN001
    """Whether the model's layers run crnn_fast's C++ CPU kernels (device_target CPU, an
    ``aot`` backend of the CPU): then ``system.amp_level`` sets their matmul precision."""
    from .. import registry

    if ms.get_context("device_target") != "CPU":
        return False
    try:
        return registry.for_ms_target(registry.active(), "CPU") == "cpu"
    except ValueError:
        return False


def _set_cpu_precision(amp: str) -> None:
    """``system.amp_level`` on the CPU kernels (``crnn_fast.precision``): O0 float32; O1-O3
    bfloat16 GEMM inputs, float32 sums and master weights where the CPU has AVX512-BF16, else
    float32 (emulated bfloat16 would only be slower)."""
    from ..precision import cpu_bf16_native, precision_for_amp_level, set_cpu_matmul_precision

    precision = precision_for_amp_level(amp)
    if precision == "bfloat16" and not cpu_bf16_native():
        log.warning("system.amp_level %s: this CPU has no AVX512-BF16, training in float32", amp)
        precision = "float32"
    elif precision == "bfloat16":
        log.info(
            "system.amp_level %s on the CPU: bfloat16 GEMM inputs, float32 accumulation and "
            "master weights (crnn_fast.precision)", amp,
        )  # fmt: skip
    set_cpu_matmul_precision(precision)


def _model_and_loss(cfg: dict):
    import mindspore as ms
    from mindspore import nn

    from ..models import build_model_from_config
    from ..nn import CTCLoss

    net = build_model_from_config(cfg["model"])
    amp = str(get(cfg, "system.amp_level", "O0"))
    if _cpu_kernels_train(ms):
        _set_cpu_precision(amp)
    elif amp != "O0":
        net = ms.amp.auto_mixed_precision(net, amp)
    loss_args = {k: v for k, v in cfg["loss"].items() if k != "name"}
    if cfg["loss"].get("name", "CTCLoss") != "CTCLoss":
        raise ValueError(f"loss.name {cfg['loss']['name']!r} is not supported (CTCLoss only)")
    loss_fn = CTCLoss(**loss_args)

    class NetWithLoss(nn.Cell):
        def __init__(self):
            super().__init__(auto_prefix=False)  # parameter names stay the model's
            self.net, self.loss_fn = net, loss_fn

        def construct(self, image, label):
            return self.loss_fn(self.net(image), label)

    return net, NetWithLoss()


def build_train_step(cfg: dict, steps_per_epoch: int, epochs: int):
    """(model, ``TrainStep`` cell, per-step lr array) for ``cfg``: the model and MindOCR's CTC
    loss on crnn_fast's active backend, AMP, the warmup-cosine schedule, AdamW and the loss
    scaler. Build under ``crnn_fast.models.backend_scope("stock")`` for MindSpore's own ops."""
    from .optim import build_optimizer
    from .schedule import build_schedule
    from .step import TrainStep

    net, net_with_loss = _model_and_loss(cfg)
    lr = build_schedule(cfg["scheduler"], steps_per_epoch, epochs)
    opt = build_optimizer(cfg["optimizer"], net.trainable_params(), lr)
    scaler = cfg.get("loss_scaler") or {}
    step_cell = TrainStep(
        net_with_loss, opt,
        loss_scale=float(scaler.get("loss_scale", 1.0)),
        dynamic=scaler.get("type", "static") == "dynamic",
        scale_factor=float(scaler.get("scale_factor", 2.0)),
        scale_window=int(scaler.get("scale_window", 1000)),
        clip_norm=float(get(cfg, "train.clip_norm", 0.0)) if get(cfg, "train.clip_grad") else 0.0,
        drop_overflow_update=bool(get(cfg, "system.drop_overflow_update", False)),
    )  # fmt: skip
    return net, step_cell, lr


@contextlib.contextmanager
def _stop_flag():
    """Yields {'stop': False}, set True by SIGINT/SIGTERM while the block runs (the loop then
    saves and exits); the previous handlers are back on leaving it."""
    flag = {"stop": False}

    def handler(signum, frame):
        flag["stop"] = True
        log.warning("signal %d: saving train_resume.ckpt after this step", signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@dataclass
class _Run:
    """What a training run carries from epoch to epoch (built by :func:`_start_run`)."""

    cfg: dict
    net: Any
    step_cell: Any
    lr: np.ndarray  # per-step learning rate
    state: dict  # epoch, step_in_epoch, global_step, best_acc, best_epoch (train_resume.ckpt)
    history: dict  # "loss": [[global_step, loss]], "val": [[epoch, acc, ned]]
    ckpt_dir: Path
    keeper: Any  # CheckpointKeeper on rank 0, None on the other ranks
    rank: int
    size: int
    shard: dict  # build_dataset's num_shards / shard_id (data-parallel), else {}
    seed: int
    epochs: int
    steps: int  # per epoch
    batch: int  # per rank
    interval: int  # steps between two train_resume.ckpt
    progress: bool
    done: int = 0  # steps run by this call

    @property
    def history_path(self) -> Path:
        return self.ckpt_dir / "history.json"


def epoch_config(cfg: dict, epoch: int) -> dict:
    """``cfg`` for the data of ``epoch`` (0-based): with ``train.curriculum`` = ``{data_dir,
    epochs}``, the first ``epochs`` epochs read ``data_dir`` (under the same ``dataset_root``)
    in place of ``train.dataset.data_dir`` (e.g. clean crops first, so the CTC plateau ends
    sooner); otherwise ``cfg`` itself."""
    cur = get(cfg, "train.curriculum")
    if not cur or epoch >= int(cur.get("epochs", 0)):
        return cfg
    one = copy.deepcopy(cfg)
    one["train"]["dataset"]["data_dir"] = cur["data_dir"]
    return one


def _check_curriculum(cfg: dict, steps: int, shard: dict) -> None:
    """The curriculum's data must give as many batches per epoch as the main data (the
    learning-rate schedule counts them)."""
    from ..data import build_dataset

    cur = get(cfg, "train.curriculum")
    if not cur:
        return
    if not isinstance(cur, dict) or "data_dir" not in cur or int(cur.get("epochs", 0)) < 1:
        raise ValueError(f"train.curriculum must be {{data_dir: DIR, epochs: N >= 1}}, got {cur!r}")
    n = build_dataset(epoch_config(cfg, 0), is_train=True, **shard).get_dataset_size()
    if n != steps:
        raise ValueError(f"train.curriculum.data_dir {cur['data_dir']!r} gives {n} batches per "
                         f"epoch, train.dataset.data_dir {steps}: they must match")  # fmt: skip


def _start_run(cfg: dict, resume: bool | str, progress: bool) -> _Run:
    """Context, model, train step, and (with ``resume``) the state and history to continue."""
    from ..data import build_dataset
    from .checkpoint import CheckpointKeeper, load_history, load_resume
    from .config_schema import validate

    validate(cfg)  # a config dict built in code gets the check load_config gives a file

    rank, size = setup_context(cfg)
    seed, epochs = int(get(cfg, "system.seed", 42)), int(get(cfg, "scheduler.num_epochs", 1))
    ckpt_dir = Path(get(cfg, "train.ckpt_save_dir", "./tmp_rec"))
    shard = dict(num_shards=size, shard_id=rank) if size > 1 else {}
    steps = build_dataset(cfg, is_train=True, **shard).get_dataset_size()
    if steps < 1:
        raise ValueError("the training set gives no batch: check train.dataset and batch_size")
    _check_curriculum(cfg, steps, shard)
    net, step_cell, lr = build_train_step(cfg, steps, epochs)
    step_cell.set_train(True)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_acc": -1.0, "best_epoch": -1}
    if resume:
        state.update(load_resume(ckpt_dir if resume is True else resume, step_cell))
        log.info("resumed at epoch %d step %d", state["epoch"] + 1, state["step_in_epoch"])
    keeper = (
        CheckpointKeeper(ckpt_dir, int(get(cfg, "system.ckpt_max_keep", 10))) if rank == 0 else None
    )
    history = load_history(ckpt_dir / "history.json") if resume else {}
    history.setdefault("loss", []), history.setdefault("val", [])
    if resume:  # entries past the checkpoint (a kill between the two writes) are redone
        history["loss"] = [e for e in history["loss"] if e[0] <= state["global_step"]]
        history["val"] = [e for e in history["val"] if e[0] <= state["epoch"]]
    return _Run(
        cfg=cfg, net=net, step_cell=step_cell, lr=lr, state=state, history=history,
        ckpt_dir=ckpt_dir, keeper=keeper, rank=rank, size=size, shard=shard, seed=seed,
        epochs=epochs, steps=steps, batch=int(get(cfg, "train.loader.batch_size", 1)),
        interval=int(get(cfg, "train.resume_interval", max(steps // 4, 1))), progress=progress,
    )  # fmt: skip


def _save_resume(run: _Run) -> None:
    from .checkpoint import save_history, save_resume

    save_resume(run.ckpt_dir, run.step_cell, run.state)
    save_history(run.history_path, run.history)


def _train_epoch(run: _Run, epoch: int, flag: dict) -> bool:
    """Runs the steps of ``epoch`` (skipping those a resumed run already did); returns True
    when a signal stopped it (train_resume.ckpt saved)."""
    from mindspore import dataset as msds
    from tqdm import tqdm

    from ..data import build_dataset

    state, steps = run.state, run.steps
    # the epoch's data order depends on (seed, epoch) only
    msds.config.set_seed(run.seed + epoch)
    cfg = epoch_config(run.cfg, epoch)
    if cfg is not run.cfg and run.rank == 0:
        log.info("epoch %d: curriculum data %s", epoch + 1, get(cfg, "train.dataset.data_dir"))
    ds = build_dataset(cfg, is_train=True, **run.shard)
    it = ds.create_tuple_iterator(num_epochs=1)
    skip = state["step_in_epoch"] if epoch == state["epoch"] else 0
    bar = tqdm(total=steps, initial=skip, desc=f"epoch {epoch + 1}/{run.epochs}",
               disable=not run.progress or run.rank != 0, unit="step")  # fmt: skip
    t0 = time.perf_counter()
    for i, (image, label, *_) in enumerate(it):
        if i < skip:
            continue
        loss, finite, _ = run.step_cell(image, label)
        loss = float(loss.asnumpy())
        state.update(step_in_epoch=i + 1, global_step=state["global_step"] + 1, epoch=epoch)
        run.done += 1
        run.history["loss"].append([state["global_step"], loss])
        rate = run.batch * run.size * (i + 1 - skip) / (time.perf_counter() - t0)
        cur_lr = run.lr[min(state["global_step"], len(run.lr)) - 1]
        bar.set_postfix(loss=f"{loss:.4f}", lr=f"{cur_lr:.2e}", img_s=f"{rate:.0f}")
        bar.update(1)
        if run.rank == 0 and (flag["stop"] or state["global_step"] % run.interval == 0):
            _save_resume(run)
        if flag["stop"]:
            bar.close()
            return True
    bar.close()
    return False


def _end_epoch(run: _Run, epoch: int) -> None:
    """After ``epoch``'s steps: validation (``system.val_while_train``), then on rank 0 the
    best / top-k / last checkpoints, train_resume.ckpt, the history and the curves."""
    cfg, acc = run.cfg, None
    if get(cfg, "system.val_while_train", False) and cfg.get("eval"):
        metrics = evaluate(cfg, net=run.net, progress=False)
        acc = metrics["acc"]
        run.history["val"].append([epoch + 1, acc, metrics["norm_edit_distance"]])
        log.info("epoch %d: val acc %.4f ned %.4f", epoch + 1, acc, metrics["norm_edit_distance"])
        run.net.set_train(True)
    run.state.update(epoch=epoch + 1, step_in_epoch=0)
    if run.rank == 0:
        if run.keeper.epoch_end(run.net, epoch + 1, acc, run.state["best_acc"]):
            run.state.update(best_acc=acc, best_epoch=epoch + 1)
        _save_resume(run)
        plot_curves(run.history, run.ckpt_dir / "curves.png")


def train(cfg: dict, *, resume: bool | str = False, progress: bool = True) -> dict:
    """Trains per ``cfg``; returns a summary (steps, time, images/s, last loss, best acc,
    checkpoint dir). ``resume``: True (``train.ckpt_save_dir``/train_resume.ckpt) or a path."""
    run = _start_run(cfg, resume, progress)
    t_start = time.perf_counter()
    with _stop_flag() as flag:
        for epoch in range(run.state["epoch"], run.epochs):
            if _train_epoch(run, epoch, flag):
                return _summary(run, t_start, stopped=True)
            _end_epoch(run, epoch)
    return _summary(run, t_start)


def _summary(run: _Run, t_start: float, stopped: bool = False) -> dict:
    """The run's counters, speed, and a checksum of the weights (data-parallel ranks must
    agree on it)."""
    secs = time.perf_counter() - t_start
    checksum = float(
        sum(np.abs(p.asnumpy().astype(np.float64)).sum() for p in run.net.trainable_params())
    )
    imgs_per_step = run.batch * run.size
    return {**run.state, "steps_run": run.done, "seconds": secs, "stopped": stopped,
            "images_per_s": run.done * imgs_per_step / secs if secs > 0 else 0.0,
            "params_checksum": checksum, "ckpt_dir": str(run.ckpt_dir)}  # fmt: skip


def model_from_checkpoint(cfg: dict, ckpt: str | None = None):
    """The model of ``cfg["model"]`` holding the weights of ``ckpt`` (default:
    ``eval.ckpt_load_path``), every parameter checked (``load_checkpoint_strict``), in
    inference mode."""
    from ..models import build_model_from_config, load_checkpoint_strict

    path = ckpt or get(cfg, "eval.ckpt_load_path")
    if not path:
        raise ValueError("no checkpoint: pass --ckpt or set eval.ckpt_load_path")
    net = build_model_from_config(cfg["model"])
    load_checkpoint_strict(net, path)
    net.set_train(False)
    return net


def label_decoder(cfg: dict):
    """MindOCR's ``RecCTCLabelDecode`` of ``cfg``'s ``postprocess`` section (texts only)."""
    from ..nn import CTCLabelDecode

    space = bool(get(cfg, "postprocess.use_space_char", False))
    return CTCLabelDecode(get(cfg, "postprocess.character_dict_path"), space, raw_chars=False)


def evaluate(cfg: dict, *, net=None, ckpt: str | None = None, progress: bool = True) -> dict:
    """Greedy-decodes ``eval.dataset`` with ``net`` (or the model of ``cfg`` loaded from
    ``ckpt`` / ``eval.ckpt_load_path``) and scores it with MindOCR's RecMetric."""
    from tqdm import tqdm

    from ..data import build_dataset, decode_eval_texts
    from .metric import RecMetric

    if net is None:
        net = model_from_checkpoint(cfg, ckpt)
    net.set_train(False)
    post = label_decoder(cfg)
    chars = [c for i, c in sorted(post.character.items()) if i != post.blank_idx]
    metric = RecMetric(chars, ignore_space=bool(get(cfg, "metric.ignore_space", True)))
    ds = build_dataset(cfg, is_train=False)
    for batch in tqdm(ds.create_tuple_iterator(num_epochs=1), total=ds.get_dataset_size(),
                      desc="eval", disable=not progress, unit="batch"):  # fmt: skip
        probs = net(batch[0])
        metric.update(post(probs)["texts"], decode_eval_texts(batch, post))
    return metric.eval()


def plot_curves(history: dict[str, Any], path: Path) -> None:
    """Training loss per step and validation accuracy per epoch as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    if history.get("loss"):
        s, loss = np.array(history["loss"]).T
        ax[0].plot(s, loss, lw=0.8)
        ax[0].set(xlabel="step", ylabel="CTC loss", yscale="log", title="training loss")
    if history.get("val"):
        e, acc, ned = np.array(history["val"]).T
        ax[1].plot(e, acc, "o-", label="word accuracy")
        ax[1].plot(e, ned, "s--", label="1 - norm. edit distance")
        ax[1].set(xlabel="epoch", ylim=(0, 1), title="validation")
        ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
