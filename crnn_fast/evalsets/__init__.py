"""Evaluation sets shipped with crnn_fast (package data, never used for training).

``ood/``: the out-of-distribution word crops made by ``benchmarks/ood/make_ood_set.py`` with
renderers other than ``crnn_fast.synth`` and fonts our training never uses: one MindOCR LMDB
per style (``plain`` 150 trdg crops, dark text on flat white; ``textured`` 150 trdg crops on
noise / quasicrystal / picture backgrounds; ``captcha`` 100 crops by the ``captcha`` package),
labels normalised by MindOCR's rule (lowercase, ``[0-9a-z]`` only), and ``manifest.json``
(raw text, label, style, font and settings of every sample; SHA-256 of each ``data.mdb``).

Score it like any LMDB folder::

    crnn-fast eval --per-set --config crnn_vgg7_synth --ckpt best.ckpt \\
        -o eval.dataset.dataset_root=<OOD_ROOT> -o eval.dataset.data_dir=.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OOD_MANIFEST", "OOD_ROOT", "OOD_STYLES", "ood_sets"]

OOD_ROOT: Path = Path(__file__).resolve().parent / "ood"
"""Folder holding one LMDB folder per style and ``manifest.json``."""
OOD_MANIFEST: Path = OOD_ROOT / "manifest.json"
OOD_STYLES: tuple[str, ...] = ("plain", "textured", "captcha")
"""The styles, in report order."""


def ood_sets() -> dict[str, Path]:
    """``{style: LMDB folder}`` of the OOD set, in :data:`OOD_STYLES` order. Raises
    FileNotFoundError naming the folder when a style's ``data.mdb`` is missing (e.g. an
    install that dropped the package data)."""
    sets = {s: OOD_ROOT / s for s in OOD_STYLES}
    for style, path in sets.items():
        if not (path / "data.mdb").is_file():
            raise FileNotFoundError(f"OOD set {style!r}: no data.mdb in {path}")
    return sets
