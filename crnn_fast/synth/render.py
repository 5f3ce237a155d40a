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
   smooth background texture; optional outline (contrasting with the text) and drop shadow;
   Gaussian blur; Gaussian pixel noise.

Text comes out dark-on-light or light-on-dark with equal odds and fills 70-95 % of the crop
height at ``easy`` (:data:`DIFFICULTY`), which is what MindOCR's 100x32 resize then sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from crnn_fast.synth.fonts import FontSpec, load_font

__all__ = ["DIFFICULTY", "RenderConfig", "Rendered", "render", "render_word", "render_config"]

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class RenderConfig:
    """The knobs of :func:`render`. Lengths marked *h* are fractions of the ink box height."""

    height: int = 32  # output height, px
    min_width: int = 16  # output width clamp, px
    max_width: int = 320
    font_size: tuple[int, int] = (22, 40)  # drawing size, px (the crop is rescaled to height)
    pad_x: tuple[float, float] = (0.05, 0.4)  # h, each side
    pad_y: tuple[float, float] = (0.03, 0.2)  # h, each side
    stretch: tuple[float, float] = (0.85, 1.15)  # horizontal glyph scale
    shear: float = 0.1  # max |dx/dy| (slant)
    perspective: float = 0.04  # h, max corner jitter
    rotation: float = 2.0  # degrees, max |angle|
    elastic: float = 0.015  # h, std of the displacement field
    elastic_cell: float = 0.6  # h, spacing of the field's control points
    curve: float = 0.0  # h, max baseline arc height
    min_contrast: float = 90.0  # min |luma(text) - luma(background)|, 0..255
    texture: float = 0.25  # background texture amplitude, fraction of the contrast
    p_blur: float = 0.5
    blur: tuple[float, float] = (0.3, 0.8)  # Gaussian sigma, output px
    noise: tuple[float, float] = (0.0, 4.0)  # pixel noise std, 0..255
    p_stroke: float = 0.0  # outline in a third colour (font sizes >= 24 only)
    p_shadow: float = 0.0  # drop shadow
    jpeg_quality: tuple[int, int] = (90, 95)  # used by the writer for image_format="jpg"


DIFFICULTY: dict[str, RenderConfig] = {
    "easy": RenderConfig(),
    "medium": RenderConfig(
        font_size=(18, 44),
        pad_y=(0.02, 0.25),
        stretch=(0.75, 1.25),
        shear=0.2,
        perspective=0.08,
        rotation=4.0,
        elastic=0.03,
        curve=0.08,
        min_contrast=60.0,
        texture=0.4,
        p_blur=0.6,
        blur=(0.3, 1.0),
        noise=(0.0, 8.0),
        p_stroke=0.1,
        p_shadow=0.1,
        jpeg_quality=(60, 95),
    ),
    "hard": RenderConfig(
        font_size=(16, 48),
        pad_x=(0.0, 0.5),
        pad_y=(0.0, 0.3),
        stretch=(0.65, 1.35),
        shear=0.3,
        perspective=0.14,
        rotation=8.0,
        elastic=0.05,
        curve=0.15,
        min_contrast=50.0,
        texture=0.5,
        p_blur=0.7,
        blur=(0.3, 1.2),
        noise=(0.0, 12.0),
        p_stroke=0.2,
        p_shadow=0.2,
        jpeg_quality=(40, 90),
    ),
}


def render_config(difficulty: str | RenderConfig = "easy", **overrides) -> RenderConfig:
    """A preset from :data:`DIFFICULTY` (or a config), with fields overridden by keyword."""
    if isinstance(difficulty, RenderConfig):
        cfg = difficulty
    elif difficulty in DIFFICULTY:
        cfg = DIFFICULTY[difficulty]
    else:
        raise ValueError(f"difficulty must be one of {sorted(DIFFICULTY)}, got {difficulty!r}")
    return replace(cfg, **overrides)


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


def _smooth_field(rng: np.random.Generator, gh: int, gw: int, H: int, W: int) -> np.ndarray:
    """Unit-std Gaussian values on a (gh, gw) grid, upsampled bicubically to (H, W)."""
    grid = rng.standard_normal((gh, gw)).astype(np.float32)
    return np.asarray(Image.fromarray(grid, "F").resize((W, H), Image.BICUBIC))


def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour; grey (r = g = b) 30 % of the time, as print often is."""
    c = rng.integers(0, 256, 3).astype(np.float32)
    return np.full(3, c[0], np.float32) if rng.random() < 0.3 else c


def _contrasting(rng: np.random.Generator, ref: np.ndarray, min_contrast: float) -> np.ndarray:
    """A random RGB colour whose luma differs from ``ref``'s by >= ``min_contrast`` (black or
    white, whichever is farther, after 20 misses)."""
    lr = float(ref @ _LUMA)
    for _ in range(20):
        c = _random_colour(rng)
        if abs(float(c @ _LUMA) - lr) >= min_contrast:
            return c
    return np.full(3, 0.0 if lr > 127.5 else 255.0, np.float32)


def _draw_masks(text: str, font, stroke: int) -> list[np.ndarray]:
    """[text mask] or [text mask, outline mask] as float32 arrays in [0, 1]."""
    l, t, r, b = font.getbbox(text)
    m = 2 + stroke
    size = (max(1, r - l + 2 * m), max(1, b - t + 2 * m))
    masks = []
    for sw in [0] + ([stroke] if stroke else []):
        im = Image.new("L", size, 0)
        kw = {"stroke_width": sw, "stroke_fill": 255} if sw else {}
        ImageDraw.Draw(im).text((m - l, m - t), text, font=font, fill=255, **kw)
        masks.append(np.asarray(im, np.float32) * (1.0 / 255.0))
    return masks


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


def _ink(
    text: str, font: FontSpec, rng: np.random.Generator, cfg: RenderConfig
) -> tuple[list[np.ndarray], int, tuple[int, int, int, int]]:
    """Step 1: (masks as :func:`_draw_masks`, outline width (0: none), ink box (x0, y0, x1, y1)
    of the last mask)."""
    size = int(rng.integers(cfg.font_size[0], cfg.font_size[1] + 1))
    pil_font = load_font(font, size)
    # an outline only on large enough text: a thin inner stroke would blur into it
    outline = rng.random() < cfg.p_stroke and size >= 24
    stroke = int(rng.integers(1, size // 12 + 1)) if outline else 0
    masks = _draw_masks(text, pil_font, stroke)
    ink = Image.fromarray((masks[-1] > 0).astype(np.uint8)).getbbox()
    if ink is None:
        raise ValueError(f"{text!r} draws nothing with {font.name}")
    return masks, stroke, ink


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
    """Step 4: the float32 RGB image (H, W, 3): background + texture, shadow, outline, text
    (``alphas``: text coverage, then the outline's when ``stroke``)."""
    H, W = alphas.shape[1:]
    bg = _random_colour(rng)
    fg = _contrasting(rng, bg, cfg.min_contrast)
    contrast = abs(float((fg - bg) @ _LUMA))
    tex = cfg.texture * contrast / 2.5
    img = np.broadcast_to(bg, (H, W, 3)).astype(np.float32)
    if tex > 0:
        field = _smooth_field(rng, int(rng.integers(2, 5)), int(rng.integers(2, 9)), H, W)
        tint = rng.uniform(0.5, 1.0, 3).astype(np.float32)
        img = img + (tex * np.clip(field, -2.5, 2.5))[..., None] * tint
    if shadow is not None:
        sc = np.full(3, 0.0 if float(bg @ _LUMA) > 127.5 else 255.0, np.float32)
        a = 0.6 * shadow[..., None]
        img = img * (1 - a) + sc * a
    if stroke:  # an outline in a colour that contrasts with the text's
        a = alphas[1][..., None]
        img = img * (1 - a) + _contrasting(rng, fg, cfg.min_contrast) * a
    a = alphas[0][..., None]
    return img * (1 - a) + fg * a


def _degrade(rng: np.random.Generator, cfg: RenderConfig, img: np.ndarray) -> np.ndarray:
    """Step 4, last: ``img`` to uint8, then the optional Gaussian blur and pixel noise."""
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_blur:
        sigma = _uniform(rng, cfg.blur)
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(sigma)))
    sigma = _uniform(rng, cfg.noise)
    if sigma > 0:
        noisy = out + sigma * rng.standard_normal(out.shape, dtype=np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    return out


def render(
    text: str, font: FontSpec, rng: np.random.Generator, cfg: RenderConfig | None = None
) -> Rendered:
    """Renders ``text`` with ``font``; see the module docstring (steps 1-4 are the helpers
    above, in that order: the order of the random draws). Deterministic in ``rng``."""
    cfg = cfg or DIFFICULTY["easy"]
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
    text: str, font: FontSpec, rng: np.random.Generator, cfg: RenderConfig | None = None
) -> np.ndarray:
    """``render(...).image``: (height, W, 3) uint8 RGB."""
    return render(text, font, rng, cfg).image
