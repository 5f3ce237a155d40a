"""Font discovery for the synthetic-text generator, and the train/test font split.

Where fonts come from, in this order:

1. ``CRNN_FAST_FONTS``: when set (non-empty), an ``os.pathsep``-separated list of font files
   and/or folders (searched recursively); *only* these are used.
2. Otherwise the standard folders: ``/usr/share/fonts``, ``/usr/local/share/fonts``,
   ``~/.local/share/fonts``, ``~/.fonts``, plus the fonts matplotlib (a dependency) ships
   (DejaVu, STIX, Computer Modern). More faces read better (``README.md``); on Debian/Ubuntu:
   ``apt-get install`` :data:`RECOMMENDED_DEBIAN_PACKAGES`.
3. When neither yields a usable font: Pillow's bundled font (Aileron Regular, via
   ``ImageFont.load_default(size=...)``; a warning is logged). Train and test then share it.

Files ending in ``.ttf``, ``.otf`` or ``.ttc`` (first face) are kept when they draw distinct
glyphs for all of ``0-9a-zA-Z`` (emoji and icon fonts fail that) and their file name matches
none of :data:`EXCLUDED_FONT_PATTERNS` (symbol fonts that map letters to other shapes, and the
families of the out-of-distribution evaluation set, ``crnn_fast.evalsets``, which training must
never see), sorted by file name (then path; a name seen twice is kept once), so the list is the
same whatever order the folders are walked in.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = [
    "DEFAULT_FONT",
    "DEFAULT_FONT_DIRS",
    "EXCLUDED_FONT_PATTERNS",
    "FONT_ENV",
    "RECOMMENDED_DEBIAN_PACKAGES",
    "FontSpec",
    "discover_fonts",
    "excluded_font",
    "font_sets",
    "load_font",
    "split_fonts",
]

log = logging.getLogger("crnn_fast")

FONT_ENV = "CRNN_FAST_FONTS"
DEFAULT_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
RECOMMENDED_DEBIAN_PACKAGES = (
    "fonts-dejavu-core",
    "fonts-liberation",
    "fonts-freefont-ttf",
    "fonts-urw-base35",
    "fonts-crosextra-carlito",
    "fonts-crosextra-caladea",
    "fonts-noto-core",
)
# Lower-case substrings of font file names never used: symbol/dingbat/math-italic faces that
# draw letters as other shapes, then the held-out families of the OOD evaluation set (trdg's
# and captcha's fonts: crnn_fast/evalsets/ood/manifest.json lists the files).
NON_TEXT_FONT_PATTERNS = ("symbol", "dingbat", "d050000l", "cmmi", "cmsy", "cmex", "nushu",
                          "emoji", "icon", "lastresort", "stixsiz", "stixnonuni")  # fmt: skip
HELD_OUT_FONT_PATTERNS = ("roboto", "opensans", "open-sans", "lato", "raleway", "droidsans",
                          "aller")  # fmt: skip
EXCLUDED_FONT_PATTERNS = NON_TEXT_FONT_PATTERNS + HELD_OUT_FONT_PATTERNS
_CHECK_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class FontSpec:
    """A font file (``path``) or, with ``path=None``, Pillow's bundled default font."""

    path: str | None
    name: str

    @property
    def is_default(self) -> bool:
        return self.path is None


DEFAULT_FONT = FontSpec(None, "pillow-default")


@lru_cache(maxsize=4096)
def load_font(spec: FontSpec, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The Pillow font for ``spec`` at ``size`` px (cached). Font files use Pillow's BASIC
    layout (no libraqm: the same glyph placement on every machine). The default font is
    ``load_default(size=size)``; a Pillow without FreeType only has a fixed-size bitmap font,
    which is returned instead (the renderer rescales whatever it draws)."""
    if spec.path is None:
        try:
            return ImageFont.load_default(size=size)
        except (ImportError, OSError, TypeError):  # no FreeType / Pillow < 10.1
            return ImageFont.load_default()
    return ImageFont.truetype(spec.path, size, layout_engine=ImageFont.Layout.BASIC)


def _matplotlib_font_dir() -> str | None:
    """matplotlib's bundled TTF folder, found without importing matplotlib (None: absent)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(next(iter(spec.submodule_search_locations)), "mpl-data", "fonts", "ttf")
    return str(d) if d.is_dir() else None


def excluded_font(name: str) -> bool:
    """True when a font file name matches :data:`EXCLUDED_FONT_PATTERNS` (case-insensitive)."""
    low = name.lower().replace(" ", "")
    return any(p in low for p in EXCLUDED_FONT_PATTERNS)


def _draws_alphabet(path: str) -> bool:
    """True when the font draws a distinct, non-empty glyph for each of 0-9a-zA-Z."""
    try:
        font = ImageFont.truetype(path, 24, layout_engine=ImageFont.Layout.BASIC)
        masks = set()
        for c in _CHECK_CHARS:
            m = font.getmask(c)
            if m.getbbox() is None:
                return False
            masks.add((m.size, bytes(m)))
    except Exception:  # unreadable or unsupported file: skip it  # noqa: BLE001
        return False
    # 'l', 'I' and '1' (or 'o', 'O' and '0') may share a glyph in some fonts; .notdef boxes
    # for every character would leave one.
    return len(masks) >= len(_CHECK_CHARS) - 6


def _candidates(roots: Sequence[str]) -> list[Path]:
    found = []
    for root in roots:
        p = Path(root).expanduser()
        if p.is_file() and p.suffix.lower() in FONT_SUFFIXES:
            found.append(p)
        elif p.is_dir():
            for dirpath, _, files in os.walk(p, followlinks=True):
                found += [Path(dirpath, f) for f in files if f.lower().endswith(FONT_SUFFIXES)]
    return found


@lru_cache(maxsize=32)
def _discover(roots: tuple[str, ...], validate: bool) -> tuple[FontSpec, ...]:
    seen: dict[str, FontSpec] = {}
    for p in sorted(_candidates(roots), key=lambda q: (q.name, str(q))):
        if excluded_font(p.name) or p.name in seen:
            continue
        if not validate or _draws_alphabet(str(p)):
            seen[p.name] = FontSpec(str(p), p.name)
    return tuple(seen.values())


def discover_fonts(
    dirs: Sequence[str | os.PathLike] | None = None, *, validate: bool = True
) -> list[FontSpec]:
    """Usable fonts, sorted by file name. ``dirs`` (files or folders) overrides the search;
    by default ``$CRNN_FAST_FONTS`` when set, else :data:`DEFAULT_FONT_DIRS` and matplotlib's
    fonts. Files matching :data:`EXCLUDED_FONT_PATTERNS` are never returned. May be empty."""
    if dirs is None:
        env = os.environ.get(FONT_ENV, "").strip()
        if env:
            dirs = [d for d in env.split(os.pathsep) if d]
        else:
            dirs = [*DEFAULT_FONT_DIRS, *filter(None, [_matplotlib_font_dir()])]
    return list(_discover(tuple(str(d) for d in dirs), validate))


def _font_hash(spec: FontSpec) -> int:
    return zlib.crc32(spec.name.encode()) % 1000


def split_fonts(
    fonts: Sequence[FontSpec], test_fraction: float = 0.25
) -> tuple[list[FontSpec], list[FontSpec]]:
    """(train, test) font sets. A font is a test font when the CRC-32 of its file name,
    modulo 1000, is below ``1000 * test_fraction`` (stable: a font keeps its side whatever
    other fonts are installed); with >= 2 fonts both sides get at least one (the font with the
    smallest hash goes to test, the largest to train). With one font (or none) train and test
    share it: the splits then differ only by seed and words."""
    fonts = sorted(set(fonts), key=lambda f: (f.name, f.path or ""))
    if len(fonts) < 2:
        return list(fonts), list(fonts)
    cut = round(1000 * test_fraction)
    test = [f for f in fonts if _font_hash(f) < cut]
    by_hash = sorted(fonts, key=lambda f: (_font_hash(f), f.name))
    if not test:
        test = [by_hash[0]]
    elif len(test) == len(fonts):
        test.remove(by_hash[-1])
    train = [f for f in fonts if f not in test]
    return train, test


def font_sets(
    dirs: Sequence[str | os.PathLike] | None = None, test_fraction: float = 0.25
) -> tuple[list[FontSpec], list[FontSpec], str]:
    """(train fonts, test fonts, source) where source is ``"env"``, ``"dirs"``, ``"system"``
    or ``"pillow-default"`` (nothing found: both sides use Pillow's bundled font)."""
    fonts = discover_fonts(dirs)
    if not fonts:
        log.warning(
            "crnn_fast.synth: no TTF/OTF font found (searched %s); using Pillow's bundled "
            "font for train and test. Install fonts (apt-get install %s) or point %s at a "
            "folder of .ttf files.",
            dirs or os.environ.get(FONT_ENV) or ", ".join(DEFAULT_FONT_DIRS),
            " ".join(RECOMMENDED_DEBIAN_PACKAGES),
            FONT_ENV,
        )
        return [DEFAULT_FONT], [DEFAULT_FONT], "pillow-default"
    source = "dirs" if dirs is not None else "env" if os.environ.get(FONT_ENV) else "system"
    train, test = split_fonts(fonts, test_fraction)
    return train, test, source
