"""The one place that says which backend runs each crnn_fast op.

Backends (``known()``):

- ``cpu``: the compiled kernels of ``crnn_fast._C`` (NumPy-level API); MindSpore ops as
  ``func_type="aot"`` Custom ops over the same library.
- ``numpy``: the float64 NumPy reference; MindSpore ops as ``pyfunc`` Custom ops.
- ``stock``: the MindSpore layers run MindSpore's own ops (A/B runs); the NumPy-level API and
  the decoders (no stock equivalent) use ``cpu`` when it is usable, else ``numpy``.
- ``cuda-emu``: the CUDA kernels' unchanged source run on the CPU by the SIMT executor
  (``kernels/simt/``, a test harness, not a GPU): the NumPy-level ops it has kernels for
  (``ctc_loss``, ``ctc_greedy_decode``, ``ctc_beam_search``, ``lstm_forward``,
  ``lstm_backward``: every op but the convolutions, a CPU product; see :func:`implements`), and
  the MindSpore layers through the aot entries ``crnn_aot_<op>_cuda_emu``.
- ``cuda``: the CUDA kernels (a ``_C`` built with nvcc), for MindSpore's GPU target: the
  MindSpore layers through the aot entries ``crnn_aot_<op>_gpu`` on device memory; the
  NumPy-level API (host arrays) uses ``cpu``. With MindSpore's device_target GPU, the MindSpore
  layers of the default ``cpu`` backend run these entries (:func:`for_ms_target`).
  ``crnn_fast.dlpack`` runs the CUDA kernels on any framework's device tensors.
- ``ascend-emu``: the Ascend C kernels' source run on the CPU by our host model of the Ascend C
  API (``kernels/ascend/emu/``: a model written here, not CANN, not an NPU): the ops that have
  an Ascend C kernel (``ctc_loss``, ``ctc_greedy_decode``, ``lstm_forward``,
  ``lstm_backward``: all but the beam search and the convolutions; :func:`implements`), in the
  NumPy-level API and through the aot entries ``crnn_aot_<op>_ascend_emu``.
- ``ascend``: the Ascend C kernels built by CANN into the vendor package ``crnn_fast``
  (``kernels/ascend/cann_package.py``; never built on this project's machines), for MindSpore's
  Ascend target: the MindSpore layers as ``ops.Custom(func=<OpType>, func_type="aot")``
  (:data:`ASCEND_OP_TYPES`); usable where the package is installed (:func:`ascend_package`);
  the NumPy-level API uses ``cpu``.

A new backend is one :func:`register_backend` call plus one :func:`register` per op it
implements (in its own module); the public functions, the MindSpore layers and the test tables
pick it up from here.

The active backend is a :class:`contextvars.ContextVar`: :func:`backend_scope` changes it for
the current thread / asyncio task only, and nested scopes restore their outer value. Its
initial value is chosen once at import -- ``CRNN_FAST_BACKEND`` when set, else ``cpu`` when the
extension loaded, else ``numpy`` -- and logged. MindSpore layers read it once, at construction.

Op contract (``impl(op)(*args)``, positional; the compiled bindings' argument order):

- ``ctc_loss(logits, labels, input_lengths, label_lengths, blank, zero_infinity,
  compute_grad, num_threads, loss_out, grad_out) -> (loss, grad)``
- ``ctc_greedy_decode(scores, input_lengths, blank, input_kind, batch_first, num_threads)
  -> (ids, lengths, probs, frames)``
- ``ctc_beam_search(scores, input_lengths, blank, beam_width, top_n, top_k,
  logp_cutoff, input_kind, batch_first, num_threads) -> (ids, lengths, scores)``
- ``lstm_forward(x (T, B, I), params, hidden_size, num_layers, bidirectional, has_bias, h0,
  c0, seq_length, training, num_threads) -> (y, h_n, c_n, reserve)``
- ``lstm_backward(d_output, d_h_n, d_c_n, x, output, params, hidden_size, num_layers,
  bidirectional, has_bias, h0, c0, seq_length, reserve, num_threads) -> (dx, dh0, dc0, grads)``
- ``conv2d_forward(x, w, b, stride, pads, dilation, groups, relu, num_threads) -> y``
- ``conv2d_backward(d_y, x, w, stride, pads, dilation, groups, num_threads) -> (dx, dw, db)``
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import ModuleType

from . import _backend

log = logging.getLogger("crnn_fast")

MS_OPS = ("aot", "pyfunc", "stock")  # how a backend runs the MindSpore layers / Custom ops


@dataclass(frozen=True)
class Backend:
    """One registered backend.

    ``compiled()``: whether its code is built in; ``why_not()``: why it is not usable ('' when
    it is); ``ms_ops``: how the MindSpore ops run on it (``aot`` | ``pyfunc`` | ``stock`` |
    None: not at all); ``kernels_from``: for a backend without NumPy-level kernels of its
    own, the backends whose kernels it uses, first usable wins; ``aot_suffix``: an ``aot``
    backend's entry points are ``crnn_aot_<op><aot_suffix>``; ``ms_target``: the MindSpore
    device_target whose memory those entries take; ``aot_ops``: the ops with an entry (None:
    every op)."""

    name: str
    compiled: Callable[[], bool]
    why_not: Callable[[], str] = lambda: ""
    ms_ops: str | None = None
    kernels_from: tuple[str, ...] = ()
    impls: dict[str, Callable] = field(default_factory=dict)
    aot_suffix: str = ""
    ms_target: str = "CPU"
    aot_ops: tuple[str, ...] | None = None


# The aot ops of the accelerator backends: the CTC and LSTM kernels (convolutions, the CTC
# loss with its reduction fused -- ctc_loss_reduced + ctc_grad_scale -- and the multi-tensor
# AdamW step stay CPU products; elsewhere the per-sample loss with MindSpore's reduction, and
# the framework's own convolution and optimizer run).
ACCELERATOR_AOT_OPS = (
    "ctc_loss",
    "ctc_greedy",
    "lstm_forward_train",
    "lstm_forward_infer",
    "lstm_backward",
)

# The OpTypes of crnn_fast's CANN vendor package (kernels/ascend/op_host) per aot op: their
# inputs are the aot entry's, their outputs the entry's then ASCEND_EXTRA_OUTPUTS[op].
ASCEND_OP_TYPES = {
    "ctc_loss": "CrnnCtcLoss",
    "ctc_greedy": "CrnnCtcGreedy",
    "lstm_forward_train": "CrnnLstmForward",
    "lstm_forward_infer": "CrnnLstmForwardInfer",
    "lstm_backward": "CrnnLstmBackward",
}
ASCEND_VENDOR = "crnn_fast"


def ascend_package() -> str:
    """The directory of the installed ``crnn_fast`` CANN vendor package ('' when none): the
    first ``ASCEND_CUSTOM_OPP_PATH`` entry, else ``$ASCEND_OPP_PATH/vendors/crnn_fast``, that
    holds the aclnn header of every OpType (where MindSpore looks, in that order)."""
    dirs = [d for d in os.environ.get("ASCEND_CUSTOM_OPP_PATH", "").split(":") if d]
    if os.environ.get("ASCEND_OPP_PATH"):
        dirs.append(os.path.join(os.environ["ASCEND_OPP_PATH"], "vendors", ASCEND_VENDOR))
    for d in dirs:
        headers = [_aclnn_header(d, t) for t in ASCEND_OP_TYPES.values()]
        if all(os.path.isfile(h) for h in headers):
            return d
    return ""


def _aclnn_header(package: str, op_type: str) -> str:
    snake = "".join("_" + ch.lower() if ch.isupper() else ch for ch in op_type).lstrip("_")
    return os.path.join(package, "op_api", "include", f"aclnn_{snake}.h")


_BACKENDS: dict[str, Backend] = {}


def register_backend(
    name: str,
    compiled: Callable[[], bool],
    why_not: Callable[[], str] = lambda: "",
    ms_ops: str | None = None,
    kernels_from: tuple[str, ...] = (),
    aot_suffix: str = "",
    ms_target: str = "CPU",
    aot_ops: tuple[str, ...] | None = None,
) -> Backend:
    """Adds a backend (see :class:`Backend` for the fields); its ops follow with
    :func:`register`."""
    if name in _BACKENDS:
        raise ValueError(f"backend {name!r} is already registered")
    if ms_ops is not None and ms_ops not in MS_OPS:
        raise ValueError(f"ms_ops must be one of {MS_OPS} or None, got {ms_ops!r}")
    b = Backend(
        name,
        compiled,
        why_not,
        ms_ops,
        tuple(kernels_from),
        aot_suffix=aot_suffix,
        ms_target=ms_target,
        aot_ops=aot_ops,
    )
    _BACKENDS[name] = b
    return b


def register(backend: str, op: str) -> Callable[[Callable], Callable]:
    """Decorator: the function is ``op``'s implementation on ``backend`` (module docstring)."""

    def add(fn: Callable) -> Callable:
        _get(backend).impls[op] = fn
        return fn

    return add


def known() -> tuple[str, ...]:
    """Names of the registered backends, in registration order."""
    return tuple(_BACKENDS)


def _get(name: str) -> Backend:
    b = _BACKENDS.get(name)
    if b is None:
        raise ValueError(f"unknown crnn_fast backend {name!r}; known backends: {known()}")
    return b


def _reason(name: str, need_kernels: bool = True) -> str:
    """Why ``name`` is not usable ('' when it is); ``need_kernels=False`` skips the check that
    it has kernels (at import, before the op modules registered theirs)."""
    b = _get(name)
    why = b.why_not()
    if why:
        return why
    if not b.compiled():
        return "is not compiled into crnn_fast._C"
    if need_kernels and not b.impls and not any(usable(k) for k in b.kernels_from):
        return "has no kernels registered"
    return ""


def compiled(name: str) -> bool:
    """Whether backend ``name``'s code is built in (``ValueError`` for an unknown name)."""
    return bool(_get(name).compiled())


def usable(name: str) -> bool:
    """Whether backend ``name`` can be made active (``ValueError`` for an unknown name)."""
    return not _reason(name)


def check(name: str | None) -> str:
    """``name`` normalised (stripped, lower case) and checked usable, or the active backend
    when None. ``ValueError`` for an unknown name (listing the known ones), ``ImportError``
    for a known one that is not usable (saying why)."""
    if name is None:
        return active()
    norm = str(name).strip().lower()
    if norm not in _BACKENDS:
        raise ValueError(f"backend must be one of {known()}, got {name!r}")
    why = _reason(norm)
    if why:
        raise ImportError(f"backend {norm!r} {why}")
    return norm


def compiled_module() -> ModuleType:
    """The compiled extension ``crnn_fast._C`` (``ImportError`` saying why when it is not)."""
    if _backend._C is None:
        raise ImportError(f"crnn_fast._C is not compiled/loadable: {_backend._IMPORT_ERROR}")
    return _backend._C


def has_compiled_module() -> bool:
    """Whether ``crnn_fast._C`` loaded."""
    return _backend._C is not None


def kernel_backend(name: str | None = None) -> str:
    """The backend whose kernels run the NumPy-level ops (and the decoders) when ``name`` (the
    active backend when None) is active: itself, or the first usable of its ``kernels_from``."""
    b = _get(active() if name is None else name)
    if b.impls:
        return b.name
    for k in b.kernels_from:
        if usable(k):
            return k
    raise ImportError(f"backend {b.name!r} has no usable kernels (tried {b.kernels_from})")


def impl(op: str, backend: str | None = None) -> Callable:
    """The implementation of ``op`` on ``backend`` (the active one when None), following
    ``kernels_from``; ``ValueError`` for an unknown backend or op."""
    name = kernel_backend(backend)
    fn = _BACKENDS[name].impls.get(op)
    if fn is None:
        ops = sorted(_BACKENDS[name].impls)
        raise ValueError(f"backend {name!r} does not implement op {op!r} (it has {ops})")
    return fn


def implements(name: str, op: str) -> bool:
    """Whether backend ``name`` (following ``kernels_from``) has an implementation of ``op``."""
    try:
        impl(op, name)
    except (ValueError, ImportError):
        return False
    return True


def numpy_api_backends() -> list[str]:
    """The usable backends with NumPy-level kernels of their own (what the test tables run)."""
    return [n for n, b in _BACKENDS.items() if b.impls and usable(n)]


def ms_ops(name: str | None = None) -> str | None:
    """How the MindSpore layers/ops run on backend ``name`` (the active one when None):
    ``aot`` | ``pyfunc`` | ``stock`` | None."""
    return _get(active() if name is None else name).ms_ops


def aot_suffix(name: str | None = None) -> str:
    """The suffix of backend ``name``'s aot entry points (``crnn_aot_<op><suffix>``)."""
    return _get(active() if name is None else name).aot_suffix


def has_aot(name: str, op: str) -> bool:
    """Whether ``aot`` backend ``name`` has an entry point for ``op``."""
    b = _get(name)
    return b.ms_ops == "aot" and (b.aot_ops is None or op in b.aot_ops)


def for_ms_target(name: str, target: str) -> str:
    """The backend whose Custom ops run the MindSpore layers of backend ``name`` when
    MindSpore's device_target is ``target`` (``CPU``, ``GPU``, ``Ascend``): ``name`` itself
    when its entries take that target's memory (or it runs no aot entries); for the default
    ``cpu``, the usable ``aot`` backend of ``target`` (``cuda`` on GPU). ``ValueError`` saying
    what to do otherwise -- an entry given another device's memory would crash the process."""
    b = _get(name)
    if b.ms_ops != "aot" or b.ms_target == target:
        return name
    if name == "cpu":
        for n, o in _BACKENDS.items():
            if o.ms_ops == "aot" and o.ms_target == target and usable(n):
                return n
        why = "; ".join(
            f"{n!r} {_reason(n)}"
            for n, o in _BACKENDS.items()
            if o.ms_ops == "aot" and o.ms_target == target
        )
        raise ValueError(
            f"MindSpore's device_target is {target!r}, but this crnn_fast._C has no kernels for "
            f"it ({why or 'no backend for ' + target + ' yet'}). Reinstall crnn_fast with the "
            "toolkit on PATH (nvcc for GPU), or set CRNN_FAST_BACKEND=stock to run MindSpore's "
            "own layers."
        )
    raise ValueError(
        f"crnn_fast backend {name!r} runs MindSpore's {b.ms_target!r} target, but "
        f"device_target is {target!r}: use the default backend ('cpu', which picks the kernels "
        "of the device target) or CRNN_FAST_BACKEND=stock"
    )


def is_stock(name: str | None = None) -> bool:
    """Whether backend ``name`` (the active one when None) runs MindSpore's own layers."""
    return ms_ops(name) == "stock"


def fused_op_backends() -> tuple[str, ...]:
    """The backends a crnn_fast Custom op can be built for (``aot`` or ``pyfunc``)."""
    return tuple(n for n, b in _BACKENDS.items() if b.ms_ops in ("aot", "pyfunc"))


# ---- the active backend -------------------------------------------------------------------


def _choose() -> str:
    """The initial backend: ``CRNN_FAST_BACKEND`` when set, else cpu when compiled, else numpy."""
    forced = os.environ.get("CRNN_FAST_BACKEND", "").strip().lower()
    if forced:
        if forced not in _BACKENDS:
            raise ValueError(f"CRNN_FAST_BACKEND must be one of {known()}, got {forced!r}")
        if forced == "cpu" and _backend._C is None:
            raise ImportError(
                f"CRNN_FAST_BACKEND=cpu but crnn_fast._C failed: {_backend._IMPORT_ERROR}"
            )
        why = _reason(forced, need_kernels=False)
        if why:
            raise ImportError(f"CRNN_FAST_BACKEND={forced} but backend {forced!r} {why}")
        return forced
    return "cpu" if _backend._C is not None else "numpy"


def active() -> str:
    """The active backend of this thread / task."""
    return _ACTIVE.get()


def set_active(backend: str) -> str:
    """Makes ``backend`` (checked by :func:`check`) the active backend of the current context
    -- this thread or task, or a whole script -- until changed; prefer :func:`backend_scope`,
    which restores the previous one. Returns the name."""
    name = check(backend)
    _ACTIVE.set(name)
    return name


@contextmanager
def backend_scope(backend: str | None) -> Iterator[str]:
    """Makes ``backend`` (checked by :func:`check`; None: keep the active one) the active
    backend of this thread / task while the block runs, then restores the previous one.
    Yields the name."""
    name = check(backend)
    token = _ACTIVE.set(name)
    try:
        yield name
    finally:
        _ACTIVE.reset(token)


# ---- built-in backends (their ops register themselves in functional/) --------------------


def _build_info() -> dict:
    return {} if _backend._C is None else dict(_backend._C.build_info())


def _cpu_why() -> str:
    return "" if _backend._C is not None else f"needs crnn_fast._C: {_backend._IMPORT_ERROR}"


register_backend("cpu", has_compiled_module, _cpu_why, ms_ops="aot")
register_backend("numpy", lambda: True, ms_ops="pyfunc")
register_backend("stock", lambda: True, ms_ops="stock", kernels_from=("cpu", "numpy"))
register_backend(
    "cuda",
    lambda: bool(_build_info().get("cuda_compiled", False)),
    ms_ops="aot",
    kernels_from=("cpu", "numpy"),
    aot_suffix="_gpu",
    ms_target="GPU",
    aot_ops=ACCELERATOR_AOT_OPS,
)
register_backend(
    "cuda-emu",
    lambda: bool(_build_info().get("cuda_emu_compiled", False)),
    ms_ops="aot",
    aot_suffix="_cuda_emu",
    aot_ops=ACCELERATOR_AOT_OPS,
)
register_backend(
    "ascend-emu",
    lambda: bool(_build_info().get("ascend_emu_compiled", False)),
    ms_ops="aot",
    aot_suffix="_ascend_emu",
    aot_ops=ACCELERATOR_AOT_OPS,
)

register_backend(
    "ascend",
    lambda: bool(ascend_package()),
    lambda: (
        ""
        if ascend_package()
        else "needs crnn_fast's CANN vendor package (kernels/ascend/CANN.md) on "
        "ASCEND_CUSTOM_OPP_PATH or in $ASCEND_OPP_PATH/vendors"
    ),
    ms_ops="aot",
    kernels_from=("cpu", "numpy"),
    ms_target="Ascend",
    aot_ops=tuple(ASCEND_OP_TYPES),
)

_INITIAL = _choose()
_ACTIVE: ContextVar[str] = ContextVar("crnn_fast_backend", default=_INITIAL)
if _INITIAL == "numpy" and _backend._C is None:
    log.warning("crnn_fast._C not available (%s); using the NumPy fallback", _backend._IMPORT_ERROR)
else:
    log.info("crnn_fast backend: %s", _INITIAL)


def report() -> dict[str, dict[str, bool]]:
    """``{name: {"compiled", "usable", "active"}}`` for every registered backend."""
    act = active()
    return {
        n: {"compiled": compiled(n), "usable": usable(n), "active": n == act} for n in _BACKENDS
    }


def backends() -> dict:
    """What was compiled and what is in use: ``{"active", "numpy", "cpu", "cuda", "cuda_emu",
    "ascend", "ascend_emu", "build" (compiled) | "import_error" (not), "registry"}``;
    ``registry`` is :func:`report` (each backend's compiled / usable / active)."""
    info: dict = {"active": active(), "numpy": True, "cpu": _backend._C is not None}
    if _backend._C is not None:
        build = _build_info()
        info["cuda"] = bool(build.pop("cuda_compiled"))
        build.pop("ascend_compiled", None)
        info["ascend"] = bool(ascend_package())
        info["cuda_emu"] = bool(build.pop("cuda_emu_compiled", False))
        info["ascend_emu"] = bool(build.pop("ascend_emu_compiled", False))
        build["blas"] = _backend.scipy_openblas32.get_openblas_config().strip()
        info["build"] = build
    else:
        info["cuda"] = info["ascend"] = False
        info["import_error"] = _backend._IMPORT_ERROR
    info["registry"] = report()
    return info
