"""``crnn-fast export``: a trained CRNN as a file that other runtimes load.

:func:`export_model` builds the config's model on MindSpore's own layers (``backend_scope(
"stock")``: ``nn.Conv2d``, ``nn.LSTM``, ... which every exporter knows), loads the checkpoint
(every parameter checked), and writes, in inference mode:

* ``onnx``: ``OUT.onnx`` for ONNX Runtime (``mindspore.onnx.export``, or ``mindspore.export(...,
  file_format="ONNX")`` on older MindSpore);
* ``mindir``: ``OUT.mindir`` for MindSpore (``mindspore.load`` + ``nn.GraphCell``; MindSpore
  Lite reads MindIR too, not tested here);
* ``crnn``: ``OUT.crnn`` for crnn_fast's native path (``crnn_fast.infer.Recognizer.load``,
  which needs no MindSpore): the checkpoint's parameters under their names, as an uncompressed
  NumPy ``.npz``; any batch size;

plus ``OUT.json`` beside it: what a runtime needs around the graph, so that it reads images as
``crnn-fast predict`` does. The input is float32 ``(batch, 3, H, W)`` NCHW RGB, resized to
``H x W`` without keeping the aspect ratio, normalised as ``(x - mean) / std``. The output is
softmax probabilities ``(batch, T, C)`` (batch-first). Decoding is greedy CTC: the best class
per frame, repeats merged, the ``blank`` index dropped, ids mapped through ``characters``.

The batch is fixed (``batch=N``: pad a smaller batch with zeros) or, for MindIR only, dynamic
(``batch=None``). An ONNX graph cannot have a dynamic batch: MindSpore's ONNX exporter writes
the LSTM's zero initial state as a constant of the traced batch, which ONNX Runtime then
rejects for any other batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "export_model", "write_graph"]

FORMATS = {"onnx": ".onnx", "mindir": ".mindir", "crnn": ".crnn"}


def _check_args(fmt: str, batch: int | None) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    if batch is None:
        if fmt == "onnx":
            raise ValueError(
                "batch=None (a dynamic batch) needs format 'mindir': in ONNX, MindSpore fixes the "
                "LSTM's initial state to the traced batch; export ONNX with a fixed batch"
            )
    elif isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1 or None (dynamic), got {batch!r}")


def write_graph(net, x, stem: str, fmt: str) -> None:
    """Writes ``net`` (a Cell in inference mode) traced at input ``x`` as ``stem.onnx`` or
    ``stem.mindir`` (``fmt``: ``onnx`` | ``mindir``)."""
    import mindspore as ms

    if fmt == "onnx":
        exporter = getattr(getattr(ms, "onnx", None), "export", None)
        if exporter is not None:
            exporter(net, x, file_name=stem)
            return
    ms.export(net, x, file_name=stem, file_format=fmt.upper())


def _sidecar(
    cfg: dict, fmt: str, graph: Path, batch: int | None, h: int, w: int, ckpt: str
) -> dict:
    from .. import __version__
    from ..train.config import get
    from ..train.trainer import label_decoder

    post = label_decoder(cfg)
    chars = [post.character[i] for i in range(post.num_classes)]
    return {
        "format": fmt,
        "file": graph.name,
        "model": get(cfg, "model.backbone.name"),
        "input": {
            "shape": [batch, 3, h, w],
            "dtype": "float32",
            "layout": "NCHW",
            "channels": "RGB",
            "resize": {"height": h, "width": w, "keep_ratio": False},
            "normalize": {"mean": 127.0, "std": 127.0},
        },
        "output": {"kind": "softmax probabilities", "layout": "(batch, T, C)"},
        "decode": "greedy CTC: argmax per frame, merge repeats, drop blank",
        "characters": chars,
        "blank": post.blank_idx,
        "lowercase": bool(post.lower),
        "checkpoint": str(ckpt),
        "crnn_fast_version": __version__,
    }


def export_model(
    cfg: dict, *, ckpt: str, fmt: str = "onnx", out: str | Path, batch: int | None = 1
) -> dict:
    """Writes ``out`` + ``.onnx`` / ``.mindir`` (a suffix of ``out`` is replaced) and ``out`` +
    ``.json``; returns the JSON's content plus ``"path"`` (the graph file) and ``"sidecar"``.

    ``cfg``: a loaded config (its ``model`` section and the eval input size); ``ckpt``: a
    checkpoint of that model; ``fmt``: ``onnx`` | ``mindir`` | ``crnn``; ``batch``: the graph's
    fixed batch size, or None for a dynamic one (MindIR only; the JSON's input shape then starts
    with null); ``crnn`` takes any batch (``batch`` is not used)."""
    _check_args(fmt, batch)
    import mindspore as ms

    from ..models import backend_scope, build_model_from_config, load_checkpoint_strict
    from ..train.predict import _input_hw

    if not Path(ckpt).is_file():
        raise FileNotFoundError(f"ckpt: no such checkpoint file: {ckpt}")
    stem = (
        Path(out).with_suffix("") if Path(out).suffix in (*FORMATS.values(), ".json") else Path(out)
    )
    stem.parent.mkdir(parents=True, exist_ok=True)
    with backend_scope("stock"):
        net = build_model_from_config(cfg["model"])
    load_checkpoint_strict(net, ckpt)
    net.set_train(False)
    h, w = _input_hw(cfg)
    if fmt == "crnn":
        graph = stem.with_name(stem.name + FORMATS[fmt])
        with open(graph, "wb") as f:  # (np.savez given a name would append .npz)
            np.savez(f, **{p.name: p.asnumpy() for p in net.get_parameters()})
        batch = None
    elif batch is None:
        x = ms.Tensor(shape=[None, 3, h, w], dtype=ms.float32)
    else:
        x = ms.Tensor(np.zeros((batch, 3, h, w), np.float32))
    if fmt != "crnn":
        write_graph(net, x, str(stem), fmt)
        graph = stem.with_name(stem.name + FORMATS[fmt])
    if not graph.is_file():
        raise RuntimeError(f"MindSpore's exporter wrote no {graph}")
    meta = _sidecar(cfg, fmt, graph, batch, h, w, ckpt)
    side = stem.with_name(stem.name + ".json")
    side.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {**meta, "path": str(graph), "sidecar": str(side)}
