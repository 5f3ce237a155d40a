// Fused multi-layer, (bi)directional LSTM stack, forward and backward (crnn_fast kernel C API;
// backends: CPU).
//
// Layouts (dense, row-major, time-major; MindSpore's / PyTorch's nn.LSTM conventions):
//   x        (T, B, I)          input of layer 0
//   y        (T, B, D*H)        output of the last layer, forward direction's H first
//   h0, c0   (L*D, B, H)        initial states, index layer * D + direction; NULL = zeros
//   h_n, c_n (L*D, B, H)        final states (at each sample's last valid frame)
//   seq_length (B) int32 in [0, T] or NULL (all T): frames t >= len_b give zero output and
//            leave the state alone; the reverse direction starts at frame len_b - 1
//   weights  per layer l, direction d at index l*D + d: w_ih (4H, I_l) with I_0 = I and
//            I_l = D*H, w_hh (4H, H), b_ih and b_hh (4H) or NULL (has_bias = 0);
//            gate order i, f, g, o; gates = x w_ih^T + b_ih + h w_hh^T + b_hh
//   reserve  (training only, crnn_lstm_reserve_size floats; NULL = inference) what the
//            backward consumes, per layer l: per direction d the activated gates
//            (T, B, 4H) [i f g o] and the cell states (T, B, H); then, for l < L-1, the
//            layer's output (T, B, D*H) (the next layer's input); the offsets are
//            kernels/common/lstm_layout.h, the same on every backend
// CPU: the input projection of all T frames is one GEMM per direction (OpenBLAS, all cores);
// the recurrence runs both directions concurrently with W_hh packed once per call: each step,
// per tile of 6 samples, register-tiled h W_hh^T products (kernels/cpu/lstm_recurrent.h) feed
// the bias, gate nonlinearities and cell update (kernels/common/lstm_math.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crnn_lstm_desc {
  int64_t T, B, I, H;
  int32_t num_layers;
  int32_t bidirectional;
  int32_t has_bias;
  int32_t num_threads;  // CPU threads; <= 0: the pool default (CRNN_FAST_NUM_THREADS, cores)
  int32_t device;       // crnn_device_t (0: CPU)
  void *stream;         // device stream (NULL: default; ignored on the CPU)
} crnn_lstm_desc;

typedef struct crnn_lstm_weights_f32 {
  const float *const *w_ih;  // [L*D] pointers, each (4H, I_l)
  const float *const *w_hh;  // [L*D] pointers, each (4H, H)
  const float *const *b_ih;  // [L*D] pointers, each (4H); ignored when has_bias = 0
  const float *const *b_hh;
} crnn_lstm_weights_f32;

size_t crnn_lstm_forward_workspace_size(const crnn_lstm_desc *d);  // bytes
size_t crnn_lstm_reserve_size(const crnn_lstm_desc *d);            // floats

crnn_status_t crnn_lstm_forward_f32(float *y, float *h_n, float *c_n, float *reserve,
                                    const float *x, const float *h0, const float *c0,
                                    const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                                    const crnn_lstm_desc *d, void *workspace,
                                    size_t workspace_bytes);

// Backward of the stack through time. Inputs: the forward's x, y (its output), h0/c0 (NULL =
// zeros), seq_length and training reserve; upstream gradients dy (T, B, D*H) and dh_n, dc_n
// (L*D, B, H) (NULL = zeros). Outputs (all overwritten): dx (T, B, I); dh0, dc0 (L*D, B, H)
// (may be NULL); per layer/direction [L*D] pointers dw_ih (4H, I_l), dw_hh (4H, H),
// db_ih, db_hh (4H) (the two bias gradients are equal; ignored when has_bias = 0).
// CPU, per layer: one pass back through time per (direction, batch slice), the dZ_t W_hh products
// register-tiled (W_hh packed once) and fused with the pointwise gate derivatives; then the
// weight and input gradients as GEMMs over all T*B rows at once.
size_t crnn_lstm_backward_workspace_size(const crnn_lstm_desc *d);  // bytes

crnn_status_t crnn_lstm_backward_f32(float *dx, float *dh0, float *dc0, float *const *dw_ih,
                                     float *const *dw_hh, float *const *db_ih, float *const *db_hh,
                                     const float *dy, const float *dh_n, const float *dc_n,
                                     const float *x, const float *y, const float *h0,
                                     const float *c0, const int32_t *seq_length,
                                     const float *reserve, const crnn_lstm_weights_f32 *w,
                                     const crnn_lstm_desc *d, void *workspace,
                                     size_t workspace_bytes);

#ifdef __cplusplus
}
#endif
