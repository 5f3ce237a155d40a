"""The renderer's settings: :class:`RenderConfig` (every knob), the presets of
:data:`DIFFICULTY` (``easy`` | ``medium`` | ``hard``: the original MJSynth-style look;
``real-*``: the same with the realism knobs on) and the difficulty mixes of :data:`MIXES`
(``mix``: the default of ``crnn-fast synth`` and the quickstart)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "DIFFICULTY",
    "MIXES",
    "RenderConfig",
    "RenderMix",
    "pick_config",
    "render_config",
    "render_plan",
]


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
    p_stroke: float = 0.0  # outline in a third colour (font sizes >= 24 only) ...
    p_hollow: float = 0.0  # ... or in the text colour, the letters filled with the background's
    p_shadow: float = 0.0  # drop shadow
    jpeg_quality: tuple[int, int] = (90, 95)  # used by the writer for image_format="jpg"
    # realism knobs (probabilities 0: off, and no random draw is spent on them)
    p_spacing: float = 0.0  # glyph-by-glyph drawing with letter spacing ...
    spacing: tuple[float, float] = (-0.03, 0.35)  # ... of this many h (at the drawing size)
    p_jitter: float = 0.0  # per-glyph rotation and vertical shift ...
    jitter: tuple[float, float] = (10.0, 0.08)  # ... up to (degrees, h)
    p_neighbours: float = 0.0  # words left/right and lines above/below, cut by the crop
    p_underline: float = 0.0
    p_strike: float = 0.0  # a bar through the word
    backgrounds: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0)  # weights of clutter.BACKGROUNDS
    p_curve_line: float = 0.0  # a thin curve across the crop in the text colour
    p_dots: float = 0.0  # speckles in the text colour
    p_border: float = 0.0  # a line along one edge of the crop
    p_print: float = 0.0  # print colours: dark text on a light, near-grey background
    p_lowres: float = 0.0  # downscaled by a factor in ``lowres``, then upscaled back
    lowres: tuple[float, float] = (0.4, 0.8)


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


_REALISM = dict(
    p_spacing=0.25,
    p_jitter=0.06,
    p_neighbours=0.2,
    p_underline=0.05,
    p_strike=0.03,
    backgrounds=(0.4, 0.1, 0.13, 0.13, 0.12, 0.12),
    p_hollow=0.5,
    p_curve_line=0.05,
    p_dots=0.05,
    p_border=0.1,
    p_lowres=0.2,
    p_print=0.35,
)
DIFFICULTY["real-easy"] = replace(
    DIFFICULTY["easy"],
    **_REALISM,
    pad_x=(0.0, 0.7),
    pad_y=(0.0, 0.3),
    jpeg_quality=(50, 95),
    p_stroke=0.1,
)
DIFFICULTY["real-medium"] = replace(DIFFICULTY["medium"], **_REALISM)
DIFFICULTY["real-hard"] = replace(
    DIFFICULTY["hard"], **{**_REALISM, "p_jitter": 0.2, "p_curve_line": 0.15, "p_dots": 0.15}
)
# jumbled lettering: every glyph rotated and shifted, tight or overlapping spacing, lines and
# speckles across (stamps, signs, handwritten-style labels, captcha-style images)
DIFFICULTY["real-jumbled"] = replace(
    DIFFICULTY["medium"],
    **{**_REALISM, "p_jitter": 1.0, "jitter": (25.0, 0.12), "p_spacing": 0.6,
       "spacing": (-0.12, 0.15), "p_curve_line": 0.5, "p_dots": 0.5, "p_neighbours": 0.0},
)  # fmt: skip


@dataclass(frozen=True)
class RenderMix:
    """A difficulty mix: each sample draws one of ``configs`` with probabilities ``weights``."""

    configs: tuple[RenderConfig, ...]
    weights: tuple[float, ...]

    def pick(self, rng: np.random.Generator) -> RenderConfig:
        w = np.asarray(self.weights, float)
        return self.configs[int(np.searchsorted(np.cumsum(w / w.sum()), rng.random(), "right"))]


MIXES: dict[str, RenderMix] = {
    # a quarter clean (the CTC plateau ends sooner), the rest with the realism knobs on
    "mix": RenderMix(
        tuple(
            DIFFICULTY[k] for k in ("easy", "real-easy", "real-medium", "real-hard", "real-jumbled")
        ),
        (0.25, 0.35, 0.2, 0.1, 0.1),
    ),  # fmt: skip
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


def render_plan(difficulty: str | RenderConfig | RenderMix = "mix") -> RenderConfig | RenderMix:
    """A mix from :data:`MIXES` or a single preset (:func:`render_config`)."""
    if isinstance(difficulty, RenderMix):
        return difficulty
    if isinstance(difficulty, str) and difficulty in MIXES:
        return MIXES[difficulty]
    if isinstance(difficulty, str) and difficulty not in DIFFICULTY:
        names = sorted(MIXES) + sorted(DIFFICULTY)
        raise ValueError(f"difficulty must be one of {names}, got {difficulty!r}")
    return render_config(difficulty)


def pick_config(plan: RenderConfig | RenderMix, rng: np.random.Generator) -> RenderConfig:
    """``plan`` itself, or one config of the mix drawn with ``rng``."""
    return plan.pick(rng) if isinstance(plan, RenderMix) else plan
