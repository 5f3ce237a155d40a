"""``crnn_fast.nn.LSTM``: a drop-in ``mindspore.nn.LSTM`` running the fused stack kernel.

It *is* a ``mindspore.nn.LSTM`` (subclass): same constructor, same parameters (``w_ih_list``
... ParameterTuples named ``weight_ih_l{k}[_reverse]`` etc., so checkpoints load both ways),
same forward ``(x, hx=None, seq_length=None) -> (output, (h_n, c_n))``; only ``construct``
differs. The whole stack (all layers, both directions) is one op, forward and backward; with
``dropout > 0`` in training mode it runs one op per layer with the stock dropout between them.
In PYNATIVE the op takes the parameters themselves (on the aot backends whose entries accept
them: ``LSTMOp.split_weights``); in GRAPH mode, and on the others, one flat concatenation of
them (its gradient split back by MindSpore; ~16 % more CPU time per fwd+bwd of the CRNN neck).
PYNATIVE's asynchronous executor costs this layer 10-30 % more on a 2-core machine (a thread
busy-waits for its results); see :func:`crnn_fast.runtime.pynative_blocking`.
float16 inputs or parameters (AMP O2/O3, ``dtype=float16``) are computed in float32 inside and
the outputs are cast back to the input's dtype, as the stock layer does.
With ``CRNN_FAST_BACKEND=stock`` it runs the stock implementation.
"""

from __future__ import annotations

import mindspore as ms
import numpy as np
from mindspore import dtype as mstype
from mindspore import nn, ops

from .. import registry
from ..ops import _custom as c
from ..ops.lstm import LSTMOp
from ._params import adopt_parameters


class LSTM(c.EagerCheckCell, nn.LSTM):
    """Drop-in ``mindspore.nn.LSTM`` (see the module docstring).

    Shapes: x ``(T, B, I)`` (``(B, T, I)`` with ``batch_first``); hx ``(h0, c0)`` each
    ``(num_layers * D, B, H)``; seq_length ``(B,)`` int32/int64; output ``(T, B, D * H)``
    (forward direction first), h_n / c_n ``(num_layers * D, B, H)``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.backend = registry.active()
        self.stock = registry.is_stock(self.backend)
        self.input_size = self.w_ih_list[0].shape[1]
        self.num_directions = 2 if self.bidirectional else 1
        self.per_layer = self.dropout > 0 and self.num_layers > 1
        if not self.stock:
            args = (self.hidden_size, self.num_layers, self.bidirectional, self.has_bias)
            self.stack = LSTMOp(self.input_size, *args, backend=self.backend)
            if self.per_layer:
                D, H = self.num_directions, self.hidden_size
                self.layers = nn.CellList(
                    [
                        LSTMOp(
                            self.input_size if k == 0 else D * H,
                            H,
                            1,
                            self.bidirectional,
                            self.has_bias,
                            backend=self.backend,
                        )
                        for k in range(self.num_layers)
                    ]
                )

    @classmethod
    def from_stock(cls, stock: nn.LSTM) -> LSTM:
        """A crnn_fast LSTM sharing ``stock``'s Parameter objects (values, names, optimizer
        state) and configuration."""
        new = cls(
            stock.w_ih_list[0].shape[1],
            stock.hidden_size,
            num_layers=stock.num_layers,
            has_bias=stock.has_bias,
            batch_first=stock.batch_first,
            dropout=float(stock.dropout),
            bidirectional=stock.bidirectional,
            dtype=stock.w_ih_list[0].dtype,
        )
        adopt_parameters(new, stock, ("w_ih_list", "w_hh_list", "b_ih_list", "b_hh_list"))
        return new

    def _flat(self, layer_ids):
        """The parameters of the given (layer * D + direction) indices, flattened into one
        float32 vector in the fused op's order (kind-major)."""
        parts = []
        for group in (self.w_ih_list, self.w_hh_list, self.b_ih_list, self.b_hh_list):
            for i in layer_ids:
                if i < len(group):
                    parts.append(group[i].reshape(-1))
        # (always cast: under AMP the parameters reach this graph as float16 whatever their dtype)
        return ops.cast(ops.concat(parts), mstype.float32)

    def _weights(self, layer_ids, split: bool):
        """The weights input of an op for the given (layer * D + direction) indices: with
        ``split`` (PYNATIVE, an op whose ``split_weights``) the parameters themselves (a tuple,
        float32) in its order; else the flat vector (``_flat``)."""
        if not split:
            return self._flat(layer_ids)
        parts = []
        for group in (self.w_ih_list, self.w_hh_list, self.b_ih_list, self.b_hh_list):
            for i in layer_ids:
                if i < len(group):
                    w = group[i]
                    parts.append(w if w.dtype == mstype.float32 else w.astype(mstype.float32))
        return tuple(parts)

    def construct(self, x, hx=None, seq_length=None):
        if self.stock:
            return nn.LSTM.construct(self, x, hx, seq_length)
        if self.eager:
            self._check(x, hx, seq_length)
        x_dtype = x.dtype
        if x_dtype != mstype.float32:
            x = x.astype(mstype.float32)
        if self.batch_first:
            x = ops.transpose(x, (1, 0, 2))
        h0, c0 = None, None
        if hx is not None:
            h0, c0 = hx[0], hx[1]
            if h0.dtype != mstype.float32:
                h0 = h0.astype(mstype.float32)
            if c0.dtype != mstype.float32:
                c0 = c0.astype(mstype.float32)
        if seq_length is not None and seq_length.dtype != mstype.int32:
            seq_length = seq_length.astype(mstype.int32)
        if self.per_layer and self.training:
            y, h_n, c_n = self._per_layer(x, h0, c0, seq_length)
        else:
            LD = self.num_layers * self.num_directions
            y, h_n, c_n = self.stack(
                x,
                h0,
                c0,
                seq_length,
                self._weights(range(LD), self.eager and self.stack.split_weights),
            )
        if self.batch_first:
            y = ops.transpose(y, (1, 0, 2))
        if x_dtype != mstype.float32:
            y, h_n, c_n = y.astype(x_dtype), h_n.astype(x_dtype), c_n.astype(x_dtype)
        return y, (h_n, c_n)

    def _per_layer(self, x, h0, c0, seq_length):
        D = self.num_directions
        hs, cs = (), ()
        y = x
        for k in range(self.num_layers):
            ids = range(k * D, (k + 1) * D)
            hk, ck = None, None
            if h0 is not None:
                hk, ck = h0[k * D : (k + 1) * D], c0[k * D : (k + 1) * D]
            y, h_n, c_n = self.layers[k](
                y,
                hk,
                ck,
                seq_length,
                self._weights(ids, self.eager and self.layers[k].split_weights),
            )
            if k < self.num_layers - 1:
                y = self.dropout_op(y)
            hs += (h_n,)
            cs += (c_n,)
        return y, ops.concat(hs), ops.concat(cs)

    def _check(self, x, hx, seq_length) -> None:
        """Host-side checks of what the op's shape inference cannot see (PYNATIVE only)."""
        if not isinstance(x, ms.Tensor):
            raise TypeError(f"x must be a mindspore.Tensor, got {type(x).__name__}")
        if x.dtype not in (mstype.float32, mstype.float16):
            raise TypeError(f"x must be float32 or float16, got {x.dtype}")
        if x.ndim != 3:
            layout = "(B, T, I)" if self.batch_first else "(T, B, I)"
            raise ValueError(f"x must have rank 3 {layout}, got shape {x.shape}")
        B, T = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        if B == 0 or T == 0:
            what = "an empty batch (B = 0)" if B == 0 else "no time steps (T = 0)"
            raise ValueError(f"x has {what}, shape {x.shape}")
        if hx is not None:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("hx must be a tuple (h0, c0)")
            state = (self.num_layers * self.num_directions, B, self.hidden_size)
            for name, t in (("hx[0]", hx[0]), ("hx[1]", hx[1])):
                if not isinstance(t, ms.Tensor) or t.dtype != x.dtype:
                    raise TypeError(f"{name} must be a Tensor of x's dtype {x.dtype}")
                if tuple(t.shape) != state:
                    raise ValueError(f"{name} must have shape {state}, got {tuple(t.shape)}")
        if seq_length is not None:
            if not isinstance(seq_length, ms.Tensor) or seq_length.dtype not in (
                mstype.int32,
                mstype.int64,
            ):
                raise TypeError("seq_length must be an int32 or int64 Tensor")
            if tuple(seq_length.shape) != (B,):
                raise ValueError(f"seq_length must have shape ({B},), got {seq_length.shape}")
            s = c.host(seq_length)
            bad = np.flatnonzero((s < 0) | (s > T))
            if bad.size:
                b = int(bad[0])
                raise ValueError(f"seq_length[{b}] = {int(s[b])} is outside [0, T = {T}]")
