"""``crnn-fast predict``: recognise the text of word crops with a trained CRNN.

``predict(cfg, source, ckpt=None, out="rec_results.txt", beam_width=0)``: ``source`` is an
image file, a folder of images (``.jpg .jpeg .png .bmp .webp``, sorted by name, not recursive)
or an LMDB in MindOCR's layout (records named ``image-%09d``). Each image goes through
MindOCR's inference preprocessing (decode, RGB, resize to the eval pipeline's size,
(x - 127) / 127), the model in inference mode -- by default the native path
(``crnn_fast.infer.Recognizer``: the whole model as one ``_C`` call per batch), or the MindSpore
model with its Conv+BN blocks folded -- then greedy CTC decoding (MindOCR's postprocess) or,
with ``beam_width > 0``, prefix beam search (top-1).

Results file (MindOCR's ``rec_results.txt``): one ``name<TAB>text`` line per entry of the
source, in source order. Tabs, newlines, carriage returns and backslashes in a name (or a
text) are written as the escapes ``\\t``, ``\\n``, ``\\r`` and ``\\\\`` (``escape_field`` /
``unescape_field``), so every line splits into exactly two fields.

Unreadable entries (an image that does not decode, a file that cannot be read, a directory
named ``x.png``, a symlink leading out of the folder while ``follow_symlinks`` is False, a
broken symlink) are skipped, not fatal: each gets a ``name<TAB>`` line (empty prediction) in
its place in ``rec_results.txt``, and ``<out stem>_unreadable<out suffix>`` (e.g.
``rec_results_unreadable.txt``) lists them as ``name<TAB>reason`` lines (written only when
there are some; a stale one is removed). With ``strict=True`` the first unreadable entry
raises ``ValueError`` naming it instead. Symlinks inside the folder that point to files inside
it are read; ``follow_symlinks=True`` also reads those pointing elsewhere.

Returns ``PredictResults``: a list of ``(name, text, confidence)`` for the images read (beam:
the top-1 log-probability), with ``.skipped`` = ``[(name, reason)]``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

from .config import get

log = logging.getLogger("crnn_fast")

__all__ = [
    "ImageEntry",
    "PredictResults",
    "collect_images",
    "escape_field",
    "predict",
    "scan_images",
    "unescape_field",
    "unreadable_path",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class ImageEntry(NamedTuple):
    """One entry of a source: ``data`` is the encoded image, or None with ``error`` saying
    why it cannot be read."""

    name: str
    data: Optional[bytes]
    error: Optional[str] = None


class PredictResults(list):
    """``[(name, text, confidence)]`` of the images read; ``skipped``: ``[(name, reason)]``."""

    def __init__(self, items=(), skipped=()):
        super().__init__(items)
        self.skipped: list[tuple[str, str]] = list(skipped)


def escape_field(text: str) -> str:
    """``\\`` -> ``\\\\``, TAB -> ``\\t``, LF -> ``\\n``, CR -> ``\\r`` (one results field)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unescape_field(text: str) -> str:
    """The inverse of :func:`escape_field`."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _UNESCAPES:
            out.append(_UNESCAPES[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def unreadable_path(out: str | Path) -> Path:
    """Where the list of unreadable entries goes: ``rec_results.txt`` ->
    ``rec_results_unreadable.txt``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_unreadable{out.suffix}")


def _read_file(path: Path, root: Path | None, follow_symlinks: bool) -> ImageEntry:
    name = path.name
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if not target.exists():
            return ImageEntry(name, None, f"broken symlink to {target}")
        if root is not None and not follow_symlinks and not _inside(target, root):
            return ImageEntry(
                name, None, f"symlink to {target}, outside {root} (--follow-symlinks reads it)"
            )
    if path.is_dir():
        return ImageEntry(name, None, "is a directory, not an image file")
    try:
        return ImageEntry(name, path.read_bytes())
    except OSError as e:
        return ImageEntry(name, None, f"cannot read: {e.strerror or e}")


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def scan_images(source: str | Path, *, follow_symlinks: bool = False) -> list[ImageEntry]:
    """Every entry of ``source`` (file, folder or LMDB folder) with its bytes or the reason it
    cannot be read (see the module docstring). Raises FileNotFoundError for a missing source
    and ValueError for a folder with no entry named like an image."""
    src = Path(source)
    if src.is_file():  # named explicitly: read wherever it points
        return [_read_file(src, None, True)]
    if not src.is_dir():
        raise FileNotFoundError(f"source {src} is neither an image file nor a folder")
    if (src / "data.mdb").is_file():
        from ..data.lmdb_io import read_lmdb

        return [ImageEntry(f"image-{i:09d}", im) for i, (im, _) in enumerate(read_lmdb(src), 1)]
    root = Path(os.path.realpath(src))
    paths = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"folder {src} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return [_read_file(p, root, follow_symlinks) for p in paths]


def collect_images(source: str | Path, *, follow_symlinks: bool = False) -> list[tuple[str, bytes]]:
    """(name, encoded bytes) of every image in ``source``; an entry that cannot be read raises
    ValueError naming it (``scan_images`` reports them instead)."""
    entries = scan_images(source, follow_symlinks=follow_symlinks)
    for e in entries:
        if e.data is None:
            raise ValueError(f"{e.name!r} in {source}: {e.error}")
    return [(e.name, e.data) for e in entries]


def _input_hw(cfg: dict) -> tuple[int, int]:
    for step in get(cfg, "eval.dataset.transform_pipeline", []) or []:
        spec = step.get("RecResizeNormForInfer") if isinstance(step, dict) else None
        if spec:
            return int(spec.get("target_height", 32)), int(spec.get("target_width", 100))
    return 32, 100


def _preprocess(entries: list[ImageEntry], h: int, w: int, source, strict: bool):
    """(index, (3, h, w) float32) of the entries that decode; the others get their reason."""
    from ..data.transforms import decode_image, resize_norm

    ok, bad = [], {}
    for i, e in enumerate(entries):
        err = e.error
        if err is None:
            try:
                ok.append((i, resize_norm(decode_image(e.data), h, w)))
                continue
            except (ValueError, OSError) as ex:
                err = f"not a readable image: {ex}"
        if strict:
            raise ValueError(f"{e.name!r} in {source}: {err} (strict: nothing written)")
        bad[i] = err
    return ok, bad


def _write_results(out: Path, rows: list[tuple[str, str]], skipped: list[tuple[str, str]]):
    lines = "".join(f"{escape_field(n)}\t{escape_field(t)}\n" for n, t in rows)
    out.write_text(lines, encoding="utf-8")
    side = unreadable_path(out)
    if skipped:
        side.write_text(
            "".join(f"{escape_field(n)}\t{escape_field(r)}\n" for n, r in skipped),
            encoding="utf-8",
        )
    elif side.is_file():
        side.unlink()


def _model(cfg: dict, ckpt: str | None, engine: str, fold: bool, net):
    """A ``Recognizer``, or probs_of(x (B, 3, h, w)) -> (B, T, C) of a MindSpore model."""
    from ..infer import WEIGHTS_SUFFIX, Recognizer

    if isinstance(net, Recognizer):
        return net
    path = ckpt or get(cfg, "eval.ckpt_load_path")
    if net is None and path and str(path).endswith(WEIGHTS_SUFFIX):
        return Recognizer.load(path)  # crnn-fast export --format crnn: no MindSpore
    if net is None and engine == "native":
        if not path:
            raise ValueError("no checkpoint: pass --ckpt or set eval.ckpt_load_path")
        return Recognizer.from_checkpoint(path, cfg)
    import mindspore as ms

    from ..models import fold_for_inference
    from .trainer import model_from_checkpoint

    if net is None:
        net = model_from_checkpoint(cfg, ckpt)
        if fold:
            fold_for_inference(net)
    return lambda x: net(ms.Tensor(x)).asnumpy()


def predict(cfg: dict, source: str | Path, *, ckpt: str | None = None,
            out: str | Path | None = "rec_results.txt", beam_width: int = 0,
            batch_size: int = 64, fold: bool = True, strict: bool = False,
            follow_symlinks: bool = False, net=None, limit: int | None = None,
            engine: str = "native") -> PredictResults:  # fmt: skip
    """See the module docstring. ``engine``: ``native`` (``crnn_fast.infer.Recognizer``: the
    whole model as one native call per batch) or ``mindspore`` (the MindSpore model, its conv
    blocks folded when ``fold``). ``net``: a ``Recognizer``, or a MindSpore model already
    loaded and in inference mode (e.g. to read several sources with one load); ``ckpt``,
    ``engine`` and ``fold`` are then unused. ``limit``: read only the first ``limit`` entries
    of ``source``."""
    from ..functional.ctc import ctc_beam_search
    from .trainer import label_decoder

    if engine not in ("native", "mindspore"):
        raise ValueError(f"engine must be 'native' or 'mindspore', got {engine!r}")
    if beam_width < 0 or batch_size < 1:
        raise ValueError(
            f"need beam_width >= 0 and batch_size >= 1, got {beam_width}, {batch_size}"
        )
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None, got {limit}")
    entries = scan_images(source, follow_symlinks=follow_symlinks)[:limit]
    h, w = _input_hw(cfg)
    if strict:  # fail before loading the model
        for e in entries:
            if e.error is not None:
                raise ValueError(f"{e.name!r} in {source}: {e.error} (strict: nothing written)")
    model = _model(cfg, ckpt, engine, fold, net)
    rec = model if hasattr(model, "recognize") else None
    probs_of = rec.forward if rec else model
    post = label_decoder(cfg) if beam_width or rec is None else None  # (imports MindSpore)
    texts: dict[int, tuple[str, float]] = {}
    skipped: dict[int, str] = {}
    for start in range(0, len(entries), batch_size):
        ok, bad = _preprocess(entries[start : start + batch_size], h, w, source, strict)
        skipped.update({start + i: r for i, r in bad.items()})
        if not ok:
            continue
        x = np.stack([x for _, x in ok])
        if rec is not None and not beam_width:
            r = rec.recognize(x)
            for (i, _), t, c in zip(ok, r.texts, r.confidences):
                texts[start + i] = (t, c)
            continue
        probs = probs_of(x)  # (B, T, C)
        if beam_width:
            r = ctc_beam_search(probs, blank=post.blank_idx, beam_width=beam_width,
                                input_kind="probs", batch_first=True)  # fmt: skip
            batch_texts, _ = post.decode(r.ids[:, 0], r.lengths[:, 0], r.scores[:, 0])
            confs = [float(s) for s in r.scores[:, 0]]
        else:
            d = post(probs)
            batch_texts, confs = d["texts"], [float(c) for c in d["confs"]]
        for (i, _), t, c in zip(ok, batch_texts, confs):
            texts[start + i] = (t, c)
    bad_list = [(entries[i].name, r) for i, r in sorted(skipped.items())]
    if not texts:
        raise ValueError(
            f"none of the {len(entries)} entries of {source} could be read: "
            + "; ".join(f"{n!r}: {r}" for n, r in bad_list[:5])
        )
    if bad_list:
        where = f"listed in {unreadable_path(out)}; " if out else ""
        log.warning(
            "predict: skipped %d unreadable of %d entries of %s (%s--strict fails instead):\n%s",
            len(bad_list), len(entries), source, where,
            "\n".join(f"  {escape_field(n)}: {r}" for n, r in bad_list),
        )  # fmt: skip
    if out:
        rows = [(e.name, texts[i][0] if i in texts else "") for i, e in enumerate(entries)]
        _write_results(Path(out), rows, bad_list)
    results = [(entries[i].name, t, c) for i, (t, c) in sorted(texts.items())]
    return PredictResults(results, bad_list)
