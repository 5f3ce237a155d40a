// The Ascend C backend's entry points on our host model of the API (ascend-emu,
// CRNN_DEVICE_ASCEND_EMU): `crnn_ascend_emu_<name>` with the arguments, layouts and statuses of
// the CPU backend's `crnn_cpu_<name>` (kernels/cpu/cpu_kernels.h), except that value errors
// (and input lengths outside [0, T]) go to the workspace's error record
// (crnn_ascend_emu_device_error_read) instead of the status, as on CUDA. The kernels are the
// Ascend C sources in kernels/ascend/op_kernel, run by crnn::ascend_emu::launch.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"
#include "crnn/lstm.h"
#include "crnn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Bytes: the 256-byte error record and one 8-byte error key per sample (0 for bad sizes).
size_t crnn_ascend_emu_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                                 const crnn_ctc_decode_options *opt);

// crnn_ctc_greedy_f32 (crnn/ctc_decode.h) on min(B, 40) emulated vector cores. A failed sample
// decodes to nothing (length 0, ids / frames -1, probs 0). NOT_SUPPORTED when a row of C floats
// does not fit the kernel's UB budget (C above 13 888; 15 872 for T <= 25); EXECUTION_FAILED
// (message on stderr) when the kernel breaks a rule of the API model.
crnn_status_t crnn_ascend_emu_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs,
                                             int32_t *frames, const float *scores,
                                             const int32_t *input_lengths, int64_t T, int64_t B,
                                             int64_t C, void *workspace, size_t workspace_bytes,
                                             const crnn_ctc_decode_options *opt);

// Bytes of the LSTM forward's workspace: the error record, the input projections (D, T*B, 4H),
// the step products (D, B, 4H), the states (D, B, H) x 2, for L > 1 two layer outputs
// (T*B, D*H), then the flat copy of the parameters the kernel reads (0 for bad sizes).
size_t crnn_ascend_emu_lstm_forward_workspace_size(const crnn_lstm_desc *d);

// crnn_lstm_forward_f32 (crnn/lstm.h) as one MIX kernel (op_kernel/lstm_forward.cpp) on up to 40
// emulated vector cores. seq_length values outside [0, T] go to the error record (clamped).
// NOT_SUPPORTED when one sample's gate tile does not fit the UB budget (H above 1168 at
// B <= 64), num_layers * directions > 16 (the tiling's weight offsets) or a size exceeds the
// kernels' 32-bit fields; EXECUTION_FAILED (message on stderr) when the kernel
// breaks a rule of the API model.
crnn_status_t crnn_ascend_emu_lstm_forward_f32(float *y, float *h_n, float *c_n, float *reserve,
                                               const float *x, const float *h0, const float *c0,
                                               const int32_t *seq_length,
                                               const crnn_lstm_weights_f32 *w,
                                               const crnn_lstm_desc *d, void *workspace,
                                               size_t workspace_bytes);

// Bytes of the LSTM backward's workspace: the error record, ones (T*B), dz (D, T*B, 4H), the step
// rows (D, B, 4H), dh and dc (D, B, H), h_prev (D, T*B, H), for L > 1 two layer-output gradients
// (T*B, D*H), then flat copies of the parameters and of their gradients (0 for bad sizes).
size_t crnn_ascend_emu_lstm_backward_workspace_size(const crnn_lstm_desc *d);

// crnn_lstm_backward_f32 (crnn/lstm.h) as one MIX kernel (op_kernel/lstm_backward.cpp) on up to
// 40 emulated vector cores; statuses as the forward's (NOT_SUPPORTED above H = 1016 at B <= 64).
crnn_status_t crnn_ascend_emu_lstm_backward_f32(
    float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,
    float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n, const float *dc_n,
    const float *x, const float *y, const float *h0, const float *c0, const int32_t *seq_length,
    const float *reserve, const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d, void *workspace,
    size_t workspace_bytes);
// Bytes: the 256-byte error record and one 8-byte error key per sample; 0 for bad sizes and for
// elem_bytes other than 4 (float32) and 2 (float16 / bfloat16).
size_t crnn_ascend_emu_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S,
                                               size_t elem_bytes, const crnn_ctc_loss_options *opt);

// crnn_ctc_loss_f32 (crnn/ctc_loss.h) on min(B, 40) emulated vector cores, statuses as the CUDA
// backend's (value errors, bad lengths and labels in the record). A failed sample's loss is NaN
// and its gradient 0. NOT_SUPPORTED when the kernel's UB budget (op_host/ctc_loss_tiling_host.h)
// exceeds 192 KiB (T x S too large for the alpha rows: T above 627 at S = 25, C = 37);
// EXECUTION_FAILED (message on stderr) when the kernel breaks a rule of the API model.
// The parameters after the logits of every ctc_loss entry below (crnn/ctc_loss.h).
#define CRNN_ASCEND_CTC_LOSS_ARGS                                                               \
  const int32_t *labels, const int32_t *input_lengths, const int32_t *label_lengths, int64_t T, \
      int64_t B, int64_t C, int64_t S, void *workspace, size_t workspace_bytes,                 \
      const crnn_ctc_loss_options *opt

crnn_status_t crnn_ascend_emu_ctc_loss_f32(float *loss, float *grad, const float *logits,
                                           CRNN_ASCEND_CTC_LOSS_ARGS);

// crnn_ctc_loss_f16 / _bf16: the same kernel on float16 / bfloat16 logits (uint16_t bit
// patterns), cast to float32 in UB (exact); loss float32, grad in the logits' type (the float32
// gradient cast with CAST_RINT, round to nearest even), or NULL.
crnn_status_t crnn_ascend_emu_ctc_loss_f16(float *loss, uint16_t *grad, const uint16_t *logits,
                                           CRNN_ASCEND_CTC_LOSS_ARGS);
crnn_status_t crnn_ascend_emu_ctc_loss_bf16(float *loss, uint16_t *grad, const uint16_t *logits,
                                            CRNN_ASCEND_CTC_LOSS_ARGS);

// crnn_device_error_read for ascend-emu: decodes the record at the start of `workspace` (the
// model's launches complete before they return: the stream is not waited on).
crnn_status_t crnn_ascend_emu_device_error_read(const void *workspace, void *stream,
                                                int32_t *error_index, int32_t *error_frame);

#ifdef __cplusplus
}

namespace crnn {
namespace ascend_emu_kernels {

// Vector cores of the 910B the host tiling assumes (910B3 / 910B4: 20 AI Cores x 2 AIV; a CANN
// tiling function asks GetCoreNumAiv() instead).
constexpr uint32_t kAivCores = 40;

// crnn_ascend_emu_ctc_greedy_f32 on at most `max_cores` cores (>= 1): tests compare core counts.
crnn_status_t ctc_greedy_f32(uint32_t max_cores, int32_t *ids, int32_t *lengths, float *probs,
                             int32_t *frames, const float *scores, const int32_t *input_lengths,
                             int64_t T, int64_t B, int64_t C, void *workspace,
                             size_t workspace_bytes, const crnn_ctc_decode_options *opt);

// crnn_ascend_emu_lstm_forward_f32 on at most `max_cores` vector cores (>= 1).
crnn_status_t lstm_forward_f32(uint32_t max_cores, float *y, float *h_n, float *c_n, float *reserve,
                               const float *x, const float *h0, const float *c0,
                               const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                               const crnn_lstm_desc *d, void *workspace, size_t workspace_bytes);

// crnn_ascend_emu_lstm_backward_f32 on at most `max_cores` vector cores (>= 1).
crnn_status_t lstm_backward_f32(uint32_t max_cores, float *dx, float *dh0, float *dc0,
                                float *const *dw_ih, float *const *dw_hh, float *const *db_ih,
                                float *const *db_hh, const float *dy, const float *dh_n,
                                const float *dc_n, const float *x, const float *y, const float *h0,
                                const float *c0, const int32_t *seq_length, const float *reserve,
                                const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d,
                                void *workspace, size_t workspace_bytes);
// crnn_ascend_emu_ctc_loss_f32 on at most `max_cores` cores (>= 1).
crnn_status_t ctc_loss_f32(uint32_t max_cores, float *loss, float *grad, const float *logits,
                           CRNN_ASCEND_CTC_LOSS_ARGS);

// crnn_ascend_emu_ctc_loss_f16 / _bf16 on at most `max_cores` cores (>= 1).
crnn_status_t ctc_loss_f16(uint32_t max_cores, float *loss, uint16_t *grad, const uint16_t *logits,
                           CRNN_ASCEND_CTC_LOSS_ARGS);
crnn_status_t ctc_loss_bf16(uint32_t max_cores, float *loss, uint16_t *grad, const uint16_t *logits,
                            CRNN_ASCEND_CTC_LOSS_ARGS);

}  // namespace ascend_emu_kernels
}  // namespace crnn
#endif
