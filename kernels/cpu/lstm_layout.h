// Shared by the LSTM forward and backward (CPU): dimensions and the training-reserve layout
// (documented in crnn/lstm.h), so both walk it the same way.
#pragma once

#include <stdint.h>
#include <string.h>

#include "crnn/lstm.h"

namespace crnn {
namespace cpu {

struct LstmDims {
  int64_t T, B, I, H, L, D, G;  // G = 4H
};

inline LstmDims lstm_dims(const crnn_lstm_desc *d) {
  return {d->T, d->B, d->I, d->H, d->num_layers, d->bidirectional ? 2 : 1, 4 * d->H};
}

// Reserve floats of layer l: per direction gates (T, B, 4H) + cells (T, B, H), then the layer
// output (T, B, D*H) unless l is the last layer.
inline int64_t lstm_reserve_of_layer(const LstmDims &k, int64_t l) {
  return k.D * k.T * k.B * (k.G + k.H) + (l < k.L - 1 ? k.T * k.B * k.D * k.H : 0);
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
