// Fused LSTM stack forward (CPU). See crnn/lstm.h for the contract.
//
// Per layer: (1) the input projection of all T frames, one GEMM per direction
// (T*B, I_l) x (I_l, 4H), its rows split over the cores; (2) the recurrence: every
// (direction, batch slice) runs on its own core with no synchronisation (samples are
// independent), each step a (b, H) x (H, 4H) GEMM followed by one fused, vectorized pass:
// bias add, sigmoid/tanh, cell update, output write (and, in training, the activated gates
// and cell states for the backward). OpenBLAS runs single-threaded inside our pool
// threads: two spinning thread pools on two cores halved the speed.
#include <string.h>

#include <initializer_list>

#include "../common/lstm_layout.h"
#include "../common/lstm_math.h"
#include "blas.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_layout.h"

namespace {

using Dims = crnn::cpu::LstmDims;
using crnn::cpu::zero_tail;

Dims dims_of(const crnn_lstm_desc *d) {
  return crnn::cpu::lstm_dims(d);
}

struct Workspace {
  size_t gx, g, state, bias, buf0, buf1, bytes;  // byte offsets
};

// Mirrors the carving in crnn_lstm_forward_f32.
Workspace workspace_of(const Dims &k) {
  crnn::cpu::Carver c;
  const auto take = [&c](size_t bytes) { return c.take(bytes); };
  const size_t f = sizeof(float), layer_out = k.L > 1 ? k.T * k.B * k.D * k.H * f : 0;
  Workspace w;
  w.gx = take(k.D * k.T * k.B * k.G * f);   // input projections (T, B, 4H) per direction
  w.g = take(k.D * k.B * k.G * f);          // recurrent products (B, 4H) per direction
  w.state = take(k.D * 2 * k.B * k.H * f);  // h, c (B, H) per direction
  w.bias = take(k.D * k.G * f);             // b_ih + b_hh per direction
  w.buf0 = take(layer_out);                 // inference: layer outputs, ping-pong
  w.buf1 = take(layer_out);
  w.bytes = c.off;
  return w;
}

// Samples [b0, b1) only: samples are independent in the recurrence, so each (direction,
// batch slice) runs on its own core with no synchronisation. h, c, g are full (B, .) arrays.
template <bool kTrain>
CRNN_CPU_INLINE void recurrence(float *y, int64_t y_stride, float *h, float *c, float *gates_res,
                                float *cell_res, const float *gx, const float *w_hh,
                                const float *bias, float *g, const int32_t *len, bool reverse,
                                int64_t b0, int64_t b1, const Dims &k) {
  const int64_t B = k.B, H = k.H, G = k.G;
  for (int64_t step = 0; step < k.T; ++step) {
    crnn::cpu::gemm(false, true, b1 - b0, G, H, h + b0 * H, H, w_hh, H, 0.0f, g + b0 * G, G);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t Tb = len ? len[b] : k.T;
      if (step >= Tb) continue;  // past this sample's length: state frozen
      const int64_t t = reverse ? Tb - 1 - step : step, row = t * B + b;
      const float *zx = gx + row * G, *zh = g + b * G;
      float *hb = h + b * H, *cb = c + b * H, *yo = y + row * y_stride;
      float *gr = kTrain ? gates_res + row * G : nullptr;
      float *cr = kTrain ? cell_res + row * H : nullptr;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        const crnn::LstmCellForward<float> r =
            crnn::lstm_cell_forward(zx[j] + zh[j] + bias[j], zx[H + j] + zh[H + j] + bias[H + j],
                                    zx[2 * H + j] + zh[2 * H + j] + bias[2 * H + j],
                                    zx[3 * H + j] + zh[3 * H + j] + bias[3 * H + j], cb[j]);
        cb[j] = r.c;
        hb[j] = r.h;
        yo[j] = r.h;
        if (kTrain) {
          gr[j] = r.i, gr[H + j] = r.f, gr[2 * H + j] = r.g, gr[3 * H + j] = r.o;
          cr[j] = r.c;
        }
      }
    }
  }
}

CRNN_SIMD_CLONES void recurrence_f32(float *y, int64_t y_stride, float *h, float *c,
                                     float *gates_res, float *cell_res, const float *gx,
                                     const float *w_hh, const float *bias, float *g,
                                     const int32_t *len, bool reverse, int64_t b0, int64_t b1,
                                     const Dims &k) {
  if (gates_res)
    recurrence<true>(y, y_stride, h, c, gates_res, cell_res, gx, w_hh, bias, g, len, reverse, b0,
                     b1, k);
  else
    recurrence<false>(y, y_stride, h, c, nullptr, nullptr, gx, w_hh, bias, g, len, reverse, b0, b1,
                      k);
}

}  // namespace

extern "C" {

size_t crnn_cpu_lstm_forward_workspace_size(const crnn_lstm_desc *d) {
  if (!d || d->T <= 0 || d->B <= 0 || d->I <= 0 || d->H <= 0 || d->num_layers <= 0) return 0;
  return workspace_of(dims_of(d)).bytes;
}

size_t crnn_lstm_reserve_size(const crnn_lstm_desc *d) {
  if (!d || d->T <= 0 || d->B <= 0 || d->I <= 0 || d->H <= 0 || d->num_layers <= 0) return 0;
  const Dims k = dims_of(d);
  return crnn::lstm_reserve_size(k.T, k.B, k.H, k.L, k.D);
}

crnn_status_t crnn_cpu_lstm_forward_f32(float *y, float *h_n, float *c_n, float *reserve,
                                        const float *x, const float *h0, const float *c0,
                                        const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                                        const crnn_lstm_desc *d, void *workspace,
                                        size_t workspace_bytes) {
  if (!y || !h_n || !c_n || !x || !crnn::cpu::lstm_args_ok(d, w, seq_length))
    return CRNN_STATUS_INVALID_VALUE;
  const Dims k = dims_of(d);
  const Workspace ws = workspace_of(k);
  if (!workspace || workspace_bytes < ws.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  char *base = static_cast<char *>(workspace);
  float *gx = reinterpret_cast<float *>(base + ws.gx), *g = reinterpret_cast<float *>(base + ws.g);
  float *state = reinterpret_cast<float *>(base + ws.state);
  float *bias = reinterpret_cast<float *>(base + ws.bias);
  float *bufs[2] = {reinterpret_cast<float *>(base + ws.buf0),
                    reinterpret_cast<float *>(base + ws.buf1)};
  const int64_t TB = k.T * k.B, BH = k.B * k.H, DH = k.D * k.H;
  const int nt = crnn::cpu::resolve_threads(d->num_threads, k.B * k.D);
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h): no second pool

  const float *in = x;
  int64_t in_size = k.I;
  for (int64_t l = 0; l < k.L; ++l) {
    float *res_out = reserve ? reserve + crnn::cpu::reserve_output(k, l) : nullptr;
    float *out = l == k.L - 1 ? y : reserve ? res_out : bufs[l % 2];
    for (int64_t dir = 0; dir < k.D; ++dir) {
      const int64_t idx = l * k.D + dir;
      float *gxd = gx + dir * TB * k.G;
      crnn::cpu::parallel_chunks(nt, TB, [&](int64_t m0, int64_t m1) {
        crnn::cpu::gemm(false, true, m1 - m0, k.G, in_size, in + m0 * in_size, in_size,
                        w->w_ih[idx], in_size, 0.0f, gxd + m0 * k.G, k.G);
      });
      for (int64_t j = 0; j < k.G; ++j)
        bias[dir * k.G + j] = d->has_bias ? w->b_ih[idx][j] + w->b_hh[idx][j] : 0.0f;
    }
    // Work units (direction, batch slice): nt / D slices per direction.
    const int64_t slices = nt >= k.D ? nt / k.D : 1, units = k.D * slices;
    crnn::cpu::parallel_for(nt, units, false, [&](int64_t u, int) {
      const int64_t dir = u / slices, s = u % slices;
      const int64_t b0 = k.B * s / slices, b1 = k.B * (s + 1) / slices, nb = b1 - b0;
      const int64_t idx = l * k.D + dir;
      float *h = state + dir * 2 * BH, *c = h + BH;
      for (float *st : {h, c}) {
        const float *init = st == h ? h0 : c0;
        if (init)
          memcpy(st + b0 * k.H, init + idx * BH + b0 * k.H, nb * k.H * 4);
        else
          memset(st + b0 * k.H, 0, nb * k.H * 4);
      }
      float *gates_res = reserve ? reserve + crnn::cpu::reserve_gates(k, l, dir) : nullptr;
      float *cell_res = reserve ? reserve + crnn::cpu::reserve_cells(k, l, dir) : nullptr;
      zero_tail(out + dir * k.H, DH, k.H, seq_length, b0, b1, k);
      if (reserve) {
        zero_tail(gates_res, k.G, k.G, seq_length, b0, b1, k);
        zero_tail(cell_res, k.H, k.H, seq_length, b0, b1, k);
      }
      recurrence_f32(out + dir * k.H, DH, h, c, gates_res, cell_res, gx + dir * TB * k.G,
                     w->w_hh[idx], bias + dir * k.G, g + dir * k.B * k.G, seq_length, dir == 1, b0,
                     b1, k);
      memcpy(h_n + idx * BH + b0 * k.H, h + b0 * k.H, nb * k.H * 4);
      memcpy(c_n + idx * BH + b0 * k.H, c + b0 * k.H, nb * k.H * 4);
    });
    in = out;
    in_size = DH;
  }
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
