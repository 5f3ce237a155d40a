"""Deployment: :class:`Recognizer` (the whole model as one native call per batch, used by
``crnn-fast predict``) and :func:`export_model` (``crnn-fast export``), which writes a trained
CRNN as ONNX, MindIR or the native path's weights file, with a JSON of its pre- and
post-processing."""

from .export import FORMATS, export_model, write_graph
from .recognizer import WEIGHTS_SUFFIX, Recognition, Recognizer

__all__ = ["FORMATS", "WEIGHTS_SUFFIX", "Recognition", "Recognizer", "export_model", "write_graph"]
