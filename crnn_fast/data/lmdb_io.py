"""LMDB files in MindOCR's recognition layout: one writer, shared read handles, small readers.

Layout (``MINDOCR_CRNN.md`` s9): a folder holding ``data.mdb`` with the ASCII keys
``num-samples`` -> the count N as a decimal string, and for ``i = 1 .. N`` (``%09d``)
``image-%09d`` -> encoded image bytes, ``label-%09d`` -> the UTF-8 label. MindOCR's
``LMDBDataset`` (``lmdb.open(path, readonly=True, lock=False)``) reads it as it is.

LMDB allows one environment per file and process, so every reader in crnn_fast (datasets,
``predict``, the synth tools) goes through :func:`open_env`, which keeps one read-only handle
per path and process; :func:`write_lmdb` closes this process's handle on ``path`` first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional, Union

import lmdb
from tqdm import tqdm

__all__ = [
    "NUM_SAMPLES_KEY",
    "LMDBFormatError",
    "close_envs",
    "lmdb_size",
    "open_env",
    "read_lmdb",
    "write_lmdb",
]

PathLike = Union[str, os.PathLike]
NUM_SAMPLES_KEY = b"num-samples"
_START_MAP = 64 << 20  # bytes; doubled whenever a transaction fills the map

_ENVS: dict[str, lmdb.Environment] = {}  # this process's open environments, by real path
_ENVS_PID: list[Optional[int]] = [None]
_ENVS_LOCK = threading.Lock()


class LMDBFormatError(ValueError):
    """An LMDB that cannot serve as a dataset (does not open, bad ``num-samples``): ``path``,
    ``reason``. (Built from a message alone, as MindSpore's loader re-raises it, both are None.)
    """

    def __init__(self, path: PathLike, reason: Optional[str] = None) -> None:
        super().__init__(f"LMDB {path}: {reason}" if reason is not None else path)
        self.path = Path(path) if reason is not None else None
        self.reason = reason


def open_env(path: PathLike) -> lmdb.Environment:
    """The process-wide read-only environment of ``path``, opened on first use (after a fork
    the child opens its own: an inherited one must not be used). Raises ``LMDBFormatError``
    when it does not open."""
    global _ENVS_LOCK
    pid = os.getpid()
    if _ENVS_PID[0] != pid:  # fresh or forked process: forget the parent's environments
        _ENVS_LOCK = threading.Lock()  # the parent's may have been held by another thread
        _ENVS.clear()
        _ENVS_PID[0] = pid
    key = os.path.realpath(path)
    env = _ENVS.get(key)
    if env is None:
        with _ENVS_LOCK:
            env = _ENVS.get(key)
            if env is None:
                if not os.path.isfile(os.path.join(key, "data.mdb")):
                    raise LMDBFormatError(path, "no data.mdb in this folder")
                try:
                    env = lmdb.open(key, readonly=True, lock=False, readahead=False,
                                    meminit=False, max_readers=126)  # fmt: skip
                except lmdb.Error as e:
                    raise LMDBFormatError(path, f"cannot be opened ({e})") from e
                _ENVS[key] = env
    return env


def _release(path: PathLike) -> None:
    with _ENVS_LOCK:
        old = _ENVS.pop(os.path.realpath(path), None)
        if old is not None and _ENVS_PID[0] == os.getpid():
            old.close()


def close_envs() -> None:
    """Closes the LMDB environments this process opened (they reopen on the next access)."""
    with _ENVS_LOCK:
        if _ENVS_PID[0] == os.getpid():
            for env in _ENVS.values():
                env.close()
        _ENVS.clear()


def lmdb_size(path: PathLike) -> int:
    """``num-samples`` of the LMDB at ``path``, checked against what the LMDB holds.

    Raises ``LMDBFormatError`` naming ``path`` when ``num-samples`` is missing, not an integer
    or negative, or when it exceeds the records present: the LMDB must hold at least ``N + 1``
    entries (its B-tree statistics) and sample N at least one of ``label-%09d`` /
    ``image-%09d`` (two O(1) look-ups). So a too-large count fails here, before anything of
    size N is allocated, instead of training on duplicates or asking NumPy for terabytes. A
    record missing one key (the last one included) stays a corrupt *record*, the dataset's
    ``on_corrupt`` business.
    """
    env = open_env(path)
    with env.begin(write=False) as txn:
        raw = txn.get(NUM_SAMPLES_KEY)
        if raw is None:
            raise LMDBFormatError(path, "key 'num-samples' is missing")
        try:
            n = int(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise LMDBFormatError(
                path, f"key 'num-samples' is not an integer: {raw[:32]!r}"
            ) from None
        if n < 0:
            raise LMDBFormatError(path, f"key 'num-samples' is negative: {n}")
        if n > 0:
            entries = txn.stat()["entries"]
            cur = txn.cursor()
            if entries < n + 1 or not (
                cur.set_key(b"label-%09d" % n) or cur.set_key(b"image-%09d" % n)
            ):
                labels, images = _count_prefix(txn, b"label-"), _count_prefix(txn, b"image-")
                raise LMDBFormatError(
                    path,
                    f"key 'num-samples' = {n} exceeds the records it holds ({labels} "
                    f"'label-*' and {images} 'image-*' keys, {entries} entries in all; "
                    f"sample {n} has neither 'label-{n:09d}' nor 'image-{n:09d}')",
                )
    return n


def _count_prefix(txn: lmdb.Transaction, prefix: bytes) -> int:
    """Number of keys starting with ``prefix`` (a key-only cursor scan; error paths only)."""
    cur, n = txn.cursor(), 0
    if cur.set_range(prefix):
        for key in cur.iternext(keys=True, values=False):
            if not key.startswith(prefix):
                break
            n += 1
    return n


def read_lmdb(path: PathLike, limit: int | None = None) -> Iterator[tuple[bytes, str]]:
    """``(image bytes, label)`` of samples 1..N (or the first ``limit``); a missing record
    raises ``LMDBFormatError`` naming the LMDB and the record."""
    n = lmdb_size(path)
    with open_env(path).begin(write=False) as txn:
        for i in range(1, (n if limit is None else min(n, limit)) + 1):
            image, label = txn.get(b"image-%09d" % i), txn.get(b"label-%09d" % i)
            if image is None or label is None:
                raise LMDBFormatError(path, f"record {i:09d} of {n} is missing")
            yield bytes(image), label.decode("utf-8")


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
    path: PathLike,
    records: Iterable[tuple[bytes, str]],
    *,
    total: int | None = None,
    map_size: int | None = None,
    commit_every: int = 1000,
    overwrite: bool = False,
    progress: bool = False,
    desc: str | None = None,
) -> int:
    """Writes ``(encoded image bytes, label)`` records as samples 1..N plus ``num-samples``
    into the folder ``path``; returns N.

    ``map_size`` (bytes) is the initial map, 64 MiB by default and doubled whenever a
    transaction does not fit, so it never has to be guessed. An existing ``data.mdb`` raises
    ``FileExistsError`` unless ``overwrite`` (then it is replaced, not merged). ``total`` and
    ``desc`` size and name the tqdm bar shown with ``progress``.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _release(path)
    for name in ("data.mdb", "lock.mdb"):
        if (path / name).exists():
            if not overwrite and name == "data.mdb":
                raise FileExistsError(f"{path / name} exists (pass overwrite=True)")
            (path / name).unlink()
    env = lmdb.open(str(path), map_size=map_size or _START_MAP, subdir=True, readahead=False)
    n = 0
    batch: list[tuple[bytes, bytes]] = []
    try:
        for image, label in tqdm(records, total=total, desc=desc, unit="img", disable=not progress):
            n += 1
            batch.append((b"image-%09d" % n, bytes(image)))
            batch.append((b"label-%09d" % n, label.encode("utf-8")))
            if len(batch) >= 2 * commit_every:
                _put_batch(env, batch)
                batch = []
        batch.append((NUM_SAMPLES_KEY, str(n).encode()))
        _put_batch(env, batch)
        env.sync()
    finally:
        env.close()
    return n
