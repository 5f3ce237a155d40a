"""``CTCLabelDecode``: MindOCR's ``RecCTCLabelDecode`` (``mindocr/postprocess/rec_postprocess.py``)
on crnn_fast's greedy CTC kernel.

Same dictionary handling (default ``"0123456789abcdefghijklmnopqrstuvwxyz"`` with ``lower``
forced True, or one character per line of ``character_dict_path``; ``use_space_char`` appends
``" "`` if absent; the ``"<PAD>"`` blank last, or first with ``blank_at_last=False``), same
rule (per-frame argmax, keep a frame if its index differs from the previous frame's and is not
blank; confidence = mean of the kept frames' max probabilities, 0 if none) and the same output
``{"texts": [str], "confs": [np.floating], "raw_chars": [[str] * T]}``.
"""

from __future__ import annotations

import os

import numpy as np

from ..charset import DEFAULT_CHARACTERS, load_charset
from ..functional.ctc import ctc_greedy_decode

__all__ = ["DEFAULT_CHARACTERS", "CTCLabelDecode"]

BLANK_TOKEN = "<PAD>"


def _to_numpy(x) -> np.ndarray:
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


def _is_decoded(preds) -> bool:
    """A tuple ``(ids, lengths, probs_or_confs[, frames])`` of already-decoded output."""
    if not isinstance(preds, (tuple, list)) or len(preds) not in (3, 4):
        return False
    first = preds[0]
    dtype = getattr(first, "dtype", None)
    if dtype is None:
        return False
    if hasattr(first, "asnumpy"):  # a MindSpore Tensor
        return str(dtype).lower().startswith(("int", "uint"))
    return np.dtype(dtype).kind in "iu"


class CTCLabelDecode:
    """MindOCR's ``RecCTCLabelDecode`` on the greedy CTC kernel (see the module docstring).

    Attributes as MindOCR's: ``character`` (``{index: char}``, blank included), ``blank_idx``,
    ``ignore_indices``, ``num_valid_chars``, ``num_classes``, ``space_idx``, ``lower``.
    ``raw_chars=False`` skips the per-frame ``raw_chars`` list (a debug output in MindOCR),
    which then is None; ``num_threads`` is handed to the kernel (0: all cores).
    """

    def __init__(
        self,
        character_dict_path: str | os.PathLike | None = None,
        use_space_char: bool = False,
        lower: bool = False,
        blank_at_last: bool = True,
        *,
        raw_chars: bool = True,
        num_threads: int = 0,
    ) -> None:
        char_list, self.space_idx, is_default = load_charset(character_dict_path, use_space_char)
        self.lower = bool(lower) or is_default
        self.num_valid_chars = len(char_list)
        if blank_at_last:
            char_list.append(BLANK_TOKEN)
            self.blank_idx = self.num_valid_chars
        else:
            char_list = [BLANK_TOKEN, *char_list]
            self.blank_idx = 0
        self.ignore_indices = [self.blank_idx]
        self.character = dict(enumerate(char_list))
        self.num_classes = len(char_list)
        self.raw_chars, self.num_threads = bool(raw_chars), int(num_threads)
        self._chars = char_list
        # MindOCR lowercases each character, then joins (not the joined text: final sigma etc.)
        self._text_chars = [ch.lower() for ch in char_list] if self.lower else list(char_list)

    def __call__(self, preds, labels=None, **kwargs) -> dict:
        """Texts of a batch.

        Args:
            preds: class probabilities ``(B, T, C)`` (MindOCR's eval-mode head output; a
                Tensor or array, float16/float64 are cast to float32; a tuple of such outputs
                uses its last element, as MindOCR), or already-decoded ``(ids (B, T) int
                -1 padded, lengths (B,), probs)`` with probs either ``(B, T)`` per emitted
                character (``crnn_fast.ctc_greedy_decode`` / ``CTCGreedyOp``; a GreedyResult
                works too) or confidences ``(B,)`` (``CTCGreedyDecoder``).
            labels: ignored (MindOCR's signature).

        Returns:
            ``{"texts": [str] * B, "confs": [float] * B, "raw_chars": [[str] * T] * B}``;
            raw_chars (the per-frame argmax characters) is None for decoded input or with
            ``raw_chars=False``. Confidences have MindOCR's types (``np.float32`` means,
            ``np.float64`` 0.0 when nothing is emitted).
        """
        if _is_decoded(preds):
            ids, lengths, probs = (_to_numpy(a) for a in preds[:3])
            texts, confs = self.decode(ids, lengths, probs)
            return {"texts": texts, "confs": confs, "raw_chars": None}
        if isinstance(preds, tuple):
            preds = preds[-1]
        probs = _to_numpy(preds)
        if probs.ndim != 3:
            raise ValueError(f"preds must have rank 3 (B, T, C), got shape {probs.shape}")
        if probs.dtype.kind != "f":
            raise TypeError(f"preds must be floating-point probabilities, got dtype {probs.dtype}")
        if probs.shape[2] != self.num_classes:
            raise ValueError(
                f"preds has C = {probs.shape[2]} classes, but the dictionary has "
                f"num_classes = {self.num_classes} (blank included)"
            )
        probs = np.ascontiguousarray(probs, dtype=np.float32)
        r = ctc_greedy_decode(
            probs,
            blank=self.blank_idx,
            input_kind="probs",
            batch_first=True,
            num_threads=self.num_threads,
        )
        texts, confs = self.decode(r.ids, r.lengths, r.probs)
        raw = None
        if self.raw_chars:
            chars = self._chars
            raw = [[chars[i] for i in row] for row in probs.argmax(-1).tolist()]
        return {"texts": texts, "confs": confs, "raw_chars": raw}

    def decode(
        self, ids: np.ndarray, lengths: np.ndarray, probs: np.ndarray
    ) -> tuple[list[str], list]:
        """Texts and confidences of decoded ids ``(B, T)`` (-1 padded) with lengths ``(B,)``;
        ``probs`` is ``(B, T)`` per emitted character (confidence = mean of the first
        ``lengths[b]``, 0 if none) or ``(B,)`` confidences (passed through)."""
        ids, lengths = np.asarray(ids), np.asarray(lengths)
        if ids.ndim != 2:
            raise ValueError(f"ids must have rank 2 (B, T), got shape {ids.shape}")
        B, T = ids.shape
        if lengths.shape != (B,):
            raise ValueError(f"lengths must have shape (B,) = ({B},), got {lengths.shape}")
        if B and (lengths.min() < 0 or lengths.max() > T):
            raise ValueError(f"lengths must be in [0, T = {T}], got {lengths.tolist()}")
        probs = np.asarray(probs)
        if probs.shape not in ((B, T), (B,)):
            raise ValueError(f"probs must have shape (B, T) or (B,), got {probs.shape}")
        texts: list[str] = []
        confs: list = []
        chars = self._text_chars
        for b in range(B):
            n = int(lengths[b])
            row = ids[b, :n].tolist()
            if any(i < 0 or i >= self.num_classes for i in row):
                raise ValueError(f"ids[{b}] has values outside [0, {self.num_classes})")
            texts.append("".join([chars[i] for i in row]))
            if probs.ndim == 1:
                confs.append(probs[b])
            else:
                confs.append(np.mean(probs[b, :n]) if n else np.mean([0]))
        return texts, confs
