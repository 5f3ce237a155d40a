"""The keys a crnn_fast config may hold, in one place, and their check (``validate``).

The schema is MindOCR's CRNN recipe (``MINDOCR_CRNN.md`` s7: the sections and keys of
``crnn_vgg7.yaml`` / ``crnn_resnet34.yaml``), the optional keys MindOCR's ``tools/train.py``,
its builders (``create_scheduler``, ``create_optimizer``, ``build_dataset``) and its
transforms read, and crnn_fast's own keys. Each key is one of

* ``USED``: crnn_fast reads it;
* ``IGNORED``: MindOCR's, accepted so that a MindOCR YAML loads as it is, but without effect
  here (``load_config`` lists those present at debug level), e.g. ``system.log_interval``,
  ``train.dataset_sink_mode``, ``optimizer.grouping_strategy``;
* a nested mapping (a section; ``None`` stands for an empty one);
* ``OPEN``: a mapping whose keys are not checked: ``common`` (YAML anchors only, never read)
  and ``predict`` (MindOCR's ``predict_from_yaml`` section; ``crnn-fast predict`` reads
  ``eval``);
* ``PIPELINE``: a ``transform_pipeline``, a list of ``{TransformName: {param: value}}`` steps
  whose names and parameters are checked against ``TRANSFORMS`` (MindOCR's signatures).

``model.backbone`` / ``neck`` / ``head`` list the arguments of crnn_fast's registered parts (the
union over the CRNN variants); the part's constructor then rejects an argument it does not take.
Where MindOCR itself accepts anything (its transforms and datasets take ``**kwargs``), this
schema is stricter on purpose: a misspelt key there is silently ignored by MindOCR too.

An unknown key raises ``ConfigKeyError`` naming its dotted path (``scheduler.num_epoch``), the
``-o`` override it came from, if any, and the closest known key (``difflib``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

__all__ = [
    "IGNORED",
    "OPEN",
    "PIPELINE",
    "SCHEMA",
    "TRANSFORMS",
    "USED",
    "ConfigKeyError",
    "check_keys",
    "dataset_keys_read",
    "validate",
]

USED, IGNORED, OPEN, PIPELINE = "used", "ignored", "open", "pipeline"
Spec = Union[str, dict]


def _keys(used: str = "", ignored: str = "", **sections: Spec) -> dict[str, Spec]:
    """A section: space-separated ``used`` and ``ignored`` key names, plus sub-sections."""
    out: dict[str, Spec] = {k: USED for k in used.split()}
    out.update({k: IGNORED for k in ignored.split()})
    out.update(sections)
    return out


# MindOCR's transforms (mindocr/data/transforms/*: their __init__ arguments); crnn_fast's
# RecTransform implements these six and refuses the values it does not support.
TRANSFORMS: dict[str, dict[str, Spec]] = {
    "DecodeImage": _keys("img_mode channel_first to_float32 ignore_orientation", "keep_ori"),
    "RecCTCLabelEncode": _keys("max_text_len character_dict_path use_space_char blank_at_last "
                               "lower"),
    "RecResizeImg": _keys("image_shape infer_mode character_dict_path padding"),
    "NormalizeImage": _keys("mean std is_hwc bgr_to_rgb rgb_to_bgr"),
    "RecResizeNormForInfer": _keys("target_height target_width keep_ratio padding mean std",
                                   "interpolation norm_before_pad divisor"),
    "ToCHWImage": {},
}  # fmt: skip

_DATASET = _keys(
    "type dataset_root data_dir sample_ratio shuffle output_columns filter_max_len max_text_len "
    "extra_count_if_repeat filter_zero_text_image character_dict_path label_standandize "
    "on_corrupt",  # on_corrupt: crnn_fast's ("skip" | "raise")
    "label_file net_input_column_index label_column_index meta_data_column_index "
    "random_choice_if_none check_rec_image",
    transform_pipeline=PIPELINE,
)
_LOADER = _keys(
    "shuffle batch_size drop_remainder num_workers max_rowsize "
    "python_multiprocessing refine_batch_size",  # the last two: crnn_fast's
    "prefetch_size",
)

SCHEMA: dict[str, Spec] = {
    "system": _keys(
        "mode distribute amp_level seed val_while_train drop_overflow_update ckpt_max_keep "
        "refine_batch_size device_target pynative_blocking",  # the last two: crnn_fast's
        "log_interval amp_level_infer val_interval val_start_epoch ckpt_save_policy "
        "log_level device_id",
    ),
    "common": OPEN,
    "model": _keys(
        "type transform pretrained",
        "name resume",  # resume: MindOCR's way to resume; crnn-fast train --resume here
        backbone=_keys("name pretrained in_channels layers"),
        neck=_keys("name hidden_size batch_size"),
        head=_keys("name out_channels mid_channels return_feats weight_init bias_init dropout"),
    ),
    "postprocess": _keys("character_dict_path use_space_char", "name blank_at_last lower"),
    "metric": _keys(
        "ignore_space",
        "name main_indicator character_dict_path print_flag lower filter_ood ignore_symbol",
    ),
    "loss": _keys("name pred_seq_len max_label_len batch_size reduction blank zero_infinity"),
    "scheduler": _keys(
        "scheduler lr min_lr num_epochs warmup_epochs decay_epochs",
        "warmup_factor decay_rate milestones num_cycles cycle_decay lr_epoch_stair",
    ),
    "optimizer": _keys(
        "opt weight_decay filter_bias_and_bn momentum nesterov beta1 beta2 eps",
        "loss_scale schedule_decay checkpoint_path grouping_strategy no_weight_decay_params",
    ),
    "loss_scaler": _keys("type loss_scale scale_factor scale_window"),
    "train": _keys(
        "ckpt_save_dir clip_grad clip_norm resume_interval",  # resume_interval: crnn_fast's
        "pred_cast_fp32 dataset_sink_mode ema ema_decay gradient_accumulation_steps max_call_depth",
        dataset=_DATASET,
        loader=_LOADER,
        curriculum=_keys("data_dir epochs"),  # crnn_fast's: the first epochs on other data
    ),
    "eval": _keys(
        "ckpt_load_path", "dataset_sink_mode pred_cast_fp32", dataset=_DATASET, loader=_LOADER
    ),
    "predict": OPEN,
}


def dataset_keys_read() -> frozenset[str]:
    """The ``train.dataset`` / ``eval.dataset`` keys the data pipeline reads or accepts
    without a warning (MindOCR's column indices and ``label_file`` included)."""
    quiet = {"label_file", "net_input_column_index", "label_column_index", "random_choice_if_none"}
    return frozenset(k for k, v in _DATASET.items() if v != IGNORED) | quiet


class ConfigKeyError(ValueError):
    """Unknown config key(s): ``keys`` (dotted paths) and ``suggestions`` (dotted or None)."""

    def __init__(self, message: str, keys: list[str], suggestions: list[Optional[str]]) -> None:
        super().__init__(message)
        self.keys, self.suggestions = keys, suggestions


def _all_paths(spec: Spec, prefix: str = "") -> list[str]:
    if not isinstance(spec, dict):
        return []
    out = []
    for k, v in spec.items():
        out.append(f"{prefix}{k}")
        out += _all_paths(v, f"{prefix}{k}.")
    return out


_PATHS = _all_paths(SCHEMA)


def _suggest(key: str, siblings: Iterable[str], prefix: str) -> Optional[str]:
    """The closest sibling (``prefix + name``), else a key of the same or a close name
    elsewhere in the schema (``train.num_epochs`` -> ``scheduler.num_epochs``)."""
    near = difflib.get_close_matches(key, list(siblings), n=1, cutoff=0.6)
    if near:
        return prefix + near[0]
    same = [p for p in _PATHS if p.rsplit(".", 1)[-1] == key]
    if same:
        return same[0]
    lasts = {p.rsplit(".", 1)[-1]: p for p in reversed(_PATHS)}
    near = difflib.get_close_matches(key, list(lasts), n=1, cutoff=0.75)
    return lasts[near[0]] if near else None


def _walk(node: Any, spec: Spec, path: str, bad: list, ignored: list) -> None:
    if spec in (USED, IGNORED):
        if spec == IGNORED:
            ignored.append(path)
        return
    if spec == OPEN:
        if node is not None and not isinstance(node, Mapping):
            raise ValueError(f"config key {path!r} must be a mapping, got {node!r}")
        return
    if spec == PIPELINE:
        _walk_pipeline(node, path, bad, ignored)
        return
    if node is None:  # an empty section (`loss_scaler:` with nothing under it)
        return
    if not isinstance(node, Mapping):
        raise ValueError(f"config key {path!r} must be a mapping (a section), got {node!r}")
    prefix = f"{path}." if path else ""
    for key, value in node.items():
        sub = spec.get(key) if isinstance(key, str) else None
        if sub is None:
            bad.append((prefix + str(key), _suggest(str(key), spec, prefix), list(spec)))
        else:
            _walk(value, sub, prefix + key, bad, ignored)


def _walk_pipeline(node: Any, path: str, bad: list, ignored: list) -> None:
    if node is None:
        return
    if isinstance(node, (str, bytes)) or not isinstance(node, Sequence):
        raise ValueError(f"config key {path!r} must be a list of {{Transform: {{...}}}} steps")
    for i, step in enumerate(node):
        where = f"{path}[{i}]"
        if isinstance(step, str):
            step = {step: None}
        if not isinstance(step, Mapping) or len(step) != 1:
            raise ValueError(f"{where} must be {{TransformName: {{param: value}}}}, got {step!r}")
        name, params = next(iter(step.items()))
        spec = TRANSFORMS.get(name)
        if spec is None:
            hint = _suggest(str(name), TRANSFORMS, f"{where}.")
            bad.append((f"{where}.{name}", hint, list(TRANSFORMS)))
            continue
        _walk(params, spec, f"{where}.{name}", bad, ignored)


def check_keys(params: Optional[Mapping], spec: Mapping[str, Spec], where: str) -> None:
    """Raises ``ConfigKeyError`` for the keys of ``params`` (``where``: its dotted path) that
    ``spec`` does not list (used by the data pipeline for transform parameters)."""
    bad: list = []
    _walk(params, dict(spec), where, bad, [])
    if bad:
        raise _error(bad, None, ())


def _error(bad: list, source: Any, overrides: Sequence[str]) -> ConfigKeyError:
    items = []
    for key, hint, known in bad:
        notes = [
            f"from -o {o}" for o in overrides
            if (k := o.partition("=")[0].strip()) == key or k.startswith(key + ".")
        ][:1]  # fmt: skip
        notes.append(f"did you mean {hint!r}?" if hint else f"known here: {', '.join(known)}")
        items.append(f"{key!r} ({'; '.join(notes)})")
    head = f"config {source}: " if source is not None else ""
    head += "unknown key " if len(items) == 1 else "unknown keys "
    return ConfigKeyError(head + ", ".join(items), [b[0] for b in bad], [b[1] for b in bad])


def validate(cfg: Mapping, *, source: Any = None, overrides: Sequence[str] = ()) -> list[str]:
    """Checks every key of ``cfg`` against ``SCHEMA``; returns the dotted paths of the
    MindOCR keys present that crnn_fast ignores. Raises ``ConfigKeyError`` listing every
    unknown key (with the ``-o`` item it came from and the closest known key), or ValueError
    when a section is not a mapping. ``source``: the config file, for the message."""
    bad: list = []
    ignored: list = []
    _walk(cfg, SCHEMA, "", bad, ignored)
    if bad:
        raise _error(bad, source, overrides)
    return ignored
