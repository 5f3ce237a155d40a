"""Loading of the compiled extension ``crnn_fast._C`` (once, at import).

Only :mod:`crnn_fast.registry` reads this module: it decides which backend runs each op
(``CRNN_FAST_BACKEND``, ``backend_scope``) and hands out the extension through
``registry.compiled_module()``. ``_C`` is None when the extension is not compiled or does not
load (``_IMPORT_ERROR`` says why).
"""

from __future__ import annotations

import sys
from types import ModuleType

_C: ModuleType | None
scipy_openblas32: ModuleType | None = None
try:
    import scipy_openblas32  # noqa: F401  loads libscipy_openblas.so, which _C links to

    from . import _C  # type: ignore[attr-defined]

    _IMPORT_ERROR: str | None = None
except ImportError as exc:  # not compiled, or built for another Python
    _C = None
    _IMPORT_ERROR = str(exc)


class _Module(ModuleType):
    """Refuses the retired module-global backend string: a write would silently do nothing."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "BACKEND":
            raise AttributeError(
                "crnn_fast._backend.BACKEND is gone: use crnn_fast.registry.backend_scope(name)"
            )
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Module
