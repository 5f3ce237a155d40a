"""Plumbing shared by the MindSpore custom ops: backend, aot library, placeholders, errors.

An aot op is ``ops.Custom("<path of crnn_fast._C>:<entry>", func_type="aot")``; the NumPy
fallback is the same op as ``func_type="pyfunc"`` over the float64 reference. Shape and dtype
errors are raised by the ops' shape/dtype inference (a ``ValueError``/``TypeError`` at the call
in PYNATIVE, at compile time in GRAPH mode). Value errors found inside an aot kernel (a label
out of range, NaN in the logits) reach MindSpore as ``RuntimeError: Return value from CPU (GPU) AOT
kernel(...)'s function(...) is N`` (N = ``crnn_status_t``: 1 invalid value, 2 NaN or +Inf, 6 a
frame that is -inf for every class); the kernel prints its message to stderr first and
``last_error()`` returns it. crnn_fast's Cells turn that into a ``ValueError``
(``MemoryError``, ``RuntimeError``) carrying the kernel's message (``kernel_error``); only a
user's own compiled graph around them shows MindSpore's.

PYNATIVE runs ops asynchronously: a failed aot kernel leaves its outputs without memory and
MindSpore reports the failure at some later call, while the ops already queued behind it read
null device addresses and can kill the process (MindSpore 2.10). So every fused op is a
:class:`FusedOpCell`: in PYNATIVE it waits for its kernel before returning and raises the
kernel's message there (``ValueError`` for invalid values / NaN, ``MemoryError``,
``RuntimeError``), before anything consumes its outputs. In GRAPH mode the failure raises from
the graph call, and MindSpore refuses to run that compiled graph again ("An error occurred in
the previous step of this model execution"): a new Cell, or another input shape, compiles anew.
The wait costs one round trip of MindSpore's PYNATIVE pipeline per fused op (1.5-2 ms measured
on a busy 2-core machine); GRAPH mode, where training runs by default, does not wait.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops

from .. import registry

# Stand-in for an absent optional input (the entry's config says not to read it).
NONE_I32 = Tensor(np.zeros(1, np.int32))


def backend() -> str:
    """The active backend: ``cpu`` (aot), ``numpy`` (pyfunc) or ``stock`` (an alias of
    ``crnn_fast.registry.active()``, kept for ``crnn_fast.ops.backend``)."""
    return registry.active()


def op_flavour(backend: str, owner: str) -> str:
    """How a fused op of ``owner`` (a class name, for the message) runs on ``backend``:
    ``"aot"`` (an entry of ``_C``) or ``"pyfunc"`` (the NumPy reference). ``ValueError`` for a
    backend with no fused ops (``stock``) or an unknown one."""
    names = registry.fused_op_backends()
    kind = registry.ms_ops(backend) if backend in registry.known() else None
    if kind not in ("aot", "pyfunc"):
        listed = " or ".join(repr(n) for n in names)
        raise ValueError(f"{owner} backend must be {listed}, got {backend!r}")
    return kind


def ms_device_target() -> str:
    """MindSpore's device_target: ``CPU``, ``GPU`` or ``Ascend``."""
    return str(ms.get_context("device_target"))


def aot_backend(backend: str) -> str:
    """The backend whose aot entries run ``backend``'s MindSpore ops on the current device
    target (``registry.for_ms_target``: ``cpu`` becomes ``cuda`` on GPU)."""
    return registry.for_ms_target(backend, ms_device_target())


def has_aot(backend: str, op: str) -> bool:
    """Whether ``backend`` runs ``op`` as an aot entry on the current device target (False
    for pyfunc / stock backends; raises like :func:`aot_backend` for a wrong target)."""
    return registry.ms_ops(backend) == "aot" and registry.has_aot(aot_backend(backend), op)


def aot_entry(backend: str, op: str) -> str:
    """The aot entry point of ``op`` for ``backend`` on the current device target:
    ``crnn_aot_<op>`` (cpu), ``crnn_aot_<op>_gpu`` (cuda: MindSpore's GPU target) or
    ``crnn_aot_<op>_cuda_emu`` (the CUDA kernels on the SIMT executor), or on MindSpore's
    Ascend target the OpType of crnn_fast's CANN package (``CrnnCtcGreedy``,
    ``CrnnLstmForward`` ...). ``ValueError`` when that backend has no entry for ``op`` or the
    target has no kernels."""
    name = aot_backend(backend)
    if not registry.has_aot(name, op):
        raise ValueError(f"crnn_fast backend {name!r} has no aot kernel for {op!r}")
    if name == "ascend":
        return registry.ASCEND_OP_TYPES[op]
    return f"crnn_aot_{op}{registry.aot_suffix(name)}"


def last_error() -> str:
    """Message of the last failed aot kernel (or NumPy pyfunc) call ('' if none failed)."""
    aot = registry.compiled_module().aot_last_error() if registry.has_compiled_module() else ""
    return aot or _PY_LAST_ERROR[0]


def aot_library() -> str:
    """Path of the shared library holding the aot entry points (``crnn_fast._C``)."""
    try:
        lib = registry.compiled_module()
    except ImportError as exc:
        raise RuntimeError(str(exc)) from None
    path = os.path.realpath(lib.__file__)
    allowed = os.environ.get("MS_CUSTOM_AOT_WHITE_LIST")
    if allowed and not path.startswith(os.path.realpath(allowed) + os.sep):
        raise RuntimeError(
            f"MS_CUSTOM_AOT_WHITE_LIST={allowed!r} excludes crnn_fast's aot library {path!r}: "
            "MindSpore refuses aot libraries outside that directory. Unset it, point it at a "
            "directory containing the library, or run with CRNN_FAST_BACKEND=numpy|stock."
        )
    return path


_PY_LAST_ERROR = [""]
_PY_PENDING: list[Exception | None] = [None]  # a pyfunc error not yet raised (PYNATIVE)


def is_pynative() -> bool:
    return ms.get_context("mode") == ms.PYNATIVE_MODE


class EagerCheckCell(nn.Cell):
    """A Cell whose ``construct`` may validate input values on the host when it runs eagerly.

    ``self.eager`` is True only while ``__call__`` runs in PYNATIVE mode; inside a compiled
    graph (GRAPH mode, ``ms.jit``, or as part of a compiled parent) it is False, so a branch
    ``if self.eager: check(...)`` is removed at compile time.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eager = False

    def __call__(self, *args, **kwargs):
        self.eager = is_pynative()
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if self.eager:
                _reset_pynative_grad()
            err = kernel_error(exc)  # GRAPH: a kernel failure of the compiled graph
            if err is not None:
                raise err from exc
            raise
        finally:
            self.eager = False


def _reset_pynative_grad() -> None:
    """MindSpore 2.10 keeps a half-built PYNATIVE grad graph after an exception inside
    ``value_and_grad`` and every later grad call fails ("Only support integers ... as index");
    clearing the executor's resources restores it (private API, so best effort)."""
    try:
        from mindspore.common.api import _pynative_executor

        _pynative_executor.clear_res()
    except Exception:  # noqa: BLE001  (a missing private API must not mask the real error)
        pass


class Float32Cell(nn.Cell):
    """A Cell that stays float32 under mixed precision (``to_float(float16)``, AMP O2/O3): its
    kernels compute in float32, so MindSpore must cast its op inputs to float32, not float16."""

    def add_flags_recursive(self, **flags):
        if flags.get("fp16") or flags.get("bf16"):
            flags = {**flags, "fp16": False, "bf16": False, "fp32": True}
        return super().add_flags_recursive(**flags)


class FusedOpCell(Float32Cell):
    """The Cell of one fused op (see the module docstring): in PYNATIVE, ``__call__`` waits for
    the op and raises a failure of its kernel (aot return code, or a NumPy pyfunc error that
    ``guarded_pyfunc`` caught) at this call. Compiled graphs never run ``__call__`` of inner
    Cells; called as the graph itself, a kernel failure becomes the same exception."""

    def __init__(self, op=None) -> None:
        super().__init__()
        if op is not None:  # FusedOpCell(an ops.Custom): that op as a Cell
            self.op = op

    def construct(self, *args):
        return self.op(*args)

    def __call__(self, *args, **kwargs):
        if not is_pynative():
            try:
                return super().__call__(*args, **kwargs)
            except RuntimeError as exc:
                err = kernel_error(exc)
                if err is not None:
                    raise err from exc
                raise
        _PY_PENDING[0] = None
        try:
            out = super().__call__(*args, **kwargs)
            raise_pending_error(out)
        except Exception:
            _reset_pynative_grad()
            raise
        return out


# crnn_status_t codes (kernels/include/crnn/status.h) -> the exception a failed kernel raises.
_STATUS_ERRORS = {1: ValueError, 2: ValueError, 3: MemoryError, 6: ValueError}  # crnn_status_t
_AOT_FAILURE = re.compile(
    r"(?:CPU|GPU) AOT kernel\(([^)]*)\)'s function\((crnn_aot_\w+)\) is (-?\d+)"
)


def kernel_error(exc: BaseException) -> Exception | None:
    """The Python exception for MindSpore's ``RuntimeError`` reporting a failed crnn_fast aot
    kernel (ValueError / MemoryError / RuntimeError carrying the kernel's own message), or None
    when ``exc`` is something else."""
    m = _AOT_FAILURE.search(str(exc)) if isinstance(exc, RuntimeError) else None
    if m is None or not registry.has_compiled_module():
        return None
    entry, code = m.group(2)[len("crnn_aot_") :], int(m.group(3))
    for suffix in {registry.aot_suffix(b) for b in registry.known()} - {""}:
        entry = entry.removesuffix(suffix)  # a backend's twin stores its message as the op's
    msg = registry.compiled_module().aot_last_error()
    if f"crnn_fast aot {entry}:" not in msg:  # (no message stored for this entry)
        msg = f"crnn_fast aot {entry}: kernel failed with status {code}"
    return _STATUS_ERRORS.get(code, RuntimeError)(msg)


def raise_pending_error(out) -> None:
    """PYNATIVE: waits for the op that produced ``out`` (a Tensor or a tuple of them) and
    raises a failure of a crnn_fast kernel as a Python exception carrying the kernel's message
    (``last_error()``); any other failure propagates unchanged."""
    try:
        _wait_for(out)
    except RuntimeError as exc:
        err = kernel_error(exc)
        if err is None:
            raise
        raise err from None
    err, _PY_PENDING[0] = _PY_PENDING[0], None
    if err is not None:
        raise err


def _wait_for(out) -> None:
    """Blocks until ``out`` is computed by reading its smallest tensor back to the host (CPU
    tensors: a copy of a few bytes). ``ms.runtime.synchronize`` is not an option: on CPU its
    first call only logs "CPU device is not supported" and returns."""
    tensors = [t for t in (out if isinstance(out, (tuple, list)) else (out,)) if _is_tensor(t)]
    if tensors:
        min(tensors, key=lambda t: t.size).asnumpy()


def _is_tensor(t) -> bool:
    return isinstance(t, Tensor) and hasattr(t, "asnumpy")


def host(t) -> np.ndarray:
    """A (small) tensor's values on the host, for eager checks."""
    return t.asnumpy() if hasattr(t, "asnumpy") else np.asarray(t)


def guarded_pyfunc(fn: Callable, fail_outputs: Callable, *arrays):
    """Runs a pyfunc body. An exception raised in a pyfunc kills the process in PYNATIVE mode
    (MindSpore 2.10 segfaults), so there it is printed, kept for ``last_error()`` and for
    ``FusedOpCell`` to raise once the op returned, and the op returns ``fail_outputs(*arrays)``
    (NaN / -1 filled); in GRAPH mode it propagates. (The pyfunc itself must list its
    parameters: MindSpore reads ``*args`` as a tuple input.)"""
    try:
        return fn(*arrays)
    except Exception as exc:
        if not is_pynative():
            raise
        msg = f"crnn_fast pyfunc {getattr(fn, '__name__', 'op')}: {type(exc).__name__}: {exc}"
        _PY_LAST_ERROR[0] = msg
        kind = type(exc) if isinstance(exc, (ValueError, TypeError, MemoryError)) else ValueError
        _PY_PENDING[0] = kind(msg)
        print(msg, file=sys.stderr)
        return fail_outputs(*arrays)


def custom(
    entry_or_fn: str | Callable,
    out_shape: Callable,
    out_dtype: Callable,
    bprop: Callable | None = None,
) -> ops.Custom:
    """An aot op for an entry name of ``_C`` (or an OpType of the CANN package: an
    :class:`AscendCustom`), or a pyfunc op for a Python function."""
    if isinstance(entry_or_fn, str) and not entry_or_fn.startswith("crnn_aot_"):
        return AscendCustom(entry_or_fn, out_shape, out_dtype, bprop)
    if isinstance(entry_or_fn, str):
        func, func_type = f"{aot_library()}:{entry_or_fn}", "aot"
    else:
        func, func_type = entry_or_fn, "pyfunc"
    return ops.Custom(
        func, out_shape=out_shape, out_dtype=out_dtype, func_type=func_type, bprop=bprop
    )


def int_config(*values: int) -> Tensor:
    """A small int32 tensor of entry options."""
    return Tensor(np.asarray(values, np.int32))


def require(ok: bool, msg: str) -> None:
    if not ok:
        raise ValueError(msg)


def require_static(shape, name: str) -> None:
    """MindSpore cannot run these aot ops on dynamic shapes (its runtime fails inside, with no
    useful message), so refuse them at compile time."""
    if any(d < 0 for d in shape):
        raise ValueError(
            f"crnn_fast's fused ops need static shapes, got {name} shape {tuple(shape)}; do not "
            f"mark its dimensions dynamic (set_inputs with None); MindSpore recompiles per shape"
        )


def element_type(dtype):
    """The element type of a dtype handed to out_dtype (a TensorType there)."""
    return dtype.element_type() if hasattr(dtype, "element_type") else dtype


def require_float32(dtype, name: str) -> None:
    from mindspore import dtype as mstype

    if element_type(dtype) != mstype.float32:
        raise TypeError(f"{name} must be float32 (the layers cast for you), got {dtype}")


def require_int32(dtype, name: str) -> None:
    from mindspore import dtype as mstype

    if element_type(dtype) != mstype.int32:
        raise TypeError(f"{name} must be int32, got {dtype}")


# Outputs of the CANN package's ops after the aot entry's: (output whose shape it has, or None
# for (1,); dtype name). Every op ends with ``error``, its device error key.
ASCEND_EXTRA_OUTPUTS = {
    "CrnnCtcLoss": ((None, "uint64"),),
    "CrnnCtcGreedy": ((0, "int32"), (None, "uint64")),
    "CrnnLstmForward": ((None, "uint64"),),
    "CrnnLstmForwardInfer": ((None, "uint64"),),
    "CrnnLstmBackward": ((None, "uint64"),),
}
_NO_ERROR = 2**64 - 1


class AscendCustom(nn.Cell):
    """An op of crnn_fast's CANN vendor package on MindSpore's Ascend target: ``ops.Custom(
    func=<OpType>, func_type="aot")`` with the aot entry's inputs (a config the tiling reads on
    the host: the CTC ops' int32 values are value-depend, the LSTM ops' (L, D, H) is its shape)
    and outputs, followed by the :data:`ASCEND_EXTRA_OUTPUTS` (the last is the device error
    key). Called, it returns the aot entry's outputs only, as a tuple (every op of the package
    has several). In PYNATIVE it reads the key and raises ``ValueError`` naming the sample (and
    frame) of the first failure, as the other targets do; inside a compiled graph the key is
    dropped unread (a failed sample's outputs are the kernel's documented padding).
    NOT RUN HERE: no Ascend device exists on this project's machines."""

    def __init__(self, op_type: str, out_shape: Callable, out_dtype: Callable, bprop=None):
        super().__init__()
        from mindspore import dtype as mstype

        self.op_type = op_type
        extra = ASCEND_EXTRA_OUTPUTS[op_type]
        self.n_extra = len(extra)  # (a constant: GRAPH mode reads it when it parses construct)

        def shapes(*ins):
            base = out_shape(*ins)
            multi = bool(base) and isinstance(base[0], (list, tuple))
            base = list(base) if multi else [base]
            return (*base, *[list(base[i]) if i is not None else [1] for i, _ in extra])

        def dtypes(*ins):
            base = out_dtype(*ins)
            base = list(base) if isinstance(base, (list, tuple)) else [base]
            return (*base, *[getattr(mstype, t) for _, t in extra])

        self.prim = ops.Custom(
            op_type, out_shape=shapes, out_dtype=dtypes, func_type="aot", bprop=bprop
        )

    def construct(self, *args):
        outs = self.prim(*args)
        return outs[: -self.n_extra]

    def __call__(self, *args):
        if not is_pynative():
            return super().__call__(*args)
        outs = self.prim(*args)
        check_ascend_error(self.op_type, int(host(outs[-1]).reshape(-1)[0]))
        return tuple(outs[: -self.n_extra])


def check_ascend_error(op_type: str, key: int) -> None:
    """Raises ``ValueError`` for a device error key of ``op_type`` (all ones: no error)."""
    key &= _NO_ERROR  # (an int64 view of the uint64 key is negative)
    if key == _NO_ERROR:
        return
    status, index, frame, text = registry.compiled_module().device_error_decode(key)
    where = f"batch index {index}" + (f", frame {frame}" if frame >= 0 else "")
    kind = _STATUS_ERRORS.get(status, RuntimeError)
    raise kind(f"crnn_fast Ascend {op_type}: {text} ({where})")
