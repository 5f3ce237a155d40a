// Host drivers of the LSTM Ascend C kernels (op_kernel/lstm_forward.cpp, lstm_backward.cpp) on
// our host model of the API: argument checks (the CUDA backend's statuses), the tiling
// (op_host/lstm_tiling_host.h, shared with the CANN tiling functions of op_host/lstm_*.cpp), the
// launch and the error record.
//
// The kernels take the parameters as ONE flat tensor (the CANN ops' `weights` / `dweights`, the
// aot entry's layout) with per-(layer, direction) offsets in the tiling data. The C API here
// takes per-(layer, direction) pointers, so the driver copies them into a flat scratch after the
// kernel's workspace (and, backward, copies the flat gradients out after the launch): the
// kernels then run exactly the CANN ops' path with the op_host's tiling, and no pointer
// arithmetic spans the caller's separate allocations. The cost is a host copy of the parameters
// (12.6 MB at the CRNN shape), small next to the emulated kernel. The workspace's first 256
// bytes are passed as the kernels' `error` output (the record crnn_device_error_read reads);
// `config` is passed NULL (the kernels do not read it; its shape is in the tiling).
#include "crnn/lstm.h"

#include <string.h>

#include "../ascend_kernels.h"
#include "../op_host/lstm_tiling_host.h"
#include "common/device_error.h"
#include "kernel_decls.h"
#include "launch_kernel.h"

namespace {

namespace lt = crnn::ascend_lstm;

bool desc_ok(const crnn_lstm_desc *d) {
  return d && d->T > 0 && d->B > 0 && d->I > 0 && d->H > 0 && d->num_layers > 0 &&
         d->T <= crnn::kDeviceMaxFrames && d->B <= INT32_MAX;
}

int64_t dirs(const crnn_lstm_desc *d) {
  return d->bidirectional ? 2 : 1;
}

bool weights_ok(const crnn_lstm_desc *d, const crnn_lstm_weights_f32 *w) {
  if (!w || !w->w_ih || !w->w_hh || (d->has_bias && (!w->b_ih || !w->b_hh))) return false;
  for (int64_t i = 0; i < int64_t(d->num_layers) * dirs(d); ++i)
    if (!w->w_ih[i] || !w->w_hh[i] || (d->has_bias && (!w->b_ih[i] || !w->b_hh[i]))) return false;
  return true;
}

bool shape_ok(const crnn_lstm_desc *d) {
  return lt::lstm_shape_ok(d->T, d->B, d->I, d->H, d->num_layers, dirs(d));
}

LstmForwardTiling forward_tiling(const crnn_lstm_desc *d, uint32_t cores, uint64_t *ws) {
  return lt::lstm_forward_tiling(d->T, d->B, d->I, d->H, d->num_layers, dirs(d), d->has_bias != 0,
                                 cores, ws);
}

// Floats of parameter kind k (0..3: w_ih w_hh b_ih b_hh) of pair i = l*D + d.
uint64_t param_size(const crnn_lstm_desc *d, int64_t i, int k) {
  const uint64_t G = 4 * uint64_t(d->H);
  return k >= 2 ? G : G * uint64_t(k == 1 ? d->H : i < dirs(d) ? d->I : dirs(d) * d->H);
}

// Bytes of one flat copy of the parameters (a multiple of 256).
uint64_t flat_bytes(const LstmWeightOffsets &o) {
  return crnn::ascend_tiling::round_up(o.total * sizeof(float), 256);
}

// f(k, i, bytes) for each parameter kind k (0..3: w_ih w_hh b_ih b_hh) and pair i = l*D + d.
template <typename F>
void for_each_param(const crnn_lstm_desc *d, F f) {
  for (int k = 0; k < (d->has_bias ? 4 : 2); ++k)
    for (int64_t i = 0; i < int64_t(d->num_layers) * dirs(d); ++i)
      f(k, i, param_size(d, i, k) * sizeof(float));
}

// The per-pair parameters into their flat copy (the layout o).
void weights_to_flat(float *flat, const LstmWeightOffsets &o, const crnn_lstm_desc *d,
                     const crnn_lstm_weights_f32 *w) {
  const float *const *const p[4] = {w->w_ih, w->w_hh, w->b_ih, w->b_hh};
  for_each_param(
      d, [&](int k, int64_t i, size_t bytes) { memcpy(flat + o.off[i][k], p[k][i], bytes); });
}

// The flat gradients out to the per-pair tensors.
void grads_from_flat(const float *flat, const LstmWeightOffsets &o, const crnn_lstm_desc *d,
                     float *const *const g[4]) {
  for_each_param(
      d, [&](int k, int64_t i, size_t bytes) { memcpy(g[k][i], flat + o.off[i][k], bytes); });
}

LstmBackwardTiling backward_tiling(const crnn_lstm_desc *d, uint32_t cores, uint64_t *ws) {
  return lt::lstm_backward_tiling(d->T, d->B, d->I, d->H, d->num_layers, dirs(d), d->has_bias != 0,
                                  cores, ws);
}

bool grads_ok(const crnn_lstm_desc *d, float *const *dw_ih, float *const *dw_hh,
              float *const *db_ih, float *const *db_hh) {
  if (!dw_ih || !dw_hh || (d->has_bias && (!db_ih || !db_hh))) return false;
  for (int64_t i = 0; i < int64_t(d->num_layers) * dirs(d); ++i)
    if (!dw_ih[i] || !dw_hh[i] || (d->has_bias && (!db_ih[i] || !db_hh[i]))) return false;
  return true;
}

uint8_t *gm(const void *p) {
  return static_cast<uint8_t *>(const_cast<void *>(p));
}

}  // namespace

extern "C" size_t crnn_ascend_emu_lstm_forward_workspace_size(const crnn_lstm_desc *d) {
  if (!desc_ok(d) || !shape_ok(d)) return 0;
  uint64_t bytes = 0;
  const LstmForwardTiling t = forward_tiling(d, crnn::ascend_emu_kernels::kAivCores, &bytes);
  return bytes + flat_bytes(t.weights);  // the kernel's, then the flat weights
}

crnn_status_t crnn::ascend_emu_kernels::lstm_forward_f32(
    uint32_t max_cores, float *y, float *h_n, float *c_n, float *reserve, const float *x,
    const float *h0, const float *c0, const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
    const crnn_lstm_desc *d, void *workspace, size_t workspace_bytes) {
  if (max_cores < 1 || !desc_ok(d) || !weights_ok(d, w) || !y || !h_n || !c_n || !x)
    return CRNN_STATUS_INVALID_VALUE;
  if (!shape_ok(d)) return CRNN_STATUS_NOT_SUPPORTED;
  uint64_t bytes = 0;
  LstmForwardTiling t = forward_tiling(d, max_cores, &bytes);
  if (!workspace || workspace_bytes < bytes + flat_bytes(t.weights))  // (not core-dependent)
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error (aclrtMemsetAsync on CANN)
  if (t.rowsPerTile == 0) return CRNN_STATUS_NOT_SUPPORTED;
  t.hasH0 = h0 != nullptr, t.hasC0 = c0 != nullptr, t.hasSeq = seq_length != nullptr;
  t.train = reserve != nullptr;
  uint8_t *ws = gm(workspace), *flat = ws + bytes, *tiling = gm(&t);
  weights_to_flat(reinterpret_cast<float *>(flat), t.weights, d, w);
  if (!crnn::ascend_emu_kernels::launch_kernel("crnn_lstm_forward", t.coreNum, [&] {
        if (reserve)
          crnn_lstm_forward(gm(x), gm(h0), gm(c0), gm(seq_length), nullptr, flat, gm(y), gm(h_n),
                            gm(c_n), gm(reserve), ws, ws, tiling);
        else
          crnn_lstm_forward_infer(gm(x), gm(h0), gm(c0), gm(seq_length), nullptr, flat, gm(y),
                                  gm(h_n), gm(c_n), ws, ws, tiling);
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

extern "C" crnn_status_t crnn_ascend_emu_lstm_forward_f32(
    float *y, float *h_n, float *c_n, float *reserve, const float *x, const float *h0,
    const float *c0, const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
    const crnn_lstm_desc *d, void *workspace, size_t workspace_bytes) {
  return crnn::ascend_emu_kernels::lstm_forward_f32(crnn::ascend_emu_kernels::kAivCores, y, h_n,
                                                    c_n, reserve, x, h0, c0, seq_length, w, d,
                                                    workspace, workspace_bytes);
}

extern "C" size_t crnn_ascend_emu_lstm_backward_workspace_size(const crnn_lstm_desc *d) {
  if (!desc_ok(d) || !shape_ok(d)) return 0;
  uint64_t bytes = 0;
  const LstmBackwardTiling t = backward_tiling(d, crnn::ascend_emu_kernels::kAivCores, &bytes);
  return bytes + 2 * flat_bytes(t.weights);  // the kernel's, then flat weights and dweights
}

crnn_status_t crnn::ascend_emu_kernels::lstm_backward_f32(
    uint32_t max_cores, float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,
    float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n, const float *dc_n,
    const float *x, const float *y, const float *h0, const float *c0, const int32_t *seq_length,
    const float *reserve, const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d, void *workspace,
    size_t workspace_bytes) {
  if (max_cores < 1 || !desc_ok(d) || !weights_ok(d, w) ||
      !grads_ok(d, dw_ih, dw_hh, db_ih, db_hh) || !dx || !dy || !x || !y || !reserve)
    return CRNN_STATUS_INVALID_VALUE;
  if (!shape_ok(d)) return CRNN_STATUS_NOT_SUPPORTED;
  uint64_t bytes = 0;
  LstmBackwardTiling t = backward_tiling(d, max_cores, &bytes);
  if (!workspace || workspace_bytes < bytes + 2 * flat_bytes(t.weights))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error
  if (t.rowsPerTile == 0) return CRNN_STATUS_NOT_SUPPORTED;
  t.hasH0 = h0 != nullptr, t.hasC0 = c0 != nullptr, t.hasSeq = seq_length != nullptr;
  t.hasDhn = dh_n != nullptr, t.hasDcn = dc_n != nullptr;
  t.hasDh0 = dh0 != nullptr, t.hasDc0 = dc0 != nullptr;
  uint8_t *ws = gm(workspace), *flat = ws + bytes, *dflat = flat + flat_bytes(t.weights);
  uint8_t *tiling = gm(&t);
  weights_to_flat(reinterpret_cast<float *>(flat), t.weights, d, w);
  if (!crnn::ascend_emu_kernels::launch_kernel("crnn_lstm_backward", t.coreNum, [&] {
        crnn_lstm_backward(gm(x), gm(h0), gm(c0), gm(seq_length), nullptr, flat, gm(y), gm(reserve),
                           gm(dy), gm(dh_n), gm(dc_n), gm(dx), gm(dh0), gm(dc0), dflat, ws, ws,
                           tiling);
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
  float *const *const g[4] = {dw_ih, dw_hh, db_ih, db_hh};
  grads_from_flat(reinterpret_cast<const float *>(dflat), t.weights, d, g);
  return CRNN_STATUS_SUCCESS;
}
extern "C" crnn_status_t crnn_ascend_emu_lstm_backward_f32(
    float *dx, float *dh0, float *dc0, float *const *dw_ih, float *const *dw_hh,
    float *const *db_ih, float *const *db_hh, const float *dy, const float *dh_n, const float *dc_n,
    const float *x, const float *y, const float *h0, const float *c0, const int32_t *seq_length,
    const float *reserve, const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d, void *workspace,
    size_t workspace_bytes) {
  return crnn::ascend_emu_kernels::lstm_backward_f32(
      crnn::ascend_emu_kernels::kAivCores, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dy, dh_n, dc_n,
      x, y, h0, c0, seq_length, reserve, w, d, workspace, workspace_bytes);
}
