"""``crnn-fast synth``: MJSynth-style train and test LMDBs from a seed.

Reproducibility: sample ``i`` of split ``s`` draws everything (word, case, font, size,
distortions, colours, noise, JPEG quality) from its own generator,
``numpy.random.default_rng([seed, s, i])`` with ``s`` = 0 for train and 1 for test. So the
output depends only on the arguments (and the installed fonts / Pillow build), not on
``workers`` or the order the samples are made in, and the two splits never share a random
stream.

Held-out evaluation: the test split uses

* fonts the train split never sees (:func:`crnn_fast.synth.fonts.split_fonts`: ~25 % of the
  installed font files by a stable hash of the file name) when >= 2 fonts are usable. With a
  single font (or Pillow's bundled one) both splits use it and only seeds and words differ:
  ``fonts_disjoint`` in the result says so;
* with ``test_words > 0`` (default 0.1), list words the train split never renders
  (:func:`crnn_fast.synth.words.split_words`); generated pseudo-words and random strings are
  redrawn when they hit a word of the other split's list part. Short random strings (``"7"``,
  ``"42"``) can still occur in both.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import multiprocessing.pool
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from crnn_fast.data.lmdb_io import write_lmdb
from crnn_fast.synth import fonts as fonts_mod
from crnn_fast.synth.encode import encode_image
from crnn_fast.synth.fonts import FontSpec
from crnn_fast.synth.render import RenderConfig, RenderMix, pick_config, render, render_plan
from crnn_fast.synth.words import TEXT_STYLES, WordConfig, WordSampler, load_words, split_words

__all__ = [
    "GENERATOR_VERSION",
    "SplitPlan",
    "iter_split",
    "make_sample",
    "plan_splits",
    "synth_lmdb",
]

# Bumped whenever the same arguments give other images or labels (synth.json records it, and
# the quickstart regenerates data made by another version).
GENERATOR_VERSION = 4

SPLIT_IDS = {"train": 0, "test": 1}
_CHUNK = 128  # samples per worker task


@dataclass(frozen=True)
class SplitPlan:
    """Everything that determines one split's samples (picklable, for worker processes)."""

    name: str
    seed: int
    fonts: tuple[FontSpec, ...]
    words: tuple[str, ...]
    exclude: frozenset[str] = frozenset()
    render: RenderConfig | RenderMix = field(default_factory=RenderConfig)
    word_config: WordConfig = field(default_factory=WordConfig)
    image_format: str = "jpg"

    def sampler(self) -> WordSampler:
        return WordSampler(self.words, self.word_config, self.exclude)


def make_sample(plan: SplitPlan, sampler: WordSampler, i: int) -> tuple[bytes, str]:
    """Sample ``i`` (0-based) of ``plan``'s split: ``(encoded image, label)``."""
    rng = np.random.default_rng([plan.seed, SPLIT_IDS[plan.name], i])
    text, label = sampler(rng)
    font = plan.fonts[int(rng.integers(len(plan.fonts)))]
    cfg = pick_config(plan.render, rng)
    image = render(text, font, rng, cfg).image
    q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    return encode_image(image, plan.image_format, q), label


_worker: tuple[SplitPlan, WordSampler] | None = None


def _init_worker(plan: SplitPlan) -> None:
    global _worker
    _worker = (plan, plan.sampler())


def _make_chunk(bounds: tuple[int, int]) -> list[tuple[bytes, str]]:
    plan, sampler = _worker
    return [make_sample(plan, sampler, i) for i in range(*bounds)]


@contextmanager
def _pool(plan: SplitPlan, workers: int) -> Iterator[mp.pool.Pool | None]:
    """``workers`` processes primed with ``plan`` (None for one worker). Forked where the OS
    can (Linux: no re-import of ``__main__``, so scripts need no ``if __name__`` guard), else
    spawned."""
    if workers <= 1:
        yield None
        return
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
        yield pool


def _samples(plan: SplitPlan, n: int, pool: mp.pool.Pool | None) -> Iterator[tuple[bytes, str]]:
    if pool is None:
        sampler = plan.sampler()
        for i in range(n):
            yield make_sample(plan, sampler, i)
        return
    chunks = [(a, min(a + _CHUNK, n)) for a in range(0, n, _CHUNK)]
    for chunk in pool.imap(_make_chunk, chunks):
        yield from chunk


def iter_split(plan: SplitPlan, n: int, workers: int = 1) -> Iterator[tuple[bytes, str]]:
    """Samples 0..n-1 of ``plan`` in order, ``(encoded image, label)``; ``workers`` > 1
    renders them in that many processes (the same bytes as ``workers=1``)."""
    with _pool(plan, workers if n > _CHUNK else 1) as pool:
        yield from _samples(plan, n, pool)


def plan_splits(
    *,
    seed: int = 0,
    difficulty: str | RenderConfig | RenderMix = "mix",
    image_format: str = "jpg",
    fonts: Sequence[str | os.PathLike] | None = None,
    test_fonts: float = 0.25,
    test_words: float = 0.1,
    word_list: str | os.PathLike | None = None,
    word_config: WordConfig | str | None = None,
) -> tuple[dict[str, SplitPlan], dict]:
    """The train and test :class:`SplitPlan` and a JSON-able description of them."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if image_format.lower() not in ("jpg", "jpeg", "png"):
        raise ValueError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    cfg = render_plan(difficulty)
    if isinstance(word_config, str):
        if word_config not in TEXT_STYLES:
            raise ValueError(f"text must be one of {sorted(TEXT_STYLES)}, got {word_config!r}")
        word_config = TEXT_STYLES[word_config]
    wcfg = word_config or WordConfig()
    train_fonts, test_fonts_, source = fonts_mod.font_sets(fonts, test_fonts)
    words = load_words(word_list, max_len=wcfg.max_len)
    if test_words > 0:
        train_words, test_words_ = split_words(words, test_words)
        if not train_words or not test_words_:
            raise ValueError(f"test_words={test_words} leaves a split without list words")
    else:
        train_words = test_words_ = words
    disjoint_words = test_words > 0
    plans = {
        name: SplitPlan(
            name,
            int(seed),
            tuple(f),
            tuple(w),
            frozenset(x) if disjoint_words else frozenset(),
            cfg,
            wcfg,
            image_format.lower(),
        )
        for name, f, w, x in (
            ("train", train_fonts, train_words, test_words_),
            ("test", test_fonts_, test_words_, train_words),
        )
    }
    info = {
        "seed": int(seed),
        "difficulty": difficulty if isinstance(difficulty, str) else "custom",
        "generator": GENERATOR_VERSION,
        "render_config": (
            {"mix": [asdict(c) for c in cfg.configs], "weights": list(cfg.weights)}
            if isinstance(cfg, RenderMix)
            else asdict(cfg)
        ),
        "word_config": asdict(wcfg),
        "image_format": image_format.lower(),
        "font_source": source,
        "fonts_disjoint": not set(train_fonts) & set(test_fonts_),
        "words_disjoint": disjoint_words,
        "train_fonts": [f.name for f in train_fonts],
        "test_fonts": [f.name for f in test_fonts_],
        "train_list_words": len(train_words),
        "test_list_words": len(test_words_),
    }
    return plans, info


def synth_lmdb(
    out_dir: str | os.PathLike,
    *,
    n_train: int,
    n_test: int,
    seed: int = 0,
    difficulty: str = "mix",
    image_format: str = "jpg",
    workers: int = 1,
    fonts: Sequence[str | os.PathLike] | None = None,
    test_fonts: float = 0.25,
    test_words: float = 0.1,
    word_list: str | os.PathLike | None = None,
    text: str = "real",
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Writes ``out_dir/train`` (``n_train`` samples) and ``out_dir/test`` (``n_test``) as
    MindOCR LMDBs plus ``out_dir/synth.json`` (the settings and font lists), and returns

    ``{"out_dir", "train": {"path", "n"}, "test": {"path", "n"}, "seconds", "images_per_s",``
    ``"seed", "difficulty", "image_format", "font_source", "fonts_disjoint", "words_disjoint",``
    ``"train_fonts", "test_fonts", "train_list_words", "test_list_words", ...}``

    ``difficulty``: ``mix`` (each sample draws a ``real-*`` preset: the default) or one preset of
    :data:`crnn_fast.synth.render.DIFFICULTY` (``easy`` | ``medium`` | ``hard`` | ``real-easy`` |
    ``real-medium`` | ``real-hard`` | ``real-jumbled``).
    ``fonts``: font files/folders instead of ``$CRNN_FAST_FONTS`` / the system folders.
    ``test_fonts``: share of font files held out for test; ``test_words``: share of the word
    list held out for test (0: both splits draw from the whole list). ``text``: ``real``
    (punctuation, symbols, formatted numbers, lines of words: the default) or ``plain`` (single
    words, no punctuation; :data:`crnn_fast.synth.words.TEXT_STYLES`). A split with n = 0 is
    not written (its path is None); both 0 is a ValueError, and an ``out_dir`` (or a parent)
    that is a file a NotADirectoryError naming it. Byte-identical output for the same arguments.
    """
    for name, n in (("n_train", n_train), ("n_test", n_test), ("workers", workers)):
        if not isinstance(n, (int, np.integer)) or n < (1 if name == "workers" else 0):
            raise ValueError(f"{name} must be an int >= {int(name == 'workers')}, got {n!r}")
    if n_train == 0 and n_test == 0:
        raise ValueError("n_train and n_test are both 0: nothing to write (at least one > 0)")
    out = Path(out_dir)
    for p in (out, *out.parents):  # the first existing component must be a folder
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "a file" if p.is_file() else "a broken link or special file"
                raise NotADirectoryError(f"output folder {p} is {what}, not a directory")
            break
    plans, info = plan_splits(
        seed=seed,
        difficulty=difficulty,
        image_format=image_format,
        fonts=fonts,
        test_fonts=test_fonts,
        test_words=test_words,
        word_list=word_list,
        word_config=text,
    )
    for name, n in (("train", n_train), ("test", n_test)):
        if n > 0 and not overwrite and (out / name / "data.mdb").exists():
            raise FileExistsError(f"{out / name / 'data.mdb'} exists (pass overwrite=True)")
    out.mkdir(parents=True, exist_ok=True)
    result: dict = {"out_dir": str(out)}
    t0 = time.perf_counter()
    for name, n in (("train", n_train), ("test", n_test)):
        path = out / name
        if n > 0:  # the pool starts before tqdm's monitor thread: no fork with threads
            with _pool(plans[name], workers if n > _CHUNK else 1) as pool:
                write_lmdb(
                    path,
                    _samples(plans[name], n, pool),
                    total=n,
                    overwrite=overwrite,
                    progress=progress,
                    desc=f"synth {name}",
                )
        result[name] = {"path": str(path) if n > 0 else None, "n": int(n)}
    seconds = time.perf_counter() - t0
    meta = {**info, "n_train": int(n_train), "n_test": int(n_test), "text": text}
    (out / "synth.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    result.update(info)
    result["seconds"] = seconds
    result["images_per_s"] = (n_train + n_test) / seconds if seconds > 0 else float("inf")
    return result
