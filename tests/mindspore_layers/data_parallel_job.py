"""Worker of test_ms_data_parallel.py (run by msrun): each rank trains a crnn_fast LSTM + CTC
model on its own data with DATA_PARALLEL gradient averaging and prints a weight checksum."""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn
from mindspore.communication import get_rank, init

ms.set_context(mode=ms.GRAPH_MODE)
if hasattr(ms, "set_device"):  # 2.5+: device_target in set_context is deprecated
    ms.set_device("CPU")
else:
    ms.set_context(device_target="CPU")
init()
ms.set_auto_parallel_context(parallel_mode=ms.ParallelMode.DATA_PARALLEL, gradients_mean=True)

from tiny_model import TinyRecognizer, WithCTCLoss  # noqa: E402  (after the context is set)


def main() -> None:
    rank = get_rank()
    np.random.seed(0)  # noqa: NPY002  (same initial weights on every rank)
    ms.set_seed(0)
    net = TinyRecognizer(6, 8, 2, 5)
    step = nn.TrainOneStepCell(WithCTCLoss(net), nn.Adam(net.trainable_params(), 0.01))
    step.set_train(True)
    rng = np.random.default_rng(100 + rank)  # different data per rank
    for _ in range(20):
        x = Tensor(rng.standard_normal((7, 4, 6)).astype(np.float32))
        labels = Tensor(rng.integers(0, 4, (4, 3)).astype(np.int32))
        loss = step(x, labels)
    w = np.concatenate([p.asnumpy().ravel() for p in net.trainable_params()])
    print(f"rank {rank} loss {float(loss.asnumpy()):.4f} weights checksum {w.sum():.6f} "
          f"{np.abs(w).sum():.6f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
