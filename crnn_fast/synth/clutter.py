"""Backgrounds and occluders for the renderer, in output pixels (float32 RGB, 0..255).

Backgrounds (:func:`background`), each keeping every colour it uses at least ``min_contrast``
in luma away from the text colour so the word stays legible:

* ``smooth``: a flat colour plus a low-frequency texture (the original MJSynth-style look);
* ``gradient``: a linear ramp between two colours in a random direction;
* ``paper``: fine grain and fibres over a light tint of the colour, with blotches;
* ``shapes``: other rendered content behind the word: rectangles, ellipses and bands in other
  colours, as on labels, signs and forms;
* ``grain``: strong pixel or blocky grain over the colour (sensor noise, halftone screens,
  concrete, fabric);
* ``waves``: the interference of 3-6 plane waves (moire, guilloche and quasicrystal-like
  patterns of security print, screens and textiles).

Occluders (:func:`occlude`): a thin curve across the crop (captcha-style), speckle dots, and
border lines along an edge (table cells, boxes).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["BACKGROUNDS", "background", "contrasting", "occlude", "random_colour", "smooth_field"]

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
BACKGROUNDS = ("smooth", "gradient", "paper", "shapes", "grain", "waves")


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour; grey (r = g = b) 30 % of the time, as print often is."""
    c = rng.integers(0, 256, 3).astype(np.float32)
    return np.full(3, c[0], np.float32) if rng.random() < 0.3 else c


def contrasting(rng: np.random.Generator, ref: np.ndarray, min_contrast: float) -> np.ndarray:
    """A random RGB colour whose luma differs from ``ref``'s by >= ``min_contrast`` (black or
    white, whichever is farther, after 20 misses)."""
    lr = float(ref @ LUMA)
    for _ in range(20):
        c = random_colour(rng)
        if abs(float(c @ LUMA) - lr) >= min_contrast:
            return c
    return np.full(3, 0.0 if lr > 127.5 else 255.0, np.float32)


def _same_side(rng: np.random.Generator, bg: np.ndarray, fg: np.ndarray, min_contrast: float):
    """A colour on ``bg``'s side of ``fg`` (both lighter or both darker), still contrasting."""
    lb, lf = float(bg @ LUMA), float(fg @ LUMA)
    for _ in range(20):
        c = contrasting(rng, fg, min_contrast)
        if (float(c @ LUMA) - lf) * (lb - lf) > 0:
            return c
    return bg


def smooth_field(rng: np.random.Generator, gh: int, gw: int, H: int, W: int) -> np.ndarray:
    """Unit-std Gaussian values on a (gh, gw) grid, upsampled bicubically to (H, W)."""
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, "F").resize((W, H), Image.BICUBIC))


def _smooth(rng, bg, H, W, amp):
    img = np.broadcast_to(bg, (H, W, 3)).astype(np.float32)
    if amp > 0:
        field = smooth_field(rng, int(rng.integers(2, 5)), int(rng.integers(2, 9)), H, W)
        tint = rng.uniform(0.5, 1.0, 3).astype(np.float32)
        img = img + (amp * np.clip(field, -2.5, 2.5))[..., None] * tint
    return img


def _gradient(rng, bg, bg2, H, W):
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    t = math.cos(ang) * xx / max(W, 1) + math.sin(ang) * yy / max(H, 1)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    return bg + t[..., None] * (bg2 - bg)


def _paper(rng, bg, H, W, amp):
    img = _smooth(rng, bg, H, W, 0.6 * amp)
    grain = rng.standard_normal((H, W)).astype(np.float32) * rng.uniform(0.1, 0.3) * amp
    fibres = smooth_field(rng, max(2, H // 3), 2, H, W) * rng.uniform(0.0, 0.4) * amp  # streaks
    return img + (grain + fibres)[..., None]


def _shapes(rng, bg, fg, H, W, min_contrast):
    im = Image.fromarray(np.clip(np.broadcast_to(bg, (H, W, 3)), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(1, 5))):
        col = tuple(int(v) for v in _same_side(rng, bg, fg, min_contrast))
        x0, x1 = sorted(rng.uniform(-0.3, 1.3, 2) * W)
        y0, y1 = sorted(rng.uniform(-0.5, 1.5, 2) * H)
        kind = rng.random()
        if kind < 0.4:
            draw.rectangle((x0, y0, x1, y1), fill=col)
        elif kind < 0.7:
            draw.ellipse((x0, y0, x1, y1), fill=col)
        else:  # a band across the crop
            y = rng.uniform(0, H)
            draw.rectangle((0, y, W, y + rng.uniform(0.1, 0.5) * H), fill=col)
    return np.asarray(im, np.float32)


def _grain(rng, bg, H, W, amp):
    cell = int(rng.choice((1, 1, 2, 3)))  # grain size, px
    field = rng.standard_normal((max(2, H // cell), max(2, W // cell))).astype(np.float32)
    grain = np.asarray(Image.fromarray(field, "F").resize((W, H), Image.BILINEAR))
    tint = rng.uniform(0.7, 1.0, 3).astype(np.float32)
    return bg + (1.5 * amp * np.clip(grain, -2.5, 2.5))[..., None] * tint


def _waves(rng, bg, H, W, amp):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    n = int(rng.integers(3, 7))
    base = rng.uniform(0, math.pi)
    field = np.zeros((H, W), np.float32)
    for k in range(n):  # near-symmetric directions give quasicrystal-like rosettes
        ang = base + k * math.pi / n + rng.normal(0, 0.15)
        k_len = 2 * math.pi / rng.uniform(2.5, 12.0)  # wavelength in px
        phase = rng.uniform(0, 2 * math.pi)
        field += np.cos(k_len * (math.cos(ang) * xx + math.sin(ang) * yy) + phase)
    field *= math.sqrt(2.0 / n)  # unit std
    tint = rng.uniform(0.6, 1.0, 3).astype(np.float32)
    return bg + (1.5 * amp * np.clip(field, -2.5, 2.5))[..., None] * tint


def background(
    rng: np.random.Generator,
    kind: str,
    bg: np.ndarray,
    fg: np.ndarray,
    shape: tuple[int, int],
    texture: float,
    min_contrast: float,
) -> np.ndarray:
    """(H, W, 3) float32 background of ``kind`` (:data:`BACKGROUNDS`) around the colour ``bg``,
    for text of colour ``fg``; ``texture``: texture amplitude as a fraction of the contrast."""
    H, W = shape
    amp = texture * abs(float((fg - bg) @ LUMA)) / 2.5
    if kind == "smooth":
        return _smooth(rng, bg, H, W, amp)
    if kind == "gradient":
        return _gradient(rng, bg, _same_side(rng, bg, fg, min_contrast), H, W)
    if kind == "paper":  # grain even at texture 0
        return _paper(rng, bg, H, W, max(amp, 0.04 * abs(float((fg - bg) @ LUMA))))
    if kind == "shapes":
        return _shapes(rng, bg, fg, H, W, min_contrast)
    # strong textures even at texture 0, within the legibility margin of the tests
    strong = max(amp, 0.12 * abs(float((fg - bg) @ LUMA)))
    if kind == "grain":
        return _grain(rng, bg, H, W, strong)
    if kind == "waves":
        return _waves(rng, bg, H, W, strong)
    raise ValueError(f"background kind must be one of {BACKGROUNDS}, got {kind!r}")


def _curve_alpha(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    """Coverage (H, W) of a thin sine-like curve crossing the crop from left to right."""
    x = np.arange(W, dtype=np.float32)
    y = H * (rng.uniform(0.25, 0.75) + rng.uniform(0.05, 0.3) * np.sin(
        2 * math.pi * rng.uniform(0.3, 1.5) * x / W + rng.uniform(0, 2 * math.pi)))  # fmt: skip
    half = rng.uniform(0.4, 1.3)
    yy = np.arange(H, dtype=np.float32)[:, None]
    return np.clip(half + 0.5 - np.abs(yy - y[None, :]), 0.0, 1.0)


def _dots_alpha(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    im = Image.new("L", (W * 2, H * 2), 0)
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(5, 5 + W // 3))):
        x, y, r = rng.uniform(0, 2 * W), rng.uniform(0, 2 * H), rng.uniform(0.6, 2.0)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(im.resize((W, H), Image.BOX), np.float32) * (1.0 / 255.0)


def _border_alpha(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    a = np.zeros((H, W), np.float32)
    t = int(rng.integers(1, 3))
    edge = int(rng.integers(4))
    if edge == 0:
        a[:t] = 1
    elif edge == 1:
        a[H - t :] = 1
    elif edge == 2:
        a[:, :t] = 1
    else:
        a[:, W - t :] = 1
    return a


def occlude(
    rng: np.random.Generator,
    img: np.ndarray,
    fg: np.ndarray,
    *,
    curve: bool = False,
    dots: bool = False,
    border: bool = False,
) -> np.ndarray:
    """``img`` (H, W, 3) with the chosen occluders drawn over it: the curve and the dots in the
    text colour ``fg`` (or one near it), the border line in a dark or light grey."""
    H, W = img.shape[:2]
    for on, make in ((curve, _curve_alpha), (dots, _dots_alpha), (border, _border_alpha)):
        if on:
            a = make(rng, H, W)[..., None]
            col = fg if make is not _border_alpha else np.full(3, rng.uniform(0, 255), np.float32)
            img = img * (1 - a) + col * a
    return img
