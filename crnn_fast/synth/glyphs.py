"""Text masks for the renderer: the word (whole string, or glyph by glyph with letter spacing
and per-glyph jitter), its optional outline, underline / strike-through bars, and neighbouring
text (words left and right, lines above and below) that the crop cuts at its edges.

Masks are float32 arrays in [0, 1], all the same (h, w) canvas; the ink box is the word's alone
(x0, y0, x1, y1), so the crop (``render._layout``) is placed on the word and only the padding
decides how much of the neighbours shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["TextMasks", "draw_text"]


@dataclass(frozen=True)
class TextMasks:
    """``masks``: [text] or [text, outline], each (h, w) float32; ``ink``: the word's ink box."""

    masks: list[np.ndarray]
    ink: tuple[int, int, int, int]


def _string_masks(text: str, font, stroke: int) -> list[Image.Image]:
    """The whole string drawn with Pillow (kerning kept): [text] or [text, outline] "L" images."""
    l, t, r, b = font.getbbox(text)
    m = 2 + stroke
    size = (max(1, r - l + 2 * m), max(1, b - t + 2 * m))
    out = []
    for sw in [0] + ([stroke] if stroke else []):
        im = Image.new("L", size, 0)
        kw = {"stroke_width": sw, "stroke_fill": 255} if sw else {}
        ImageDraw.Draw(im).text((m - l, m - t), text, font=font, fill=255, **kw)
        out.append(im)
    return out


def _glyph_masks(
    text: str, font, stroke: int, spacing: float, jitter_deg: float, jitter_y: float, rng
) -> list[Image.Image]:
    """Glyph by glyph: each advanced by its own width plus ``spacing`` px, rotated by up to
    ``jitter_deg`` and shifted by up to ``jitter_y`` px (captcha- and sign-style lettering)."""
    asc, desc = font.getmetrics()
    m = 2 + stroke + int(jitter_y) + 2
    advances = [max(1.0, float(font.getlength(c))) for c in text]
    width = int(sum(advances) + spacing * (len(text) - 1) + 2 * m + asc)
    canvases = [
        Image.new("L", (max(1, width), asc + desc + 2 * m), 0) for _ in range(1 + bool(stroke))
    ]
    x = float(m)
    for c, adv in zip(text, advances):
        angle = float(rng.uniform(-jitter_deg, jitter_deg)) if jitter_deg > 0 else 0.0
        dy = float(rng.uniform(-jitter_y, jitter_y)) if jitter_y > 0 else 0.0
        if not c.isspace():
            cell = (int(adv) + 2 * m, asc + desc + 2 * m)
            for k, canvas in enumerate(canvases):
                g = Image.new("L", cell, 0)
                kw = {"stroke_width": stroke, "stroke_fill": 255} if k else {}
                ImageDraw.Draw(g).text((m, m), c, font=font, fill=255, **kw)
                if angle:
                    g = g.rotate(angle, resample=Image.BICUBIC, center=(cell[0] / 2, m + asc * 0.6))
                pos = (int(round(x - m)), int(round(dy)))
                canvas.paste(
                    Image.fromarray(np.maximum(_crop_at(canvas, pos, cell), np.asarray(g))), pos
                )
        x += adv + spacing
    return canvases


def _crop_at(canvas: Image.Image, pos: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The ``size`` window of ``canvas`` at ``pos`` as uint8 (zeros where it leaves the canvas)."""
    return np.asarray(canvas.crop((pos[0], pos[1], pos[0] + size[0], pos[1] + size[1])))


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    return Image.fromarray((mask > 0).astype(np.uint8)).getbbox()


def _bars(mask: np.ndarray, ink, rng, underline: bool, strike: bool) -> None:
    """Draws an underline below the ink box and/or a bar through it (in place, into ``mask``)."""
    x0, y0, x1, y1 = ink
    h = y1 - y0
    for on, y in (
        (underline, y1 + rng.uniform(0.02, 0.12) * h),
        (strike, y0 + rng.uniform(0.3, 0.65) * h),
    ):
        if not on:
            continue
        t = max(1.0, rng.uniform(0.04, 0.09) * h)
        a = int(max(0, x0 - rng.uniform(0, 0.3) * h))
        b = int(min(mask.shape[1], x1 + rng.uniform(0, 0.3) * h))
        r0, r1 = int(round(y)), int(round(y + t))
        mask[max(0, r0) : max(0, min(mask.shape[0], r1)), a:b] = 1.0


def _with_neighbours(
    masks: list[np.ndarray], ink, font, stroke: int, others: list[str], rng
) -> tuple[list[np.ndarray], tuple[int, int, int, int]]:
    """Pads the canvas and draws ``others`` (up to four strings) left, right, above and below the
    word, a word gap / a line gap away, so a loose crop cuts them at its edges."""
    x0, y0, x1, y1 = ink
    h = y1 - y0
    gap = int(rng.uniform(0.15, 0.5) * h)
    line = int(rng.uniform(0.0, 0.3) * h)  # between the ink and the other line's box
    side = [_string_masks(o, font, stroke) if o.strip() else None for o in others]
    pad_x = max([gap + s[0].size[0] for s in side[:2] if s] + [0]) + 2
    pad_y = line + h
    H, W = masks[0].shape
    out = [np.zeros((H + 2 * pad_y, W + 2 * pad_x), np.float32) for _ in masks]
    for o, m in zip(out, masks):
        o[pad_y : pad_y + H, pad_x : pad_x + W] = m
    ink2 = (x0 + pad_x, y0 + pad_y, x1 + pad_x, y1 + pad_y)
    for k, s in enumerate(side):
        if s is None:
            continue
        sw, sh = s[0].size
        if k == 0:  # left
            ox, oy = ink2[0] - gap - sw, ink2[3] - sh + int(rng.uniform(-0.1, 0.1) * h)
        elif k == 1:  # right
            ox, oy = ink2[2] + gap, ink2[3] - sh + int(rng.uniform(-0.1, 0.1) * h)
        elif k == 2:  # above
            ox, oy = ink2[0] + int(rng.uniform(-1, 0.5) * sw), ink2[1] - line - sh
        else:  # below
            ox, oy = ink2[0] + int(rng.uniform(-1, 0.5) * sw), ink2[3] + line
        ys = slice(max(0, oy), min(out[0].shape[0], oy + sh))
        xs = slice(max(0, ox), min(out[0].shape[1], ox + sw))
        if ys.stop <= ys.start or xs.stop <= xs.start:
            continue
        src = (slice(ys.start - oy, ys.stop - oy), slice(xs.start - ox, xs.stop - ox))
        for o, im in zip(out, s):
            o[ys, xs] = np.maximum(o[ys, xs], np.asarray(im, np.float32)[src] * (1.0 / 255.0))
    return out, ink2


def draw_text(
    text: str,
    font,
    rng: np.random.Generator,
    *,
    stroke: int = 0,
    spacing: float = 0.0,
    jitter_deg: float = 0.0,
    jitter_y: float = 0.0,
    underline: bool = False,
    strike: bool = False,
    neighbours: list[str] | None = None,
    name: str = "this font",
) -> TextMasks:
    """The masks for ``text`` in the Pillow ``font`` (see the module docstring). ``spacing``,
    ``jitter_y``: px at the drawing size; ``neighbours``: [left, right, above, below] strings
    ("" for none). Raises ValueError when the text draws no ink (``name``: the font's, for it)."""
    glyphwise = spacing != 0.0 or jitter_deg > 0 or jitter_y > 0
    if glyphwise:
        ims = _glyph_masks(text, font, stroke, spacing, jitter_deg, jitter_y, rng)
    else:
        ims = _string_masks(text, font, stroke)
    masks = [np.asarray(im, np.float32) * (1.0 / 255.0) for im in ims]
    ink = _ink_box(masks[-1])
    if ink is None:
        raise ValueError(f"{text!r} draws nothing with {name}")
    if underline or strike:
        seed = int(rng.integers(1 << 31))  # the same bars on the text and its outline
        for m in masks:
            _bars(m, ink, np.random.default_rng(seed), underline, strike)
        ink = _ink_box(masks[-1])
    if neighbours:
        masks, ink = _with_neighbours(masks, ink, font, stroke, neighbours, rng)
    return TextMasks(masks, ink)
