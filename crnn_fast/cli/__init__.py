"""The ``crnn-fast`` command line (``python -m crnn_fast.cli``).

- :mod:`.app`: the parser, the dispatch and the error handling (``main`` is the console
  script's entry point);
- :mod:`.train`: ``quickstart``, ``train``, ``eval``, ``predict`` and ``synth``;
- :mod:`.demo`: ``demo``, the kernel check and timing (a bare ``crnn-fast`` runs it);
- :mod:`.demo_lstm`: MindOCR's BiLSTM neck in crnn_fast, PyTorch and MindSpore, shared by the
  demo and ``crnn_fast/bench/suites/bench_lstm.py``.
"""

from .app import build_parser, error_message, main

__all__ = ["build_parser", "error_message", "main"]
