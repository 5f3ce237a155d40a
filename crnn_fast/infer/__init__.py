"""Deployment: :func:`export_model` (``crnn-fast export``) writes a trained CRNN as ONNX or
MindIR with a JSON of its pre- and post-processing."""

from .export import FORMATS, export_model, write_graph

__all__ = ["FORMATS", "export_model", "write_graph"]
