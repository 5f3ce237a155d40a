"""Writes and reads LMDB datasets in MindOCR's recognition layout (``MINDOCR_CRNN.md`` s9).

Keys (ASCII bytes): ``num-samples`` -> the count as a decimal string; ``image-%09d`` -> the
encoded image (JPEG or PNG bytes); ``label-%09d`` -> the UTF-8 label; indices start at 1.
``path`` is a folder holding ``data.mdb`` and ``lock.mdb``, which MindOCR's ``LMDBDataset``
(and ``lmdb.open(path, readonly=True, lock=False)``) reads as it is.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import lmdb
import numpy as np
from PIL import Image
from tqdm import tqdm

__all__ = ["encode_image", "lmdb_size", "read_lmdb", "write_lmdb"]

_START_MAP = 64 << 20  # bytes; doubled whenever a transaction fills the map


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


def _put_batch(env: lmdb.Environment, items: list[tuple[bytes, bytes]]) -> None:
    """Writes ``items`` in one transaction, doubling the map size until it fits."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for k, v in items:
                    txn.put(k, v)
            return
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


def write_lmdb(
    path: str | os.PathLike,
    samples: Iterable[tuple[bytes, str]],
    *,
    total: int | None = None,
    map_size: int | None = None,
    commit_every: int = 1000,
    overwrite: bool = False,
    progress: bool = True,
    desc: str | None = None,
) -> int:
    """Writes ``(image_bytes, label)`` pairs as samples 1..N plus ``num-samples``; returns N.

    ``map_size`` (bytes) is the initial LMDB map; by default 64 MiB, doubled whenever a
    transaction does not fit, so it never has to be guessed. ``total`` only sizes the tqdm bar.
    An existing ``data.mdb`` under ``path`` raises ``FileExistsError`` unless ``overwrite``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in ("data.mdb", "lock.mdb"):
        if (path / name).exists():
            if not overwrite and name == "data.mdb":
                raise FileExistsError(f"{path / name} exists (pass overwrite=True)")
            (path / name).unlink()
    env = lmdb.open(str(path), map_size=map_size or _START_MAP, subdir=True, readahead=False)
    n = 0
    batch: list[tuple[bytes, bytes]] = []
    try:
        for image, label in tqdm(samples, total=total, desc=desc, unit="img", disable=not progress):
            n += 1
            batch.append((b"image-%09d" % n, bytes(image)))
            batch.append((b"label-%09d" % n, label.encode("utf-8")))
            if len(batch) >= 2 * commit_every:
                _put_batch(env, batch)
                batch = []
        batch.append((b"num-samples", str(n).encode()))
        _put_batch(env, batch)
        env.sync()
    finally:
        env.close()
    return n


def lmdb_size(path: str | os.PathLike) -> int:
    """The ``num-samples`` of a MindOCR LMDB."""
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=True)
    try:
        with env.begin() as txn:
            return int(txn.get(b"num-samples"))
    finally:
        env.close()


def read_lmdb(path: str | os.PathLike, limit: int | None = None) -> Iterator[tuple[bytes, str]]:
    """``(image_bytes, label)`` for samples 1..num-samples (or the first ``limit``)."""
    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=True)
    try:
        with env.begin() as txn:
            n = int(txn.get(b"num-samples"))
            for i in range(1, (n if limit is None else min(n, limit)) + 1):
                image, label = txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i)
                if image is None or label is None:
                    raise KeyError(f"{path}: sample {i} of {n} is missing")
                yield bytes(image), label.decode("utf-8")
    finally:
        env.close()
