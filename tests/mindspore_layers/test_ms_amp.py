"""AMP: a BiLSTM + CTC model under mindspore.amp O2 / O3 trains with crnn_fast's layers.

Under O3 MindSpore casts the network (and its inputs) to float16; crnn_fast.nn.LSTM and CTCLoss
compute in float32 inside and return the input's dtype, so the loss matches the float32 model
to float16 rounding and the gradients are finite.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from mindspore import Tensor, nn
from tiny_model import TinyRecognizer, WithCTCLoss


@pytest.mark.parametrize("level", ["O2", "O3"])
def test_amp_levels_train(ms_mode, level, rng):
    x = Tensor(rng.standard_normal((7, 3, 6)).astype(np.float32))
    labels = Tensor(np.array([[1, 2, 4, 4], [3, 4, 4, 4], [0, 0, 1, 4]], np.int32))
    net = TinyRecognizer(6, 8, 2, 5)
    fp32 = float(WithCTCLoss(net)(x, labels).asnumpy())
    amp_net = ms.amp.auto_mixed_precision(WithCTCLoss(net), level)
    step = nn.TrainOneStepCell(amp_net, nn.SGD(net.trainable_params(), learning_rate=0.1))
    step.set_train(True)
    losses = [float(step(x, labels).asnumpy()) for _ in range(5)]
    assert np.isfinite(losses).all()
    assert abs(losses[0] - fp32) < 2e-2 * abs(fp32) + 1e-2, (losses[0], fp32)
    assert losses[-1] < losses[0]
