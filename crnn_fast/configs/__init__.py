"""The shipped MindOCR-style configs: ``crnn_vgg7.yaml`` and ``crnn_resnet34.yaml`` (MindOCR's
recipes) and ``crnn_vgg7_synth.yaml`` (the embedded default job on synthetic data)."""

from __future__ import annotations

from pathlib import Path

DEFAULT = "crnn_vgg7_synth.yaml"


def config_path(name: str = DEFAULT) -> Path:
    """Path of a shipped config by file name (``crnn_vgg7.yaml``) or stem (``crnn_vgg7``)."""
    here = Path(__file__).resolve().parent
    path = here / (name if name.endswith(".yaml") else name + ".yaml")
    if not path.is_file():
        names = sorted(p.name for p in here.glob("*.yaml"))
        raise FileNotFoundError(f"no shipped config {name!r}; shipped: {names}")
    return path
