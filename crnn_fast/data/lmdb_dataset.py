"""LMDB text-recognition datasets in MindOCR's layout (``mindocr/data/rec_lmdb_dataset.py``).

One LMDB (a directory holding ``data.mdb``) stores ``num-samples`` (ASCII integer N) and, for
``i = 1 .. N`` (1-based, ``%09d``), ``image-%09d`` (encoded image bytes) and ``label-%09d``
(UTF-8 text). A root directory is walked for its *leaf* directories holding ``data.mdb``, as
MindOCR walks ``data_dir`` (clovaai's ``training/`` = ``MJ/{MJ_train,MJ_valid,MJ_test}`` + ``ST``).

Samples are addressed through an index array ``(N_total, 2)`` int32 of ``(lmdb_idx, file_idx)``
rows — MindOCR's ``data_idx_order_list`` — concatenated in LMDB order, shuffled once with
``np.random.RandomState(seed)`` (MindOCR shuffles it with the global ``np.random``: the same
permutation when that was just seeded with ``seed``), then cut to ``round(N_total *
sample_ratio)`` rows.
MindOCR orders LMDBs as ``os.walk`` lists them (file-system order); ``find_lmdbs`` sorts them
so that index lists are reproducible — pass an explicit list to impose another order.

Corrupt data never crashes deep in a loader worker with an anonymous error:

* an LMDB that does not open, or whose ``num-samples`` is missing, not an integer, negative or
  larger than the records it holds (``lmdb_io.lmdb_size``: checked before the index is
  allocated), raises ``LMDBFormatError`` naming its path and the key (``on_corrupt="raise"``)
  or is left out with a warning saying why (``"skip"``); when every LMDB is left out the
  ``ValueError`` "no samples" lists the reasons;
* a record whose label or image key is missing, whose label is not UTF-8, whose image does not
  decode, or whose ``transform`` fails raises ``CorruptRecordError`` naming the LMDB and the key
  (``"raise"``), or is skipped (``"skip"``): ``dataset[i]`` then returns the next valid record
  (``i + 1``, ``i + 2``, ... wrapping around), the same one every time. The first corrupt record
  of a dataset is logged as a warning (unless this process warned about that record already,
  e.g. in the previous epoch's dataset), later ones at debug level; ``log_summary()`` (also run
  when the dataset is collected or at interpreter exit, and for every live dataset by
  ``log_corrupt_summaries()``) logs one warning with the count and the first keys when the
  dataset met records no summary of this process listed yet. Counts are per process
  (``python_multiprocessing`` workers keep their own).

A directory reached twice while walking a root (symlinks) is walked once (``find_lmdbs``).
The ``LMDB records: ...`` line is logged at info level once per process and set of LMDBs, at
debug level when the same LMDBs are opened again (every epoch).
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from .lmdb_io import LMDBFormatError, lmdb_size, open_env
from .transforms import decode_image

__all__ = [
    "CorruptRecordError",
    "LMDBRecDataset",
    "find_lmdbs",
    "log_corrupt_summaries",
    "log_once",
]

log = logging.getLogger("crnn_fast.data")

PathLike = Union[str, os.PathLike]
_MAX_LISTED = 10  # keys quoted in the summary


class CorruptRecordError(ValueError):
    """A record that cannot be read: ``path`` (the LMDB), ``key`` (e.g. ``image-000000042``),
    ``reason``. (Built from a message alone, as MindSpore's loader re-raises it, all are None.)
    """

    def __init__(
        self, path: PathLike, key: Optional[str] = None, reason: Optional[str] = None
    ) -> None:
        if key is None:
            super().__init__(path)
            self.path = self.key = self.reason = None
            return
        super().__init__(f"corrupt record {key!r} in LMDB {path}: {reason}")
        self.path, self.key, self.reason = Path(path), key, reason


def find_lmdbs(root: PathLike) -> list[Path]:
    """Leaf directories under ``root`` (``root`` itself included) that hold a ``data.mdb``,
    sorted by path, each LMDB once.

    Symbolic links are followed, as MindOCR's ``os.walk(followlinks=True)``, but a directory
    is entered once, by its first path in sorted depth-first order (identity: ``(st_dev,
    st_ino)``): a symlink cycle is not walked round (``os.walk`` would go 40 levels deep and
    list every LMDB on the cycle again at each), and an LMDB reachable through several links
    is listed under one path."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"LMDB root {root} is not a directory")
    found = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:  # reached again through a link: walked already
            dirnames.clear()
            continue
        seen.add((st.st_dev, st.st_ino))
        is_leaf = not dirnames
        dirnames.sort()  # a deterministic walk: the first path to a directory is stable
        if "data.mdb" not in filenames:
            continue
        if not is_leaf:  # MindOCR opens leaf directories only
            log.warning("%s holds data.mdb but also sub-directories: not a leaf, ignored", dirpath)
            continue
        found.append(Path(dirpath))
    return sorted(found)


_LOGGED: set[tuple] = set()  # keys of messages already logged at info level by this process


def log_once(key: tuple, msg: str, *args: Any) -> None:
    """Logs ``msg % args`` at info level the first time ``key`` is seen in this process, at
    debug level after that (the trainer rebuilds its datasets every epoch)."""
    level = logging.DEBUG if key in _LOGGED else logging.INFO
    _LOGGED.add(key)
    log.log(level, msg, *args)


_WARNED: set[tuple[Path, str]] = set()  # records this process has warned about
_REPORTED: set[tuple[Path, str]] = set()  # records in a summary this process has logged


class _Stats:
    """Corrupt-record bookkeeping shared by a dataset's threads (one per process). A record
    already warned about or summarised by this process (the same LMDB opened again, e.g. by
    the trainer every epoch) is not warned about or summarised again."""

    def __init__(self) -> None:
        self.skips = 0  # lookups that stepped over a corrupt record
        self.errors: dict[tuple[Path, str], CorruptRecordError] = {}  # distinct records
        self.bad_pos: set[int] = set()  # index positions known to be corrupt
        self.reported = 0  # len(errors) at the last summary

    def note(self, pos: int, err: CorruptRecordError) -> None:
        self.skips += 1
        self.bad_pos.add(pos)
        key = (err.path, err.key)
        if key in self.errors:
            return
        self.errors[key] = err
        if len(self.errors) == 1 and key not in _WARNED:
            log.warning("%s; skipped (on_corrupt='skip'), later ones are counted", err)
        else:
            log.debug("%s; skipped", err)
        _WARNED.add(key)

    def summary(self) -> int:
        n = len(self.errors)
        if n > self.reported and not _REPORTED.issuperset(self.errors):
            first = list(self.errors.values())[:_MAX_LISTED]
            listed = ", ".join(f"{e.path}/{e.key} ({e.reason})" for e in first)
            more = f" (+{n - _MAX_LISTED} more)" if n > _MAX_LISTED else ""
            log.warning(
                "LMDB dataset: %d corrupt record(s) skipped (%d lookups stepped over them): %s%s",
                n, self.skips, listed, more,
            )  # fmt: skip
            self.reported = n
            _REPORTED.update(self.errors)
        return n


_LIVE_STATS: weakref.WeakSet[_Stats] = weakref.WeakSet()  # every dataset's, for the report


def log_corrupt_summaries() -> int:
    """Runs ``log_summary()`` of every dataset of this process that is still alive (one
    warning each that met new corrupt records since its last summary); returns the number of
    distinct corrupt records they met. Test fixtures call it so that nothing is left for the
    summaries at interpreter exit."""
    return sum(stats.summary() for stats in list(_LIVE_STATS))


class LMDBRecDataset:
    """Random-access recognition dataset over one or several MindOCR LMDBs.

    Args:
        root_or_list: a directory walked for leaf LMDBs (``find_lmdbs``), or a list of such
            directories (concatenated in list order, as MindOCR's list ``data_dir``).
        shuffle: shuffle the index once, with ``np.random.RandomState(seed)``.
        sample_ratio: keep the first ``round(N * sample_ratio)`` rows of the (shuffled) index,
            ``0 < sample_ratio <= 1``.
        seed: the shuffle seed (MindOCR: ``system.seed``, 42).
        on_corrupt: ``"skip"`` or ``"raise"`` (module docstring).
        transform: ``transform(image, label) -> tuple`` applied to each record; its result is
            what ``dataset[i]`` returns (e.g. the columns of a GeneratorDataset). Exceptions it
            raises count as a corrupt record.
        label_filter: keep only records whose label makes it return True; applied to every
            label once, at construction (MindOCR's ``filter_max_len`` and
            ``filter_zero_text_image``).
        decode_backend: ``decode_image``'s backend (None: OpenCV when importable).

    ``dataset[i]`` is ``(image, label)``: uint8 ``(H, W, 3)`` BGR (``cv2.imdecode``) and the
    label ``str``; or ``transform(image, label)``. Attributes: ``paths`` (the LMDBs used),
    ``sizes`` (their ``num-samples``), ``index`` (``(N, 2)`` int32, ``[lmdb_idx, file_idx]``).
    LMDB environments are read-only and lock-free, opened once per process and LMDB and shared by
    every dataset of the process (LMDB allows no second one): at construction (to read
    ``num-samples``), then lazily again in a forked or spawned worker; ``close_envs()`` releases
    them. Each read uses its own short transaction, so threads may share a dataset.
    """

    def __init__(
        self,
        root_or_list: PathLike | Sequence[PathLike],
        *,
        shuffle: bool = False,
        sample_ratio: float = 1.0,
        seed: int = 42,
        on_corrupt: str = "skip",
        transform: Optional[Callable[[np.ndarray, str], Any]] = None,
        label_filter: Optional[Callable[[str], bool]] = None,
        decode_backend: Optional[str] = None,
    ) -> None:
        if on_corrupt not in ("skip", "raise"):
            raise ValueError(f"on_corrupt must be 'skip' or 'raise', got {on_corrupt!r}")
        if not 0.0 < float(sample_ratio) <= 1.0:
            raise ValueError(f"sample_ratio must be in (0, 1], got {sample_ratio}")
        self.on_corrupt, self.transform, self.decode_backend = on_corrupt, transform, decode_backend
        roots = [root_or_list] if isinstance(root_or_list, (str, os.PathLike)) else root_or_list
        candidates: list[Path] = []
        for root in roots:
            found = find_lmdbs(root)
            if not found:
                raise FileNotFoundError(f"no LMDB (a leaf directory with data.mdb) under {root}")
            candidates += found
        self.paths: list[Path] = []
        self.sizes: list[int] = []
        left_out: list[LMDBFormatError] = []
        for p in candidates:
            try:
                n = lmdb_size(p)
            except LMDBFormatError as e:
                if on_corrupt == "raise":
                    raise
                log.warning("%s; LMDB left out (on_corrupt='skip')", e)
                left_out.append(e)
                continue
            self.paths.append(p)
            self.sizes.append(n)
        if sum(self.sizes) == 0:
            why = "".join(f"; left out: {e}" for e in left_out)
            raise ValueError(f"no samples in the LMDB(s) under {list(map(str, roots))}{why}")
        log_once(
            ("records", tuple(self.paths), tuple(self.sizes)),
            "LMDB records: %s", ", ".join(f"{p.name}={n}" for p, n in zip(self.paths, self.sizes)),
        )  # fmt: skip
        index = np.concatenate(
            [
                np.stack([np.full(n, i, np.int32), np.arange(1, n + 1, dtype=np.int32)], axis=1)
                for i, n in enumerate(self.sizes)
            ]
        )
        if shuffle:
            # == RandomState(seed).shuffle(index) of the rows (same draws), 7x faster
            index = index[np.random.RandomState(seed).permutation(len(index))]
        self.index = index[: round(len(index) * float(sample_ratio))]
        self._stats = _Stats()
        _LIVE_STATS.add(self._stats)
        weakref.finalize(self, self._stats.summary)
        if label_filter is not None:
            self.index = self._filter(label_filter)
        if len(self.index) == 0:
            raise ValueError("the dataset is empty after sample_ratio and label filtering")

    # -- records ---------------------------------------------------------------------------
    def location(self, pos: int) -> tuple[Path, int]:
        """``(LMDB path, 1-based file index)`` of dataset position ``pos``."""
        lmdb_idx, file_idx = self.index[pos]
        return self.paths[int(lmdb_idx)], int(file_idx)

    def _read(self, pos: int, label_only: bool = False) -> tuple[Optional[bytes], str]:
        lmdb_idx, file_idx = (int(v) for v in self.index[pos])
        path = self.paths[lmdb_idx]
        label_key, image_key = f"label-{file_idx:09d}", f"image-{file_idx:09d}"
        with open_env(path).begin(write=False) as txn:
            raw_label = txn.get(label_key.encode())
            buf = None if label_only else txn.get(image_key.encode())
        if raw_label is None:
            raise CorruptRecordError(path, label_key, "key is missing")
        try:
            label = raw_label.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorruptRecordError(path, label_key, f"label is not UTF-8 ({e})") from None
        if not label_only and buf is None:
            raise CorruptRecordError(path, image_key, "key is missing")
        return buf, label

    def _load(self, pos: int) -> Any:
        buf, label = self._read(pos)
        path, file_idx = self.location(pos)
        key = f"image-{file_idx:09d}"
        try:
            image = decode_image(buf, backend=self.decode_backend)
        except ValueError as e:
            raise CorruptRecordError(path, key, f"image does not decode ({e})") from None
        if self.transform is None:
            return image, label
        try:
            return self.transform(image, label)
        except Exception as e:  # any failure of a record's transform is that record's fault
            raise CorruptRecordError(path, key, f"transform failed: {e!r}") from e

    def _filter(self, keep: Callable[[str], bool]) -> np.ndarray:
        rows = []
        for pos in range(len(self.index)):
            try:
                _, label = self._read(pos, label_only=True)
            except CorruptRecordError as e:
                if self.on_corrupt == "raise":
                    raise
                self._stats.note(pos, e)
                continue
            if keep(label):
                rows.append(pos)
        self._stats.bad_pos.clear()  # positions change below (the corrupt ones are left out)
        log.info("label filter kept %d of %d records", len(rows), len(self.index))
        return self.index[np.asarray(rows, dtype=np.int64)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> Any:
        n = len(self.index)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"dataset index {i} out of range [0, {n})")
        i %= n
        for step in range(n):
            pos = (i + step) % n
            if pos in self._stats.bad_pos:  # known corrupt (skip mode): do not read it again
                self._stats.skips += 1
                continue
            try:
                return self._load(pos)
            except CorruptRecordError as e:
                if self.on_corrupt == "raise":
                    raise
                self._stats.note(pos, e)
        raise CorruptRecordError(self.paths[0], "*", f"all {n} records are corrupt")

    # -- corrupt-record report -------------------------------------------------------------
    @property
    def corrupt_count(self) -> int:
        """Distinct corrupt records met so far in this process."""
        return len(self._stats.errors)

    def log_summary(self) -> int:
        """Logs one warning with the corrupt records met since the last summary (none: no log);
        returns the total count."""
        return self._stats.summary()
