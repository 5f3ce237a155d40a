"""Name -> constructor registries of the model parts, as MindOCR's ``register_backbone`` /
``build_neck`` / ``build_head`` (the names a YAML ``model:`` section uses)."""

from __future__ import annotations

from collections.abc import Callable

BACKBONES: dict[str, Callable] = {}
NECKS: dict[str, Callable] = {}
HEADS: dict[str, Callable] = {}


def _register(table: dict[str, Callable], kind: str) -> Callable[[Callable], Callable]:
    def deco(fn: Callable) -> Callable:
        name = fn.__name__
        if name in table and table[name] is not fn:
            raise ValueError(f"{kind} {name!r} is already registered")
        table[name] = fn
        return fn

    return deco


register_backbone = _register(BACKBONES, "backbone")
register_neck = _register(NECKS, "neck")
register_head = _register(HEADS, "head")


def lookup(table: dict[str, Callable], kind: str, name: str) -> Callable:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; known: {sorted(table)}") from None
