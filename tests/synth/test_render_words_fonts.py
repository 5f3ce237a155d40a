"""The synth building blocks: words and labels, font discovery and split, the renderer."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from crnn_fast.synth import fonts as fonts_mod
from crnn_fast.synth.encode import encode_image
from crnn_fast.synth.fonts import DEFAULT_FONT, FontSpec, discover_fonts, split_fonts
from crnn_fast.synth.render import DIFFICULTY, _box_from_quad, render, render_config
from crnn_fast.synth.words import (
    ALPHABET,
    WordConfig,
    WordSampler,
    ctc_frames,
    load_words,
    split_words,
    to_label,
)

LUMA = np.array([0.299, 0.587, 0.114])


def some_font() -> FontSpec:
    found = discover_fonts()
    return found[0] if found else DEFAULT_FONT


# --- words -------------------------------------------------------------------------------------


def test_shipped_word_list():
    words = load_words()
    assert len(words) > 2500 and words == sorted(set(words))
    assert all(set(w) <= set(ALPHABET) and 1 <= len(w) <= 16 for w in words)
    assert len(load_words(max_len=5)) < len(words)


def test_to_label():
    assert to_label("Hello, World-42!") == "helloworld42"


def test_split_words_is_stable_and_disjoint():
    words = load_words()
    train, test = split_words(words, 0.1)
    assert not set(train) & set(test) and set(train) | set(test) == set(words)
    assert 0.05 < len(test) / len(words) < 0.15
    # a word's side does not depend on the rest of the list
    sub_train, sub_test = split_words(words[::7], 0.1)
    assert set(sub_test) == set(test) & set(words[::7])


def test_sampler_labels_and_case():
    plain = WordConfig(p_title=0.3, p_upper=0.3, p_mixed=0, p_number=0, p_punct=0, p_multi=0)
    sampler = WordSampler(load_words(), plain)
    rng = np.random.default_rng(0)
    pairs = [sampler(rng) for _ in range(400)]
    assert all(lab and set(lab) <= set(ALPHABET) and text.lower() == lab for text, lab in pairs)
    texts = {t for t, _ in pairs}
    assert any(t.isupper() for t in texts) and any(t.islower() for t in texts)
    assert any(c.isdigit() for _, lab in pairs for c in lab)  # random strings


def test_sampler_realistic_text_keeps_mindocr_labels():
    """The default text carries punctuation, symbols, spaces, mixed case and formatted numbers;
    the label is always MindOCR's view of it (lowercase, 0-9a-z only), 1..23 characters."""
    sampler = WordSampler(load_words())
    rng = np.random.default_rng(3)
    pairs = [sampler(rng) for _ in range(3000)]
    assert all(lab == to_label(text) and 1 <= len(lab) <= 23 for text, lab in pairs)
    assert all(ctc_frames(lab) <= 24 for _, lab in pairs)  # feasible on CRNN's 24 frames
    assert ctc_frames("hello") == 6 and ctc_frames("") == 0
    texts = [t for t, _ in pairs]
    share = lambda pred: np.mean([pred(t) for t in texts])  # noqa: E731
    assert 0.05 < share(lambda t: " " in t) < 0.3  # lines of several words
    assert 0.1 < share(lambda t: any(c in ".,!?:;()'\"-/$%#&" for c in t)) < 0.6
    assert share(lambda t: t != t.lower() and t != t.upper() and t != t.capitalize()) > 0.01
    assert share(lambda t: "$" in t or "%" in t or ":" in t) > 0.01
    # as on signs, labels and receipts: many capitalised words and numbers
    assert share(lambda t: t[:1].isupper()) > 0.35
    assert np.mean([any(c.isdigit() for c in lab) for _, lab in pairs]) > 0.28
    lengths = np.array([len(lab) for _, lab in pairs])
    assert lengths.max() > 16 and np.mean(lengths > 16) < 0.05  # long lines exist, rarely


def test_sampler_respects_exclude():
    exclude = {str(d) for d in range(10)}  # every 1-char digit string
    sampler = WordSampler(["word"], WordConfig(p_list=0, p_pseudo=0, random_len=(1, 1)), exclude)
    rng = np.random.default_rng(1)
    assert not {sampler.label(rng) for _ in range(200)} & exclude


# --- fonts -------------------------------------------------------------------------------------


def fake_fonts(n: int) -> list[FontSpec]:
    return [FontSpec(f"/nowhere/Font{i}.ttf", f"Font{i}.ttf") for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 22, 60])
def test_split_fonts(n):
    train, test = split_fonts(fake_fonts(n))
    if n < 2:
        assert train == test == fake_fonts(n)
        return
    assert train and test and not set(train) & set(test)
    assert set(train) | set(test) == set(fake_fonts(n))
    if n >= 22:
        assert 0.1 < len(test) / n < 0.45
    # order-independent and stable when other fonts come and go
    assert split_fonts(fake_fonts(n)[::-1]) == (train, test)
    if n >= 22:
        _, more_test = split_fonts(fake_fonts(n + 10))
        assert set(test) <= set(more_test)


def test_discovery_from_env(tmp_path, monkeypatch):
    found = discover_fonts()
    if not found:
        pytest.skip("no TTF font installed")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.txt").write_text("not a font")
    (tmp_path / "broken.ttf").write_bytes(b"not a font either")
    monkeypatch.setenv(fonts_mod.FONT_ENV, f"{tmp_path}:{found[0].path}")
    assert [f.name for f in discover_fonts()] == [found[0].name]


def test_default_font_renders():
    img = render("Hello42", DEFAULT_FONT, np.random.default_rng(0)).image
    assert img.dtype == np.uint8 and img.shape[0] == 32 and img.shape[2] == 3
    assert img.std() > 10


# --- renderer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_render_shape_and_contrast(difficulty):
    """Every crop is 32 px high, RGB, and its text is distinguishable from its background:
    the median luma of text pixels and of background pixels differ by a good part of
    ``min_contrast`` (blur, noise and texture eat into it, most at ``hard``)."""
    cfg = render_config(difficulty)
    font = some_font()
    gaps = []
    for i in range(30):
        rng = np.random.default_rng([7, i])
        out = render(["a", "Word", "tb42", "STRAWBERRY", "0123456789"][i % 5], font, rng, cfg)
        img, alpha = out.image, out.alpha
        assert img.shape[0] == 32 and img.shape[2] == 3 and img.dtype == np.uint8
        assert cfg.min_width <= img.shape[1] <= cfg.max_width and alpha.shape == img.shape[:2]
        assert img.std() > 8
        text, back = alpha > 0.6, alpha < 0.02
        assert text.sum() >= 8 and back.sum() >= 8
        luma = img.astype(np.float64) @ LUMA
        gaps.append(abs(np.median(luma[text]) - np.median(luma[back])) / cfg.min_contrast)
    assert min(gaps) > 0.1 and np.percentile(gaps, 10) > 0.4, sorted(gaps)[:5]
    if difficulty == "easy":
        assert min(gaps) > 0.5


def test_text_fills_the_height():
    """At easy difficulty the ink covers most of the crop height (rows with text pixels)."""
    font = some_font()
    for i in range(10):
        out = render("Hello", font, np.random.default_rng([3, i]))
        rows = np.flatnonzero(out.alpha.max(1) > 0.5)
        assert 0.6 <= (rows[-1] - rows[0] + 1) / 32 <= 1.0


def test_render_deterministic():
    font = some_font()
    a = render("determinism", font, np.random.default_rng(5), DIFFICULTY["hard"]).image
    b = render("determinism", font, np.random.default_rng(5), DIFFICULTY["hard"]).image
    c = render("determinism", font, np.random.default_rng(6), DIFFICULTY["hard"]).image
    assert np.array_equal(a, b) and not (a.shape == c.shape and np.array_equal(a, c))


def test_difficulty_knobs_change_the_image():
    """Each distortion knob, switched on alone from a plain config, changes the pixels."""
    font = some_font()
    plain = replace(
        DIFFICULTY["easy"],
        shear=0.0,
        perspective=0.0,
        rotation=0.0,
        elastic=0.0,
        curve=0.0,
        texture=0.0,
        p_blur=0.0,
        noise=(0.0, 0.0),
    )
    base = render("knobs", font, np.random.default_rng(9), plain).image
    for knob, value in [
        ("rotation", 8.0),
        ("shear", 0.3),
        ("perspective", 0.15),
        ("elastic", 0.06),
        ("curve", 0.15),
        ("texture", 0.6),
        ("noise", (6.0, 6.0)),
    ]:
        img = render("knobs", font, np.random.default_rng(9), replace(plain, **{knob: value}))
        assert not (img.image.shape == base.shape and np.array_equal(img.image, base)), knob
    # with every random draw kept, the plain config gives flat colours: two levels of luma
    assert np.unique(base.reshape(-1, 3), axis=0).shape[0] < base.shape[0] * base.shape[1]
    # and the harder presets leave less contrast between text and background
    gaps = []
    for name in ("easy", "medium", "hard"):
        gap = []
        for i in range(24):
            r = render("rough", font, np.random.default_rng(i), DIFFICULTY[name])
            luma = r.image.astype(np.float64) @ LUMA
            gap.append(abs(luma[r.alpha > 0.9].mean() - luma[r.alpha < 0.02].mean()))
        gaps.append(np.mean(gap))
    assert gaps[0] > gaps[1] > gaps[2], gaps


def test_render_config_overrides():
    cfg = render_config("medium", rotation=0.0, height=48)
    assert cfg.rotation == 0.0 and cfg.height == 48 and cfg.shear == DIFFICULTY["medium"].shear
    img = render("tall", some_font(), np.random.default_rng(0), cfg).image
    assert img.shape[0] == 48
    with pytest.raises(ValueError, match="difficulty"):
        render_config("impossible")


def test_encode_png_is_lossless_and_jpeg_decodes():
    img = render("codec", some_font(), np.random.default_rng(2)).image
    png = Image.open(io.BytesIO(encode_image(img, "png")))
    assert np.array_equal(np.asarray(png), img)
    jpg = np.asarray(Image.open(io.BytesIO(encode_image(img, "jpg", 95))).convert("RGB"))
    assert jpg.shape == img.shape
    assert np.abs(jpg.astype(np.float64) @ LUMA - img.astype(np.float64) @ LUMA).mean() < 5


def test_quad_to_box_homography():
    """The closed-form inverse map takes a random quad's corners back to the box's corners,
    and agrees with a general 4-point solve on interior points."""
    rng = np.random.default_rng(4)
    box = (3.0, 5.0, 120.0, 37.0)
    corners = np.array([[3, 5], [120, 5], [120, 37], [3, 37]], float)
    for _ in range(20):
        quad = corners - corners.mean(0) + rng.uniform(-6, 6, (4, 2))
        m = _box_from_quad(box, quad)
        pts = np.c_[quad, np.ones(4)] @ m.T
        np.testing.assert_allclose(pts[:, :2] / pts[:, 2:], corners, atol=1e-9)
        # against the textbook DLT solve (quad -> box)
        a = np.zeros((8, 8))
        for i, ((x, y), (u, v)) in enumerate(zip(quad, corners)):
            a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
            a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        ref = np.append(np.linalg.solve(a, corners.reshape(8)), 1.0).reshape(3, 3)
        p = np.array([10.0, -3.0, 1.0])
        np.testing.assert_allclose((m @ p)[:2] / (m @ p)[2], (ref @ p)[:2] / (ref @ p)[2])
