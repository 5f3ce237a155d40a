"""float64 NumPy implementations: the oracle for every backend and the no-extension fallback."""

from .adamw import adamw
from .conv import ConvGrads, conv2d_backward, conv2d_forward, resolve_padding
from .ctc import GreedyResult, ctc_greedy_decode, ctc_loss, log_softmax, to_log_probs
from .ctc_beam import BeamResult, ctc_beam_search
from .lstm import (
    LSTMForward,
    LSTMGrads,
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_param_names,
)

__all__ = [
    "adamw",
    "BeamResult",
    "ConvGrads",
    "GreedyResult",
    "LSTMForward",
    "LSTMGrads",
    "conv2d_backward",
    "conv2d_forward",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_beam_search",
    "init_lstm_params",
    "log_softmax",
    "lstm_backward",
    "lstm_forward",
    "lstm_param_names",
    "resolve_padding",
    "to_log_probs",
]
