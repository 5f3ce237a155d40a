"""``crnn-fast predict``: recognise the text of word crops with a trained CRNN.

``predict(cfg, source, ckpt=None, out="rec_results.txt", beam_width=0)``: ``source`` is an
image file, a folder of images (``.jpg .jpeg .png .bmp .webp``, sorted by name) or an LMDB in
MindOCR's layout (records named ``image-%09d``). Each image goes through MindOCR's inference
preprocessing (decode, RGB, resize to the eval pipeline's size, (x - 127) / 127), the model in
inference mode (Conv+BN blocks folded), then greedy CTC decoding (MindOCR's postprocess) or,
with ``beam_width > 0``, prefix beam search (top-1). Writes MindOCR's ``rec_results.txt``:
one ``name<TAB>text`` line per image; returns [(name, text, confidence)] (beam: the top-1
log-probability).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .config import get

log = logging.getLogger("crnn_fast")

__all__ = ["collect_images", "predict"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def collect_images(source: str | Path) -> list[tuple[str, bytes]]:
    """(name, encoded bytes) of every image in ``source`` (file, folder or LMDB folder)."""
    src = Path(source)
    if src.is_file():
        return [(src.name, src.read_bytes())]
    if not src.is_dir():
        raise FileNotFoundError(f"source {src} is neither an image file nor a folder")
    if (src / "data.mdb").is_file():
        from ..data.lmdb_io import read_lmdb

        return [(f"image-{i:09d}", image) for i, (image, _) in enumerate(read_lmdb(src), 1)]
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"folder {src} holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return [(p.name, p.read_bytes()) for p in files]


def _input_hw(cfg: dict) -> tuple[int, int]:
    for step in get(cfg, "eval.dataset.transform_pipeline", []) or []:
        spec = step.get("RecResizeNormForInfer") if isinstance(step, dict) else None
        if spec:
            return int(spec.get("target_height", 32)), int(spec.get("target_width", 100))
    return 32, 100


def predict(cfg: dict, source: str | Path, *, ckpt: str | None = None,
            out: str | Path | None = "rec_results.txt", beam_width: int = 0,
            batch_size: int = 64, fold: bool = True) -> list[tuple[str, str, float]]:  # fmt: skip
    """See the module docstring."""
    import mindspore as ms

    from ..ctc import ctc_prefix_beam_search
    from ..data.transforms import decode_image, resize_norm
    from ..models import fold_for_inference
    from .trainer import label_decoder, model_from_checkpoint

    if beam_width < 0 or batch_size < 1:
        raise ValueError(
            f"need beam_width >= 0 and batch_size >= 1, got {beam_width}, {batch_size}"
        )
    items = collect_images(source)
    net = model_from_checkpoint(cfg, ckpt)
    if fold:
        fold_for_inference(net)
    post = label_decoder(cfg)
    h, w = _input_hw(cfg)
    results: list[tuple[str, str, float]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        batch = []
        for name, buf in chunk:
            try:
                batch.append(resize_norm(decode_image(buf), h, w))
            except ValueError as e:
                raise ValueError(f"image {name!r} of {source}: {e}") from e
        probs = net(ms.Tensor(np.stack(batch))).asnumpy()  # (B, T, C)
        if beam_width:
            r = ctc_prefix_beam_search(probs, blank=post.blank_idx, beam_width=beam_width,
                                       input_kind="probs", batch_first=True)  # fmt: skip
            texts, _ = post.decode(r.ids[:, 0], r.lengths[:, 0], r.scores[:, 0])
            confs = [float(s) for s in r.scores[:, 0]]
        else:
            d = post(probs)
            texts, confs = d["texts"], [float(c) for c in d["confs"]]
        results += [(n, t, c) for (n, _), t, c in zip(chunk, texts, confs)]
    if out:
        Path(out).write_text("".join(f"{n}\t{t}\n" for n, t, _ in results), encoding="utf-8")
    return results
