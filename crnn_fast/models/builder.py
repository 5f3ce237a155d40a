"""The CRNN variants by name, MindOCR-YAML ``model:`` sections, and the character dicts.

``build_model("crnn_vgg7" | "crnn_resnet34" | "crnn_resnet34_ch", num_classes=None,
backend=None, **kw)`` and ``build_model_from_config(cfg)`` return a ``BaseModel``;
``VARIANTS[name]`` (``ModelSpec``) holds what the rest of a recipe needs (input size, classes,
max label length, frames, dictionary).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from ..charset import load_charset
from .base_model import BaseModel

__all__ = [
    "VARIANTS",
    "ModelSpec",
    "build_model",
    "build_model_from_config",
    "character_dict_path",
    "load_checkpoint_strict",
    "num_classes_of_dict",
]

DICT_DIR = Path(__file__).resolve().parent / "dicts"


def character_dict_path(name: str) -> str:
    """Path of a character dict shipped with crnn_fast (MindOCR's ``mindocr/utils/dict/``):
    ``ch_dict.txt`` (6623 chars), ``en_dict.txt`` (94), ``en_dict90.txt`` (90); the ".txt"
    may be left out."""
    file = DICT_DIR / (name if name.endswith(".txt") else f"{name}.txt")
    if not file.is_file():
        known = sorted(p.name for p in DICT_DIR.glob("*.txt"))
        raise FileNotFoundError(f"no character dict {name!r} in crnn_fast; known: {known}")
    return str(file)


def num_classes_of_dict(path: str | os.PathLike | None, use_space_char: bool = False) -> int:
    """Classes of a CTC model over a dict, as MindOCR's ``RecCTCLabelEncode`` counts them: one
    char per line (+ " " with ``use_space_char`` if absent) + the blank; None: the default
    36 chars "0-9a-z" + blank = 37."""
    return len(load_charset(path, use_space_char)[0]) + 1


@dataclass(frozen=True)
class ModelSpec:
    """A CRNN variant: its MindOCR ``model:`` section and recipe numbers.
    ``input_size`` (C, H, W); ``pred_seq_len`` = T of the output; ``max_text_len`` = the
    label length the configs pad to; ``dict_name``: None (the default 36 chars) or a dict
    shipped under ``crnn_fast/models/dicts``."""

    model: dict
    input_size: tuple[int, int, int]
    num_classes: int
    max_text_len: int
    pred_seq_len: int
    dict_name: str | None = None

    @property
    def character_dict_path(self) -> str | None:
        return None if self.dict_name is None else character_dict_path(self.dict_name)


def _crnn(backbone: str, hidden_size: int, num_classes: int) -> dict:
    return {
        "type": "rec",
        "transform": None,
        "backbone": {"name": backbone, "pretrained": False},
        "neck": {"name": "RNNEncoder", "hidden_size": hidden_size},
        "head": {
            "name": "CTCHead",
            "out_channels": num_classes,
            "weight_init": "crnn_customised",
            "bias_init": "crnn_customised",
        },
    }


VARIANTS: dict[str, ModelSpec] = {
    # mindocr/models/rec_crnn.py and configs/rec/crnn/*.yaml
    "crnn_vgg7": ModelSpec(_crnn("rec_vgg7", 256, 37), (3, 32, 100), 37, 23, 24),
    "crnn_resnet34": ModelSpec(_crnn("rec_resnet34", 256, 37), (3, 32, 100), 37, 24, 25),
    "crnn_resnet34_ch": ModelSpec(
        _crnn("rec_resnet34", 64, 6624), (3, 32, 320), 6624, 40, 80, "ch_dict.txt"
    ),
}

_NECK_KEYS = ("hidden_size", "batch_size")
_HEAD_KEYS = ("weight_init", "bias_init", "mid_channels", "dropout", "return_feats")


def build_model(
    name: str | dict,
    *,
    num_classes: int | None = None,
    backend: str | None = None,
    pretrained: str | os.PathLike | None = None,
    **kw,
) -> BaseModel:
    """The CRNN variant ``name`` (``VARIANTS``) as a ``BaseModel``, in MindSpore's default
    inference mode (``set_train(True)`` for logits and batch-statistics BatchNorm; the training
    wrappers do it).

    ``num_classes``: the head's classes (default: the variant's, 37 or 6624). ``backend``:
    ``cpu`` | ``numpy`` | ``stock`` (default: crnn_fast's active one). ``kw``: the neck's
    ``hidden_size`` / ``batch_size`` and the head's ``weight_init``, ``bias_init``,
    ``mid_channels``, ``dropout``. ``pretrained``: a local checkpoint file to load (every
    parameter must match, see ``load_checkpoint_strict``). A dict ``name`` is a ``model:``
    config (``build_model_from_config``), as MindOCR's ``build_model`` accepts.
    """
    if isinstance(name, dict):
        if num_classes is not None or kw:
            raise TypeError("with a config dict, put num_classes and the rest into the config")
        return build_model_from_config(name, backend=backend, pretrained=pretrained)
    if name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; known: {sorted(VARIANTS)}")
    cfg = copy.deepcopy(VARIANTS[name].model)
    if num_classes is not None:
        cfg["head"]["out_channels"] = int(num_classes)
    for key, value in kw.items():
        if key in _NECK_KEYS:
            cfg["neck"][key] = value
        elif key in _HEAD_KEYS:
            cfg["head"][key] = value
        else:
            raise TypeError(f"build_model got an unexpected argument {key!r}")
    return build_model_from_config(cfg, backend=backend, pretrained=pretrained)


def build_model_from_config(
    cfg: dict, *, backend: str | None = None, pretrained: str | os.PathLike | None = None
) -> BaseModel:
    """A ``BaseModel`` from a MindOCR ``model:`` section, e.g. ``{"type": "rec", "backbone":
    {"name": "rec_vgg7", "pretrained": False}, "neck": {"name": "RNNEncoder", "hidden_size":
    256}, "head": {"name": "CTCHead", "out_channels": 37, "weight_init": "crnn_customised",
    "bias_init": "crnn_customised"}}``, or a whole config holding one under ``model``.

    The section's own ``pretrained`` (a local checkpoint path; MindOCR also takes URLs, which
    are refused here) is loaded like the ``pretrained`` argument, which takes precedence.
    ``resume`` is the training loop's business and ignored here.
    """
    if "model" in cfg and "backbone" not in cfg:
        cfg = cfg["model"]
    cfg = copy.deepcopy(cfg)
    ckpt = pretrained if pretrained is not None else cfg.pop("pretrained", None)
    cfg.pop("resume", None)
    model = BaseModel(cfg, backend=backend)
    if ckpt:
        load_checkpoint_strict(model, ckpt)
    return model


def load_checkpoint_strict(model, path: str | os.PathLike) -> None:
    """Loads a MindSpore checkpoint (``mindspore.save_checkpoint`` of MindOCR's or crnn_fast's
    model) into ``model``; raises ValueError naming the parameters that are missing from the
    file or that the model does not have (none, for a checkpoint of the same variant)."""
    import mindspore as ms

    text = os.fspath(path)
    if "://" in text:
        raise ValueError(f"pretrained must be a local checkpoint file (no downloads), got {text}")
    if not os.path.isfile(text):
        raise FileNotFoundError(f"checkpoint not found: {text}")
    params = ms.load_checkpoint(text)
    not_loaded, unused = ms.load_param_into_net(model, params)
    if not_loaded or unused:
        raise ValueError(
            f"checkpoint {text} does not match the model: missing {sorted(not_loaded)[:8]} "
            f"({len(not_loaded)}), unexpected {sorted(unused)[:8]} ({len(unused)})"
        )
