"""float64 NumPy implementations: the oracle for every backend and the no-extension fallback."""

from .ctc import GreedyResult, ctc_greedy_decode, ctc_loss, log_softmax, to_log_probs
from .ctc_beam import BeamResult, ctc_prefix_beam_search

__all__ = [
    "BeamResult",
    "GreedyResult",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_prefix_beam_search",
    "log_softmax",
    "to_log_probs",
]
