// LSTM pointwise cell math shared by every backend (CPU, CUDA, Ascend): one unit j of one
// cell, forward and backward, gate order i, f, g, o (PyTorch / MindSpore nn.LSTM):
//   i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
//   c = f c_prev + i g,  h = o tanh(c)
// where z = x w_ih^T + b_ih + h_prev w_hh^T + b_hh are the pre-activations (the GEMMs and the
// bias add stay in the backend). The backward takes the activated gates the forward saved
// in the training reserve (lstm_layout.h), so it needs no exp but tanh(c).
// Scalar, branch-free and always inlined: the CPU calls them inside `omp simd` loops over j.
#pragma once

#include "fast_math.h"
#include "hostdevice.h"

namespace crnn {

// Activated gates and the new cell and hidden state of one unit.
template <typename T>
struct LstmCellForward {
  T i, f, g, o;  // activated gates
  T c, h;        // new cell and hidden state
};

template <typename T>
CRNN_HD_INLINE LstmCellForward<T> lstm_cell_forward(T zi, T zf, T zg, T zo, T c_prev) {
  LstmCellForward<T> r;
  r.i = sigmoid_fast(zi);
  r.f = sigmoid_fast(zf);
  r.g = tanh_fast(zg);
  r.o = sigmoid_fast(zo);
  r.c = r.f * c_prev + r.i * r.g;
  r.h = r.o * tanh_fast(r.c);
  return r;
}

// Gradients of one unit: w.r.t. the four pre-activations and the previous cell state.
template <typename T>
struct LstmCellBackward {
  T dzi, dzf, dzg, dzo;  // d loss / d z (gate order i, f, g, o)
  T dc_prev;             // d loss / d c_prev (the dc carried to the previous step)
};

// dh: d loss / d h of this step (from the output and from the next step's recurrence);
// dc_next: d loss / d c carried from the next step; i, f, g, o: the activated gates; c_prev,
// c: the cell state entering and leaving this step.
template <typename T>
CRNN_HD_INLINE LstmCellBackward<T> lstm_cell_backward(T dh, T dc_next, T i, T f, T g, T o, T c_prev,
                                                      T c) {
  const T tc = tanh_fast(c);
  const T dc = dc_next + dh * o * (T(1) - tc * tc);
  LstmCellBackward<T> r;
  r.dzi = dc * g * i * (T(1) - i);
  r.dzf = dc * c_prev * f * (T(1) - f);
  r.dzg = dc * i * (T(1) - g * g);
  r.dzo = dh * tc * o * (T(1) - o);
  r.dc_prev = dc * f;
  return r;
}

}  // namespace crnn
