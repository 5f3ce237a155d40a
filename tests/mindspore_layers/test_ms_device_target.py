"""Which aot entries the MindSpore layers build for MindSpore's device_target
(``crnn_fast.registry.for_ms_target``): the CPU entries on CPU, the ``_gpu`` entries (CUDA
kernels on device memory) on GPU, and a clear ValueError -- never a host entry handed device
memory -- when the build has no kernels for the target. This machine has no GPU, so GPU is
simulated by patching the device_target the ops read and, where needed, the cuda backend's
``compiled``; the entries themselves are tested in tests/test_aot_device_entries.py."""

from __future__ import annotations

import dataclasses

import pytest

import crnn_fast.nn as cnn
from crnn_fast import registry
from crnn_fast.ops import _custom as c


@pytest.fixture
def target(monkeypatch):
    """set(name) makes the ops see MindSpore's device_target as ``name``."""
    return lambda name: monkeypatch.setattr(c, "ms_device_target", lambda: name)


@pytest.fixture
def cuda_built(monkeypatch):
    """Makes the registry believe the CUDA backend was compiled into _C."""
    b = registry._get("cuda")
    monkeypatch.setitem(registry._BACKENDS, "cuda", dataclasses.replace(b, compiled=lambda: True))


def test_cpu_target_uses_the_cpu_entries(target):
    target("CPU")
    assert c.aot_entry("cpu", "ctc_loss") == "crnn_aot_ctc_loss"
    assert c.aot_entry("cuda-emu", "lstm_backward") == "crnn_aot_lstm_backward_cuda_emu"
    assert c.has_aot("cpu", "conv2d_forward")
    assert not c.has_aot("cuda-emu", "conv2d_forward")
    assert c.aot_entry("ascend-emu", "ctc_greedy") == "crnn_aot_ctc_greedy_ascend_emu"
    assert c.aot_entry("ascend-emu", "ctc_loss") == "crnn_aot_ctc_loss_ascend_emu"
    assert c.aot_entry("ascend-emu", "lstm_backward") == "crnn_aot_lstm_backward_ascend_emu"
    with pytest.raises(ValueError, match="'ascend-emu' has no aot kernel for 'conv2d_forward'"):
        c.aot_entry("ascend-emu", "conv2d_forward")


def test_gpu_target_without_cuda_kernels_refuses_clearly(target, monkeypatch):
    target("GPU")
    b = registry._get("cuda")  # (a build with nvcc: as if it had none)
    monkeypatch.setitem(registry._BACKENDS, "cuda", dataclasses.replace(b, compiled=lambda: False))
    with pytest.raises(ValueError, match="device_target is 'GPU'.*CRNN_FAST_BACKEND=stock"):
        c.aot_entry("cpu", "ctc_loss")
    with pytest.raises(ValueError, match="device_target is 'GPU'"):
        cnn.CTCLoss(blank=-1)
    with pytest.raises(ValueError, match="device_target is 'GPU'"):
        cnn.LSTM(8, 4, num_layers=1)


def test_gpu_target_picks_the_gpu_entries(target, cuda_built):
    target("GPU")
    assert registry.for_ms_target("cpu", "GPU") == "cuda"
    for op in registry.ACCELERATOR_AOT_OPS:
        assert c.aot_entry("cpu", op) == f"crnn_aot_{op}_gpu"
        assert c.aot_entry("cuda", op) == f"crnn_aot_{op}_gpu"
    with pytest.raises(ValueError, match="no aot kernel for 'conv2d_forward'"):
        c.aot_entry("cpu", "conv2d_forward")
    # the convolutions run MindSpore's own (GPU) op; the CTC loss builds its _gpu op
    assert cnn.Conv2d(3, 8, 3, pad_mode="pad", padding=1).use_stock
    assert "crnn_aot_ctc_loss_gpu" in str(cnn.CTCLoss(blank=-1).op.op.func)


def test_a_backend_of_another_target_is_refused(target, cuda_built):
    target("GPU")
    with pytest.raises(ValueError, match="'cuda-emu' runs MindSpore's 'CPU' target"):
        c.aot_entry("cuda-emu", "ctc_loss")
    target("CPU")
    with pytest.raises(ValueError, match="'cuda' runs MindSpore's 'GPU' target"):
        c.aot_entry("cuda", "ctc_loss")
    target("Ascend")
    with pytest.raises(ValueError, match="device_target is 'Ascend'"):
        c.aot_entry("cpu", "lstm_backward")


def test_non_aot_backends_ignore_the_target():
    assert registry.for_ms_target("numpy", "GPU") == "numpy"
    assert registry.for_ms_target("stock", "Ascend") == "stock"


def test_a_failed_gpu_kernel_becomes_its_python_exception():
    """MindSpore's GPU target reports a failed aot entry as "GPU AOT kernel"; the op's Cells
    raise the exception of its status with the kernel's message, named by the op."""
    exc = RuntimeError(
        "Return value from GPU AOT kernel(/x/_C.so)'s function(crnn_aot_ctc_loss_gpu) is 1. "
        "Any return value not equal to 0 will be treated as user defined error code"
    )
    err = c.kernel_error(exc)
    assert isinstance(err, ValueError)
    assert str(err).startswith("crnn_fast aot ctc_loss:")


@pytest.fixture
def ascend_package(monkeypatch, tmp_path):
    """A stand-in install of crnn_fast's CANN vendor package (its aclnn headers only) on
    ASCEND_CUSTOM_OPP_PATH: what the registry looks for. No CANN or NPU is involved."""
    include = tmp_path / "vendors" / "crnn_fast" / "op_api" / "include"
    include.mkdir(parents=True)
    for op_type in registry.ASCEND_OP_TYPES.values():
        (include / f"aclnn_{_snake(op_type)}.h").write_text("// stand-in\n")
    monkeypatch.setenv("ASCEND_CUSTOM_OPP_PATH", f"/nonexistent:{include.parents[1]}")
    return include.parents[1]


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def test_ascend_backend_needs_the_vendor_package(monkeypatch):
    monkeypatch.delenv("ASCEND_CUSTOM_OPP_PATH", raising=False)
    monkeypatch.delenv("ASCEND_OPP_PATH", raising=False)
    assert registry.ascend_package() == ""
    assert not registry.usable("ascend")
    assert "CANN vendor package" in registry._reason("ascend")


def test_ascend_target_builds_the_cann_ops(target, ascend_package):
    target("Ascend")
    assert registry.ascend_package() == str(ascend_package)
    assert registry.for_ms_target("cpu", "Ascend") == "ascend"
    assert c.aot_entry("cpu", "ctc_greedy") == "CrnnCtcGreedy"
    missing = set(registry.ACCELERATOR_AOT_OPS) - set(registry.ASCEND_OP_TYPES)
    for op in missing:  # ops without an op_host yet are refused, never run on the host
        with pytest.raises(ValueError, match="'ascend' has no aot kernel"):
            c.aot_entry("cpu", op)
    from crnn_fast.ops.ctc_greedy import CTCGreedyOp

    op = CTCGreedyOp(blank=-1).op
    assert isinstance(op, c.AscendCustom)
    assert op.prim.func == "CrnnCtcGreedy" and op.prim.func_type == "aot"
    # the OpDef's outputs: the aot entry's ids, lengths, probs, then frames and the error key
    shapes = op.prim.out_shape([25, 4, 37], [4], [4])
    assert [list(s) for s in shapes] == [[4, 25], [4], [4, 25], [4, 25], [1]]
    from mindspore import dtype as mstype

    dtypes = op.prim.out_dtype(mstype.float32, mstype.int32, mstype.int32)
    assert dtypes == (mstype.int32, mstype.int32, mstype.float32, mstype.int32, mstype.uint64)


def test_ascend_op_returns_the_entry_outputs_and_raises_its_error(target, ascend_package):
    import mindspore as ms
    import numpy as np
    from mindspore import Tensor

    from crnn_fast.ops.ctc_greedy import CTCGreedyOp

    target("Ascend")
    op = CTCGreedyOp(blank=-1).op
    key = [np.uint64(2**64 - 1)]

    def fake_kernel(*args):  # the CANN kernel's outputs, as MindSpore would return them
        ids = Tensor(np.zeros((3, 2), np.int32))
        return (
            ids,
            Tensor(np.ones(3, np.int32)),
            Tensor(np.zeros((3, 2), np.float32)),
            ids,
            (Tensor(np.array(key, np.uint64))),
        )

    op.prim = fake_kernel
    ms.set_context(mode=ms.PYNATIVE_MODE)
    outs = op(Tensor(np.zeros((2, 3, 5), np.float32)), c.NONE_I32, c.int_config(-1, 0, 0, 0))
    assert len(outs) == 3 and outs[1].asnumpy().tolist() == [1, 1, 1]
    key[0] = np.uint64((1 << 62) | (2 << 31) | (2 << 3) | 2)  # NaN at sample 2, frame 1
    msg = r"Ascend CrnnCtcGreedy: non-finite.*batch index 2, frame 1"
    with pytest.raises(ValueError, match=msg):
        op(Tensor(np.zeros((2, 3, 5), np.float32)), c.NONE_I32, c.int_config(-1, 0, 0, 0))


def test_ascend_ctc_loss_op(target, ascend_package):
    from mindspore import dtype as mstype

    import crnn_fast.nn as cnn

    target("Ascend")
    op = cnn.CTCLoss(blank=-1).op.op
    assert isinstance(op, c.AscendCustom) and op.prim.func == "CrnnCtcLoss"
    shapes = op.prim.out_shape([26, 4, 37], [4, 25], [4], [4], [4])
    assert [list(s) for s in shapes] == [[4], [26, 4, 37], [1]]
    dtypes = op.prim.out_dtype(
        mstype.float16, mstype.int32, mstype.int32, mstype.int32, mstype.int32
    )
    assert dtypes == (mstype.float32, mstype.float16, mstype.uint64)


# The CRNN LSTM (T=26, B=64, I=512, H=256, 2 layers, bidirectional): the ops' input shapes.
_LSTM_X, _LSTM_CFG, _LSTM_W = [26, 64, 512], [2, 2, 256], [3153920]
_NO_STATE, _NO_SEQ = [1], [1, 1]


def test_ascend_target_builds_the_cann_lstm_ops(target, ascend_package):
    from mindspore import dtype as mstype

    from crnn_fast.ops.lstm import LSTMOp, lstm_ops

    target("Ascend")
    op_types = {
        "lstm_forward_train": "CrnnLstmForward",
        "lstm_forward_infer": "CrnnLstmForwardInfer",
        "lstm_backward": "CrnnLstmBackward",
    }
    for op, op_type in op_types.items():
        assert c.aot_entry("cpu", op) == op_type
    ops_ = lstm_ops("cpu")
    layer = LSTMOp(512, 256, num_layers=2, bidirectional=True)
    assert layer.train_op is ops_.train and layer.infer_op is ops_.infer
    for op, op_type in ((ops_.train, "CrnnLstmForward"), (ops_.infer, "CrnnLstmForwardInfer")):
        assert isinstance(op, c.AscendCustom)
        assert op.prim.func == op_type and op.prim.func_type == "aot"
    assert isinstance(ops_.bwd, c.AscendCustom) and ops_.bwd.prim.func == "CrnnLstmBackward"
    # the OpDefs' outputs: the aot entry's, then the error key
    ins = (_LSTM_X, _NO_STATE, _NO_STATE, _NO_SEQ, _LSTM_CFG, _LSTM_W)
    y, state = [26, 64, 512], [4, 64, 256]
    reserve = int(registry.compiled_module().lstm_reserve_size(26, 64, 512, 256, 2, True))
    assert [list(s) for s in ops_.train.prim.out_shape(*ins)] == [y, state, state, [reserve], [1]]
    assert [list(s) for s in ops_.infer.prim.out_shape(*ins)] == [y, state, state, [1]]
    bwd_ins = (*ins, y, [reserve], y, state, state)
    assert [list(s) for s in ops_.bwd.prim.out_shape(*bwd_ins)] == [
        _LSTM_X,
        state,
        state,
        _LSTM_W,
        [1],
    ]
    f32, i32, i8 = mstype.float32, mstype.int32, mstype.int8
    dtypes = ops_.train.prim.out_dtype(f32, f32, f32, i32, i8, f32)
    assert dtypes == (f32, f32, f32, f32, mstype.uint64)
    assert ops_.infer.prim.out_dtype(f32, f32, f32, i32, i8, f32) == (f32, f32, f32, mstype.uint64)
    bwd_dtypes = ops_.bwd.prim.out_dtype(f32, f32, f32, i32, i8, f32, f32, f32, f32, f32, f32)
    assert bwd_dtypes == (f32, f32, f32, f32, mstype.uint64)


def test_ascend_lstm_op_returns_the_entry_outputs_and_raises_its_error(target, ascend_package):
    import mindspore as ms
    import numpy as np
    from mindspore import Tensor

    from crnn_fast.ops import lstm

    target("Ascend")
    # a fresh op (the module's are shared): CrnnLstmForwardInfer, T=3, B=4, I=2, H=5, L=1, D=1
    op = c.AscendCustom("CrnnLstmForwardInfer", lstm._fwd_shape, lstm._fwd_dtype)
    n_weights = 4 * 5 * (2 + 5) + 2 * 4 * 5
    key = [np.uint64(2**64 - 1)]

    def fake_kernel(*args):  # the CANN kernel's outputs, as MindSpore would return them
        state = Tensor(np.zeros((1, 4, 5), np.float32))
        y = Tensor(np.ones((3, 4, 5), np.float32))
        return y, state, state, Tensor(np.array(key, np.uint64))

    op.prim = fake_kernel
    ms.set_context(mode=ms.PYNATIVE_MODE)
    args = (
        Tensor(np.zeros((3, 4, 2), np.float32)),
        lstm.NO_STATE,
        lstm.NO_STATE,
        Tensor(np.array([3, 3, 9, 3], np.int32)),
        Tensor(np.zeros((1, 1, 5), np.int8)),
        Tensor(np.zeros(n_weights, np.float32)),
    )
    outs = op(*args)
    assert len(outs) == 3 and outs[0].shape == (3, 4, 5)
    key[0] = np.uint64((2 << 31) | 1)  # the kernel's seq_length check: argument error, sample 2
    with pytest.raises(ValueError, match=r"Ascend CrnnLstmForwardInfer: .*batch index 2\)"):
        op(*args)


def test_gpu_target_keeps_the_unfused_loss_and_optimizer(target, cuda_built, monkeypatch):
    """The CPU-only entries (the CTC loss with its reduction, the AdamW step) are not used on
    GPU: the loss runs the _gpu per-sample op and MindSpore's mean, AdamW MindSpore's op; a
    build without GPU kernels still refuses the loss clearly, and AdamW still builds."""
    import numpy as np
    from mindspore import Parameter, Tensor

    from crnn_fast.train.optim import AdamW

    target("GPU")
    loss = cnn.CTCLoss()
    assert not loss.fused and "crnn_aot_ctc_loss_gpu" in str(loss.op.op.func)
    p = [Parameter(Tensor(np.ones(3, np.float32)), name="w")]
    assert not AdamW(p, 1e-3).fused
    b = registry._get("cuda")
    monkeypatch.setitem(registry._BACKENDS, "cuda", dataclasses.replace(b, compiled=lambda: False))
    with pytest.raises(ValueError, match="device_target is 'GPU'"):
        cnn.CTCLoss()
    assert not AdamW(p, 1e-3).fused
