"""float64 NumPy implementations: the oracle for every backend and the no-extension fallback."""

from .ctc import GreedyResult, ctc_greedy_decode, ctc_loss, log_softmax, to_log_probs
from .ctc_beam import BeamResult, ctc_prefix_beam_search
from .lstm import (
    LSTMForward,
    LSTMGrads,
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_param_names,
)

__all__ = [
    "BeamResult",
    "GreedyResult",
    "LSTMForward",
    "LSTMGrads",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_prefix_beam_search",
    "init_lstm_params",
    "log_softmax",
    "lstm_backward",
    "lstm_forward",
    "lstm_param_names",
    "to_log_probs",
]
