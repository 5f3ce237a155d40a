"""Data for MindOCR's CRNN: LMDB datasets in MindOCR's key layout, label encoding, image
transforms (OpenCV or an exact NumPy/Pillow stand-in) and the batched MindSpore pipelines.

``build_dataset(cfg, is_train=...)`` turns a MindOCR-style ``train:`` / ``eval:`` section into a
``mindspore.dataset`` pipeline; MindSpore is imported only there.
"""

from .label import DEFAULT_CHARACTERS, CharDict, encode_label
from .lmdb_dataset import CorruptRecordError, LMDBRecDataset, find_lmdbs, log_corrupt_summaries
from .lmdb_io import LMDBFormatError, close_envs, lmdb_size, open_env, read_lmdb, write_lmdb
from .pipeline import RecTransform, build_dataset, build_source, decode_eval_texts
from .transforms import HAS_CV2, bgr_to_rgb, decode_image, normalize, resize, resize_norm, to_chw

__all__ = [
    "DEFAULT_CHARACTERS",
    "HAS_CV2",
    "CharDict",
    "CorruptRecordError",
    "LMDBFormatError",
    "LMDBRecDataset",
    "RecTransform",
    "bgr_to_rgb",
    "build_dataset",
    "close_envs",
    "build_source",
    "decode_eval_texts",
    "decode_image",
    "encode_label",
    "find_lmdbs",
    "lmdb_size",
    "log_corrupt_summaries",
    "normalize",
    "open_env",
    "read_lmdb",
    "resize",
    "resize_norm",
    "to_chw",
    "write_lmdb",
]
