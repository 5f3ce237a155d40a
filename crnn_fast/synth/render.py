"""Renders one word to an MJSynth-style RGB crop with Pillow and NumPy (no OpenCV needed).

Pipeline (every random choice comes from the caller's ``numpy.random.Generator``):

1. Draw the text with a random font size into an 8-bit mask (optionally a second mask with an
   outline, ``stroke_width``) and take the ink box (``h`` = its height: the unit of every
   geometric knob below).
2. Geometry: one homography maps the ink box's corners to a quad: horizontal stretch, shear,
   random corner jitter (perspective), rotation. The crop is the quad's bounding box plus
   random padding, scaled to ``height`` px (width follows the aspect ratio, clamped).
3. Each output pixel is mapped back through an elastic-ish displacement (a coarse Gaussian grid
   upsampled bicubically, plus an optional arc that bends the baseline) and the homography, and
   the mask is sampled bilinearly: one resampling pass for all distortions.
4. Colour: background and text colours with a luma difference of at least ``min_contrast``; a
   background (:mod:`.clutter`: smooth texture, gradient, paper, shapes); optional outline
   (contrasting with the text) and drop shadow; occluders (a curve, dots, a border line);
   Gaussian blur; a low resolution (downscaled, then upscaled back); Gaussian pixel noise.

Step 1 can also draw the word glyph by glyph (letter spacing, per-glyph rotation and shift),
add an underline or a strike-through bar, and draw neighbouring words and lines that a loose
crop cuts at its edges (:mod:`.glyphs`). Those realism knobs are off in the single presets of
:data:`DIFFICULTY` and on in the ``real-*`` presets that :data:`MIXES` combines: ``mix``, the
default of ``crnn-fast synth`` and of the quickstart, draws each sample's preset from a
difficulty mix.

Text comes out dark-on-light or light-on-dark with equal odds and fills 70-95 % of the crop
height at ``easy``, which is what MindOCR's 100x32 resize then sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from crnn_fast.synth.clutter import BACKGROUNDS, background, contrasting, occlude, random_colour
from crnn_fast.synth.clutter import LUMA as _LUMA
from crnn_fast.synth.clutter import smooth_field as _smooth_field
from crnn_fast.synth.fonts import FontSpec, load_font
from crnn_fast.synth.glyphs import draw_text
from crnn_fast.synth.presets import (
    DIFFICULTY,
    MIXES,
    RenderConfig,
    RenderMix,
    pick_config,
    render_config,
    render_plan,
)
from crnn_fast.synth.words import pseudo_word

__all__ = [
    "DIFFICULTY",
    "MIXES",
    "RenderConfig",
    "RenderMix",
    "Rendered",
    "render",
    "render_config",
    "render_plan",
    "render_word",
]


@dataclass(frozen=True)
class Rendered:
    """``image`` (H, W, 3) uint8 RGB; ``alpha`` (H, W) float32 in [0, 1]: text coverage."""

    image: np.ndarray
    alpha: np.ndarray


def _uniform(rng: np.random.Generator, lohi: tuple[float, float]) -> float:
    return float(rng.uniform(lohi[0], lohi[1]))


def _box_from_quad(box: tuple[float, float, float, float], quad: np.ndarray) -> np.ndarray:
    """3x3 homography (up to scale) taking the quad ``quad`` (4, 2: corners in the order
    top-left, top-right, bottom-right, bottom-left) back onto the axis-aligned ``box``
    (x0, y0, x1, y1). Closed form (Heckbert's square-to-quad, then its adjugate): no LAPACK
    call, which costs milliseconds per sample when OpenBLAS threads contend for the cores."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = (tuple(map(float, p)) for p in quad)
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    g = (dx3 * dy2 - dx2 * dy3) / den
    h = (dx1 * dy3 - dx3 * dy1) / den
    a, b, c = x1 - x0 + g * x1, x3 - x0 + h * x3, x0
    d, e, f = y1 - y0 + g * y1, y3 - y0 + h * y3, y0
    # square -> quad is [[a b c] [d e f] [g h 1]]; its adjugate maps quad -> square
    adj = np.array(
        [
            [e - f * h, c * h - b, b * f - c * e],
            [f * g - d, a - c * g, c * d - a * f],
            [d * h - e * g, b * g - a * h, a * e - b * d],
        ]
    )
    bx0, by0, bx1, by1 = box
    adj[0] = (bx1 - bx0) * adj[0] + bx0 * adj[2]  # square -> box
    adj[1] = (by1 - by0) * adj[1] + by0 * adj[2]
    return adj


def _bilinear(src: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Samples ``src`` (C, h, w) at continuous pixel-index coords (zero outside) -> (C, H, W)."""
    c, h, w = src.shape
    pad = np.zeros((c, h + 2, w + 2), np.float32)
    pad[:, 1:-1, 1:-1] = src
    xs = np.clip(xs + 1.0, 0.0, w + 0.999)
    ys = np.clip(ys + 1.0, 0.0, h + 0.999)
    x0 = xs.astype(np.intp)
    y0 = ys.astype(np.intp)
    fx = (xs - x0).astype(np.float32)
    fy = (ys - y0).astype(np.float32)
    x1 = np.minimum(x0 + 1, w + 1)
    y1 = np.minimum(y0 + 1, h + 1)
    top = pad[:, y0, x0] * (1 - fx) + pad[:, y0, x1] * fx
    bot = pad[:, y1, x0] * (1 - fx) + pad[:, y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``; no draw at all when ``p`` <= 0 (old presets keep their
    random stream)."""
    return p > 0 and rng.random() < p


@dataclass(frozen=True)
class _Layout:
    """Where the crop lies in text units: ``lo``/``hi`` its corners (2,), ``sx``/``sy`` output
    pixels per unit, ``W`` x ``H`` its size in pixels, ``inv`` the homography (3, 3) from the
    distorted quad back onto the ink box."""

    lo: np.ndarray
    hi: np.ndarray
    sx: float
    sy: float
    W: int
    H: int
    inv: np.ndarray


def _neighbour_texts(rng: np.random.Generator) -> list[str]:
    """[left, right, above, below] strings; each side present with probability 1/2 ("" off)."""
    out = []
    for k in range(4):
        if rng.random() < 0.5:
            t = " ".join(pseudo_word(rng, 9) for _ in range(1 if k < 2 else 3))
            out.append(t.capitalize() if rng.random() < 0.3 else t)
        else:
            out.append("")
    return out


def _ink(
    text: str, font: FontSpec, rng: np.random.Generator, cfg: RenderConfig
) -> tuple[list[np.ndarray], int, tuple[int, int, int, int]]:
    """Step 1: (text masks, see :func:`.glyphs.draw_text`; outline width (0: none); the word's
    ink box (x0, y0, x1, y1))."""
    size = int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1))
    pil_font = load_font(font, size)
    # an outline only on large enough text: a thin inner stroke would blur into it
    outline = rng.random() < cfg.p_stroke and size >= 24
    stroke = int(rng.integers(1, size // 12 + 1)) if outline else 0
    kw = {}
    if _chance(rng, cfg.p_spacing):
        kw["spacing"] = _uniform(rng, cfg.spacing) * size
    if _chance(rng, cfg.p_jitter):
        kw["jitter_deg"], kw["jitter_y"] = cfg.jitter[0], cfg.jitter[1] * size
    kw["underline"] = _chance(rng, cfg.p_underline)
    kw["strike"] = _chance(rng, cfg.p_strike)
    if _chance(rng, cfg.p_neighbours):
        kw["neighbours"] = _neighbour_texts(rng)
    drawn = draw_text(text, pil_font, rng, stroke=stroke, name=font.name, **kw)
    return drawn.masks, stroke, drawn.ink


def _layout(rng: np.random.Generator, cfg: RenderConfig, ink: tuple[int, int, int, int]) -> _Layout:
    """Step 2: the ink box's quad after stretch, shear, jitter and rotation (in text units
    around the box centre), padded, and the crop it gives."""
    x0, y0, x1, y1 = ink
    h = float(y1 - y0)
    src = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    q = src - src.mean(0)
    q[:, 0] *= _uniform(rng, cfg.stretch)
    q[:, 0] += rng.uniform(-cfg.shear, cfg.shear) * q[:, 1]
    q += rng.uniform(-cfg.perspective, cfg.perspective, (4, 2)) * h
    ang = math.radians(rng.uniform(-cfg.rotation, cfg.rotation))
    cos, sin = math.cos(ang), math.sin(ang)
    dst = np.stack([cos * q[:, 0] - sin * q[:, 1], sin * q[:, 0] + cos * q[:, 1]], 1)
    # Padding (+ room for the displacement field so it does not push ink out of the crop).
    warp = cfg.curve + 2.5 * cfg.elastic
    lo = dst.min(0) - h * (np.array([_uniform(rng, cfg.pad_x), _uniform(rng, cfg.pad_y)]) + warp)
    hi = dst.max(0) + h * (np.array([_uniform(rng, cfg.pad_x), _uniform(rng, cfg.pad_y)]) + warp)
    H = cfg.height
    sy = H / (hi[1] - lo[1])
    W = int(np.clip(round((hi[0] - lo[0]) * sy), cfg.min_width, cfg.max_width))
    sx = W / (hi[0] - lo[0])
    return _Layout(lo, hi, sx, sy, W, H, _box_from_quad(ink, dst))


def _source_coords(
    rng: np.random.Generator, cfg: RenderConfig, lay: _Layout, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: the mask coordinates (x, y), each (H, W), of the output pixel centres: to text
    units, displaced (elastic field, baseline arc), then through the homography."""
    lo, hi, inv = lay.lo, lay.hi, lay.inv
    u = (np.arange(lay.W, dtype=np.float32) + 0.5) / lay.sx + lo[0]
    v = (np.arange(lay.H, dtype=np.float32) + 0.5) / lay.sy + lo[1]
    qx, qy = np.meshgrid(u, v)
    if cfg.elastic > 0:
        gw = max(2, math.ceil((hi[0] - lo[0]) / (cfg.elastic_cell * h)) + 1)
        amp = cfg.elastic * h
        qx = qx + amp * np.clip(_smooth_field(rng, 3, gw, lay.H, lay.W), -2.5, 2.5)
        qy = qy + amp * np.clip(_smooth_field(rng, 3, gw, lay.H, lay.W), -2.5, 2.5)
    if cfg.curve > 0:
        bend = rng.uniform(-cfg.curve, cfg.curve) * h
        qy = qy + bend * (((u - (lo[0] + hi[0]) / 2) / ((hi[0] - lo[0]) / 2)) ** 2 - 0.5)
    den = inv[2, 0] * qx + inv[2, 1] * qy + inv[2, 2]
    xs = (inv[0, 0] * qx + inv[0, 1] * qy + inv[0, 2]) / den - 0.5
    ys = (inv[1, 0] * qx + inv[1, 1] * qy + inv[1, 2]) / den - 0.5
    return xs, ys


def _colour(
    rng: np.random.Generator,
    cfg: RenderConfig,
    alphas: np.ndarray,
    shadow: np.ndarray | None,
    stroke: int,
) -> np.ndarray:
    """Step 4: the float32 RGB image (H, W, 3): background, shadow, outline, text, occluders
    (``alphas``: text coverage, then the outline's when ``stroke``)."""
    H, W = alphas.shape[1:]
    if _chance(rng, cfg.p_print):
        bg = np.clip(rng.uniform(170, 255) + rng.normal(0, 12, 3), 0, 255).astype(np.float32)
        fg = np.clip(rng.uniform(0, 90) + rng.normal(0, 15, 3), 0, 255).astype(np.float32)
    else:
        bg = random_colour(rng)
        fg = contrasting(rng, bg, cfg.min_contrast)
    weights = np.asarray(cfg.backgrounds, float)
    if np.count_nonzero(weights) > 1:
        kind = BACKGROUNDS[int(rng.choice(len(weights), p=weights / weights.sum()))]
    else:
        kind = BACKGROUNDS[int(np.argmax(weights))]
    img = background(rng, kind, bg, fg, (H, W), cfg.texture, cfg.min_contrast)
    if shadow is not None:
        sc = np.full(3, 0.0 if float(bg @ _LUMA) > 127.5 else 255.0, np.float32)
        a = 0.6 * shadow[..., None]
        img = img * (1 - a) + sc * a
    fill = fg
    if stroke:  # an outline in a colour that contrasts with the text's ...
        a = alphas[1][..., None]
        if _chance(rng, cfg.p_hollow):  # ... or hollow letters: a text-coloured outline
            img, fill = img * (1 - a) + fg * a, bg
        else:
            img = img * (1 - a) + contrasting(rng, fg, cfg.min_contrast) * a
    a = alphas[0][..., None]
    img = img * (1 - a) + fill * a
    curve, dots = _chance(rng, cfg.p_curve_line), _chance(rng, cfg.p_dots)
    border = _chance(rng, cfg.p_border)
    if curve or dots or border:
        img = occlude(rng, img, fg, curve=curve, dots=dots, border=border)
    return img


_UPSCALE = (Image.NEAREST, Image.BILINEAR, Image.BICUBIC)


def _degrade(rng: np.random.Generator, cfg: RenderConfig, img: np.ndarray) -> np.ndarray:
    """Step 4, last: ``img`` to uint8, then the optional Gaussian blur, low resolution and
    pixel noise."""
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_blur:
        sigma = _uniform(rng, cfg.blur)
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(sigma)))
    if _chance(rng, cfg.p_lowres):
        H, W = out.shape[:2]
        s = _uniform(rng, cfg.lowres)
        small = Image.fromarray(out).resize((max(8, round(W * s)), max(8, round(H * s))), Image.BOX)
        out = np.asarray(small.resize((W, H), _UPSCALE[int(rng.integers(len(_UPSCALE)))]))
    sigma = _uniform(rng, cfg.noise)
    if sigma > 0:
        noisy = out + sigma * rng.standard_normal(out.shape, dtype=np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    return out


def render(
    text: str,
    font: FontSpec,
    rng: np.random.Generator,
    cfg: RenderConfig | RenderMix | None = None,
) -> Rendered:
    """Renders ``text`` with ``font``; see the module docstring (steps 1-4 are the helpers
    above, in that order: the order of the random draws; a mix first draws its preset).
    Deterministic in ``rng``."""
    cfg = pick_config(cfg or DIFFICULTY["easy"], rng)
    masks, stroke, ink = _ink(text, font, rng, cfg)
    h = float(ink[3] - ink[1])
    lay = _layout(rng, cfg, ink)
    xs, ys = _source_coords(rng, cfg, lay, h)
    stack = np.stack(masks)
    alphas = _bilinear(stack, xs, ys)
    shadow = None
    if rng.random() < cfg.p_shadow:
        off = rng.uniform(0.04, 0.1, 2) * h * rng.choice([-1, 1], 2)
        shadow = _bilinear(stack[-1:], xs - off[0], ys - off[1])[0]
    out = _degrade(rng, cfg, _colour(rng, cfg, alphas, shadow, stroke))
    return Rendered(np.ascontiguousarray(out), alphas[0])


def render_word(
    text: str,
    font: FontSpec,
    rng: np.random.Generator,
    cfg: RenderConfig | RenderMix | None = None,
) -> np.ndarray:
    """``render(...).image``: (height, W, 3) uint8 RGB."""
    return render(text, font, rng, cfg).image
