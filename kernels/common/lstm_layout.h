// The LSTM training reserve, shared by every backend: the forward writes it, the backward
// reads it, so a backend's forward can feed another's backward. Offsets and sizes in
// elements (floats), as functions of T frames, batch B, hidden size H, L layers and D
// directions (1 or 2); layer l in [0, L), direction d in [0, D). Per layer l, in order:
//   for each direction d: gates (T, B, 4H), the activated [i f g o] of frame t, sample b at
//                         row t * B + b; then cells (T, B, H), the cell state c_t;
//   for l < L-1:          the layer output (T, B, D*H), forward direction's H first (the
//                         next layer's input).
// Frames t >= seq_length[b] hold zeros. The layer offsets are closed forms: every layer
// before l is not the last, so each takes D*T*B*(4H + H) + T*B*D*H = 6 D T B H.
#pragma once

#include <stdint.h>

#include "hostdevice.h"

namespace crnn {

// Gates and cells of one direction of one layer.
CRNN_HD_INLINE int64_t lstm_reserve_direction_size(int64_t T, int64_t B, int64_t H) {
  return T * B * 5 * H;
}

// All of layer l: its directions, plus its output unless it is the last layer.
CRNN_HD_INLINE int64_t lstm_reserve_layer_size(int64_t T, int64_t B, int64_t H, int64_t L,
                                               int64_t D, int64_t l) {
  return D * lstm_reserve_direction_size(T, B, H) + (l < L - 1 ? T * B * D * H : 0);
}

// Start of layer l.
CRNN_HD_INLINE int64_t lstm_reserve_layer_offset(int64_t T, int64_t B, int64_t H, int64_t D,
                                                 int64_t l) {
  return l * 6 * D * T * B * H;
}

// The whole reserve of the stack.
CRNN_HD_INLINE int64_t lstm_reserve_size(int64_t T, int64_t B, int64_t H, int64_t L, int64_t D) {
  return L <= 0 ? 0
                : lstm_reserve_layer_offset(T, B, H, D, L - 1) +
                      lstm_reserve_layer_size(T, B, H, L, D, L - 1);
}

// Activated gates (T, B, 4H) of layer l, direction d.
CRNN_HD_INLINE int64_t lstm_reserve_gates_offset(int64_t T, int64_t B, int64_t H, int64_t D,
                                                 int64_t l, int64_t d) {
  return lstm_reserve_layer_offset(T, B, H, D, l) + d * lstm_reserve_direction_size(T, B, H);
}

// Cell states (T, B, H) of layer l, direction d.
CRNN_HD_INLINE int64_t lstm_reserve_cells_offset(int64_t T, int64_t B, int64_t H, int64_t D,
                                                 int64_t l, int64_t d) {
  return lstm_reserve_gates_offset(T, B, H, D, l, d) + T * B * 4 * H;
}

// Output (T, B, D*H) of layer l < L-1.
CRNN_HD_INLINE int64_t lstm_reserve_output_offset(int64_t T, int64_t B, int64_t H, int64_t D,
                                                  int64_t l) {
  return lstm_reserve_layer_offset(T, B, H, D, l) + D * lstm_reserve_direction_size(T, B, H);
}

}  // namespace crnn
