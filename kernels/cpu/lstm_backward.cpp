// Fused LSTM stack backward (CPU). See crnn/lstm.h for the contract.
//
// Per layer, top to bottom: (1) back through time, every (direction, batch slice) on its own
// core: fused pointwise gate derivatives from the reserve (activated gates, cell states)
// into dZ (T, B, 4H), then dh_prev = dZ_t W_hh, one (b, 4H) x (4H, H) GEMM per step;
// (2) dW_hh = dZ^T H_prev, dW_ih = dZ^T X, db = sum dZ and dX = sum_d dZ_d W_ih as GEMMs over
// all T*B rows, split over the cores (OpenBLAS single-threaded inside).
#include <string.h>

#include "../common/lstm_layout.h"
#include "../common/lstm_math.h"
#include "blas.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_layout.h"

namespace {

using crnn::cpu::LstmDims;

struct Workspace {
  size_t dz, step, dhn, state, zero, hprev, buf0, buf1, bytes;  // byte offsets
};

// Mirrors the carving in crnn_cpu_lstm_backward_f32.
Workspace workspace_of(const LstmDims &k) {
  crnn::cpu::Carver c;
  const auto take = [&c](size_t bytes) { return c.take(bytes); };
  const size_t f = sizeof(float), layer = k.L > 1 ? k.T * k.B * k.D * k.H * f : 0;
  Workspace w;
  w.dz = take(k.D * k.T * k.B * k.G * f);   // dZ (T, B, 4H) per direction
  w.step = take(k.D * k.B * k.G * f);       // this step's dZ rows (B, 4H) per direction
  w.dhn = take(k.D * k.B * k.H * f);        // dZ_t W_hh (B, H) per direction
  w.state = take(k.D * 2 * k.B * k.H * f);  // dh, dc (B, H) per direction
  w.zero = take(k.H * f);                   // a zero state row (h0 / c0 = NULL)
  w.hprev = take(k.T * k.B * k.H * f);      // h entering each frame (T, B, H)
  w.buf0 = take(layer);                     // gradients of inner layer outputs, ping-pong
  w.buf1 = take(layer);
  w.bytes = c.off;
  return w;
}

struct LayerIO {
  const float *gates, *cells, *out, *dout, *h0, *c0, *dh_n, *dc_n, *w_hh, *zero;
  float *dz, *step, *dhn, *dh, *dc, *dh0, *dc0;
  const int32_t *len;
  int64_t dir, idx;
};

// Back through time for samples [b0, b1) of one direction (io: this layer and direction).
CRNN_SIMD_CLONES void bptt_slice(const LayerIO &io, int64_t b0, int64_t b1, const LstmDims &k) {
  const int64_t B = k.B, H = k.H, G = k.G, DH = k.D * k.H;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t s = (io.idx * B + b) * H;
    for (int64_t j = 0; j < H; ++j) {
      io.dh[b * H + j] = io.dh_n ? io.dh_n[s + j] : 0.0f;
      io.dc[b * H + j] = io.dc_n ? io.dc_n[s + j] : 0.0f;
    }
  }
  crnn::cpu::zero_tail(io.dz, G, G, io.len, b0, b1, k);
  for (int64_t step = k.T - 1; step >= 0; --step) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t Tb = io.len ? io.len[b] : k.T;
      float *zs = io.step + b * G;
      if (step >= Tb) {  // frame not processed: the gradient passes through unchanged
        memset(zs, 0, G * 4);
        continue;
      }
      const int64_t t = io.dir ? Tb - 1 - step : step, row = t * B + b;
      const bool first = io.dir ? t + 1 >= Tb : t == 0;  // the frame the recurrence began at
      const float *c_prev = first ? (io.c0 ? io.c0 + (io.idx * B + b) * H : io.zero)
                                  : io.cells + ((io.dir ? t + 1 : t - 1) * B + b) * H;
      const float *gt = io.gates + row * G, *ct = io.cells + row * H;
      const float *dyr = io.dout + row * DH + io.dir * H;
      float *dzr = io.dz + row * G, *dh = io.dh + b * H, *dc = io.dc + b * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const crnn::LstmCellBackward<float> r =
            crnn::lstm_cell_backward(dh[j] + dyr[j], dc[j], gt[j], gt[H + j], gt[2 * H + j],
                                     gt[3 * H + j], c_prev[j], ct[j]);
        dzr[j] = zs[j] = r.dzi;
        dzr[H + j] = zs[H + j] = r.dzf;
        dzr[2 * H + j] = zs[2 * H + j] = r.dzg;
        dzr[3 * H + j] = zs[3 * H + j] = r.dzo;
        dc[j] = r.dc_prev;
      }
    }
    crnn::cpu::gemm(false, false, b1 - b0, H, G, io.step + b0 * G, G, io.w_hh, H, 0.0f,
                    io.dhn + b0 * H, H);
    for (int64_t b = b0; b < b1; ++b)
      if (step < (io.len ? io.len[b] : k.T)) memcpy(io.dh + b * H, io.dhn + b * H, H * 4);
  }
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t s = (io.idx * B + b) * H;
    if (io.dh0) memcpy(io.dh0 + s, io.dh + b * H, H * 4);
    if (io.dc0) memcpy(io.dc0 + s, io.dc + b * H, H * 4);
  }
}

// The gradients the backward writes per layer / direction ([L*D] pointers, lstm.h).
struct WeightGrads {
  float *const *dw_ih, *const *dw_hh, *const *db_ih, *const *db_hh;
};

bool backward_args_ok(const float *dx, const WeightGrads &wg, const float *dy, const float *x,
                      const float *y, const float *reserve, const crnn_lstm_weights_f32 *w,
                      const crnn_lstm_desc *d, const int32_t *seq_length) {
  if (!dx || !wg.dw_ih || !wg.dw_hh || !dy || !x || !y || !reserve ||
      !crnn::cpu::lstm_args_ok(d, w, seq_length) || (d->has_bias && (!wg.db_ih || !wg.db_hh)))
    return false;
  const LstmDims k = crnn::cpu::lstm_dims(d);
  for (int64_t i = 0; i < k.L * k.D; ++i)
    if (!wg.dw_ih[i] || !wg.dw_hh[i] || (d->has_bias && (!wg.db_ih[i] || !wg.db_hh[i])))
      return false;
  return true;
}

// The state-carrying inputs and outputs of the backward (lstm.h; NULL where allowed).
struct StateIO {
  const float *h0, *c0, *dh_n, *dc_n;
  float *dh0, *dc0;
  const int32_t *len;
};

// Step 1 of layer l: back through time, every (direction, batch slice) on its own core,
// filling dZ (T, B, 4H) per direction in the workspace and dh0 / dc0 of the layer.
void layer_bptt(const LstmDims &k, int64_t l, int nt, const float *reserve, const float *out,
                const float *dout, const StateIO &st, const crnn_lstm_weights_f32 *w, char *base,
                const Workspace &ws) {
  const auto at = [base](size_t off) { return reinterpret_cast<float *>(base + off); };
  const int64_t TB = k.T * k.B, BH = k.B * k.H, G = k.G;
  const int64_t slices = nt >= k.D ? nt / k.D : 1, units = k.D * slices;
  crnn::cpu::parallel_for(nt, units, false, [&](int64_t u, int) {
    const int64_t dir = u / slices, s = u % slices, idx = l * k.D + dir;
    float *state = at(ws.state) + dir * 2 * BH;
    const LayerIO io{reserve + crnn::cpu::reserve_gates(k, l, dir),
                     reserve + crnn::cpu::reserve_cells(k, l, dir),
                     out,
                     dout,
                     st.h0,
                     st.c0,
                     st.dh_n,
                     st.dc_n,
                     w->w_hh[idx],
                     at(ws.zero),
                     at(ws.dz) + dir * TB * G,
                     at(ws.step) + dir * k.B * G,
                     at(ws.dhn) + dir * BH,
                     state,
                     state + BH,
                     st.dh0,
                     st.dc0,
                     st.len,
                     dir,
                     idx};
    bptt_slice(io, k.B * s / slices, k.B * (s + 1) / slices, k);
  });
}

// hprev (T, B, H): the h entering each frame of direction dir (the previous processed
// frame's output, or h0 at the first; zeros past the sample's length).
void fill_hprev(float *hprev, const LstmDims &k, int64_t dir, int64_t idx, int nt, const float *out,
                const float *h0, const float *zero, const int32_t *len) {
  const int64_t H = k.H, DH = k.D * k.H;
  crnn::cpu::parallel_chunks(nt, k.B, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t Tb = len ? len[b] : k.T;
      const float *h_init = h0 ? h0 + (idx * k.B + b) * H : zero;
      for (int64_t t = 0; t < k.T; ++t) {
        float *dst = hprev + (t * k.B + b) * H;
        const int64_t prev = dir ? t + 1 : t - 1;
        const float *src = t >= Tb                    ? zero
                           : (prev < 0 || prev >= Tb) ? h_init
                                                      : out + (prev * k.B + b) * DH + dir * H;
        memcpy(dst, src, H * 4);
      }
    }
  });
}

// Step 2 of layer l, direction dir: dW_hh = dZ^T H_prev, dW_ih = dZ^T X, db = sum dZ
// (rows of 4H split over the cores), then din += dZ W_ih (din is overwritten by dir 0).
void weight_and_input_grads(const WeightGrads &wg, float *din, const LstmDims &k, int64_t idx,
                            int64_t dir, int nt, const float *dz, const float *hprev,
                            const float *in, int64_t in_size, const float *w_ih, bool has_bias) {
  const int64_t TB = k.T * k.B, G = k.G, H = k.H;
  crnn::cpu::parallel_chunks(nt, G, [&](int64_t r0, int64_t r1) {
    crnn::cpu::gemm(true, false, r1 - r0, H, TB, dz + r0, G, hprev, H, 0.0f, wg.dw_hh[idx] + r0 * H,
                    H);
    crnn::cpu::gemm(true, false, r1 - r0, in_size, TB, dz + r0, G, in, in_size, 0.0f,
                    wg.dw_ih[idx] + r0 * in_size, in_size);
    if (!has_bias) return;
    float *db = wg.db_ih[idx];
    for (int64_t j = r0; j < r1; ++j) db[j] = 0.0f;
    for (int64_t t = 0; t < TB; ++t)
      for (int64_t j = r0; j < r1; ++j) db[j] += dz[t * G + j];
    memcpy(wg.db_hh[idx] + r0, db + r0, (r1 - r0) * 4);
  });
  crnn::cpu::parallel_chunks(nt, TB, [&](int64_t m0, int64_t m1) {
    crnn::cpu::gemm(false, false, m1 - m0, in_size, G, dz + m0 * G, G, w_ih, in_size,
                    dir == 0 ? 0.0f : 1.0f, din + m0 * in_size, in_size);
  });
}

}  // namespace

extern "C" {

size_t crnn_cpu_lstm_backward_workspace_size(const crnn_lstm_desc *d) {
  if (!d || d->T <= 0 || d->B <= 0 || d->I <= 0 || d->H <= 0 || d->num_layers <= 0) return 0;
  return workspace_of(crnn::cpu::lstm_dims(d)).bytes;
}

crnn_status_t crnn_cpu_lstm_backward_f32(float *dx, float *dh0, float *dc0, float *const *dw_ih,
                                         float *const *dw_hh, float *const *db_ih,
                                         float *const *db_hh, const float *dy, const float *dh_n,
                                         const float *dc_n, const float *x, const float *y,
                                         const float *h0, const float *c0,
                                         const int32_t *seq_length, const float *reserve,
                                         const crnn_lstm_weights_f32 *w, const crnn_lstm_desc *d,
                                         void *workspace, size_t workspace_bytes) {
  const WeightGrads wg{dw_ih, dw_hh, db_ih, db_hh};
  if (!backward_args_ok(dx, wg, dy, x, y, reserve, w, d, seq_length))
    return CRNN_STATUS_INVALID_VALUE;
  const LstmDims k = crnn::cpu::lstm_dims(d);
  const Workspace ws = workspace_of(k);
  if (!workspace || workspace_bytes < ws.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  char *base = static_cast<char *>(workspace);
  const auto at = [base](size_t off) { return reinterpret_cast<float *>(base + off); };
  float *zero = at(ws.zero), *hprev = at(ws.hprev), *bufs[2] = {at(ws.buf0), at(ws.buf1)};
  memset(zero, 0, k.H * 4);
  const int64_t TB = k.T * k.B, DH = k.D * k.H;
  const int nt = crnn::cpu::resolve_threads(d->num_threads, k.B * k.D);
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  const StateIO st{h0, c0, dh_n, dc_n, dh0, dc0, seq_length};

  for (int64_t l = k.L - 1; l >= 0; --l) {  // top to bottom
    const int64_t in_size = l == 0 ? k.I : DH;
    const float *in = l == 0 ? x : reserve + crnn::cpu::reserve_output(k, l - 1);
    const float *out = l == k.L - 1 ? y : reserve + crnn::cpu::reserve_output(k, l);
    const float *dout = l == k.L - 1 ? dy : bufs[(l + 1) % 2];
    float *din = l == 0 ? dx : bufs[l % 2];
    layer_bptt(k, l, nt, reserve, out, dout, st, w, base, ws);
    for (int64_t dir = 0; dir < k.D; ++dir) {
      const int64_t idx = l * k.D + dir;
      fill_hprev(hprev, k, dir, idx, nt, out, h0, zero, seq_length);
      weight_and_input_grads(wg, din, k, idx, dir, nt, at(ws.dz) + dir * TB * k.G, hprev, in,
                             in_size, w->w_ih[idx], d->has_bias != 0);
    }
  }
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
