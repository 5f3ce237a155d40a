"""Decode / resize / normalise: the OpenCV path against the NumPy / Pillow fallback.

Measured here (and stated in crnn_fast/data/transforms.py): PNG decode identical, JPEG decode
identical (both libjpeg-turbo; bound 2 levels for other builds), resize bit-identical to
cv2.resize INTER_LINEAR; Pillow's own BILINEAR is far off when shrinking.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from data_helpers import jpeg, png, text_image
from PIL import Image

from crnn_fast.data import decode_image, normalize, resize, resize_norm, to_chw
from crnn_fast.data.transforms import HAS_CV2

cv2 = pytest.importorskip("cv2")


def both(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    return decode_image(buf, backend="cv2"), decode_image(buf, backend="numpy")


def test_png_decode_identical(rng):
    color = rng.integers(0, 256, (13, 29, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (7, 11), dtype=np.uint8)
    a, b = both(png(color))
    assert a.dtype == np.uint8 and a.shape == (13, 29, 3)
    np.testing.assert_array_equal(a, color)  # BGR in, BGR out
    np.testing.assert_array_equal(b, color)
    a, b = both(png(gray))
    np.testing.assert_array_equal(a, np.repeat(gray[..., None], 3, 2))
    np.testing.assert_array_equal(b, a)
    for mode in ("RGBA", "LA", "P"):
        im = Image.fromarray(color[..., ::-1].copy()).convert(mode)
        bio = io.BytesIO()
        im.save(bio, "PNG")
        a, b = both(bio.getvalue())
        np.testing.assert_array_equal(b, a, err_msg=mode)
    ok, buf16 = cv2.imencode(".png", gray.astype(np.uint16) * 256 + 7)  # 16-bit grey
    a, b = both(buf16.tobytes())
    np.testing.assert_array_equal(a, np.repeat(gray[..., None], 3, 2))
    np.testing.assert_array_equal(b, a)
    ok, bufc = cv2.imencode(".png", color)  # an OpenCV-written file
    np.testing.assert_array_equal(decode_image(bufc.tobytes(), backend="numpy"), color)


@pytest.mark.parametrize("quality", [50, 75, 95, 100])
@pytest.mark.parametrize("subsampling", [0, 1, 2])  # 4:4:4, 4:2:2, 4:2:0
def test_jpeg_decode_difference(rng, quality, subsampling):
    diffs = []
    for img in (rng.integers(0, 256, (37, 113, 3), dtype=np.uint8), text_image(rng, "Sale 25%")):
        a, b = both(jpeg(img, quality, subsampling))
        diffs.append(np.abs(a.astype(np.int16) - b))
    d = np.concatenate([x.ravel() for x in diffs])
    # 0 / 0.0 measured with OpenCV 4.10 and Pillow 11-12 (libjpeg-turbo 3.0 on both sides)
    assert d.max() <= 2 and d.mean() <= 0.05, (d.max(), d.mean())


def test_jpeg_grey_and_exif_orientation(rng):
    img = text_image(rng)
    a, b = both(jpeg(img[..., 0]))
    assert a.shape == (32, 100, 3) and np.abs(a.astype(int) - b).max() <= 2
    im = Image.fromarray(img[..., ::-1].copy())
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW when displayed: OpenCV applies it
    bio = io.BytesIO()
    im.save(bio, "JPEG", quality=95, exif=exif)
    a, b = both(bio.getvalue())
    assert a.shape == (100, 32, 3) and b.shape == a.shape
    assert np.abs(a.astype(int) - b).max() <= 2


@pytest.mark.parametrize("backend", ["cv2", "numpy"])
@pytest.mark.parametrize("buf", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_undecodable(backend, buf):
    with pytest.raises(ValueError, match="decode|empty"):
        decode_image(buf, backend=backend)


def test_truncated_png(rng):
    buf = png(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    for backend in ("cv2", "numpy"):
        with pytest.raises(ValueError):
            decode_image(buf[: len(buf) // 2], backend=backend)


# fmt: off
SIZES = [(32, 100), (64, 200), (16, 50), (1, 1), (1, 7), (5, 1), (33, 101), (31, 99), (48, 160),
         (100, 32), (200, 600), (17, 300), (64, 100), (32, 200), (96, 300), (2, 2), (128, 400)]
# fmt: on


def test_resize_bit_exact_random(rng):
    sizes = SIZES + [tuple(int(v) for v in rng.integers(1, 320, 2)) for _ in range(150)]
    worst = 0
    for i, (H, W) in enumerate(sizes):
        shape = (H, W) if i % 5 == 4 else (H, W, 1 if i % 5 == 3 else 3)
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        for h, w in ((32, 100), (48, 320)) if i % 4 == 0 else ((32, 100),):
            a = resize(img, h, w, backend="cv2")
            b = resize(img, h, w, backend="numpy")
            assert a.shape == b.shape == (h, w, *shape[2:])
            worst = max(worst, int(np.abs(a.astype(np.int16) - b).max()))
    assert worst == 0


def test_resize_bit_exact_text_images(rng):
    """Word crops of typical LMDB sizes (MJ ~ 31 x 100, IIIT ~ 60 x 200, ...)."""
    for H, W in [(31, 100), (60, 200), (24, 87), (45, 180), (120, 400), (16, 120), (64, 200)]:
        img = text_image(rng, "Ground", H, W)
        np.testing.assert_array_equal(resize(img, backend="numpy"), resize(img, backend="cv2"))


def test_pillow_bilinear_is_not_cv2(rng):
    """Why the fallback is not Pillow's resize: it antialiases when shrinking."""
    img = rng.integers(0, 256, (80, 300, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(img).resize((100, 32), Image.BILINEAR))
    d = np.abs(pil.astype(np.int16) - resize(img, backend="cv2"))
    assert d.max() > 50 and d.mean() > 10  # measured: max 147, mean 42


def test_resize_bad_input():
    with pytest.raises(TypeError, match="uint8"):
        resize(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="empty"):
        resize(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="positive"):
        resize(np.zeros((4, 4, 3), np.uint8), 0, 5)
    with pytest.raises(ValueError, match="backend"):
        resize(np.zeros((4, 4, 3), np.uint8), backend="pil")


def test_normalize_and_layout(rng):
    x = np.array([[[0, 127, 255]]], dtype=np.uint8)
    n = normalize(x)
    assert n.dtype == np.float32
    np.testing.assert_array_equal(n, (x.astype(np.float32) - 127) / np.float32(127))
    assert n[0, 0, 0] == -1 and n[0, 0, 1] == 0 and abs(n[0, 0, 2] - 128 / 127) < 1e-7
    img = rng.integers(0, 256, (45, 150, 3), dtype=np.uint8)
    out = resize_norm(img)
    assert out.shape == (3, 32, 100) and out.dtype == np.float32 and out.flags.c_contiguous
    # MindOCR train: BGR decode, resize, NormalizeImage(bgr_to_rgb), ToCHW
    r = cv2.resize(img, (100, 32), interpolation=cv2.INTER_LINEAR)
    train = ((r[..., [2, 1, 0]].astype(np.float32) - 127) / 127).transpose(2, 0, 1)
    # MindOCR eval: RGB decode, RecResizeNormForInfer, ToCHW
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    ev = ((cv2.resize(rgb, (100, 32)) - np.float32(127)) / np.float32(127)).transpose(2, 0, 1)
    np.testing.assert_array_equal(out, train)
    np.testing.assert_array_equal(out, ev)
    np.testing.assert_array_equal(resize_norm(img, backend="numpy"), out)
    assert to_chw(img).shape == (3, 45, 150)
    assert HAS_CV2
