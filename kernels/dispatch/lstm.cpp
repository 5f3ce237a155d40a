// Dispatch of the LSTM stack (crnn/lstm.h) to the backend named by the descriptor's `device`.
// A backend adds its case here (see route.h).
#include "../cpu/cpu_kernels.h"
#include "route.h"

using crnn::dispatch::device_of;
using crnn::dispatch::Route;
using crnn::dispatch::route;
using crnn::dispatch::unrouted;

extern "C" {

size_t crnn_lstm_forward_workspace_size(const crnn_lstm_desc *d) {
  switch (route(device_of(d))) {
    case Route::cpu: return crnn_cpu_lstm_forward_workspace_size(d);
    default: return 0;
  }
}

crnn_status_t crnn_lstm_forward_f32(float *y, float *h_n, float *c_n, float *reserve,
                                    const float *x, const float *h0, const float *c0,
                                    const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                                    const crnn_lstm_desc *d, void *workspace,
                                    size_t workspace_bytes) {
  const Route r = route(device_of(d));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_lstm_forward_f32(y, h_n, c_n, reserve, x, h0, c0, seq_length, w, d, workspace,
                                       workspace_bytes);
    default: return unrouted(r);
  }
}

size_t crnn_lstm_backward_workspace_size(const crnn_lstm_desc *d) {
  switch (route(device_of(d))) {
    case Route::cpu: return crnn_cpu_lstm_backward_workspace_size(d);
    default: return 0;
  }
}

crnn_status_t crnn_lstm_backward_f32(float *dx, float *dh0, float *dc0, float *const *dw_ih,
                                     float *const *dw_hh, float *const *db_ih, float *const *db_hh,
                                     const float *dy, const float *dh_n, const float *dc_n,
                                     const float *x, const float *y, const float *h0,
                                     const float *c0, const int32_t *seq_length,
                                     const float *reserve, const crnn_lstm_weights_f32 *w,
                                     const crnn_lstm_desc *d, void *workspace,
                                     size_t workspace_bytes) {
  const Route r = route(device_of(d));
  switch (r) {
    case Route::cpu:
      return crnn_cpu_lstm_backward_f32(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dy, dh_n, dc_n, x,
                                        y, h0, c0, seq_length, reserve, w, d, workspace,
                                        workspace_bytes);
    default: return unrouted(r);
  }
}

}  // extern "C"
