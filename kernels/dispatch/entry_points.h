// Every entry point of the C API (kernels/include/crnn/) that runs on a device, as one list:
// X(return type, name without `crnn_`, its options argument, (parameters), (arguments)).
// A backend implements `crnn_<backend>_<name>` with the same parameters (cpu/cpu_kernels.h
// declares the CPU ones from this list), and dispatch.cpp defines the public `crnn_<name>` as
// one switch on the options' `device`. The compiler checks the list against the public headers.
#pragma once

#include "crnn/adamw.h"
#include "crnn/conv2d.h"
#include "crnn/conv_block.h"
#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"
#include "crnn/lstm.h"

// CTC and LSTM: the kernels every backend provides.
#define CRNN_ENTRY_POINTS(X)                                                                       \
  X(size_t, ctc_loss_workspace_size, opt,                                                          \
    (int64_t T, int64_t B, int64_t C, int64_t S, size_t elem_bytes,                                \
     const crnn_ctc_loss_options *opt),                                                            \
    (T, B, C, S, elem_bytes, opt))                                                                 \
  X(crnn_status_t, ctc_loss_f32, opt,                                                              \
    (float *loss, float *grad, const float *logits, const int32_t *labels,                         \
     const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,  \
     int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt),        \
    (loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S, workspace,              \
     workspace_bytes, opt))                                                                        \
  X(crnn_status_t, ctc_loss_f64, opt,                                                              \
    (double *loss, double *grad, const double *logits, const int32_t *labels,                      \
     const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,  \
     int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt),        \
    (loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S, workspace,              \
     workspace_bytes, opt))                                                                        \
  X(crnn_status_t, ctc_loss_f16, opt,                                                              \
    (float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,                   \
     const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,  \
     int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt),        \
    (loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S, workspace,              \
     workspace_bytes, opt))                                                                        \
  X(crnn_status_t, ctc_loss_bf16, opt,                                                             \
    (float *loss, uint16_t *grad, const uint16_t *logits, const int32_t *labels,                   \
     const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,  \
     int64_t S, void *workspace, size_t workspace_bytes, const crnn_ctc_loss_options *opt),        \
    (loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S, workspace,              \
     workspace_bytes, opt))                                                                        \
  X(size_t, ctc_greedy_workspace_size, opt,                                                        \
    (int64_t T, int64_t B, int64_t C, const crnn_ctc_decode_options *opt), (T, B, C, opt))         \
  X(crnn_status_t, ctc_greedy_f32, opt,                                                            \
    (int32_t *ids, int32_t *lengths, float *probs, int32_t *frames, const float *scores,           \
     const int32_t *input_lengths, int64_t T, int64_t B, int64_t C, void *workspace,               \
     size_t workspace_bytes, const crnn_ctc_decode_options *opt),                                  \
    (ids, lengths, probs, frames, scores, input_lengths, T, B, C, workspace, workspace_bytes,      \
     opt))                                                                                         \
  X(size_t, ctc_beam_search_workspace_size, opt,                                                   \
    (int64_t T, int64_t B, int64_t C, const crnn_ctc_decode_options *opt), (T, B, C, opt))         \
  X(crnn_status_t, ctc_beam_search_f32, opt,                                                       \
    (int32_t *ids, int32_t *lengths, double *scores, const float *x, const int32_t *input_lengths, \
     int64_t T, int64_t B, int64_t C, void *workspace, size_t workspace_bytes,                     \
     const crnn_ctc_decode_options *opt),                                                          \
    (ids, lengths, scores, x, input_lengths, T, B, C, workspace, workspace_bytes, opt))            \
  X(size_t, lstm_forward_workspace_size, d, (const crnn_lstm_desc *d), (d))                        \
  X(crnn_status_t, lstm_forward_f32, d,                                                            \
    (float *y, float *h_n, float *c_n, float *reserve, const float *x, const float *h0,            \
     const float *c0, const int32_t *seq_length, const crnn_lstm_weights_f32 *w,                   \
     const crnn_lstm_desc *d, void *workspace, size_t workspace_bytes),                            \
    (y, h_n, c_n, reserve, x, h0, c0, seq_length, w, d, workspace, workspace_bytes))               \
  X(size_t, lstm_backward_workspace_size, d, (const crnn_lstm_desc *d), (d))                       \
  X(crnn_status_t, lstm_backward_f32, d,                                                           \
    (float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,                  \
     float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n,                 \
     const float *dc_n, const float *x, const float *y, const float *h0, const float *c0,          \
     const int32_t *seq_length, const float *reserve, const crnn_lstm_weights_f32 *w,              \
     const crnn_lstm_desc *d, void *workspace, size_t workspace_bytes),                            \
    (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dy, dh_n, dc_n, x, y, h0, c0, seq_length, reserve,  \
     w, d, workspace, workspace_bytes))

// conv2d, the training conv block and the multi-tensor AdamW step: CPU products (on
// accelerators the framework's own convolution, BatchNorm and optimizer run).
#define CRNN_CPU_ONLY_ENTRY_POINTS(X)                                                            \
  X(crnn_status_t, adamw_f32, opt,                                                               \
    (const crnn_adamw_tensor *tensors, int64_t count, const crnn_adamw_options *opt),            \
    (tensors, count, opt))                                                                       \
  X(size_t, conv2d_forward_workspace_size, d, (const crnn_conv2d_desc *d), (d))                  \
  X(crnn_status_t, conv2d_forward_f32, d,                                                        \
    (float *y, const float *x, const float *w, const float *b, const crnn_conv2d_desc *d,        \
     void *workspace, size_t workspace_bytes),                                                   \
    (y, x, w, b, d, workspace, workspace_bytes))                                                 \
  X(size_t, conv2d_backward_workspace_size, d, (const crnn_conv2d_desc *d), (d))                 \
  X(crnn_status_t, conv2d_backward_f32, d,                                                       \
    (float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,           \
     const crnn_conv2d_desc *d, void *workspace, size_t workspace_bytes),                        \
    (dx, dw, db, dy, x, w, d, workspace, workspace_bytes))                                       \
  X(size_t, conv_block_forward_workspace_size, d, (const crnn_conv_block_desc *d), (d))          \
  X(crnn_status_t, conv_block_forward_f32, d,                                                    \
    (float *y, float *z, float *mean, float *invstd, float *moving_mean, float *moving_var,      \
     const float *x, const float *w, const float *b, const float *gamma, const float *beta,      \
     const float *res, const crnn_conv_block_desc *d, void *workspace, size_t workspace_bytes),  \
    (y, z, mean, invstd, moving_mean, moving_var, x, w, b, gamma, beta, res, d, workspace,       \
     workspace_bytes))                                                                           \
  X(size_t, conv_block_backward_workspace_size, d, (const crnn_conv_block_desc *d), (d))         \
  X(crnn_status_t, conv_block_backward_f32, d,                                                   \
    (float *dx, float *dw, float *db, float *dgamma, float *dbeta, float *dres, const float *dy, \
     const float *x, const float *w, const float *z, const float *mean, const float *invstd,     \
     const float *gamma, const float *beta, const float *res, const crnn_conv_block_desc *d,     \
     void *workspace, size_t workspace_bytes),                                                   \
    (dx, dw, db, dgamma, dbeta, dres, dy, x, w, z, mean, invstd, gamma, beta, res, d, workspace, \
     workspace_bytes))

#ifdef __cplusplus
namespace crnn {
namespace dispatch {
// A conv block's device is its convolution's.
inline int32_t device_of(const crnn_conv_block_desc *o) {
  return o ? o->conv.device : CRNN_DEVICE_CPU;
}
}  // namespace dispatch
}  // namespace crnn
#endif
