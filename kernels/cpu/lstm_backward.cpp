// Fused LSTM stack backward (CPU). See crnn/lstm.h for the contract.
//
// Per layer, top to bottom: (1) back through time, every (direction, batch slice) on its own
// core: fused pointwise gate derivatives from the reserve (activated gates, cell states)
// into dZ (T, B, 4H), then dh_prev = dZ_t W_hh, one (b, 4H) x (4H, H) GEMM per step;
// (2) dW_hh = dZ^T H_prev, dW_ih = dZ^T X, db = sum dZ and dX = sum_d dZ_d W_ih as GEMMs over
// all T*B rows, split over the cores (OpenBLAS single-threaded inside).
#include <string.h>

#include <vector>

#include "../common/fast_math.h"
#include "blas.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_layout.h"

namespace {

using crnn::cpu::LstmDims;

struct Workspace {
  size_t dz, step, dhn, state, zero, hprev, buf0, buf1, bytes;  // byte offsets
};

// Mirrors the carving in crnn_lstm_backward_f32.
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
        const float i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
        const float dhj = dh[j] + dyr[j], tc = crnn::tanh_fast(ct[j]);
        const float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
        const float zi = dcj * g * i * (1.0f - i), zf = dcj * c_prev[j] * f * (1.0f - f);
        const float zg = dcj * i * (1.0f - g * g), zo = dhj * tc * o * (1.0f - o);
        dzr[j] = zs[j] = zi;
        dzr[H + j] = zs[H + j] = zf;
        dzr[2 * H + j] = zs[2 * H + j] = zg;
        dzr[3 * H + j] = zs[3 * H + j] = zo;
        dc[j] = dcj * f;
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
  if (!dx || !dw_ih || !dw_hh || !dy || !x || !y || !reserve ||
      !crnn::cpu::lstm_args_ok(d, w, seq_length) || (d->has_bias && (!db_ih || !db_hh)))
    return CRNN_STATUS_INVALID_VALUE;
  const LstmDims k = crnn::cpu::lstm_dims(d);
  for (int64_t i = 0; i < k.L * k.D; ++i)
    if (!dw_ih[i] || !dw_hh[i] || (d->has_bias && (!db_ih[i] || !db_hh[i])))
      return CRNN_STATUS_INVALID_VALUE;
  const Workspace ws = workspace_of(k);
  if (!workspace || workspace_bytes < ws.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  char *base = static_cast<char *>(workspace);
  const auto at = [base](size_t off) { return reinterpret_cast<float *>(base + off); };
  float *zero = at(ws.zero), *hprev = at(ws.hprev), *bufs[2] = {at(ws.buf0), at(ws.buf1)};
  memset(zero, 0, k.H * 4);
  const int64_t TB = k.T * k.B, BH = k.B * k.H, DH = k.D * k.H, G = k.G, H = k.H;
  const int nt = crnn::cpu::resolve_threads(d->num_threads, k.B * k.D);
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)

  // Reserve offsets of each layer (walked top-down here, so precompute).
  std::vector<const float *> res_layer(k.L);
  const float *r = reserve;
  for (int64_t l = 0; l < k.L; ++l) res_layer[l] = r, r += crnn::cpu::lstm_reserve_of_layer(k, l);

  for (int64_t l = k.L - 1; l >= 0; --l) {
    const int64_t in_size = l == 0 ? k.I : DH;
    const float *in = l == 0 ? x : res_layer[l - 1] + k.D * TB * (G + H);
    const float *out = l == k.L - 1 ? y : res_layer[l] + k.D * TB * (G + H);
    const float *dout = l == k.L - 1 ? dy : bufs[(l + 1) % 2];
    float *din = l == 0 ? dx : bufs[l % 2];

    const int64_t slices = nt >= k.D ? nt / k.D : 1, units = k.D * slices;
    crnn::cpu::parallel_for(nt, units, false, [&](int64_t u, int) {
      const int64_t dir = u / slices, s = u % slices, idx = l * k.D + dir;
      const float *gates = res_layer[l] + dir * TB * (G + H);
      LayerIO io{gates,
                 gates + TB * G,
                 out,
                 dout,
                 h0,
                 c0,
                 dh_n,
                 dc_n,
                 w->w_hh[idx],
                 zero,
                 at(ws.dz) + dir * TB * G,
                 at(ws.step) + dir * k.B * G,
                 at(ws.dhn) + dir * BH,
                 at(ws.state) + dir * 2 * BH,
                 at(ws.state) + dir * 2 * BH + BH,
                 dh0,
                 dc0,
                 seq_length,
                 dir,
                 idx};
      bptt_slice(io, k.B * s / slices, k.B * (s + 1) / slices, k);
    });

    for (int64_t dir = 0; dir < k.D; ++dir) {
      const int64_t idx = l * k.D + dir;
      const float *dz = at(ws.dz) + dir * TB * G;
      // h entering each frame: the previous processed frame's output, or h0 at the first.
      crnn::cpu::parallel_chunks(nt, k.B, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t Tb = seq_length ? seq_length[b] : k.T;
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
      crnn::cpu::parallel_chunks(nt, G, [&](int64_t r0, int64_t r1) {
        crnn::cpu::gemm(true, false, r1 - r0, H, TB, dz + r0, G, hprev, H, 0.0f,
                        dw_hh[idx] + r0 * H, H);
        crnn::cpu::gemm(true, false, r1 - r0, in_size, TB, dz + r0, G, in, in_size, 0.0f,
                        dw_ih[idx] + r0 * in_size, in_size);
        if (!d->has_bias) return;
        for (int64_t j = r0; j < r1; ++j) db_ih[idx][j] = 0.0f;
        for (int64_t t = 0; t < TB; ++t)
          for (int64_t j = r0; j < r1; ++j) db_ih[idx][j] += dz[t * G + j];
        memcpy(db_hh[idx] + r0, db_ih[idx] + r0, (r1 - r0) * 4);
      });
      crnn::cpu::parallel_chunks(nt, TB, [&](int64_t m0, int64_t m1) {
        crnn::cpu::gemm(false, false, m1 - m0, in_size, G, dz + m0 * G, G, w->w_ih[idx], in_size,
                        dir == 0 ? 0.0f : 1.0f, din + m0 * in_size, in_size);
      });
    }
  }
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
