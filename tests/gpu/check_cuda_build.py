"""CI, on a machine without a GPU: the crnn_fast._C built with the CUDA backend (.ci/run puts
it first on PYTHONPATH as $PKG/crnn_fast) has that backend and every MindSpore ``_gpu`` aot
entry, and a GPU entry called with no GPU present fails with its message, not a crash."""

import os

import aot_harness as h
import numpy as np

import crnn_fast

assert crnn_fast.__file__.startswith(os.environ["PKG"]), crnn_fast.__file__
assert crnn_fast.backends()["cuda"], "the CUDA backend is not in this _C"
for op in crnn_fast.registry.ACCELERATOR_AOT_OPS:
    assert h.has_entry(f"crnn_aot_{op}_gpu"), op
x = np.zeros((4, 2, 5), np.float32)
lab = np.ones((2, 2), np.int32)
outs = [np.zeros(2, np.float32), np.zeros_like(x)]
rc = h.call("crnn_aot_ctc_loss_gpu", [x, lab, lab[:, 0], lab[:, 0], np.zeros(4, np.int32), *outs])
print("crnn_aot_ctc_loss_gpu without a GPU:", rc, h.last_error())
assert rc == 4 and "crnn_fast aot ctc_loss: " in h.last_error(), rc
