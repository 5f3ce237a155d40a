"""A 200-step training run of a small BiLSTM + CTC model decreases the loss equally under the
stock MindSpore ops and under crnn_fast (cpu), from the same seed and data (GRAPH mode,
nn.TrainOneStepCell, Adam)."""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn
from tiny_model import TinyRecognizer, WithCTCLoss

T, B, I, H, C, S, STEPS = 16, 8, 8, 16, 6, 4, 200


def make_batches(seed: int, n: int):
    """Label sequences (length 1..S, no blank) rendered as noisy one-hot-ish frames."""
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((C, I)).astype(np.float32)
    batches = []
    for _ in range(n):
        labels = np.full((B, S), C - 1, np.int32)
        x = 0.3 * rng.standard_normal((T, B, I)).astype(np.float32)
        for b in range(B):
            n_chars = rng.integers(1, S + 1)
            labels[b, :n_chars] = rng.integers(0, C - 1, n_chars)
            for j, ch in enumerate(labels[b, :n_chars]):
                t0 = 1 + 3 * j
                x[t0 : t0 + 2, b] += proj[ch]
        batches.append((Tensor(x), Tensor(labels)))
    return batches


def train(backend: str, use_backend) -> np.ndarray:
    use_backend(backend)
    ms.set_seed(7)
    np.random.seed(7)  # noqa: NPY002  (nn.LSTM draws its initial weights from NumPy)
    net = TinyRecognizer(I, H, 1, C)
    assert net.rnn.backend == backend
    step = nn.TrainOneStepCell(
        WithCTCLoss(net), nn.Adam(net.trainable_params(), learning_rate=0.02)
    )
    step.set_train(True)
    losses = [float(step(x, y).asnumpy()) for x, y in make_batches(0, STEPS)]
    return np.array(losses)


def test_training_curves_match_stock(use_backend):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        stock = train("stock", use_backend)
        fast = train("cpu", use_backend)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert np.isfinite(stock).all() and np.isfinite(fast).all()
    first, last = slice(0, 10), slice(-20, None)
    for curve in (stock, fast):
        assert curve[last].mean() < 0.5 * curve[first].mean(), "the loss did not decrease"
    assert abs(fast[first].mean() - stock[first].mean()) < 1e-3 * stock[first].mean()
    rel = abs(fast[last].mean() - stock[last].mean()) / stock[last].mean()
    assert rel < 0.05, (
        f"final losses differ by {rel:.1%}: {fast[last].mean()} vs {stock[last].mean()}"
    )
