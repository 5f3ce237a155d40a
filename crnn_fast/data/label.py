"""Character dictionary and CTC label encoding: MindOCR's ``RecCTCLabelEncode``.

Source: ``mindocr/data/transforms/rec_transforms.py`` (``RecCTCLabelEncode``, ``str2idx``) at
the contract's commit (MINDOCR_CRNN.md s2). The dictionary rules are those of
``crnn_fast.nn.CTCLabelDecode`` (the same file format, ``use_space_char``, ``lower``), with the
blank last: ``C = len(chars) + 1`` classes, blank ``= C - 1``.

Encoding rules (``str2idx``), in this order:

1. an empty text, or one longer than ``max_len`` characters *before* lowercasing, gives None;
2. with ``lower`` the whole text is lowercased (``str.lower``; it may change the length, e.g.
   ``"İ"`` -> ``"i̇"``);
3. each character not in the dictionary is dropped;
4. no character left gives None; more than ``max_len`` left (only possible through step 2, if
   the dictionary holds the lengthening characters) gives None too, where MindOCR would emit
   an over-long row that fails to batch.

None means "no target". What MindOCR then does with the sample (crnn configs): it is **kept**
with an all-blank target of length 0 (``RecCTCLabelEncode`` turns None into ``[]`` and pads);
nothing is filtered, since the dataset flags ``filter_max_len`` / ``filter_zero_text_image``
are off (see ``pipeline.py``, which supports both flags). So a 30-character word under
``max_text_len: 23`` trains as "empty" and is scored on its raw text at evaluation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Optional

import numpy as np

from ..charset import DEFAULT_CHARACTERS, load_charset

__all__ = ["DEFAULT_CHARACTERS", "CharDict", "encode_label"]

log = logging.getLogger("crnn_fast.data")


class CharDict:
    """A recognition alphabet with the CTC blank last.

    Args:
        character_dict_path: one character per line (``line.rstrip("\\n\\r")``, as MindOCR
            reads it; UTF-8), or None for the 36-character default ``0-9a-z``, which forces
            ``lower=True``.
        use_space_char: append ``" "`` when absent (``space_idx`` is then the last character).
        lower: lowercase texts before the look-up (forced True for the default dictionary).
        chars: the characters themselves, instead of a file (the default rule does not apply:
            ``lower`` is taken as given).

    Attributes:
        chars: list of the ``num_valid_chars`` characters, index = class id.
        index: ``{char: id}``; a character listed twice maps to its last line, as in MindOCR.
        blank: ``len(chars)``, i.e. ``num_classes - 1``.
        num_classes: ``len(chars) + 1`` (the network's C).
        space_idx: id of ``" "`` when ``use_space_char``, else None.
    """

    def __init__(
        self,
        character_dict_path: Optional[str | os.PathLike] = None,
        use_space_char: bool = False,
        lower: bool = False,
        *,
        chars: Optional[Sequence[str]] = None,
    ) -> None:
        if chars is not None and character_dict_path is not None:
            raise ValueError("give either character_dict_path or chars, not both")
        char_list, self.space_idx, is_default = load_charset(
            character_dict_path, use_space_char, chars
        )
        self.lower = bool(lower) or is_default
        if not char_list:
            raise ValueError(f"the character dictionary {character_dict_path} is empty")
        self.chars = char_list
        self.index = {c: i for i, c in enumerate(char_list)}
        if len(self.index) != len(char_list):
            log.warning(
                "character dictionary %s lists %d character(s) twice; each maps to its last line",
                character_dict_path, len(char_list) - len(self.index),
            )  # fmt: skip
        self.blank = len(char_list)
        self.num_classes = len(char_list) + 1

    @property
    def num_valid_chars(self) -> int:
        """MindOCR's name for ``len(chars)`` (space included when used)."""
        return len(self.chars)

    @classmethod
    def from_config(cls, cfg: dict) -> CharDict:
        """From a ``RecCTCLabelEncode`` / ``postprocess`` mapping (``character_dict_path``,
        ``use_space_char``, ``lower``); ``blank_at_last`` must be True (the CRNN contract)."""
        if not cfg.get("blank_at_last", True):
            raise ValueError("blank_at_last: False is not supported (CRNN's blank is C - 1)")
        return cls(
            cfg.get("character_dict_path"),
            bool(cfg.get("use_space_char", False)),
            bool(cfg.get("lower", False)),
        )

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The text of class ids; blanks (padding) and out-of-range ids are skipped."""
        n = len(self.chars)
        return "".join(self.chars[i] for i in np.asarray(ids).ravel().tolist() if 0 <= i < n)

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharDict({len(self.chars)} chars, blank={self.blank}, lower={self.lower})"


def encode_label(text: str, d: CharDict, max_len: int) -> Optional[tuple[np.ndarray, int]]:
    """``RecCTCLabelEncode``'s target of ``text`` (see the module docstring for the rules).

    Returns:
        ``(ids, length)``: ``ids`` int32 ``(max_len,)``, the first ``length`` entries the class
        ids of the kept characters, the rest ``d.blank``; or None when the text is empty, longer
        than ``max_len`` or has no dictionary character (MindOCR then trains the sample with
        an all-blank target, ``length`` 0: ``np.full(max_len, d.blank)``).
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if len(text) == 0 or len(text) > max_len:
        return None
    if d.lower:
        text = text.lower()
    index = d.index
    ids = [index[c] for c in text if c in index]
    if not ids or len(ids) > max_len:  # > max_len: lower() lengthened it ("İ" -> "i̇");
        return None  # MindOCR would emit a too-long row and fail to batch it
    out = np.full(max_len, d.blank, dtype=np.int32)
    out[: len(ids)] = ids
    return out, len(ids)
