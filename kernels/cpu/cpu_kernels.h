// The CPU backend's entry points: the C API of kernels/include/crnn/ with a `crnn_cpu_` prefix,
// called by the dispatch (kernels/dispatch/) for CRNN_DEVICE_CPU. Same arguments, layouts and
// statuses as the public functions; `device` and `stream` in the options are not read.
#pragma once

#include "crnn/conv2d.h"
#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"
#include "crnn/lstm.h"

#ifdef __cplusplus
extern "C" {
#endif

size_t crnn_cpu_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S,
                                        size_t elem_bytes, const crnn_ctc_loss_options *opt);
crnn_status_t crnn_cpu_ctc_loss_f32(float *loss, float *grad, const float *logits,
                                    const int32_t *labels, const int32_t *input_lengths,
                                    const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                    int64_t S, void *workspace, size_t workspace_bytes,
                                    const crnn_ctc_loss_options *opt);
crnn_status_t crnn_cpu_ctc_loss_f64(double *loss, double *grad, const double *logits,
                                    const int32_t *labels, const int32_t *input_lengths,
                                    const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                    int64_t S, void *workspace, size_t workspace_bytes,
                                    const crnn_ctc_loss_options *opt);

size_t crnn_cpu_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                          const crnn_ctc_decode_options *opt);
crnn_status_t crnn_cpu_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs, int32_t *frames,
                                      const float *scores, const int32_t *input_lengths, int64_t T,
                                      int64_t B, int64_t C, void *workspace, size_t workspace_bytes,
                                      const crnn_ctc_decode_options *opt);

size_t crnn_cpu_ctc_beam_search_workspace_size(int64_t T, int64_t B, int64_t C,
                                               const crnn_ctc_decode_options *opt);
crnn_status_t crnn_cpu_ctc_beam_search_f32(int32_t *ids, int32_t *lengths, double *scores,
                                           const float *x, const int32_t *input_lengths, int64_t T,
                                           int64_t B, int64_t C, void *workspace,
                                           size_t workspace_bytes,
                                           const crnn_ctc_decode_options *opt);

size_t crnn_cpu_lstm_forward_workspace_size(const crnn_lstm_desc *d);
crnn_status_t crnn_cpu_lstm_forward_f32(float *y, float *h_n, float *c_n, float *reserve,
                                        const float *x, const float *h0, const float *c0,
                                        const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                                        const crnn_lstm_desc *d, void *workspace,
                                        size_t workspace_bytes);
size_t crnn_cpu_lstm_backward_workspace_size(const crnn_lstm_desc *d);
crnn_status_t crnn_cpu_lstm_backward_f32(float *dx, float *dh0, float *dc0, float *const *dw_ih,
                                         float *const *dw_hh, float *const *db_ih,
                                         float *const *db_hh, const float *dy, const float *dh_n,
                                         const float *dc_n, const float *x, const float *y,
                                         const float *h0, const float *c0,
                                         const int32_t *seq_length, const float *reserve,
                                         const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d,
                                         void *workspace, size_t workspace_bytes);

size_t crnn_cpu_conv2d_forward_workspace_size(const crnn_conv2d_desc *d);
crnn_status_t crnn_cpu_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b,
                                          const crnn_conv2d_desc *d, void *workspace,
                                          size_t workspace_bytes);
size_t crnn_cpu_conv2d_backward_workspace_size(const crnn_conv2d_desc *d);
crnn_status_t crnn_cpu_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy,
                                           const float *x, const float *w,
                                           const crnn_conv2d_desc *d, void *workspace,
                                           size_t workspace_bytes);

#ifdef __cplusplus
}
#endif
