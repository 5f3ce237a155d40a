"""Whole-CRNN benchmarks: the training step (forward, CTC loss, backward, AdamW), its phases and
batch inference of MindOCR's CRNN-VGG7 and CRNN-ResNet34_vd at B=64, 3x32x100 inputs, 37
classes: crnn_fast vs the stock backend (the same model on MindSpore's own ops) vs the same
model in PyTorch CPU (``torch_crnn.py``), same pytest session.

Groups (``op/model``, model = ``vgg7`` | ``resnet34``):

* ``train-step``: ``crnn_fast.train.TrainStep`` built by the trainer's ``build_train_step``
  from the shipped MindOCR recipe (``crnn_vgg7.yaml`` / ``crnn_resnet34.yaml``) in fp32 (AMP
  O0, loss scale 1: their O3 is for Ascend), GRAPH mode; PyTorch: ``zero_grad``, forward,
  ``F.ctc_loss`` (MindOCR's mean of per-sample sums), ``backward``, ``AdamW.step`` with
  MindOCR's weight-decay groups;
* ``train-step-bf16`` (only where the CPU has AVX512-BF16): crnn_fast with bfloat16 GEMM
  inputs (``crnn_fast.precision``; the trainer's ``system.amp_level`` O1-O3 on the CPU) vs
  PyTorch under ``torch.autocast("cpu", torch.bfloat16)``, both with float32 master weights;
* ``phase-backbone``, ``phase-neck``, ``phase-head+loss`` (forward + backward of that part,
  gradients w.r.t. its weights and its input), ``phase-optimizer`` (AdamW from fixed
  gradients): where the step's time goes;
* ``infer`` (shape ``<model>-b<B>``, B = 1, 16, 64; quick runs: 1): eval mode, softmax
  (B, T, C); ``crnn_fast``: the native path ``crnn-fast predict`` runs (the whole model as one
  ``_C`` call, ``crnn_fast.infer.native``); ``crnn_fast-mindspore``: crnn_fast's MindSpore model
  with its conv blocks folded (``fold_for_inference``); PyTorch under ``no_grad``;
  ``onnxruntime``: the stock model exported by MindSpore (``mindspore.onnx.export``, fixed
  shapes) run by ONNX Runtime's CPU provider, when installed.

Quick runs (``CRNN_FAST_BENCH_QUICK=1``): CRNN-VGG7 only, B=4 (groups ``train-step/vgg7-b4``),
no phases, no stock training step (its compile and convolutions take ~40 s). Only crnn_fast's
``cpu`` backend runs whole models (MindSpore's CPU target).

Every provider starts from the same weights (a snapshot of one seeded crnn_fast model) on the
same batch, and its first call (untimed) is checked: losses within 1e-3 relative, inference
probabilities within 1e-4 absolute. Environment: ``CRNN_FAST_BENCH_BATCH`` (default 64),
``CRNN_FAST_BENCH_STOCK=0`` (skip the stock rows), ``CRNN_FAST_BENCH_STOCK_BATCH=vgg7=64,
resnet34=16`` (time the stock rows on the first samples only; the report scales them to the
full batch and says so: MindSpore 2.10's CPU convolutions take minutes per ResNet34 step),
``CRNN_FAST_BENCH_STOCK_BACKBONE=1`` (also the stock backbone phase).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import pytest

from crnn_fast.bench.common import (
    QUICK,
    THREADS,
    requested_backends,
    run_once,
    run_timed,
    tag,
)

ms = pytest.importorskip("mindspore", reason="MindSpore not installed")
from mindspore import Tensor  # noqa: E402

from crnn_fast.configs import config_path  # noqa: E402
from crnn_fast.infer import write_graph  # noqa: E402
from crnn_fast.infer.native import build_net  # noqa: E402
from crnn_fast.models import backend_scope, build_model, fold_for_inference  # noqa: E402
from crnn_fast.nn import CTCLoss  # noqa: E402
from crnn_fast.train.config import load_config  # noqa: E402
from crnn_fast.train.optim import build_optimizer  # noqa: E402
from crnn_fast.train.trainer import build_train_step  # noqa: E402

BATCH = int(os.environ.get("CRNN_FAST_BENCH_BATCH", "4" if QUICK else "64"))
STOCK = os.environ.get("CRNN_FAST_BENCH_STOCK", "1") != "0"
STOCK_BACKBONE = os.environ.get("CRNN_FAST_BENCH_STOCK_BACKBONE", "0") == "1"
MODELS = {"vgg7": "crnn_vgg7"} if QUICK else {"vgg7": "crnn_vgg7", "resnet34": "crnn_resnet34"}
SUFFIX = f"-b{BATCH}" if QUICK or BATCH != 64 else ""  # train-step / phase groups
INFER_BATCHES = [b for b in ((1,) if QUICK else (1, 16, 64)) if b <= BATCH]
# whole models run on MindSpore's CPU target: crnn_fast's ``cpu`` backend only (the emulators
# and the pyfunc NumPy backend would time their harness, not the model)
FAST = ["crnn_fast"] if "cpu" in requested_backends() else []
PEERS = [*FAST, "stock", "torch"]
PHASES = ["backbone", "neck", "head+loss", "optimizer"]
RUN_PHASES = [] if QUICK else PHASES
SLOW_S = 20.0  # a call slower than this is timed once
Fn = Callable[[], Any]


def stock_batch(model: str) -> int:
    spec = os.environ.get("CRNN_FAST_BENCH_STOCK_BATCH", "")
    sizes = dict(item.split("=") for item in spec.split(",") if "=" in item)
    return min(BATCH, int(sizes.get(model, BATCH)))


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)
    if hasattr(ms, "set_device"):
        ms.set_device("CPU")


# ---------------------------------------------------------------------------------------------
# Shared state per model: data, the weight snapshot, the config, first-call results
# ---------------------------------------------------------------------------------------------


class ModelState:
    """Seeded batch (x (B, 3, 32, 100) in [-1, 1], labels (B, 23) of 1..10 chars padded with
    the blank 36), the initial weights of one crnn_fast model, and first-call outputs."""

    def __init__(self, model: str) -> None:
        self.model, self.name = model, MODELS[model]
        rng = np.random.default_rng(7)
        self.x = rng.uniform(-1, 1, (BATCH, 3, 32, 100)).astype(np.float32)
        self.labels = np.full((BATCH, 23), 36, np.int32)
        for b in range(BATCH):
            n = int(rng.integers(1, 11))
            self.labels[b, :n] = rng.integers(0, 36, n)
        ms.set_seed(0)
        self.source = build_model(self.name, backend="cpu")  # never trained: the weight source
        self.weights = {p.name: p.asnumpy().copy() for p in self.source.get_parameters()}
        self.first: dict[str, Any] = {}

    def config(self, batch: int) -> dict:
        return load_config(config_path(self.name), [
            f"train.loader.batch_size={batch}", f"loss.batch_size={batch}",
            "system.amp_level=O0", "loss_scaler.type=static", "loss_scaler.loss_scale=1.0",
        ])  # fmt: skip

    def load(self, net) -> None:
        """Copies the snapshot into a MindSpore model (same parameter names on all backends)."""
        params = {k: ms.Parameter(Tensor(v), name=k) for k, v in self.weights.items()}
        missing, _ = ms.load_param_into_net(net, params, strict_load=True)
        assert not missing, missing

    def model_on(self, backend: str):
        with backend_scope(backend):
            net = build_model(self.name, backend=backend)
        self.load(net)
        return net


_STATE: dict[str, ModelState] = {}


def state(model: str) -> ModelState:
    if model not in _STATE:
        _STATE.clear()
        _STATE[model] = ModelState(model)
    return _STATE[model]


def check_close(st: ModelState, key: str, provider: str, value: np.ndarray, rtol: float) -> None:
    """The first value of a group is the reference; later providers must match it."""
    ref = st.first.setdefault(key, (provider, value))
    if ref[0] == provider:
        return
    want = ref[1]
    err = float(np.abs(np.asarray(value) - want).max() / max(np.abs(want).max(), 1e-30))
    assert np.all(np.isfinite(value)) and err <= rtol, (key, provider, ref[0], err)


def timed(benchmark: Any, fn: Fn, *, budget_s: float) -> Any:
    import time

    t0 = time.perf_counter()
    out = fn()  # warm-up (GRAPH compile), also the checked result
    if time.perf_counter() - t0 > SLOW_S:
        run_once(benchmark, fn)
    else:
        run_timed(benchmark, fn, budget_s=budget_s, min_rounds=3, max_rounds=15)
    return out


# ---------------------------------------------------------------------------------------------
# PyTorch peer
# ---------------------------------------------------------------------------------------------


def torch_model(st: ModelState, torch: Any):
    from crnn_fast.bench.torch_crnn import build_torch_crnn, load_from_mindspore

    torch.set_num_threads(THREADS)
    tm = build_torch_crnn(st.name)
    load_from_mindspore(tm, st.source)
    return tm


def torch_adamw(tm: Any, torch: Any, cfg: dict):
    """AdamW with MindOCR's groups: no decay on names with bias/BN (beta, gamma) parameters."""
    decay, rest = [], []
    for p in tm.parameters():
        (rest if p.ndim == 1 else decay).append(p)  # biases and BN weights are the 1-d ones
    wd = float(cfg["optimizer"].get("weight_decay", 0.0))
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=5e-4, betas=(0.9, 0.999), eps=1e-8)


# ---------------------------------------------------------------------------------------------
# train-step
# ---------------------------------------------------------------------------------------------


def torch_step(st: ModelState, autocast: bool) -> Fn:
    """PyTorch's step: zero_grad, forward (under ``torch.autocast("cpu", torch.bfloat16)`` when
    ``autocast``), MindOCR's CTC loss in float32, backward, AdamW."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed (optional peer)")
    from crnn_fast.bench.torch_crnn import train_step

    tm = torch_model(st, torch).train()
    opt = torch_adamw(tm, torch, st.config(BATCH))
    x, lab = torch.from_numpy(st.x), torch.from_numpy(st.labels)
    return lambda: np.float32(train_step(tm, opt, x, lab, autocast))


def ms_step(st: ModelState, backend: str, b: int, precision: str) -> Fn:
    """The trainer's ``TrainStep`` on ``backend`` over the first ``b`` samples, its CPU GEMMs at
    ``precision`` (``crnn_fast.precision``; process-wide, so set only around each call)."""
    from crnn_fast.precision import cpu_matmul_precision_scope

    with backend_scope(backend):
        net, step, _ = build_train_step(st.config(b), 1000, 1)
    st.load(net)
    step.set_train(True)
    x, lab = Tensor(st.x[:b]), Tensor(st.labels[:b])

    def fn():
        if backend == "stock":
            return step(x, lab)[0].asnumpy()
        with cpu_matmul_precision_scope(precision):
            return step(x, lab)[0].asnumpy()

    return fn


@pytest.mark.parametrize("provider", [p for p in PEERS if p != "stock" or not QUICK])
@pytest.mark.parametrize("model", list(MODELS))
def test_train_step(benchmark: Any, model: str, provider: str) -> None:
    st = state(model)
    b = stock_batch(model) if provider == "stock" else BATCH
    tag(benchmark, "train-step", model + SUFFIX, provider, batch=b, time_scale=BATCH / b,
        items=BATCH)  # fmt: skip
    if provider == "torch":
        fn = torch_step(st, autocast=False)
    else:
        if provider == "stock" and not STOCK:
            pytest.skip("CRNN_FAST_BENCH_STOCK=0")
        fn = ms_step(st, "cpu" if provider == "crnn_fast" else "stock", b, "float32")

    loss = timed(benchmark, fn, budget_s=20.0)
    check_close(st, f"step-loss/{b}", provider, np.asarray(loss, np.float64), 1e-3)
    if b != BATCH:  # the subset's reference: crnn_fast's loss on the same samples
        ref = reference_loss(st, b)
        err = abs(float(loss) - ref) / abs(ref)
        assert err <= 1e-3, (provider, float(loss), ref)


@pytest.mark.parametrize("provider", [*FAST, "torch"])
@pytest.mark.parametrize("model", [] if QUICK else list(MODELS))
def test_train_step_bf16(benchmark: Any, model: str, provider: str) -> None:
    """``train-step-bf16``: the step with bfloat16 GEMM inputs, float32 accumulation and master
    weights (what ``system.amp_level`` O1-O3 selects on a CPU with AVX512-BF16) vs PyTorch's
    ``torch.autocast("cpu", torch.bfloat16)`` around the forward. Losses within 2e-2 of the
    float32 step's."""
    from crnn_fast.precision import cpu_bf16_native

    if not cpu_bf16_native():
        pytest.skip("no AVX512-BF16 on this CPU: bf16 would time an emulation")
    st = state(model)
    tag(benchmark, "train-step-bf16", model + SUFFIX, provider, batch=BATCH)
    if provider == "torch":
        fn = torch_step(st, autocast=True)
    else:
        fn = ms_step(st, "cpu", BATCH, "bfloat16")

    loss = timed(benchmark, fn, budget_s=20.0)
    check_close(st, f"step-loss/{BATCH}", provider + "-bf16", np.asarray(loss, np.float64), 2e-2)


def reference_loss(st: ModelState, b: int) -> float:
    """crnn_fast's training-mode CTC loss of the first ``b`` samples at the snapshot weights."""
    from crnn_fast.bench.train_cells import HeadLoss

    net = st.model_on("cpu")
    net.set_train(True)
    logits = net(Tensor(st.x[:b]))
    return float(HeadLoss(ms.nn.Identity(), CTCLoss())(logits, Tensor(st.labels[:b])).asnumpy())


# ---------------------------------------------------------------------------------------------
# Phases: where a step's time goes
# ---------------------------------------------------------------------------------------------


def phase_inputs(st: ModelState) -> dict[str, np.ndarray]:
    """Features f (B, 512, 1, T), neck output h (T, B, 512) and seeded upstream gradients."""
    if "phase-inputs" not in st.first:
        net = st.model_on("cpu")
        net.set_train(True)
        f = net.backbone(Tensor(st.x))[0].asnumpy()
        h = net.neck([Tensor(f)]).asnumpy()
        rng = np.random.default_rng(3)
        st.first["phase-inputs"] = {
            "f": f, "h": h,
            "df": rng.standard_normal(f.shape).astype(np.float32),
            "dh": rng.standard_normal(h.shape).astype(np.float32),
        }  # fmt: skip
    return st.first["phase-inputs"]


def ms_phase(st: ModelState, backend: str, phase: str) -> Fn:
    from crnn_fast.bench.train_cells import (
        BackboneLoss,
        GradStep,
        HeadLoss,
        NeckLoss,
        OptimizerStep,
    )

    net, d = st.model_on(backend), phase_inputs(st)
    net.set_train(True)
    with backend_scope(backend):
        if phase == "backbone":
            cell = BackboneLoss(net.backbone, Tensor(d["df"]))
            args, part = (Tensor(st.x),), net.backbone
        elif phase == "neck":
            cell = NeckLoss(net.neck, Tensor(d["dh"]))
            args, part = (Tensor(d["f"]),), net.neck
        elif phase == "head+loss":
            cell = HeadLoss(net.head, CTCLoss())
            args, part = (Tensor(d["h"]), Tensor(st.labels)), net.head
        else:
            opt = build_optimizer(st.config(BATCH)["optimizer"], net.trainable_params(), 5e-4)
            params = opt.parameters  # group order: decayed first, then bias/BN
            step = OptimizerStep(opt)
            rng = np.random.default_rng(5)
            grads = tuple(Tensor(rng.standard_normal(p.shape).astype(np.float32)) for p in params)
            return lambda: (step(grads), params[0].asnumpy())[1]
    grad = GradStep(cell, part.trainable_params(), wrt_inputs=phase != "backbone")
    grad.set_train(True)

    def fn():
        loss, grads = grad(*args)
        return loss.asnumpy()

    return fn


def torch_phase(st: ModelState, torch: Any, phase: str) -> Fn:
    from crnn_fast.bench.torch_crnn import torch_ctc_loss

    tm, d = torch_model(st, torch).train(), phase_inputs(st)
    t = {k: torch.from_numpy(v) for k, v in d.items()}
    x, lab = torch.from_numpy(st.x), torch.from_numpy(st.labels)
    if phase == "optimizer":
        opt = torch_adamw(tm, torch, st.config(BATCH))
        gen = torch.Generator().manual_seed(5)
        for p in tm.parameters():
            p.grad = torch.randn(p.shape, generator=gen)
        return lambda: (opt.step(), next(tm.parameters()).detach().numpy().copy())[1]

    def fn():
        tm.zero_grad(set_to_none=True)
        if phase == "backbone":
            loss = (tm.backbone(x) * t["df"]).sum()
        elif phase == "neck":
            f = t["f"].clone().requires_grad_(True)
            loss = (tm.neck(f) * t["dh"]).sum()
        else:
            h = t["h"].clone().requires_grad_(True)
            loss = torch_ctc_loss(tm.head(h), lab, 36)
        loss.backward()
        return np.float32(loss.item())

    return fn


@pytest.mark.parametrize("provider", PEERS)
@pytest.mark.parametrize("phase", RUN_PHASES)
@pytest.mark.parametrize("model", list(MODELS))
def test_phase(benchmark: Any, model: str, phase: str, provider: str) -> None:
    st = state(model)
    tag(benchmark, f"phase-{phase}", model + SUFFIX, provider, batch=BATCH)
    if provider == "torch":
        torch = pytest.importorskip("torch", reason="PyTorch not installed (optional peer)")
        fn = torch_phase(st, torch, phase)
    else:
        if provider == "stock" and not (STOCK and (phase != "backbone" or STOCK_BACKBONE)):
            pytest.skip("stock backbone: CRNN_FAST_BENCH_STOCK_BACKBONE=1 (minutes per call)")
        fn = ms_phase(st, "cpu" if provider == "crnn_fast" else "stock", phase)
    out = timed(benchmark, fn, budget_s=8.0)
    if phase != "optimizer":  # the optimizers' first updates differ only by float rounding
        check_close(st, f"phase-{phase}", provider, np.asarray(out, np.float64), 1e-3)


# ---------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------


def onnx_session(st: ModelState, batch: int) -> Any:
    """An ONNX Runtime session of the stock model (same weights) exported by MindSpore at
    ``batch`` (fixed shapes), on all cores."""
    import tempfile

    ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime not installed (optional peer)")
    net = st.model_on("stock")
    net.set_train(False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, st.name)
        write_graph(net, Tensor(np.zeros((batch, 3, 32, 100), np.float32)), path, "onnx")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        return ort.InferenceSession(path + ".onnx", opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("provider", [*PEERS, *[f"{p}-mindspore" for p in FAST], "onnxruntime"])
@pytest.mark.parametrize("batch", INFER_BATCHES)
@pytest.mark.parametrize("model", list(MODELS))
def test_infer(benchmark: Any, model: str, batch: int, provider: str) -> None:
    """Eval-mode inference at ``batch`` (the state's first images): softmax (B, T, C)."""
    st = state(model)
    b = min(batch, stock_batch(model)) if provider == "stock" else batch
    tag(benchmark, "infer", f"{model}-b{batch}", provider, batch=b, time_scale=batch / b,
        items=batch)  # fmt: skip
    if provider == "torch":
        torch = pytest.importorskip("torch", reason="PyTorch not installed (optional peer)")
        tm = torch_model(st, torch).eval()
        x = torch.from_numpy(st.x[:b])

        def fn():
            with torch.no_grad():
                return tm(x).numpy()
    elif provider == "onnxruntime":
        sess = onnx_session(st, b)
        name, x = sess.get_inputs()[0].name, st.x[:b]

        def fn():
            return sess.run(None, {name: x})[0]
    elif provider == "crnn_fast":  # the native path: the whole model in one _C call
        native = build_net({p.name: p.asnumpy() for p in st.model_on("cpu").get_parameters()})
        x = st.x[:b]

        def fn():
            return native.forward(x)
    else:
        if provider == "stock" and not STOCK:
            pytest.skip("CRNN_FAST_BENCH_STOCK=0")
        net = st.model_on("cpu" if provider == "crnn_fast-mindspore" else "stock")
        net.set_train(False)
        if provider == "crnn_fast-mindspore":
            fold_for_inference(net)
        x = Tensor(st.x[:b])

        def fn():
            return net(x).asnumpy()

    probs = timed(benchmark, fn, budget_s=8.0)
    ref = st.first.setdefault(f"infer-b{batch}", (provider, probs))[1]
    n = min(len(probs), len(ref))
    err = float(np.abs(probs[:n] - ref[:n]).max())
    assert np.all(np.isfinite(probs)) and err <= 1e-4, (provider, err)
