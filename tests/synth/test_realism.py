"""The generator's realism knobs (issue 17): glyph-wise drawing, neighbours, bars, backgrounds,
occluders, low resolution, print colours, the difficulty mix, and the held-out font families."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from crnn_fast.synth import fonts as fonts_mod
from crnn_fast.synth.clutter import BACKGROUNDS, LUMA, background
from crnn_fast.synth.fonts import DEFAULT_FONT, FontSpec, discover_fonts, excluded_font
from crnn_fast.synth.glyphs import draw_text
from crnn_fast.synth.render import (
    DIFFICULTY,
    MIXES,
    RenderMix,
    pick_config,
    render,
    render_plan,
)


def some_font() -> FontSpec:
    found = discover_fonts()
    return found[0] if found else DEFAULT_FONT


def pil_font(size: int = 32):
    f = some_font()
    if f.path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(f.path, size, layout_engine=ImageFont.Layout.BASIC)


PLAIN = replace(
    DIFFICULTY["easy"],
    shear=0.0,
    perspective=0.0,
    rotation=0.0,
    elastic=0.0,
    texture=0.0,
    p_blur=0.0,
    noise=(0.0, 0.0),
)

KNOBS = [
    ("p_spacing", 1.0),
    ("p_jitter", 1.0),
    ("p_neighbours", 1.0),
    ("p_underline", 1.0),
    ("p_strike", 1.0),
    ("backgrounds", (0.0, 1.0, 0.0, 0.0)),
    ("backgrounds", (0.0, 0.0, 1.0, 0.0)),
    ("backgrounds", (0.0, 0.0, 0.0, 1.0)),
    ("backgrounds", (0.0, 0.0, 0.0, 0.0, 1.0, 0.0)),
    ("backgrounds", (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)),
    ("p_curve_line", 1.0),
    ("p_dots", 1.0),
    ("p_border", 1.0),
    ("p_lowres", 1.0),
    ("p_print", 1.0),
]


@pytest.mark.parametrize("knob,value", KNOBS)
def test_each_realism_knob_changes_the_image(knob, value):
    font = some_font()
    changed = 0
    for i in range(4):
        base = render("Knob-42", font, np.random.default_rng([11, i]), PLAIN).image
        img = render(
            "Knob-42", font, np.random.default_rng([11, i]), replace(PLAIN, **{knob: value})
        )
        assert img.image.shape[0] == 32 and img.image.dtype == np.uint8
        changed += not (img.image.shape == base.shape and np.array_equal(img.image, base))
    assert changed >= 3, knob


def test_hollow_letters_take_the_background_colour():
    """With an outline and ``p_hollow``, the glyphs' inside is the background's colour and the
    outline the text's: on print colours (dark text, light background) the fill turns light."""
    outlined = replace(PLAIN, font_size=(36, 40), p_stroke=1.0, p_print=1.0, jpeg_quality=(95, 95))
    font = some_font()
    for i in range(3):
        solid = render("Hollow", font, np.random.default_rng([3, i]), outlined)
        hollow = render(
            "Hollow", font, np.random.default_rng([3, i]), replace(outlined, p_hollow=1.0)
        )
        inside = solid.alpha > 0.99
        assert inside.sum() > 50
        luma_solid = solid.image[inside] @ LUMA
        luma_hollow = hollow.image[inside] @ LUMA
        assert np.median(luma_solid) < 110 < 140 < np.median(luma_hollow), i


def test_neighbours_keep_the_word_in_the_crop():
    """With neighbours the ink box is still the word's: the canvas grows, the word's mask is the
    same pixels, shifted."""
    font = pil_font()
    rng = np.random.default_rng(0)
    alone = draw_text("middle", font, np.random.default_rng(1))
    crowd = draw_text("middle", font, rng, neighbours=["left", "right", "up here", "down there"])
    w = alone.ink[2] - alone.ink[0]
    h = alone.ink[3] - alone.ink[1]
    assert (crowd.ink[2] - crowd.ink[0], crowd.ink[3] - crowd.ink[1]) == (w, h)
    x0, y0 = crowd.ink[:2]
    inside = crowd.masks[0][y0 : y0 + h, x0 : x0 + w]
    np.testing.assert_array_equal(
        inside, alone.masks[0][alone.ink[1] : alone.ink[3], alone.ink[0] : alone.ink[2]]
    )
    assert crowd.masks[0].sum() > 2 * alone.masks[0].sum()  # the neighbours were drawn


def test_glyph_wise_drawing_and_bars():
    font = pil_font()
    whole = draw_text("spaced", font, np.random.default_rng(0))
    wide = draw_text("spaced", font, np.random.default_rng(0), spacing=8.0)
    assert (wide.ink[2] - wide.ink[0]) > (whole.ink[2] - whole.ink[0]) + 5 * 6
    under = draw_text("under", font, np.random.default_rng(0), underline=True)
    plain = draw_text("under", font, np.random.default_rng(0))
    assert under.ink[3] > plain.ink[3]  # the bar lies below the word
    with pytest.raises(ValueError, match="draws nothing"):
        draw_text("   ", font, np.random.default_rng(0))


@pytest.mark.parametrize("kind", BACKGROUNDS)
def test_backgrounds_keep_the_text_legible(kind):
    """Every background stays on its side of the text colour (luma), by most of the contrast."""
    rng = np.random.default_rng(5)
    for _ in range(10):
        bg, fg = np.array([220.0, 215, 200], np.float32), np.array([30.0, 30, 40], np.float32)
        img = background(rng, kind, bg, fg, (32, 120), 0.4, 90.0)
        assert img.shape == (32, 120, 3)
        luma = np.clip(img, 0, 255) @ LUMA
        assert np.percentile(luma, 5) > float(fg @ LUMA) + 45
    with pytest.raises(ValueError, match="background kind"):
        background(rng, "marble", bg, fg, (8, 8), 0.1, 90.0)


def test_mix_draws_each_preset_by_weight():
    mix = MIXES["mix"]
    rng = np.random.default_rng(0)
    picks = [mix.configs.index(mix.pick(rng)) for _ in range(4000)]
    shares = np.bincount(picks, minlength=len(mix.configs)) / 4000
    np.testing.assert_allclose(shares, np.asarray(mix.weights) / sum(mix.weights), atol=0.03)
    assert pick_config(DIFFICULTY["easy"], rng) is DIFFICULTY["easy"]
    assert isinstance(render_plan("mix"), RenderMix) and render_plan("hard") == DIFFICULTY["hard"]
    with pytest.raises(ValueError, match="difficulty must be one of"):
        render_plan("wild")


def test_mix_renders_are_deterministic_and_legible():
    font = some_font()
    for i in range(12):
        a = render("Sample 7!", font, np.random.default_rng([2, i]), MIXES["mix"])
        b = render("Sample 7!", font, np.random.default_rng([2, i]), MIXES["mix"])
        assert np.array_equal(a.image, b.image) and a.image.shape[0] == 32
        assert a.image.std() > 5


def test_held_out_and_symbol_fonts_are_never_discovered(tmp_path):
    # matplotlib (a dependency) always ships DejaVuSans.ttf: no system font needed
    source = Path(fonts_mod._matplotlib_font_dir(), "DejaVuSans.ttf")
    for name in ("Roboto-Regular.ttf", "OpenSans-Bold.ttf", "Lato-Italic.ttf",
                 "StandardSymbolsPS.ttf", "cmsy10.ttf", "Plain-Regular.ttf"):  # fmt: skip
        shutil.copy(source, tmp_path / name)
    found = [f.name for f in discover_fonts([tmp_path])]
    assert found == ["Plain-Regular.ttf"]
    assert excluded_font("Raleway-Black.ttf") and excluded_font("DroidSansMono.ttf")
    assert not excluded_font("DejaVuSans.ttf") and not excluded_font("LiberationSerif-Bold.ttf")
    assert "fonts-liberation" in fonts_mod.RECOMMENDED_DEBIAN_PACKAGES


def test_matplotlib_fonts_are_searched_by_default(monkeypatch):
    monkeypatch.delenv(fonts_mod.FONT_ENV, raising=False)
    names = {f.name for f in discover_fonts()}
    assert {"STIXGeneral.ttf", "cmr10.ttf"} <= names  # shipped by matplotlib, a dependency
    assert not {"cmsy10.ttf", "STIXSizOneSymReg.ttf"} & names  # symbol faces left out
