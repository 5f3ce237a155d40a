"""``BaseModel``: backbone -> neck -> head from a MindOCR ``model:`` config (contract
``MINDOCR_CRNN.md`` section 1.0), with the attributes ``backbone``, ``neck``, ``head`` so that
parameter names are MindOCR's (``backbone.conv3.bn.gamma``, ``neck.seq_encoder.weight_ih_l0``,
``head.dense1.weight``) and a ``mindspore.save_checkpoint`` of MindOCR's model loads as is.
"""

from __future__ import annotations

import copy

from mindspore import nn

from . import _layers
from ._registry import BACKBONES, HEADS, NECKS, lookup

__all__ = ["BaseModel"]


def _named(section, kind: str) -> tuple[str, dict]:
    if not isinstance(section, dict) or not section.get("name"):
        raise ValueError(f"model config: {kind} must be a mapping with a 'name', got {section!r}")
    kwargs = copy.deepcopy(section)
    return kwargs.pop("name"), kwargs


class BaseModel(nn.Cell):
    """x (B, 3, H, W) -> backbone -> [(B, C, 1, T)] -> neck -> (T, B, D) -> head -> training:
    logits (T, B, num_classes); inference: probabilities (B, T, num_classes).

    ``config``: ``{"backbone": {"name": ..., **kw}, "neck": {...}, "head": {...}}`` plus the
    optional MindOCR keys ``type`` ("rec") and ``transform`` (must be None); the neck gets
    ``in_channels=backbone.out_channels`` and the head ``in_channels=neck.out_channels``.
    ``backend``: ``cpu`` | ``numpy`` | ``stock`` (default: crnn_fast's active backend): the
    convolutions and the LSTM are crnn_fast's, or MindSpore's own with ``stock``; the
    parameters are the same either way. Kept as ``self.backend``.
    """

    def __init__(self, config: dict, backend: str | None = None) -> None:
        super().__init__()
        if config.get("type", "rec") not in ("rec", None):
            raise ValueError(f"only recognition models (type: rec), got type {config['type']!r}")
        if config.get("transform"):
            raise ValueError("model transforms (e.g. STN) are unsupported: transform must be null")
        names = {}
        with _layers.backend_scope(backend) as chosen:
            self.backend = chosen
            name, kw = _named(config.get("backbone"), "backbone")
            self.backbone = lookup(BACKBONES, "backbone", name)(**kw)
            names["backbone"] = name
            name, kw = _named(config.get("neck"), "neck")
            self.neck = lookup(NECKS, "neck", name)(in_channels=self.backbone.out_channels, **kw)
            names["neck"] = name
            name, kw = _named(config.get("head"), "head")
            self.head = lookup(HEADS, "head", name)(in_channels=self.neck.out_channels, **kw)
            names["head"] = name
        self.model_name = "_".join(names.values())
        self.transform = None

    def construct(self, x):
        features = self.backbone(x)
        seq = self.neck(features)
        return self.head(seq)
