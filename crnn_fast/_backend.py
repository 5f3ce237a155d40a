"""Backend selection: the compiled extension when it loads, else the NumPy reference.

Chosen once at import, logged, and forced with ``CRNN_FAST_BACKEND=cpu|numpy|stock``.
``stock`` makes the MindSpore layers (``crnn_fast.nn``) run MindSpore's own ops, for A/B runs;
the NumPy-level functions then use the compiled kernels when they loaded.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

log = logging.getLogger("crnn_fast")

_C: ModuleType | None
scipy_openblas32: ModuleType | None = None
try:
    import scipy_openblas32  # noqa: F401  loads libscipy_openblas.so, which _C links to

    from . import _C  # type: ignore[attr-defined]

    _IMPORT_ERROR: str | None = None
except ImportError as exc:  # not compiled, or built for another Python
    _C = None
    _IMPORT_ERROR = str(exc)

KNOWN_BACKENDS = ("cpu", "numpy", "stock")


def _choose() -> str:
    forced = os.environ.get("CRNN_FAST_BACKEND", "").strip().lower()
    if forced:
        if forced not in KNOWN_BACKENDS:
            raise ValueError(f"CRNN_FAST_BACKEND must be one of {KNOWN_BACKENDS}, got {forced!r}")
        if forced == "cpu" and _C is None:
            raise ImportError(f"CRNN_FAST_BACKEND=cpu but crnn_fast._C failed: {_IMPORT_ERROR}")
        return forced
    return "cpu" if _C is not None else "numpy"


BACKEND = _choose()
if BACKEND == "numpy" and _C is None:
    log.warning("crnn_fast._C not available (%s); using the NumPy fallback", _IMPORT_ERROR)
else:
    log.info("crnn_fast backend: %s", BACKEND)


def backends() -> dict:
    """What was compiled and what is in use: ``{"active", "cpu", "cuda", "ascend", ...}``."""
    info: dict = {"active": BACKEND, "numpy": True, "cpu": _C is not None}
    if _C is not None:
        build = dict(_C.build_info())
        info["cuda"] = bool(build.pop("cuda_compiled"))
        build["blas"] = scipy_openblas32.get_openblas_config().strip()
        info["build"] = build
    else:
        info["cuda"] = False
        info["import_error"] = _IMPORT_ERROR
    info["ascend"] = False
    return info


def use_compiled() -> bool:
    """Whether the NumPy-level API runs the compiled kernels."""
    return _C is not None and BACKEND != "numpy"
