// Shared by the LSTM forward and backward (CPU): dimensions, argument checks and the
// zeroing of frames past each sample's length. The training-reserve layout itself is
// common/lstm_layout.h (shared with the other backends).
#pragma once

#include <stdint.h>
#include <string.h>

#include "../common/lstm_layout.h"
#include "crnn/lstm.h"

namespace crnn {
namespace cpu {

struct LstmDims {
  int64_t T, B, I, H, L, D, G;  // G = 4H
};

inline LstmDims lstm_dims(const crnn_lstm_desc *d) {
  return {d->T, d->B, d->I, d->H, d->num_layers, d->bidirectional ? 2 : 1, 4 * d->H};
}

// Reserve regions (common/lstm_layout.h) of layer l, direction dir, for dims k.
inline int64_t reserve_gates(const LstmDims &k, int64_t l, int64_t dir) {
  return lstm_reserve_gates_offset(k.T, k.B, k.H, k.D, l, dir);
}
inline int64_t reserve_cells(const LstmDims &k, int64_t l, int64_t dir) {
  return lstm_reserve_cells_offset(k.T, k.B, k.H, k.D, l, dir);
}
inline int64_t reserve_output(const LstmDims &k, int64_t l) {
  return lstm_reserve_output_offset(k.T, k.B, k.H, k.D, l);
}

// Zeroes rows (t, b), t >= len_b, b in [b0, b1): `cols` floats at p, row stride `stride`.
inline void zero_tail(float *p, int64_t stride, int64_t cols, const int32_t *len, int64_t b0,
                      int64_t b1, const LstmDims &k) {
  if (!len) return;
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t t = len[b]; t < k.T; ++t) memset(p + (t * k.B + b) * stride, 0, cols * 4);
}

// Checks shared by forward and backward: sizes, weight pointers, lengths.
inline bool lstm_args_ok(const crnn_lstm_desc *d, const crnn_lstm_weights_f32 *w,
                         const int32_t *len) {
  if (!d || !w || !w->w_ih || !w->w_hh || (d->has_bias && (!w->b_ih || !w->b_hh)) || d->T <= 0 ||
      d->B <= 0 || d->I <= 0 || d->H <= 0 || d->num_layers <= 0)
    return false;
  const LstmDims k = lstm_dims(d);
  for (int64_t i = 0; i < k.L * k.D; ++i)
    if (!w->w_ih[i] || !w->w_hh[i] || (d->has_bias && (!w->b_ih[i] || !w->b_hh[i]))) return false;
  if (len)
    for (int64_t b = 0; b < k.B; ++b)
      if (len[b] < 0 || len[b] > k.T) return false;
  return true;
}

}  // namespace cpu
}  // namespace crnn
