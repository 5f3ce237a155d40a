// Fused LSTM stack backward (CPU). See crnn/lstm.h for the contract.
//
// Per layer, top to bottom: (1) back through time, every (direction, batch slice) on its own
// core, with W_hh packed once into panels (lstm_recurrent.h): per step, per tile of 6
// samples, the micro-kernel accumulates their dh_{t-1} = dZ_t W_hh, 16 units at a time in
// registers, into a 6-row buffer, and the pointwise gate derivatives of their next frame
// (from the reserve: activated gates, cell states) run on those rows while they are in
// L1/L2, writing that frame's dZ (T, B, 4H) rows, which the next step's tiles read (no
// per-step sgemm, which repacked W_hh every frame, and no dh copies);
// (2) dW_hh = dZ^T H_prev, dW_ih = dZ^T X, db = sum dZ and dX = sum_d dZ_d W_ih as GEMMs over
// all T*B rows, split over the cores (OpenBLAS single-threaded inside).
#include <string.h>

#include "../common/lstm_layout.h"
#include "../common/lstm_math.h"
#include "blas.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_layout.h"
#include "lstm_recurrent.h"

namespace {

using crnn::cpu::LstmDims;
namespace rec = crnn::cpu::lstm_rec;

struct Workspace {
  size_t dz, pack, dhp, state, zero, hprev, buf0, buf1, bytes;  // byte offsets
};

// Row stride of dZ: 4H + 16 floats, so that the 6 rows a tile broadcasts from (4 KB apart at
// 4H = 1024) do not share L1 sets (see gx_stride in lstm_forward.cpp; not separately measured).
int64_t dz_stride(const LstmDims &k) {
  return k.G + 16;
}

// Row stride of dh_{t-1} = dZ_t W_hh (one row per sample): H rounded up to the 16-unit
// blocks the tiles write, + 16.
int64_t dhp_stride(const LstmDims &k) {
  return rec::backward_units(k.H) + 16;
}

// Mirrors the carving in crnn_cpu_lstm_backward_f32.
Workspace workspace_of(const LstmDims &k) {
  crnn::cpu::Carver c;
  const auto take = [&c](size_t bytes) { return c.take(bytes); };
  const size_t f = sizeof(float), layer = k.L > 1 ? k.T * k.B * k.D * k.H * f : 0;
  Workspace w;
  w.dz = take(k.D * k.T * k.B * dz_stride(k) * f);        // dZ (T, B, 4H) per direction
  w.pack = take(k.D * rec::backward_pack_size(k.H) * f);  // W_hh panels per direction
  w.dhp = take(k.D * k.B * dhp_stride(k) * f);            // dZ_t W_hh per direction
  w.state = take(k.D * 2 * k.B * k.H * f);                // dh_n, dc (B, H) per direction
  w.zero = take(k.G * f);               // zeros: a state row (h0 / c0 = NULL), a dZ row
  w.hprev = take(k.T * k.B * k.H * f);  // h entering each frame (T, B, H)
  w.buf0 = take(layer);                 // gradients of inner layer outputs, ping-pong
  w.buf1 = take(layer);
  w.bytes = c.off;
  return w;
}

struct LayerIO {
  const float *gates, *cells, *out, *dout, *h0, *c0, *dh_n, *dc_n, *panel, *zero;
  float *dz, *dhp, *dh, *dc, *dh0, *dc0;
  const int32_t *len;
  int64_t dir, idx;
  crnn::cpu::lstm_rec::Mode mode;  // float32 or bfloat16 products (the panels' form)
};

// The row (t * B + b) of sample b at `step` of the recurrence (counted in processing order).
CRNN_CPU_INLINE int64_t row_of(const LayerIO &io, int64_t b, int64_t step, int64_t Tb,
                               const LstmDims &k) {
  return (io.dir ? Tb - 1 - step : step) * k.B + b;
}

// The cell backward of sample b at `step`: dh_in (H) is d loss / d h from the recurrence (the
// output's dy is added here); writes dZ's row, updates dc.
CRNN_CPU_INLINE void cell_backward(const LayerIO &io, int64_t b, int64_t step, const float *dh_in,
                                   const LstmDims &k) {
  const int64_t B = k.B, H = k.H, G = k.G, DH = k.D * k.H;
  const int64_t Tb = io.len ? io.len[b] : k.T;
  if (step >= Tb) return;  // frame not processed: the gradient passes through unchanged
  const int64_t t = io.dir ? Tb - 1 - step : step, row = t * B + b;
  const bool first = io.dir ? t + 1 >= Tb : t == 0;  // the frame the recurrence began at
  const float *c_prev = first ? (io.c0 ? io.c0 + (io.idx * B + b) * H : io.zero)
                              : io.cells + ((io.dir ? t + 1 : t - 1) * B + b) * H;
  const float *gt = io.gates + row * G, *ct = io.cells + row * H;
  const float *dyr = io.dout + row * DH + io.dir * H;
  float *dzr = io.dz + row * dz_stride(k), *dc = io.dc + b * H;
#pragma omp simd
  for (int64_t u = 0; u < H; ++u) {
    const crnn::LstmCellBackward<float> r = crnn::lstm_cell_backward(
        dh_in[u] + dyr[u], dc[u], gt[u], gt[H + u], gt[2 * H + u], gt[3 * H + u], c_prev[u], ct[u]);
    dzr[u] = r.dzi;
    dzr[H + u] = r.dzf;
    dzr[2 * H + u] = r.dzg;
    dzr[3 * H + u] = r.dzo;
    dc[u] = r.dc_prev;
  }
}

// Back through time for samples [b0, b1) of one direction (io: this layer and direction).
// dh (B, H) holds dh_n: the gradient entering a sample's last processed frame; the
// recurrence's own dh_{t-1} goes from the register tiles to the rows of dhp (B, dhp_stride).
CRNN_SIMD_CLONES void bptt_slice(const LayerIO &io, int64_t b0, int64_t b1, const LstmDims &k) {
  const int64_t B = k.B, H = k.H, G = k.G, ldh = dhp_stride(k);
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t s = (io.idx * B + b) * H;
    for (int64_t j = 0; j < H; ++j) {
      io.dh[b * H + j] = io.dh_n ? io.dh_n[s + j] : 0.0f;
      io.dc[b * H + j] = io.dc_n ? io.dc_n[s + j] : 0.0f;
    }
  }
  crnn::cpu::zero_tail(io.dz, dz_stride(k), G, io.len, b0, b1, k);
  for (int64_t b = b0; b < b1; ++b) cell_backward(io, b, k.T - 1, io.dh + b * H, k);
  const float *a[rec::kRows];
  // Step `step`, per tile of 6 samples: dh_{t-1} = dZ_t W_hh, 16 units at a time, then the
  // cell backward of those samples at step - 1 (or dh0 at step 0).
  for (int64_t step = k.T - 1; step > 0 || (step == 0 && io.dh0); --step)
    for (int64_t bb = b0; bb < b1; bb += rec::kRows) {
      const int mr = static_cast<int>(b1 - bb < rec::kRows ? b1 - bb : rec::kRows);
      for (int m = 0; m < mr; ++m) {
        const int64_t b = bb + m, Tb = io.len ? io.len[b] : k.T;
        a[m] = step < Tb ? io.dz + row_of(io, b, step, Tb, k) * dz_stride(k) : io.zero;
      }
      float *z = io.dhp + bb * ldh;
      if (io.mode == rec::Mode::kFloat32) {
        for (int64_t k0 = 0; k0 < H; k0 += rec::kPanel)
          rec::tile(mr, z + k0, z + k0 + 8, ldh, a, G,
                    io.panel + (k0 / rec::kPanel) * G * rec::kPanel);
      } else {
        const rec::TileRows rows(io.mode, mr, a, G);
        for (int64_t k0 = 0; k0 < H; k0 += rec::kPanel)
          rows.tile(z + k0, z + k0 + 8, ldh, io.panel + (k0 / rec::kPanel) * G * rec::kPanel);
      }
      for (int m = 0; m < mr; ++m) {
        const int64_t b = bb + m, Tb = io.len ? io.len[b] : k.T;
        // a sample not yet started at `step` starts at step - 1 from dh_n
        const float *dh_in = step < Tb ? z + m * ldh : io.dh + b * H;
        if (step > 0)
          cell_backward(io, b, step - 1, dh_in, k);
        else
          memcpy(io.dh0 + (io.idx * B + b) * H, dh_in, H * 4);
      }
    }
  if (io.dc0)
    for (int64_t b = b0; b < b1; ++b) memcpy(io.dc0 + (io.idx * B + b) * H, io.dc + b * H, H * 4);
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
  const int64_t TB = k.T * k.B, BH = k.B * k.H;
  const int64_t nblk = rec::ceil_div(k.H, rec::kPanel), psize = rec::backward_pack_size(k.H);
  const rec::Mode mode = rec::mode();
  crnn::cpu::parallel_chunks(nt, k.D * nblk, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      float *dst = at(ws.pack) + (u / nblk) * psize;
      rec::pack_backward(dst, w->w_hh[l * k.D + u / nblk], k.H, u % nblk, u % nblk + 1);
      rec::prepare_panels(dst + (u % nblk) * k.G * rec::kPanel, k.G, 1, mode);
    }
  });
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
                     at(ws.pack) + dir * psize,
                     at(ws.zero),
                     at(ws.dz) + dir * TB * dz_stride(k),
                     at(ws.dhp) + dir * k.B * dhp_stride(k),
                     state,
                     state + BH,
                     st.dh0,
                     st.dc0,
                     st.len,
                     dir,
                     idx,
                     mode};
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
  const int64_t TB = k.T * k.B, G = k.G, H = k.H, ldz = dz_stride(k);
  crnn::cpu::parallel_chunks(nt, G, [&](int64_t r0, int64_t r1) {
    crnn::cpu::gemm(true, false, r1 - r0, H, TB, dz + r0, ldz, hprev, H, 0.0f,
                    wg.dw_hh[idx] + r0 * H, H);
    crnn::cpu::gemm(true, false, r1 - r0, in_size, TB, dz + r0, ldz, in, in_size, 0.0f,
                    wg.dw_ih[idx] + r0 * in_size, in_size);
    if (!has_bias) return;
    float *db = wg.db_ih[idx];
    for (int64_t j = r0; j < r1; ++j) db[j] = 0.0f;
    for (int64_t t = 0; t < TB; ++t)
      for (int64_t j = r0; j < r1; ++j) db[j] += dz[t * ldz + j];
    memcpy(wg.db_hh[idx] + r0, db + r0, (r1 - r0) * 4);
  });
  crnn::cpu::parallel_chunks(nt, TB, [&](int64_t m0, int64_t m1) {
    crnn::cpu::gemm(false, false, m1 - m0, in_size, G, dz + m0 * ldz, ldz, w_ih, in_size,
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
  memset(zero, 0, k.G * 4);
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
      weight_and_input_grads(wg, din, k, idx, dir, nt, at(ws.dz) + dir * TB * dz_stride(k), hprev,
                             in, in_size, w->w_ih[idx], d->has_bias != 0);
    }
  }
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
