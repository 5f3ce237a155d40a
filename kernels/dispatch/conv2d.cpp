// Dispatch of conv2d (crnn/conv2d.h) to the backend named by the descriptor's `device`. The
// convolutions are a CPU product (accelerators run their vendor's): other devices give
// NOT_SUPPORTED.
#include "../cpu/cpu_kernels.h"
#include "route.h"

using crnn::dispatch::device_of;
using crnn::dispatch::Route;
using crnn::dispatch::route;
using crnn::dispatch::unrouted;

extern "C" {

size_t crnn_conv2d_forward_workspace_size(const crnn_conv2d_desc *d) {
  return route(device_of(d)) == Route::cpu ? crnn_cpu_conv2d_forward_workspace_size(d) : 0;
}

crnn_status_t crnn_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b,
                                      const crnn_conv2d_desc *d, void *workspace,
                                      size_t workspace_bytes) {
  const Route r = route(device_of(d));
  if (r != Route::cpu) return unrouted(r == Route::unknown ? r : Route::not_compiled);
  return crnn_cpu_conv2d_forward_f32(y, x, w, b, d, workspace, workspace_bytes);
}

size_t crnn_conv2d_backward_workspace_size(const crnn_conv2d_desc *d) {
  return route(device_of(d)) == Route::cpu ? crnn_cpu_conv2d_backward_workspace_size(d) : 0;
}

crnn_status_t crnn_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy,
                                       const float *x, const float *w, const crnn_conv2d_desc *d,
                                       void *workspace, size_t workspace_bytes) {
  const Route r = route(device_of(d));
  if (r != Route::cpu) return unrouted(r == Route::unknown ? r : Route::not_compiled);
  return crnn_cpu_conv2d_backward_f32(dx, dw, db, dy, x, w, d, workspace, workspace_bytes);
}

}  // extern "C"
