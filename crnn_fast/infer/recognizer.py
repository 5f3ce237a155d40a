"""``Recognizer``: a trained CRNN reading word crops through the native inference path.

One ``crnn_fast._C.InferNet`` call per batch runs the whole eval-mode model (folded conv blocks,
BiLSTM, head, softmax, greedy CTC; ``kernels/cpu/infer_net.h``), with weights packed once at
load and buffers reused between calls::

    rec = Recognizer.from_checkpoint("best.ckpt", "configs/crnn_vgg7.yaml")  # needs MindSpore
    rec = Recognizer.load("crnn.crnn")  # from `crnn-fast export --format crnn`: no MindSpore
    out = rec.recognize(["a.png", "b.jpg"])  # or bytes, decoded arrays, a (B, 3, H, W) batch
    out.texts, out.confidences, out.positions

Texts follow MindOCR's ``RecCTCLabelDecode`` (argmax per frame, repeats merged, blank dropped,
the dictionary's characters, lowercased where it lowercases); a confidence is the mean of the
emitted characters' probabilities (0 for an empty text); positions are the frames (0..T-1)
each character was emitted at, with ``char_probs`` their probabilities. Preprocessing is
``crnn-fast predict``'s: decode, RGB, resize to the model's input size, ``(x - 127) / 127``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .native import build_net

__all__ = ["Recognition", "Recognizer", "WEIGHTS_SUFFIX"]

WEIGHTS_SUFFIX = ".crnn"  # an uncompressed NumPy .npz of the checkpoint's parameters


class Recognition(NamedTuple):
    """Per image: ``texts[i]``, ``confidences[i]``, ``positions[i]`` (frame of each character)
    and ``char_probs[i]`` (probability of each character)."""

    texts: list[str]
    confidences: list[float]
    positions: list[list[int]]
    char_probs: list[list[float]]


class Recognizer:
    """A CRNN (VGG7 or ResNet34_vd backbone) on the native inference path.

    ``params``: the checkpoint's parameters (name -> array, MindOCR's names);
    ``characters``: every class's character by index, the blank's included (ignored);
    ``blank``: the blank's index; ``lowercase``: lowercase the texts (MindOCR's default
    dictionary); ``height`` / ``width``: the input size images are resized to; ``mean`` /
    ``std``: the normalisation. Calls are thread-safe (serialised per recognizer).
    """

    def __init__(self, params: Mapping[str, np.ndarray], *, characters: Sequence[str],
                 blank: int, lowercase: bool = False, height: int = 32, width: int = 100,
                 mean: float = 127.0, std: float = 127.0) -> None:  # fmt: skip
        self.net = build_net(params)
        if len(characters) != self.net.classes:
            raise ValueError(
                f"characters: {len(characters)} entries, but the model has {self.net.classes} "
                "classes (blank included)"
            )
        if not 0 <= blank < self.net.classes:
            raise ValueError(f"blank must be in [0, {self.net.classes}), got {blank}")
        self.net.frames(height, width)  # ValueError if the model cannot take this size
        self.blank = int(blank)
        self.height, self.width = int(height), int(width)
        self.mean, self.std = float(mean), float(std)
        chars = ["" if i == blank else str(c) for i, c in enumerate(characters)]
        self._chars = [c.lower() for c in chars] if lowercase else chars
        self.characters, self.lowercase = list(characters), bool(lowercase)

    # ---- construction ------------------------------------------------------------------

    @classmethod
    def from_model(cls, net: Any, cfg: dict) -> Recognizer:
        """From a MindSpore CRNN ``net`` (its current weights) and its config ``cfg``."""
        params = {p.name: p.asnumpy() for p in net.get_parameters()}
        return cls(params, **_settings(cfg))

    @classmethod
    def from_checkpoint(cls, ckpt: str | Path, config: str | Path | dict) -> Recognizer:
        """From a checkpoint of the model of ``config`` (a YAML path or a loaded config),
        every parameter checked against it (needs MindSpore, once)."""
        from ..train.config import load_config
        from ..train.trainer import model_from_checkpoint

        cfg = config if isinstance(config, dict) else load_config(str(config))
        return cls.from_model(model_from_checkpoint(cfg, str(ckpt)), cfg)

    @classmethod
    def load(cls, path: str | Path) -> Recognizer:
        """From ``crnn-fast export --format crnn``'s files: ``path`` is ``OUT.crnn`` or ``OUT``
        or ``OUT.json``; both ``OUT.crnn`` and ``OUT.json`` are read. No MindSpore."""
        stem = Path(path)
        if stem.suffix in (WEIGHTS_SUFFIX, ".json"):
            stem = stem.with_suffix("")
        weights, side = Path(f"{stem}{WEIGHTS_SUFFIX}"), Path(f"{stem}.json")
        for f in (weights, side):
            if not f.is_file():
                raise FileNotFoundError(
                    f"path: no {f} (write it with crnn-fast export --format crnn)"
                )
        meta = json.loads(side.read_text(encoding="utf-8"))
        with np.load(weights, allow_pickle=False) as z:
            params = {k: z[k] for k in z.files}
        inp = meta["input"]
        return cls(params, characters=meta["characters"], blank=int(meta["blank"]),
                   lowercase=bool(meta.get("lowercase", False)),
                   height=int(inp["resize"]["height"]), width=int(inp["resize"]["width"]),
                   mean=float(inp["normalize"]["mean"]),
                   std=float(inp["normalize"]["std"]))  # fmt: skip

    # ---- inference ---------------------------------------------------------------------

    def preprocess(self, images: Iterable[Any]) -> np.ndarray:
        """``(B, 3, height, width)`` float32 of images given as paths, encoded bytes, PIL
        images or decoded uint8 ``(H, W, 3)`` BGR arrays (OpenCV's order, as
        ``crnn_fast.data.transforms.decode_image`` returns). ValueError names the image that
        cannot be read."""
        from ..data.transforms import decode_image, resize_norm

        out = []
        for i, im in enumerate(images):
            try:
                if isinstance(im, (str, Path)):
                    im = decode_image(Path(im).read_bytes())
                elif isinstance(im, (bytes, bytearray, memoryview)):
                    im = decode_image(im)
                elif hasattr(im, "convert") and hasattr(im, "size"):  # a PIL image (RGB)
                    im = np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1])
                im = np.asarray(im)
                if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3 or 0 in im.shape:
                    raise ValueError(f"expected uint8 (H, W, 3), got {im.dtype} {im.shape}")
                out.append(resize_norm(im, self.height, self.width, mean=self.mean, std=self.std))
            except (ValueError, OSError) as e:
                raise ValueError(f"images[{i}]: not a readable image: {e}") from None
        if not out:
            raise ValueError("images: empty batch")
        return np.stack(out)

    def _batch(self, images: Any) -> np.ndarray:
        if isinstance(images, np.ndarray) and images.ndim == 4 and images.dtype == np.float32:
            if images.shape[1:] != (3, self.height, self.width):
                raise ValueError(
                    f"images: a preprocessed batch must be (B, 3, {self.height}, {self.width}), "
                    f"got {images.shape}"
                )
            if images.shape[0] == 0:
                raise ValueError("images: empty batch")
            if not np.isfinite(images).all():
                raise ValueError("images: the batch contains NaN or Inf")
            return np.ascontiguousarray(images)
        if isinstance(images, (str, Path, bytes, bytearray)) or (
            isinstance(images, np.ndarray) and images.ndim == 3
        ):
            images = [images]
        return self.preprocess(images)

    def forward(self, images: Any) -> np.ndarray:
        """Softmax probabilities ``(B, T, classes)`` float32 (the model's eval-mode output)."""
        return self.net.forward(self._batch(images))

    def recognize(self, images: Any) -> Recognition:
        """Texts, confidences, positions and character probabilities of ``images`` (see
        ``preprocess``, or a preprocessed float32 ``(B, 3, height, width)`` batch)."""
        ids, lengths, probs, frames = self.net.recognize(self._batch(images), self.blank)
        texts, confs, pos, cps = [], [], [], []
        chars = self._chars
        for b in range(len(lengths)):
            n = int(lengths[b])
            texts.append("".join(chars[i] for i in ids[b, :n].tolist()))
            cps.append(probs[b, :n].tolist())
            confs.append(float(np.mean(probs[b, :n])) if n else 0.0)
            pos.append(frames[b, :n].tolist())
        return Recognition(texts, confs, pos, cps)


def _settings(cfg: dict) -> dict:
    """Recognizer's keyword arguments from a config: dictionary, blank, input size."""
    from ..train.predict import _input_hw
    from ..train.trainer import label_decoder

    post = label_decoder(cfg)
    h, w = _input_hw(cfg)
    chars = [post.character[i] for i in range(post.num_classes)]
    return dict(characters=chars, blank=post.blank_idx, lowercase=bool(post.lower), height=h,
                width=w)  # fmt: skip
