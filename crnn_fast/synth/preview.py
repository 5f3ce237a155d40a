"""A PNG montage of an LMDB's first samples with their labels, to look at generated data."""

from __future__ import annotations

import io
import os

from PIL import Image, ImageDraw, ImageFont

from crnn_fast.data.lmdb_io import read_lmdb

__all__ = ["save_montage"]


def save_montage(
    lmdb_path: str | os.PathLike,
    out_png: str | os.PathLike,
    *,
    rows: int = 4,
    cols: int = 8,
    cell: tuple[int, int] = (100, 32),
    scale: int = 2,
) -> int:
    """Draws the first ``rows * cols`` samples, each resized to ``cell`` (MindOCR's 100x32
    model input by default) and magnified ``scale`` times, with the label under it; returns
    the number of samples drawn."""
    w, h = cell[0] * scale, cell[1] * scale
    cap = 14
    sheet = Image.new("RGB", (cols * (w + 4), rows * (h + cap + 4)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    try:
        font = ImageFont.load_default(size=12)
    except (ImportError, OSError, TypeError):
        font = ImageFont.load_default()
    n = 0
    for n, (data, label) in enumerate(read_lmdb(lmdb_path, rows * cols), 1):
        r, c = divmod(n - 1, cols)
        im = Image.open(io.BytesIO(data)).convert("RGB").resize(cell, Image.BILINEAR)
        x, y = c * (w + 4) + 2, r * (h + cap + 4) + 2
        sheet.paste(im.resize((w, h), Image.NEAREST), (x, y))
        draw.text((x, y + h), label, fill=(0, 0, 0), font=font)
    sheet.save(out_png)
    return n
