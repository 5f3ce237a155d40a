"""Builds crnn_fast's out-of-distribution (OOD) evaluation set: word crops rendered by tools
other than ``crnn_fast.synth``, with fonts our training never uses.

Styles (one MindOCR LMDB each, ``OUT/<style>/data.mdb``; ``OUT`` defaults to
``crnn_fast/evalsets/ood``):

- ``plain`` (150): trdg 1.8.0 (TextRecognitionDataGenerator), dark text on a flat white
  background, small skew / blur; grayscale PNG.
- ``textured`` (150): trdg 1.8.0 on its Gaussian-noise, quasicrystal and picture backgrounds
  (dark text, or light text with a dark outline), mild sine/cosine warps, blur; JPEG q95.
- ``captcha`` (100): captcha 0.7.1's ``ImageCaptcha`` (its own DroidSansMono font), 4-8
  random mixed-case letters and digits, at 0.7 x its default size (42 px high); JPEG q95.

trdg draws with its own fonts (``trdg/fonts/latin``), only the readable text families
:data:`TRDG_FAMILIES` (no thin / hairline / display weights, no decorative families). Texts
(:data:`WORDS` and the generated numbers, prices, dates, codes) are written here, independent
of ``crnn_fast/synth/words.txt``. Labels follow MindOCR's rule (``to_label``: lowercase, keep
``[0-9a-z]``); a sample whose label is empty or longer than 23 is not drawn. Every random choice
is seeded per style and sample (trdg's ``random`` and OpenCV's RNG are reseeded before each
crop; captcha's ``secrets`` calls are routed to a seeded ``random.Random``), so two runs give
byte-identical ``data.mdb`` files: ``manifest.json`` records their SHA-256, the raw text,
label, style, font and settings of every sample, and the tool versions.

Run from the repository root, in a throwaway venv (trdg 1.8.0 calls ``FreeTypeFont.getsize``,
removed in Pillow 10, hence the Pillow pin)::

    python -m venv /tmp/oodvenv
    /tmp/oodvenv/bin/pip install trdg==1.8.0 captcha==0.7.1 Pillow==9.5.0 lmdb==3.0.0 \\
        tqdm numpy==2.4.6 opencv-python==5.1.0.95
    /tmp/oodvenv/bin/python benchmarks/ood/make_ood_set.py

It loads ``crnn_fast/data/lmdb_io.py`` and ``crnn_fast/synth/words.py`` by path (their only
dependencies are lmdb, tqdm and NumPy), so the venv needs neither MindSpore nor crnn_fast's
extension.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import random
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "crnn_fast" / "evalsets" / "ood"
SIZES = {"plain": 150, "textured": 150, "captcha": 100}
MAX_LABEL = 23  # MindOCR's max_text_len
TRDG_FAMILIES = ("Roboto", "RobotoCondensed", "OpenSans", "Lato", "Raleway", "DroidSans", "Aller")
_WEIGHT_TAGS = ("Thin", "Hairline", "ExtraLight", "Display", "Lt")  # too faint / display cuts


def _load(name: str, rel: str):
    """Imports one crnn_fast source file by path (without the package's heavy __init__)."""
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


to_label = _load("_ood_words", "crnn_fast/synth/words.py").to_label
write_lmdb = _load("_ood_lmdb_io", "crnn_fast/data/lmdb_io.py").write_lmdb

# What word crops in the wild hold: lowercase, Capitalised and UPPER words, proper nouns,
# hyphenated words, phrases with a space, punctuation, codes and words with digits.
WORDS = """
the and with from about market coffee station garden bakery library window kitchen summer
bridge ticket museum harbour pharmacy village daily fresh closed delivery parking welcome
Hello Street Avenue Bakery Pizza Hotel Coffee Exit Entrance Office Station Market Garden
Theatre Airport Hospital Police Taxi Bus Open Closed Sale Menu Price Total Welcome Thanks
Mississippi Amsterdam Kilimanjaro Shakespeare Edinburgh Barcelona Copenhagen Yokohama London
Toronto Nairobi Melbourne Reykjavik Philadelphia Massachusetts Johannesburg Valparaiso Ljubljana
EXIT STOP OPEN SALE PUSH PULL DANGER PARKING WARNING HOTEL POLICE TAXI NOTICE ENTRANCE OFFICE
OCR-test well-known e-mail co-op Wi-Fi check-in T-shirt self-service up-to-date X-ray
Stop! Why? Inc. Ltd. Yes, don't it's R&D Note: and/or Q&A Dr. Mr. St. No. Sold! Hi! OK?
A4 B12 M5 X7 H2O K9 U2 R2D2 A380 F16 E45 G7 PS5 MP3 3D 4K 24h 7up 4ever Win10 B2B 1st 2nd 3rd
"""
PHRASES = """Hello World|New York|Open Now|Main Street|Free Wi-Fi|No Parking|Thank You|
Los Angeles|Fire Exit|Push to Open|Rio de Janeiro|Gate 12|Room 404|Platform 9|Level 2|
Buy 1 Get 1|Best Before|Keep Out!|Mind the Gap|Emergency Exit Only|International Airport|
Customer Service Desk|Please Wait Here|Saint Petersburg|Rock & Roll|Fish & Chips|Page 3 of 7"""


def _number(r: random.Random) -> str:
    kind = r.randrange(10)
    if kind == 0:
        return r.choice(["1000", "2024", "100", "911", "404"])
    lo, hi = [(0, 99), (100, 9999), (1990, 2030), (10000, 9999999)][kind % 4]
    return str(r.randint(lo, hi))


def _price(r: random.Random) -> str:
    cur = r.choice(["$", "$", "USD ", "EUR ", ""])
    return f"{cur}{r.randint(0, 999)}.{r.randint(0, 99):02d}"


def _date(r: random.Random) -> str:
    y, m, d = r.randint(1970, 2030), r.randint(1, 12), r.randint(1, 28)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return r.choice([f"{d:02d}/{m:02d}/{y}", f"{y}-{m:02d}-{d:02d}", f"{d} {months[m - 1]}",
                     f"{months[m - 1]} {d}, {y}", f"{d}.{m}.{y % 100:02d}"])  # fmt: skip


def _code(r: random.Random) -> str:
    up, dg = "ABCDEFGHJKLMNPRSTUVWXYZ", "0123456789"
    return r.choice([r.choice(up) + str(r.randint(1, 99)),
                     "".join(r.choice(up) for _ in range(2)) + "-" + str(r.randint(100, 9999)),
                     "".join(r.choice(up + dg) for _ in range(r.randint(3, 7)))])  # fmt: skip


_WORD_LIST = WORDS.split()
_PHRASE_LIST = [p.strip() for p in PHRASES.split("|")]
_KINDS = [  # (weight, how to draw one text)
    (45, lambda r: r.choice(_WORD_LIST)),
    (15, lambda r: r.choice(_PHRASE_LIST)),
    (10, _number),
    (8, _price),
    (8, _date),
    (8, _code),
    (6, lambda r: r.choice(_WORD_LIST).upper() if r.random() < 0.5 else r.choice(_WORD_LIST)),
]


def draw_text(r: random.Random) -> str:
    """One raw text whose MindOCR label has 1..23 characters."""
    while True:
        kind = r.choices([k for _, k in _KINDS], weights=[w for w, _ in _KINDS])[0]
        text = kind(r)
        if 1 <= len(to_label(text)) <= MAX_LABEL:
            return text


def captcha_text(r: random.Random) -> str:
    """4-8 random mixed-case letters and digits."""
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(r.choice(chars) for _ in range(r.randint(4, 8)))


def trdg_fonts() -> list[Path]:
    """trdg's readable text faces: the :data:`TRDG_FAMILIES` files minus thin/display cuts."""
    import trdg

    root = Path(trdg.__file__).parent / "fonts" / "latin"
    fonts = [p for p in sorted(root.glob("*.ttf"))
             if p.stem.split("-")[0].split("_")[0] in TRDG_FAMILIES
             and not any(t in p.stem for t in _WEIGHT_TAGS)]  # fmt: skip
    if not fonts:
        raise FileNotFoundError(f"no font of {TRDG_FAMILIES} under {root}")
    return fonts


def _encode(img, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG")
    else:
        img.convert("RGB").save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _render_trdg(style: str, i: int, fonts: list[Path]) -> tuple[bytes, dict]:
    """Sample ``i`` of a trdg style: (encoded image, manifest entry). Retries with the next
    sub-seed when trdg rejects the text/background contrast (it returns None then)."""
    import cv2
    import trdg.data_generator as dg

    for attempt in range(50):
        seed = f"{style}/{i}/{attempt}"
        r = random.Random(seed)
        text, font = draw_text(random.Random(f"{style}/{i}/text")), r.choice(fonts)
        size = r.choice([32, 32, 32, 36, 40])
        if style == "plain":
            bg, colour = 1, r.choice(["#000000,#303030", "#101040,#202060", "#400000,#502020"])
            stroke, distort, blur, skew = 0, 0, r.choice([0, 0, 0.5, 1]), r.choice([0, 0, 1, 2])
        else:
            bg = r.choice([0, 2, 3])  # gaussian noise, quasicrystal, picture
            light = bg != 0 and r.random() < 0.5
            colour = "#e0e0e0,#ffffff" if light else r.choice(["#000000,#282828", "#202060"])
            stroke = r.choice([1, 2]) if light else 0
            distort, blur = r.choice([0, 0, 1, 2]), r.choice([0, 0.5, 1, 1.5])
            skew = r.randint(0, 3)
        seed_int = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "little") >> 1
        random.seed(seed_int)  # trdg draws colours, skew, blur, backgrounds from `random`
        cv2.setRNGSeed(seed_int)  # its Gaussian-noise background
        with contextlib.redirect_stdout(io.StringIO()):  # its "mean pixel too similar" notes
            img = dg.FakeTextDataGenerator.generate(
                index=i,
                text=text,
                font=str(font),
                out_dir=None,
                size=size,
                extension="png",
                skewing_angle=skew,
                random_skew=True,
                blur=blur,
                random_blur=True,
                background_type=bg,
                distorsion_type=distort,
                distorsion_orientation=r.randint(0, 1),
                is_handwritten=False,
                name_format=0,
                width=-1,
                alignment=0,
                text_color=colour,
                orientation=0,
                space_width=1.0,
                character_spacing=0,
                margins=(4, 4, 4, 4),
                fit=False,
                output_mask=0,
                word_split=False,
                image_dir=str(Path(dg.__file__).parent / "images"),
                stroke_width=stroke,
                stroke_fill="#101010,#303030",
                image_mode="L" if style == "plain" else "RGB",
            )
        if img is not None:
            meta = {"text": text, "font": font.name, "size": size, "background": bg,
                    "text_color": colour, "stroke": stroke, "distortion": distort,
                    "blur": blur, "skew": skew, "seed": seed}  # fmt: skip
            return _encode(img, "png" if style == "plain" else "jpeg"), meta
    raise RuntimeError(f"trdg rejected 50 contrasts for {style} sample {i}")


class _SeededSecrets:
    """The ``secrets`` calls captcha 0.7.1 makes, drawn from a seeded ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.randbelow = lambda n: rng.randrange(n)
        self.randbits, self.choice = rng.getrandbits, rng.choice


def _render_captcha(i: int) -> tuple[bytes, dict]:
    import captcha.image as ci

    seed = f"captcha/{i}"
    text = captcha_text(random.Random(seed + "/text"))
    ci.secrets = _SeededSecrets(random.Random(seed))
    width = max(112, 25 * len(text))  # its default 160 x 60 and font sizes, scaled by 0.7
    img = ci.ImageCaptcha(width=width, height=42, font_sizes=(29, 35, 39)).generate_image(text)
    meta = {"text": text, "font": Path(ci.DEFAULT_FONTS[0]).name, "size": 42, "width": width,
            "seed": seed}  # fmt: skip
    return _encode(img, "jpeg"), meta


def build(out: Path) -> dict:
    """Writes the three LMDBs under ``out`` and returns the manifest (also written there)."""
    fonts = trdg_fonts()
    manifest = {"tools": {p: version(p) for p in ("trdg", "captcha", "Pillow", "opencv-python",
                                                   "numpy", "lmdb")},  # fmt: skip
                "label_rule": "lowercase, keep [0-9a-z] (MindOCR; crnn_fast.synth.words.to_label)",
                "trdg_families": list(TRDG_FAMILIES), "trdg_fonts": [f.name for f in fonts],
                "captcha_font": "DroidSansMono.ttf (captcha 0.7.1's own)",
                "sets": {}, "samples": []}  # fmt: skip
    for style, n in SIZES.items():
        records = []
        for i in range(1, n + 1):
            data, meta = _render_captcha(i) if style == "captcha" else _render_trdg(style, i, fonts)
            label = to_label(meta["text"])
            records.append((data, label))
            manifest["samples"].append({"style": style, "key": f"image-{i:09d}", "label": label,
                                        **meta})  # fmt: skip
        write_lmdb(out / style, records, overwrite=True)
        (out / style / "lock.mdb").unlink(missing_ok=True)
        mdb = (out / style / "data.mdb").read_bytes()
        manifest["sets"][style] = {"samples": n, "data_mdb_sha256": hashlib.sha256(mdb).hexdigest(),
                                   "records_sha256": records_sha256(records)}  # fmt: skip
        print(f"{style}: {n} samples, data.mdb {len(mdb) / 1024:.0f} KiB", file=sys.stderr)
    samples = manifest.pop("samples")  # one line per sample keeps the file small and diffable
    head = json.dumps(manifest, indent=1, ensure_ascii=False)[:-2]
    rows = ",\n".join("  " + json.dumps(x, ensure_ascii=False) for x in samples)
    (out / "manifest.json").write_text(f'{head},\n "samples": [\n{rows}\n ]\n}}\n')
    manifest["samples"] = samples
    return manifest


def records_sha256(records) -> str:
    """SHA-256 over the ``(image bytes, label)`` records in order (independent of LMDB's
    on-disk layout): per record, the image length (8 bytes LE), the image, the label's UTF-8."""
    h = hashlib.sha256()
    for data, label in records:
        h.update(len(data).to_bytes(8, "little") + data + label.encode() + b"\n")
    return h.hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    build(ap.parse_args(argv).out)


if __name__ == "__main__":
    main()
