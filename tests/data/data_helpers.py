"""Helpers of the data tests: encoded images and tiny MindOCR-layout LMDBs."""

from __future__ import annotations

import io
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def png(img: np.ndarray) -> bytes:
    """uint8 (H, W, 3) BGR (or (H, W) grey) -> PNG bytes (Pillow encoder)."""
    a = img[..., ::-1] if img.ndim == 3 else img
    bio = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(bio, "PNG")
    return bio.getvalue()


def jpeg(img: np.ndarray, quality: int = 90, subsampling: int = 2) -> bytes:
    a = img[..., ::-1] if img.ndim == 3 else img
    bio = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(
        bio, "JPEG", quality=quality, subsampling=subsampling
    )
    return bio.getvalue()


def text_image(
    rng: np.random.Generator, text: str = "Hello42", h: int = 32, w: int = 100
) -> np.ndarray:
    """A real-looking word crop: coloured background, dark text, blur and noise, BGR uint8."""
    bg = tuple(int(v) for v in rng.integers(120, 256, 3))
    fg = tuple(int(v) for v in rng.integers(0, 100, 3))
    im = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(im).text((2, h // 4), text, fill=fg)
    im = im.filter(ImageFilter.GaussianBlur(0.6))
    a = np.asarray(im).astype(np.int16) + rng.integers(-12, 13, (h, w, 3))
    return np.clip(a, 0, 255).astype(np.uint8)[..., ::-1].copy()


def raw_lmdb(path: Path, items: dict[bytes, bytes]) -> Path:
    """An LMDB with exactly these keys (for corrupt layouts)."""
    path.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for k, v in items.items():
            txn.put(k, v)
    env.close()
    return path


def make_records(
    rng: np.random.Generator, labels: list[str], size=(32, 100)
) -> list[tuple[bytes, str]]:
    return [(png(rng.integers(0, 256, (*size, 3), dtype=np.uint8)), t) for t in labels]
