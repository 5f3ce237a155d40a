// Dispatch of the CTC loss and decoders (crnn/ctc_loss.h, crnn/ctc_decode.h) to the backend
// named by the options' `device`. A backend adds its case here (see route.h).
#include "../cpu/cpu_kernels.h"
#include "route.h"

using crnn::dispatch::device_of;
using crnn::dispatch::Route;
using crnn::dispatch::route;
using crnn::dispatch::unrouted;

extern "C" {

size_t crnn_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S, size_t elem_bytes,
                                    const crnn_ctc_loss_options *opt) {
  switch (route(device_of(opt))) {
    case Route::cpu: return crnn_cpu_ctc_loss_workspace_size(T, B, C, S, elem_bytes, opt);
    default: return 0;
  }
}

crnn_status_t crnn_ctc_loss_f32(float *loss, float *grad, const float *logits,
                                const int32_t *labels, const int32_t *input_lengths,
                                const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                int64_t S, void *workspace, size_t workspace_bytes,
                                const crnn_ctc_loss_options *opt) {
  const Route r = route(device_of(opt));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_ctc_loss_f32(loss, grad, logits, labels, input_lengths, label_lengths, T, B,
                                   C, S, workspace, workspace_bytes, opt);
    default: return unrouted(r, opt);
  }
}

crnn_status_t crnn_ctc_loss_f64(double *loss, double *grad, const double *logits,
                                const int32_t *labels, const int32_t *input_lengths,
                                const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                int64_t S, void *workspace, size_t workspace_bytes,
                                const crnn_ctc_loss_options *opt) {
  const Route r = route(device_of(opt));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_ctc_loss_f64(loss, grad, logits, labels, input_lengths, label_lengths, T, B,
                                   C, S, workspace, workspace_bytes, opt);
    default: return unrouted(r, opt);
  }
}

size_t crnn_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                      const crnn_ctc_decode_options *opt) {
  switch (route(device_of(opt))) {
    case Route::cpu: return crnn_cpu_ctc_greedy_workspace_size(T, B, C, opt);
    default: return 0;
  }
}

crnn_status_t crnn_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs, int32_t *frames,
                                  const float *scores, const int32_t *input_lengths, int64_t T,
                                  int64_t B, int64_t C, void *workspace, size_t workspace_bytes,
                                  const crnn_ctc_decode_options *opt) {
  const Route r = route(device_of(opt));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_ctc_greedy_f32(ids, lengths, probs, frames, scores, input_lengths, T, B, C,
                                     workspace, workspace_bytes, opt);
    default: return unrouted(r, opt);
  }
}

size_t crnn_ctc_beam_search_workspace_size(int64_t T, int64_t B, int64_t C,
                                           const crnn_ctc_decode_options *opt) {
  switch (route(device_of(opt))) {
    case Route::cpu: return crnn_cpu_ctc_beam_search_workspace_size(T, B, C, opt);
    default: return 0;
  }
}

crnn_status_t crnn_ctc_beam_search_f32(int32_t *ids, int32_t *lengths, double *scores,
                                       const float *x, const int32_t *input_lengths, int64_t T,
                                       int64_t B, int64_t C, void *workspace,
                                       size_t workspace_bytes, const crnn_ctc_decode_options *opt) {
  const Route r = route(device_of(opt));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_ctc_beam_search_f32(ids, lengths, scores, x, input_lengths, T, B, C,
                                          workspace, workspace_bytes, opt);
    default: return unrouted(r, opt);
  }
}

}  // extern "C"
