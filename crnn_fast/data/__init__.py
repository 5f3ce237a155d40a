"""Data for MindOCR's CRNN: label encoding and image transforms (OpenCV or an exact
NumPy/Pillow stand-in)."""

from .label import DEFAULT_CHARACTERS, CharDict, encode_label
from .transforms import HAS_CV2, bgr_to_rgb, decode_image, normalize, resize, resize_norm, to_chw

__all__ = [
    "DEFAULT_CHARACTERS",
    "HAS_CV2",
    "CharDict",
    "bgr_to_rgb",
    "decode_image",
    "encode_label",
    "normalize",
    "resize",
    "resize_norm",
    "to_chw",
]
