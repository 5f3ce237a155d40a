"""The multi-tensor AdamW step as one MindSpore op (aot entry ``adamw``: crnn/adamw.h).

``adamw_step_op(backend)`` is an ``ops.Custom`` over ``6 n + 3`` inputs -- n parameters, their
m and v (all three updated in place), n gradients, n learning rates and n weight decays
(float32 scalars, already scaled for MindOCR's bias correction), beta1, beta2, eps -- returning
a (1,) float32 zero. The update is MindSpore's ``AdamWeightDecay``'s, bit for bit, for all
tensors in one call (one pass over memory split over the pool's threads) instead of one op per
tensor. The op is marked ``side_effect_mem`` (as MindSpore's own Assign is): without it GRAPH
mode neither orders reads of the parameters after the update nor keeps the update in place.
Only backends with the entry (``cpu``: :func:`has_adamw_step`) run it; the others keep
MindSpore's per-tensor op.
"""

from __future__ import annotations

from mindspore import dtype as mstype
from mindspore import ops

from . import _custom as c


def has_adamw_step(backend: str) -> bool:
    """Whether ``backend`` runs the multi-tensor AdamW step on the current device target (False
    where its kernels do not fit the target: the optimizer then uses MindSpore's own op)."""
    try:
        return c.has_aot(backend, "adamw")
    except ValueError:
        return False


def _out_shape(*shapes):
    c.require(
        len(shapes) >= 3 and (len(shapes) - 3) % 6 == 0,
        f"the AdamW step takes 6 n + 3 inputs, got {len(shapes)}",
    )
    n = (len(shapes) - 3) // 6
    for k in range(n):
        for part, name in enumerate(("m", "v", "grad")):
            got = tuple(shapes[(part + 1) * n + k])
            c.require(
                got == tuple(shapes[k]),
                f"{name} {k} must have its parameter's shape {tuple(shapes[k])}, got {got}",
            )
    return [1]


def _out_dtype(*dtypes):
    for i, d in enumerate(dtypes):
        c.require_float32(d, f"AdamW step input {i}")
    return mstype.float32


def adamw_step_op(backend: str) -> ops.Custom:
    """The op (module docstring) for ``backend`` (``ValueError`` when it has no entry)."""
    op = c.custom(c.aot_entry(backend, "adamw"), _out_shape, _out_dtype)
    op.add_prim_attr("side_effect_mem", True)
    return op
