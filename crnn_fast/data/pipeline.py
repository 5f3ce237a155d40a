"""MindOCR-style ``train:`` / ``eval:`` sections -> a batched ``mindspore.dataset`` pipeline.

Reads the keys MindOCR's crnn configs use (MINDOCR_CRNN.md s5, s7)::

    dataset: {type: LMDBDataset, dataset_root, data_dir (str or list), sample_ratio, shuffle,
              transform_pipeline: [DecodeImage, RecCTCLabelEncode, RecResizeImg, NormalizeImage,
                                   ToCHWImage] (train) or [DecodeImage, RecCTCLabelEncode,
                                   RecResizeNormForInfer, ToCHWImage] (eval),
              output_columns, net_input_column_index, label_column_index,
              optional: filter_max_len, max_text_len, extra_count_if_repeat,
              filter_zero_text_image, character_dict_path, label_standandize,
              on_corrupt ("skip" | "raise", crnn_fast's)}
    loader:  {batch_size, drop_remainder, shuffle, num_workers, max_rowsize,
              optional: python_multiprocessing (crnn_fast's, default False), refine_batch_size}

Columns (per sample; batched along a new first axis B):

* ``image``: float32 ``(3, 32, 100)`` RGB in ``(x - 127) / 127`` (CHW after ToCHWImage);
* ``text_seq``: int32 ``(max_text_len,)`` class ids padded with the blank ``C - 1``
  (``label.encode_label``; an empty / too-long / all-out-of-dictionary label: all blank);
* ``length``: int32 ``()`` the number of ids in ``text_seq``;
* ``text_length``: int32 ``()`` ``len(raw label)``;
* ``text_padded``: int32 ``(L,)`` the raw label's Unicode code points padded with 32 (space)
  to ``max_text_len``, as MindOCR's padded string; a longer label keeps all its characters and
  the batch is padded to its longest (``padded_batch``). ``decode_eval_texts`` gives the texts.

Defaults: train ``["image", "text_seq"]`` (MindOCR's; ``crnn_fast.nn.CTCLoss`` takes the
lengths from the padding), eval ``["image", "text_padded", "text_length"]``.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

import numpy as np

from ..train.config_schema import TRANSFORMS, check_keys, dataset_keys_read
from .label import CharDict, encode_label
from .lmdb_dataset import LMDBRecDataset, log_once
from .transforms import bgr_to_rgb, normalize, resize, to_chw

__all__ = ["COLUMNS", "RecTransform", "build_dataset", "build_source", "decode_eval_texts"]

log = logging.getLogger("crnn_fast.data")

COLUMNS = ("image", "text_seq", "length", "text_length", "text_padded", "valid_ratio")
DEFAULT_COLUMNS = {True: ["image", "text_seq"], False: ["image", "text_padded", "text_length"]}
_IMAGENET = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])  # MindOCR's, x 255
_DATASET_KEYS = dataset_keys_read()  # the others: a warning (load_config rejects unknown ones)

Op = Callable[[dict], None]


def _unsupported(name: str, what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name}: {what} is not supported (MindOCR's CRNN configs do not use it)"
    )


def _mean_std(p: dict) -> tuple[Any, Any]:
    mean, std = p.get("mean", "imagenet"), p.get("std", "imagenet")
    mean = _IMAGENET[0] if isinstance(mean, str) and mean.lower() == "imagenet" else mean
    std = _IMAGENET[1] if isinstance(std, str) and std.lower() == "imagenet" else std
    return mean, std


class RecTransform:
    """A compiled ``transform_pipeline``: ``(image uint8 (H, W, 3) BGR, label str) -> tuple``
    of the ``output_columns`` arrays (module docstring), applying MindOCR's ops in order.

    ``chars`` is the ``CharDict`` of the RecCTCLabelEncode step and ``max_text_len`` its length
    (None without one); ``backend`` selects ``transforms.resize``'s implementation.
    """

    def __init__(
        self,
        pipeline: Sequence[Any],
        output_columns: Optional[Sequence[str]] = None,
        *,
        is_train: bool = True,
        label_standardize: bool = False,
        backend: Optional[str] = None,
    ) -> None:
        self.backend, self.label_standardize = backend, label_standardize
        self.chars: Optional[CharDict] = None
        self.max_text_len: Optional[int] = None
        self.ops: list[Op] = [self._op(step, i) for i, step in enumerate(pipeline)]
        cols = list(output_columns or DEFAULT_COLUMNS[is_train])
        bad = [c for c in cols if c not in COLUMNS]
        if bad:
            raise ValueError(f"output_columns {bad} are not produced; available: {list(COLUMNS)}")
        if self.chars is None and any(c in cols for c in COLUMNS[1:5]):
            raise ValueError(f"output_columns {cols} need a RecCTCLabelEncode step")
        self.columns = cols

    def _op(self, step: Any, i: int = 0) -> Op:
        if isinstance(step, str):
            name, p = step, {}
        elif isinstance(step, Mapping) and len(step) == 1:
            name, p = next(iter(step.items()))
            p = dict(p or {})
        else:
            raise ValueError(f"a transform_pipeline step must be {{Name: params}}, got {step!r}")
        make = getattr(self, f"_{name}", None) if str(name)[:1].isupper() else None
        if make is None:
            names = [m[1:] for m in dir(self) if m[1:2].isupper() and m.startswith("_")]
            raise ValueError(f"unknown transform {name!r}; supported: {names}")
        check_keys(p, TRANSFORMS[name], f"transform_pipeline[{i}].{name}")  # MindOCR's arguments
        return make(p)

    def _DecodeImage(self, p: dict) -> Op:  # the dataset decodes to BGR; this sets the order
        mode = str(p.get("img_mode", "BGR")).upper()
        if p.get("channel_first") or p.get("to_float32") or p.get("ignore_orientation"):
            raise _unsupported("DecodeImage", "channel_first / to_float32 / ignore_orientation")
        if mode not in ("BGR", "RGB"):
            raise ValueError(f"DecodeImage: img_mode must be BGR or RGB, got {mode!r}")

        def op(d: dict) -> None:
            if mode == "RGB":
                d["image"] = bgr_to_rgb(d["image"])

        return op

    def _RecCTCLabelEncode(self, p: dict) -> Op:
        chars = self.chars = CharDict.from_config(p)
        n = self.max_text_len = int(p.get("max_text_len", 23))

        def op(d: dict) -> None:
            label = d["label"]
            enc = encode_label(label, chars, n)
            ids, length = enc if enc is not None else (np.full(n, chars.blank, np.int32), 0)
            d["text_seq"], d["length"] = ids, np.int32(length)
            d["text_length"] = np.int32(len(label))
            codes = np.full(max(n, len(label)), 32, dtype=np.int32)
            codes[: len(label)] = [ord(c) for c in label]
            d["text_padded"] = codes

        return op

    def _RecResizeImg(self, p: dict) -> Op:
        if p.get("padding", True) or (p.get("infer_mode") and p.get("character_dict_path")):
            raise _unsupported("RecResizeImg", "padding: True / infer_mode with a dict")
        h, w = (int(v) for v in p["image_shape"][-2:])

        def op(d: dict) -> None:
            d["image"] = resize(d["image"], h, w, backend=self.backend)
            d["valid_ratio"] = np.float32(1.0)

        return op

    def _NormalizeImage(self, p: dict) -> Op:
        if not p.get("is_hwc", True):
            raise _unsupported("NormalizeImage", "is_hwc: False")
        flip = bool(p.get("bgr_to_rgb") or p.get("rgb_to_bgr"))
        mean, std = _mean_std(p)

        def op(d: dict) -> None:
            img = d["image"][..., ::-1] if flip else d["image"]
            d["image"] = normalize(img, mean, std)

        return op

    def _RecResizeNormForInfer(self, p: dict) -> Op:
        if p.get("keep_ratio", True) or p.get("padding", False):
            raise _unsupported("RecResizeNormForInfer", "keep_ratio / padding: True")
        h, w = int(p.get("target_height", 32)), int(p.get("target_width", 320))
        mean = p.get("mean", [127.0, 127.0, 127.0])
        std = p.get("std", [127.0, 127.0, 127.0])

        def op(d: dict) -> None:
            d["image"] = normalize(resize(d["image"], h, w, backend=self.backend), mean, std)
            d["valid_ratio"] = np.float32(1.0)

        return op

    def _ToCHWImage(self, p: dict) -> Op:
        def op(d: dict) -> None:
            d["image"] = to_chw(d["image"])

        return op

    def __call__(self, image: np.ndarray, label: str) -> tuple[np.ndarray, ...]:
        if self.label_standardize:
            label = unicodedata.normalize("NFKD", label)
        d = {"image": image, "label": label}
        for op in self.ops:
            op(d)
        return tuple(d[c] for c in self.columns)


def _section(cfg: Mapping, is_train: bool) -> Mapping:
    if "dataset" in cfg and "loader" in cfg:
        return cfg
    name = "train" if is_train else "eval"
    if name not in cfg:
        raise ValueError(f"the config has no {name!r} section")
    return cfg[name]


def _label_filter(ds_cfg: Mapping, tr: RecTransform) -> Optional[Callable[[str], bool]]:
    """MindOCR's ``filter_max_len`` / ``filter_zero_text_image`` (LMDBDataset flags)."""
    checks: list[Callable[[str], bool]] = []
    if ds_cfg.get("filter_max_len"):
        max_len = ds_cfg.get("max_text_len", tr.max_text_len)
        if max_len is None:
            raise ValueError("filter_max_len needs dataset.max_text_len")
        repeats = bool(ds_cfg.get("extra_count_if_repeat"))

        def short(s: str) -> bool:
            n = len(s) + (sum(a == b for a, b in zip(s, s[1:])) if repeats else 0)
            return n <= int(max_len)

        checks.append(short)
    if ds_cfg.get("filter_zero_text_image"):
        d = CharDict(ds_cfg.get("character_dict_path"))
        valid = {c.lower() for c in d.chars} | {c.upper() for c in d.chars}
        checks.append(lambda s: not valid.isdisjoint(s))
    if not checks:
        return None
    nfkd = bool(ds_cfg.get("label_standandize"))
    return lambda s: all(c(unicodedata.normalize("NFKD", s) if nfkd else s) for c in checks)


def build_source(
    cfg: Mapping, *, is_train: bool, backend: Optional[str] = None
) -> tuple[LMDBRecDataset, list[str]]:
    """The random-access source of ``build_dataset`` (an ``LMDBRecDataset`` whose items are
    the column tuples) and its column names. ``backend``: ``"cv2"`` or ``"numpy"`` (Pillow
    decode, NumPy resize) for decode and resize; None: OpenCV when importable."""
    sec = _section(cfg, is_train)
    ds_cfg = dict(sec["dataset"])
    kind = ds_cfg.get("type", "LMDBDataset")
    if kind != "LMDBDataset":
        raise ValueError(f"dataset.type {kind!r} is not supported (LMDBDataset only)")
    ignored = sorted(set(ds_cfg) - _DATASET_KEYS)
    if ignored:
        log.warning("dataset keys ignored: %s", ignored)
    data_dir = ds_cfg.get("data_dir")
    if data_dir is None:
        raise ValueError("dataset.data_dir is missing")
    root = ds_cfg.get("dataset_root")
    dirs = [data_dir] if isinstance(data_dir, (str, os.PathLike)) else list(data_dir)
    dirs = [os.path.join(root, d) if root else d for d in dirs]
    pipeline = ds_cfg.get("transform_pipeline")
    if not pipeline:
        raise ValueError("dataset.transform_pipeline is missing (MindOCR requires one too)")
    tr = RecTransform(
        pipeline,
        ds_cfg.get("output_columns"),
        is_train=is_train,
        label_standardize=bool(ds_cfg.get("label_standandize")),
        backend=backend,
    )
    shuffle = ds_cfg.get("shuffle")
    system = cfg.get("system") or {}
    source = LMDBRecDataset(
        dirs if isinstance(data_dir, (list, tuple)) else dirs[0],
        shuffle=is_train if shuffle is None else bool(shuffle),
        sample_ratio=float(ds_cfg.get("sample_ratio", 1.0)),
        seed=int(system.get("seed", 42)),
        on_corrupt=ds_cfg.get("on_corrupt", "skip"),
        transform=tr,
        label_filter=_label_filter(ds_cfg, tr),
        decode_backend=backend,
    )
    return source, tr.columns


def _refined(batch_size: int, n: int) -> int:
    """MindOCR's eval ``refine_batch_size``: the largest divisor of ``n`` <= ``batch_size``."""
    for bs in range(min(batch_size, max(n, 1)), 0, -1):
        if n % bs == 0:
            return bs
    return 1


def build_dataset(
    cfg: Mapping,
    *,
    is_train: bool,
    num_shards: Optional[int] = None,
    shard_id: Optional[int] = None,
    refine_batch_size: Optional[bool] = None,
    backend: Optional[str] = None,
) -> Any:
    """A batched ``mindspore.dataset.Dataset`` for ``cfg['train']`` (``is_train``) or
    ``cfg['eval']`` (``cfg`` may also be the section itself).

    ``num_shards`` / ``shard_id``: data-parallel sharding through ``GeneratorDataset`` (each
    shard gets ``ceil(N / num_shards)`` samples, interleaved; MindSpore wraps around to fill the
    last ones). ``refine_batch_size`` (default: ``loader.refine_batch_size``, else for eval
    ``system.refine_batch_size``, True): MindOCR's reduction of the batch size to a divisor of
    the per-shard count, so every batch has the same shape. The seed of ``loader.shuffle`` is
    ``mindspore.dataset.config``'s.
    """
    import mindspore.dataset as msds

    if (num_shards is None) != (shard_id is None):
        raise ValueError("give both num_shards and shard_id, or neither")
    if num_shards is not None and not 0 <= shard_id < num_shards:
        raise ValueError(f"shard_id {shard_id} is not in [0, num_shards = {num_shards})")
    loader = dict(_section(cfg, is_train).get("loader") or {})
    source, columns = build_source(cfg, is_train=is_train, backend=backend)
    multiproc = bool(loader.get("python_multiprocessing", False))
    workers = max(1, min(int(loader.get("num_workers", 1)), os.cpu_count() or 1))
    kwargs: dict[str, Any] = {}
    if multiproc and loader.get("max_rowsize") is not None:
        kwargs["max_rowsize"] = int(loader["max_rowsize"])
    ds = msds.GeneratorDataset(
        source,
        column_names=columns,
        num_parallel_workers=workers,
        shuffle=bool(loader.get("shuffle", is_train)),
        num_shards=num_shards,
        shard_id=shard_id,
        python_multiprocessing=multiproc,
        **kwargs,
    )
    batch_size = int(loader.get("batch_size", 1))
    drop = bool(loader.get("drop_remainder", is_train))
    if refine_batch_size is None:  # MindOCR's eval loader: system.refine_batch_size (True)
        system = cfg.get("system") or {}
        default = not is_train and bool(system.get("refine_batch_size", True))
        refine_batch_size = bool(loader.get("refine_batch_size", default))
    if refine_batch_size:
        per_shard = -(-len(source) // (num_shards or 1))
        refined = _refined(batch_size, per_shard)
        if refined != batch_size:
            name = "train" if is_train else "eval"
            log_once(
                ("refine", name, batch_size, refined, per_shard),
                "%s loader: batch size %d -> %d (%s.loader.batch_size reduced to divide the %d "
                "samples per shard: refine_batch_size, as MindOCR's eval)",
                name, batch_size, refined, name, per_shard,
            )  # fmt: skip
            batch_size = refined
    if "text_padded" in columns:  # raw labels longer than max_text_len: pad to the batch's longest
        return ds.padded_batch(batch_size, drop, pad_info={"text_padded": ([None], 32)})
    return ds.batch(batch_size, drop_remainder=drop)


def decode_eval_texts(batch: Sequence | Mapping, *_: Any) -> list[str]:
    """The raw labels of a batch holding ``text_padded`` and ``text_length``: a dict (from
    ``create_dict_iterator``) or a tuple in MindOCR's eval column order ``(image, text_padded,
    text_length)``. Extra arguments are ignored (no label decoder is needed)."""
    if isinstance(batch, Mapping):
        codes, lengths = batch["text_padded"], batch["text_length"]
    else:
        codes, lengths = batch[1], batch[2]
    codes = codes.asnumpy() if hasattr(codes, "asnumpy") else np.asarray(codes)
    lengths = lengths.asnumpy() if hasattr(lengths, "asnumpy") else np.asarray(lengths)
    if codes.ndim != 2 or lengths.shape != codes.shape[:1]:
        raise ValueError(
            f"expected text_padded (B, L) and text_length (B,), got {codes.shape} and "
            f"{lengths.shape}"
        )
    return ["".join(map(chr, row[:n])) for row, n in zip(codes.tolist(), lengths.tolist())]
