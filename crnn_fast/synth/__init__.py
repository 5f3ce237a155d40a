"""MJSynth-style synthetic text-line data for CRNN (``crnn-fast synth``).

``synth_lmdb(out_dir, n_train=..., n_test=..., seed=0, difficulty="mix")`` writes
``out_dir/train`` and ``out_dir/test`` LMDBs in MindOCR's layout, with held-out fonts, seeds and
(by default) words for the test split. Pieces: :mod:`.words` (texts and labels), :mod:`.fonts`
(discovery, train/test split, Pillow fallback), :mod:`.render` (one text -> RGB crop; its
settings :mod:`.presets`, text masks :mod:`.glyphs`, backgrounds and occluders
:mod:`.clutter`), :mod:`.encode` (JPEG/PNG bytes; the LMDB I/O is
``crnn_fast.data.lmdb_io``), :mod:`.generate` (the two splits), :mod:`.preview` (montages).
"""

from crnn_fast.data.lmdb_io import read_lmdb, write_lmdb
from crnn_fast.synth.fonts import FontSpec, discover_fonts, font_sets, split_fonts
from crnn_fast.synth.generate import synth_lmdb
from crnn_fast.synth.presets import MIXES, RenderMix, render_plan
from crnn_fast.synth.render import DIFFICULTY, RenderConfig, render, render_config, render_word

__all__ = [
    "DIFFICULTY",
    "FontSpec",
    "MIXES",
    "RenderConfig",
    "RenderMix",
    "discover_fonts",
    "font_sets",
    "read_lmdb",
    "render",
    "render_config",
    "render_plan",
    "render_word",
    "split_fonts",
    "synth_lmdb",
    "write_lmdb",
]
