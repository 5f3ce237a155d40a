"""MindOCR-style YAML configs: loading, ``-o key.sub=value`` overrides, dotted access.

A config is a plain nested ``dict`` with MindOCR's sections (``system``, ``common``, ``model``,
``postprocess``, ``metric``, ``loss``, ``scheduler``, ``optimizer``, ``loss_scaler``, ``train``,
``eval``, optional ``predict``). YAML anchors/aliases (``*batch_size``) resolve on load, as in
MindOCR. Override values are parsed as YAML scalars: ``-o train.loader.batch_size=32`` gives an
int, ``-o system.distribute=False`` a bool, ``-o eval.dataset.data_dir=[a,b]`` a list. Keys
are checked against ``config_schema.SCHEMA`` (MindOCR's keys and crnn_fast's) after the
overrides: a typo is an error, not a silently ignored value.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import yaml

from .config_schema import validate

log = logging.getLogger("crnn_fast")

__all__ = ["apply_overrides", "get", "load_config"]

REQUIRED = ("system", "model", "loss", "optimizer", "scheduler", "train")


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    """The YAML file at ``path`` as a dict, with ``overrides`` (``key.sub=value``) applied,
    then checked against ``config_schema.SCHEMA``: an unknown key, in the file or from an
    override, raises ``ConfigKeyError`` naming it and the closest known key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    with path.open(encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict):
        raise ValueError(f"config {path} must be a YAML mapping, got {type(cfg).__name__}")
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise ValueError(f"config {path} lacks the section(s) {missing}")
    overrides = list(overrides or [])
    cfg = apply_overrides(cfg, overrides)
    ignored = validate(cfg, source=path, overrides=overrides)
    if ignored:
        log.debug("config %s: MindOCR keys without effect in crnn_fast: %s", path, ignored)
    return cfg


def apply_overrides(cfg: dict, overrides: list[str]) -> dict:
    """A copy of ``cfg`` with each ``a.b.c=value`` set (intermediate mappings are created)."""
    cfg = copy.deepcopy(cfg)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r} must look like key.sub=value")
        parts = key.strip().split(".")
        node = cfg
        for p in parts[:-1]:
            child = node.get(p)
            if child is None:
                child = node[p] = {}
            if not isinstance(child, dict):
                raise ValueError(f"override {item!r}: {p!r} is not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else None
    return cfg


def get(cfg: dict, dotted: str, default: Any = None) -> Any:
    """``cfg['a']['b']`` for ``'a.b'``, or ``default`` when any part is missing."""
    node: Any = cfg
    for p in dotted.split("."):
        if not isinstance(node, dict) or p not in node:
            return default
        node = node[p]
    return node
