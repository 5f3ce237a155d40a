// Host drivers of the LSTM Ascend C kernels (op_kernel/lstm_forward.cpp, lstm_backward.cpp) on
// our host model of the API: argument checks (the CUDA backend's statuses), the tiling
// (op_host/lstm_tiling_host.h, shared with a CANN tiling function), the weight tables, the
// launch and the error record. On CANN the weight tables are the op's tensor-list descriptors.
#include "crnn/lstm.h"

#include <stdio.h>
#include <string.h>

#include <functional>
#include <string>

#include "../ascend_kernels.h"
#include "../op_host/lstm_tiling_host.h"
#include "common/device_error.h"
#include "emu_launch.h"

extern "C" void crnn_lstm_backward(uint8_t *dx, uint8_t *dh0, uint8_t *dc0, uint8_t *dy,
                                   uint8_t *dhN, uint8_t *dcN, uint8_t *x, uint8_t *y, uint8_t *h0,
                                   uint8_t *c0, uint8_t *seqLength, uint8_t *reserve,
                                   uint8_t *workspace, uint8_t *tiling);
extern "C" void crnn_lstm_forward(uint8_t *x, uint8_t *h0, uint8_t *c0, uint8_t *seqLength,
                                  uint8_t *y, uint8_t *hN, uint8_t *cN, uint8_t *reserve,
                                  uint8_t *workspace, uint8_t *tiling);

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

// Per (l, d): the GM addresses of four tensors (NULL-safe) at table + (l*D + d)*4.
void write_table(void *workspace, uint64_t off, int64_t n, const void *const *a,
                 const void *const *b, const void *const *c, const void *const *e) {
  uint64_t *table = reinterpret_cast<uint64_t *>(static_cast<char *>(workspace) + off);
  for (int64_t i = 0; i < n; ++i) {
    table[i * 4 + 0] = reinterpret_cast<uint64_t>(a[i]);
    table[i * 4 + 1] = reinterpret_cast<uint64_t>(b[i]);
    table[i * 4 + 2] = c ? reinterpret_cast<uint64_t>(c[i]) : 0;
    table[i * 4 + 3] = e ? reinterpret_cast<uint64_t>(e[i]) : 0;
  }
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

bool run(const char *what, uint32_t cores, const std::function<void()> &kernel) {
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, kernel);
  if (err.empty()) return true;
  fprintf(stderr, "crnn_fast ascend-emu %s: %s\n", what, err.c_str());
  return false;
}

uint8_t *gm(const void *p) {
  return static_cast<uint8_t *>(const_cast<void *>(p));
}

}  // namespace

extern "C" size_t crnn_ascend_emu_lstm_forward_workspace_size(const crnn_lstm_desc *d) {
  if (!desc_ok(d) || !shape_ok(d)) return 0;
  uint64_t bytes = 0;
  forward_tiling(d, crnn::ascend_emu_kernels::kAivCores, &bytes);
  return bytes;
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
  if (!workspace || workspace_bytes < bytes)  // the layout does not depend on the cores
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error (aclrtMemsetAsync on CANN)
  if (t.rowsPerTile == 0) return CRNN_STATUS_NOT_SUPPORTED;
  t.hasH0 = h0 != nullptr, t.hasC0 = c0 != nullptr, t.hasSeq = seq_length != nullptr;
  t.train = reserve != nullptr;
  const int64_t n = int64_t(d->num_layers) * dirs(d);
  write_table(workspace, t.tableOff, n, reinterpret_cast<const void *const *>(w->w_ih),
              reinterpret_cast<const void *const *>(w->w_hh),
              d->has_bias ? reinterpret_cast<const void *const *>(w->b_ih) : nullptr,
              d->has_bias ? reinterpret_cast<const void *const *>(w->b_hh) : nullptr);
  uint8_t *tiling = gm(&t);
  if (!run("crnn_lstm_forward", t.coreNum, [&] {
        crnn_lstm_forward(gm(x), gm(h0), gm(c0), gm(seq_length), gm(y), gm(h_n), gm(c_n),
                          gm(reserve), gm(workspace), tiling);
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
  backward_tiling(d, crnn::ascend_emu_kernels::kAivCores, &bytes);
  return bytes;
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
  if (!workspace || workspace_bytes < bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  memset(workspace, 0xFF, sizeof(uint64_t));  // the record: no error
  if (t.rowsPerTile == 0) return CRNN_STATUS_NOT_SUPPORTED;
  t.hasH0 = h0 != nullptr, t.hasC0 = c0 != nullptr, t.hasSeq = seq_length != nullptr;
  t.hasDhn = dh_n != nullptr, t.hasDcn = dc_n != nullptr;
  t.hasDh0 = dh0 != nullptr, t.hasDc0 = dc0 != nullptr;
  const int64_t n = int64_t(d->num_layers) * dirs(d);
  const auto cv = [](const auto *const *p) { return reinterpret_cast<const void *const *>(p); };
  write_table(workspace, t.tableOff, n, cv(w->w_ih), cv(w->w_hh),
              d->has_bias ? cv(w->b_ih) : nullptr, d->has_bias ? cv(w->b_hh) : nullptr);
  write_table(workspace, t.tableOff + uint64_t(n) * 32, n, cv(dw_ih), cv(dw_hh),
              d->has_bias ? cv(db_ih) : nullptr, d->has_bias ? cv(db_hh) : nullptr);
  uint8_t *tiling = gm(&t);
  if (!run("crnn_lstm_backward", t.coreNum, [&] {
        crnn_lstm_backward(gm(dx), gm(dh0), gm(dc0), gm(dy), gm(dh_n), gm(dc_n), gm(x), gm(y),
                           gm(h0), gm(c0), gm(seq_length), gm(reserve), gm(workspace), tiling);
      }))
    return CRNN_STATUS_EXECUTION_FAILED;
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
