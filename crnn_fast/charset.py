"""MindOCR's character dictionaries, read one way for label encoding (``crnn_fast.data``),
decoding (``crnn_fast.nn.CTCLabelDecode``), metrics and class counts (``crnn_fast.models``).

A dictionary is the 36-character default ``0-9a-z`` (for which MindOCR forces ``lower=True``)
or a UTF-8 file with one character per line (``line.rstrip("\\n\\r")``, as MindOCR reads it);
``use_space_char`` appends ``" "`` when it is absent. The CTC blank is not part of it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Optional

__all__ = ["DEFAULT_CHARACTERS", "load_charset"]

DEFAULT_CHARACTERS = "0123456789abcdefghijklmnopqrstuvwxyz"


def load_charset(
    path: Optional[str | os.PathLike] = None,
    use_space_char: bool = False,
    chars: Optional[Sequence[str]] = None,
) -> tuple[list[str], Optional[int], bool]:
    """``(characters, space_idx, is_default)`` of the dictionary at ``path`` (None: the default)
    or of the given ``chars``; ``space_idx`` is the index of ``" "`` when ``use_space_char``,
    else None; ``is_default`` says MindOCR would force ``lower=True``."""
    is_default = chars is None and path is None
    if chars is not None:
        char_list = [str(c) for c in chars]
    elif path is None:
        char_list = list(DEFAULT_CHARACTERS)
    else:
        with open(path, encoding="utf-8") as f:
            char_list = [line.rstrip("\n\r") for line in f]
    space_idx = None
    if use_space_char:
        if " " not in char_list:
            char_list.append(" ")
        space_idx = len(char_list) - 1
    return char_list, space_idx, is_default
