"""Words to render: the shipped list, pronounceable pseudo-words and random alphanumeric strings.

Labels are always drawn from MindOCR's default 36-character dictionary (``0-9a-z``): the
rendered text carries what real crops carry and the label drops (:func:`to_label`, MindOCR's
rule): case (``Word``, ``WORD``, ``wOrD``), punctuation and symbols around and inside words
(``(word),`` ``OCR-test`` ``it's``), formatted numbers (``$19.99``, ``2024-05-01``, ``12:30``,
``1,000``, ``45%``) and lines of several words with spaces (``Hello World``), up to MindOCR's
``max_text_len`` (23) label characters.

``words.txt`` (beside this file) holds ~3,100 common English words written for crnn_fast (no
published list was copied; Apache-2.0 like the project). Train and test can use disjoint parts
of it: :func:`split_words` puts a word in the test part by a hash of the word alone, so the
split does not depend on the seed, the order of the list or which other words it holds.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "ALPHABET",
    "DIGITS",
    "LETTERS",
    "TEXT_STYLES",
    "WordConfig",
    "WordSampler",
    "load_words",
    "pseudo_word",
    "random_string",
    "split_words",
    "to_label",
    "ctc_frames",
    "formatted_number",
]

DIGITS = "0123456789"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALPHABET = DIGITS + LETTERS  # MindOCR's default dictionary, ids 0..35 (blank = 36)
WORDS_FILE = Path(__file__).with_name("words.txt")

_ONSETS = (
    "b c d f g h j k l m n p r s t v w y z bl br ch cl cr dr fl fr gl gr kn pl pr sc sh sk sl "
    "sm sn sp st str sw th tr wh"
).split()
_VOWELS = "a e i o u a e i o ai ea ee oa oo ou ie".split()
_CODAS = "b ck d ft g k l ld lt m n nd ng nk nt p r rd rk rn rt s sh sk st t th x".split()


def to_label(text: str) -> str:
    """The label MindOCR would keep for ``text``: lowercased, out-of-dictionary chars dropped."""
    return "".join(c for c in text.lower() if c in ALPHABET)


def load_words(path: str | Path | None = None, *, min_len: int = 1, max_len: int = 16) -> list[str]:
    """Reads a word list (one word a line, ``#`` comments), maps each to its label
    (:func:`to_label`), keeps lengths in ``[min_len, max_len]``; sorted and deduplicated.
    ``path=None`` reads the shipped ``words.txt``."""
    lines = Path(path or WORDS_FILE).read_text(encoding="utf-8").splitlines()
    words = {to_label(w.strip()) for w in lines if w.strip() and not w.lstrip().startswith("#")}
    return sorted(w for w in words if min_len <= len(w) <= max_len)


def split_words(words: Iterable[str], test_fraction: float = 0.1) -> tuple[list[str], list[str]]:
    """(train, test) parts of ``words``: a word is a test word when the CRC-32 of its UTF-8
    bytes, modulo 1000, is below ``1000 * test_fraction``. Stable across runs, machines and
    lists (each word's side depends on the word alone)."""
    cut = round(1000 * test_fraction)
    train, test = [], []
    for w in sorted(set(words)):
        (test if zlib.crc32(w.encode()) % 1000 < cut else train).append(w)
    return train, test


def random_string(rng: np.random.Generator, min_len: int = 1, max_len: int = 10) -> str:
    """A random string over ``0-9a-z``: pure digits (30 %), pure letters (30 %) or mixed."""
    n = int(rng.integers(min_len, max_len + 1))
    kind = rng.random()
    chars = DIGITS if kind < 0.3 else LETTERS if kind < 0.6 else ALPHABET
    return "".join(chars[i] for i in rng.integers(0, len(chars), n))


def pseudo_word(rng: np.random.Generator, max_len: int = 12) -> str:
    """A pronounceable non-word of 1-4 syllables (onset? vowel coda?), cut to ``max_len``."""
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.8:
            parts.append(_ONSETS[int(rng.integers(len(_ONSETS)))])
        parts.append(_VOWELS[int(rng.integers(len(_VOWELS)))])
        if rng.random() < 0.4:
            parts.append(_CODAS[int(rng.integers(len(_CODAS)))])
    return "".join(parts)[:max_len]


_PREFIX = ["(", '"', "'", "#", "$", "[", "*", "-", "@", "&"]
_SUFFIX = [".", ",", "!", "?", ":", ";", ")", '"', "'", "'s", "%", "...", "]", "*", "-", "/"]
_JOIN = [" ", " ", " ", " ", "-", "/", ", ", ". ", " & ", "_", "'", ":", " - "]


def formatted_number(rng: np.random.Generator) -> str:
    """A number as print shows it: a price, date, time, thousands, decimal, percent, phone
    number, ordinal or model code."""
    d = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    kind = int(rng.integers(10))
    if kind == 0:
        return f"${d(0, 999)}.{d(0, 99):02d}"
    if kind == 1:
        return f"{d(1990, 2035)}-{d(1, 12):02d}-{d(1, 28):02d}"
    if kind == 2:
        return f"{d(1, 12):02d}/{d(1, 28):02d}/{d(0, 99):02d}"
    if kind == 3:
        return f"{d(0, 23)}:{d(0, 59):02d}"
    if kind == 4:
        return f"{d(1, 999)},{d(0, 999):03d}"
    if kind == 5:
        return f"{d(0, 999)}.{d(0, 99)}"
    if kind == 6:
        return f"{d(0, 100)}%"
    if kind == 7:
        return f"{d(100, 999)}-{d(0, 9999):04d}"
    if kind == 8:
        return f"{d(1, 99)}{['st', 'nd', 'rd', 'th'][d(0, 3)]}"
    return f"{LETTERS[d(0, 25)].upper()}{'-' if rng.random() < 0.3 else ''}{d(1, 999)}"


def ctc_frames(label: str) -> int:
    """The fewest CTC frames that can emit ``label``: its length plus one blank between each
    pair of equal neighbours (``"hello"`` needs 6)."""
    return len(label) + sum(a == b for a, b in zip(label, label[1:]))


def _mixed_case(rng: np.random.Generator, w: str) -> str:
    return "".join(c.upper() if rng.random() < 0.35 else c for c in w)


@dataclass(frozen=True)
class WordConfig:
    """What a sample's text is made of. The three probabilities are the shares of list words,
    pseudo-words and random strings (normalised); the rendered case is lowercase, ``Title`` or
    ``UPPER`` with ``p_title`` / ``p_upper`` (``p_mixed``: random letters upper-case); the
    label stays lowercase. Then, each with its probability: a formatted number instead of the
    word (``p_number``), punctuation before/after it (``p_punct``), and a line of 2-4 such
    words joined by spaces or punctuation (``p_multi``), while the label fits ``max_len`` and
    ``max_frames`` (CTC-feasible on CRNN's 24 frames: :func:`ctc_frames`)."""

    p_list: float = 0.6
    p_pseudo: float = 0.15
    p_random: float = 0.25
    random_len: tuple[int, int] = (1, 10)
    pseudo_max_len: int = 10
    max_len: int = 23  # MindOCR's max_text_len
    # signs, labels, prices and dates: many Title / UPPER words, numbers, lines of 2-4 words
    p_title: float = 0.3
    p_upper: float = 0.2
    p_mixed: float = 0.03
    p_number: float = 0.15
    p_punct: float = 0.2
    p_multi: float = 0.2
    max_frames: int = 24  # CTC frames of a 100 px input: len(label) + repeats must fit


TEXT_STYLES: dict[str, WordConfig] = {
    "real": WordConfig(),  # what real crops show (the default)
    "plain": WordConfig(p_mixed=0.0, p_number=0.0, p_punct=0.0, p_multi=0.0, max_len=16),
}


class WordSampler:
    """Draws ``(text_to_render, label)`` pairs from a word list, pseudo-words and random
    strings. Generated strings that fall in ``exclude`` (e.g. the other split's held-out words)
    are drawn again, so a disjoint word split stays disjoint."""

    def __init__(
        self,
        words: Sequence[str],
        config: WordConfig | None = None,
        exclude: Collection[str] = (),
    ) -> None:
        self.config = config or WordConfig()
        self.words = [w for w in words if 1 <= len(w) <= self.config.max_len]
        if not self.words:
            raise ValueError("the word list is empty (after the length filter)")
        p = np.array([self.config.p_list, self.config.p_pseudo, self.config.p_random], float)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"bad word-source probabilities {p.tolist()}")
        self._cum = np.cumsum(p / p.sum())
        self.exclude = frozenset(exclude)

    def label(self, rng: np.random.Generator) -> str:
        """One lowercase label from ``0-9a-z``."""
        cfg = self.config
        for _ in range(100):
            u = rng.random()
            if u < self._cum[0]:
                return self.words[int(rng.integers(len(self.words)))]
            if u < self._cum[1]:
                w = pseudo_word(rng, min(cfg.pseudo_max_len, cfg.max_len))
            else:
                lo, hi = cfg.random_len
                w = random_string(rng, lo, min(hi, cfg.max_len))
            if w not in self.exclude:
                return w
        raise RuntimeError("could not draw a word outside the excluded set")

    def _cased(self, rng: np.random.Generator, label: str) -> str:
        cfg = self.config
        u = rng.random()
        if u < cfg.p_upper:
            return label.upper()
        if u < cfg.p_upper + cfg.p_title:
            return label.capitalize()
        if u < cfg.p_upper + cfg.p_title + cfg.p_mixed:
            return _mixed_case(rng, label)
        return label

    def _token(self, rng: np.random.Generator) -> str:
        """One word as printed: a (cased) label or a formatted number, maybe with punctuation."""
        cfg = self.config
        if cfg.p_number > 0 and rng.random() < cfg.p_number:
            text = formatted_number(rng)
            if to_label(text) in self.exclude:  # keep a disjoint word split disjoint
                text = self._cased(rng, self.label(rng))
        else:
            text = self._cased(rng, self.label(rng))
        if cfg.p_punct > 0 and rng.random() < cfg.p_punct:
            u = rng.random()
            if u < 0.3:
                text = _PREFIX[int(rng.integers(len(_PREFIX)))] + text
            if u > 0.15:
                text += _SUFFIX[int(rng.integers(len(_SUFFIX)))]
        return text

    def __call__(self, rng: np.random.Generator) -> tuple[str, str]:
        """``(text, label)``: the text to render and its label, ``to_label(text)``, 1 to
        ``max_len`` characters long."""
        cfg = self.config
        for _ in range(100):
            text = self._token(rng)
            if cfg.p_multi > 0 and rng.random() < cfg.p_multi:
                # most lines short (a 100 px input has 24 CTC frames), a quarter up to max_len
                cap = cfg.max_len if rng.random() < 0.25 else min(14, cfg.max_len)
                for _ in range(int(rng.integers(1, 4))):
                    more = text + _JOIN[int(rng.integers(len(_JOIN)))] + self._token(rng)
                    if len(to_label(more)) > cap:
                        break
                    text = more
            label = to_label(text)
            if 1 <= len(label) <= cfg.max_len and ctc_frames(label) <= cfg.max_frames:
                return text, label
        raise RuntimeError("could not draw a text whose label fits max_len")
