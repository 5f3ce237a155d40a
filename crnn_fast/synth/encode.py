"""Encodes rendered word crops as JPEG or PNG bytes for the LMDBs (written by
``crnn_fast.data.lmdb_io.write_lmdb``)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = ["encode_image"]


def encode_image(image: np.ndarray, fmt: str = "jpg", quality: int = 95) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG (``quality``, 4:2:0) or PNG (fast zlib level 1) bytes."""
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), "RGB")
    fmt = fmt.lower()
    if fmt in ("jpg", "jpeg"):
        im.save(buf, "JPEG", quality=int(quality))
    elif fmt == "png":
        im.save(buf, "PNG", compress_level=1)
    else:
        raise ValueError(f"image_format must be 'jpg' or 'png', got {fmt!r}")
    return buf.getvalue()
