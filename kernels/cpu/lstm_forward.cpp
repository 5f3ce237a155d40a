// Fused LSTM stack forward (CPU). See crnn/lstm.h for the contract.
//
// Per layer: (1) the input projection of all T frames, one GEMM per direction
// (T*B, I_l) x (I_l, 4H), its rows split over the cores; (2) W_hh packed once into panels
// (lstm_recurrent.h); (3) the recurrence: every (direction, batch slice) runs on its own core
// with no synchronisation (samples are independent). Each step, per tile of 6 samples, the
// micro-kernel accumulates their pre-activations h_{t-1} W_hh^T, 2 gates x 8 units at a time
// in registers, into a 6-row buffer, and the cell update (bias, sigmoid/tanh, c, h, output
// and, in training, the reserve) runs on those rows while they are in L1/L2: no per-step
// sgemm (which repacked the 1 MB W_hh every frame) and no (B, 4H) round trip through memory.
// OpenBLAS runs single-threaded inside our pool threads: two spinning thread pools on two
// cores halved the speed.
#include <string.h>

#include <initializer_list>

#include "../common/lstm_layout.h"
#include "../common/lstm_math.h"
#include "blas.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "lstm_layout.h"
#include "lstm_packed.h"
#include "lstm_recurrent.h"

namespace {

using Dims = crnn::cpu::LstmDims;
using crnn::cpu::zero_tail;

Dims dims_of(const crnn_lstm_desc *d) {
  return crnn::cpu::lstm_dims(d);
}

// Row stride of the input projections gx: 4H + 16 floats, so that rows 4 KB apart (4H = 1024)
// do not all map to the same L1 sets. It mattered while the cell update read 32-byte pieces of
// 6 rows x 4 gates at once (those fell into 4 sets); with whole rows now it is a 1.6% larger
// buffer kept as a guard, not separately measured.
int64_t gx_stride(const Dims &k) {
  return k.G + 16;
}

namespace rec = crnn::cpu::lstm_rec;

// Row stride of the recurrent products z = h_{t-1} W_hh^T, one row per sample, gate g's units
// at g * Hp (Hp = H rounded up to the 8-unit blocks the tiles write), padded by 16 floats.
int64_t z_stride(const Dims &k) {
  return 4 * rec::forward_units(k.H) + 16;
}

struct Workspace {
  size_t gx, pack, z, state, bias, buf0, buf1, bytes;  // byte offsets
};

// Mirrors the carving in crnn_lstm_forward_f32.
Workspace workspace_of(const Dims &k) {
  crnn::cpu::Carver c;
  const auto take = [&c](size_t bytes) { return c.take(bytes); };
  const size_t f = sizeof(float), layer_out = k.L > 1 ? k.T * k.B * k.D * k.H * f : 0;
  Workspace w;
  w.gx = take(k.D * k.T * k.B * gx_stride(k) * f);       // input projections (T, B, 4H) per dir
  w.pack = take(k.D * rec::forward_pack_size(k.H) * f);  // W_hh panels per direction
  w.z = take(k.D * k.B * z_stride(k) * f);               // recurrent products per direction
  w.state = take(k.D * 2 * k.B * k.H * f);               // h, c (B, H) per direction
  w.bias = take(k.D * k.G * f);                          // b_ih + b_hh per direction
  w.buf0 = take(layer_out);                              // inference: layer outputs, ping-pong
  w.buf1 = take(layer_out);
  w.bytes = c.off;
  return w;
}

// Below this many input rows (T B) per thread the input projection splits its gate columns
// over the threads instead of its rows.
constexpr int64_t kMinProjectionRows = 32;

// One direction's recurrence inputs and outputs.
struct Recurrence {
  float *y, *h, *c, *gates_res, *cell_res;  // gates_res, cell_res NULL: inference
  float *z;                                 // (B, z_stride) scratch
  const float *gx, *panel, *bias;
  const int32_t *len;
  int64_t y_stride;
  bool reverse;
  bool h0_zero;  // h0 = NULL: the first step's products are zeros (1/T of the work skipped)
  crnn::cpu::lstm_rec::Mode mode;  // float32 or bfloat16 products (the panels' form)
};

// The cell update of sample b at `step` from its row of z: bias, sigmoid/tanh, c, h, the
// output and, in training, the reserve.
template <bool kTrain>
CRNN_CPU_INLINE void cell_update(const Recurrence &r, int64_t b, int64_t step, const Dims &k) {
  const int64_t B = k.B, H = k.H, G = k.G, Hp = rec::forward_units(H);
  const int64_t Tb = r.len ? r.len[b] : k.T;
  if (step >= Tb) return;  // past this sample's length: state frozen
  const int64_t t = r.reverse ? Tb - 1 - step : step, row = t * B + b;
  const float *zx = r.gx + row * gx_stride(k), *zh = r.z + b * z_stride(k), *bias = r.bias;
  float *hb = r.h + b * H, *cb = r.c + b * H, *yo = r.y + row * r.y_stride;
  float *gr = kTrain ? r.gates_res + row * G : nullptr;
  float *cr = kTrain ? r.cell_res + row * H : nullptr;
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const crnn::LstmCellForward<float> o =
        crnn::lstm_cell_forward(zx[j] + zh[j] + bias[j], zx[H + j] + zh[Hp + j] + bias[H + j],
                                zx[2 * H + j] + zh[2 * Hp + j] + bias[2 * H + j],
                                zx[3 * H + j] + zh[3 * Hp + j] + bias[3 * H + j], cb[j]);
    cb[j] = o.c;
    hb[j] = o.h;
    yo[j] = o.h;
    if (kTrain) {
      gr[j] = o.i, gr[H + j] = o.f, gr[2 * H + j] = o.g, gr[3 * H + j] = o.o;
      cr[j] = o.c;
    }
  }
}

// Samples [b0, b1) only. Per step, per tile of up to 6 samples: for every block of 8 units
// two register tiles ([i f], [g o]) into z, then the cell update of those samples (their h
// rows are read only by their own tiles, so h is updated in place).
template <bool kTrain>
CRNN_CPU_INLINE void recurrence(const Recurrence &r, int64_t b0, int64_t b1, const Dims &k) {
  const int64_t H = k.H, Hp = rec::forward_units(H), ldz = z_stride(k);
  const float *a[rec::kRows];
  for (int64_t step = 0; step < k.T; ++step)
    for (int64_t bb = b0; bb < b1; bb += rec::kRows) {
      const int mr = static_cast<int>(b1 - bb < rec::kRows ? b1 - bb : rec::kRows);
      for (int m = 0; m < mr; ++m) a[m] = r.h + (bb + m) * H;
      float *z = r.z + bb * ldz;
      if (step == 0 && r.h0_zero) {
        memset(z, 0, mr * ldz * 4);
      } else if (r.mode == rec::Mode::kFloat32) {
        int64_t j0 = 0;
        if (mr == 1)  // two unit blocks (four panels) at a time: see tile_row4
          for (; j0 + 2 * rec::kFwdUnits <= Hp; j0 += 2 * rec::kFwdUnits)
            rec::tile_row4(z, Hp, j0, a[0], H,
                           r.panel + (j0 / rec::kFwdUnits) * 2 * H * rec::kPanel);
        for (; j0 < H; j0 += rec::kFwdUnits) {
          const float *pif = r.panel + (j0 / rec::kFwdUnits) * 2 * H * rec::kPanel;
          rec::tile(mr, z + j0, z + Hp + j0, ldz, a, H, pif);
          rec::tile(mr, z + 2 * Hp + j0, z + 3 * Hp + j0, ldz, a, H, pif + H * rec::kPanel);
        }
      } else {
        const rec::TileRows rows(r.mode, mr, a, H);
        for (int64_t j0 = 0; j0 < H; j0 += rec::kFwdUnits) {
          const float *pif = r.panel + (j0 / rec::kFwdUnits) * 2 * H * rec::kPanel;
          rows.tile(z + j0, z + Hp + j0, ldz, pif);
          rows.tile(z + 2 * Hp + j0, z + 3 * Hp + j0, ldz, pif + H * rec::kPanel);
        }
      }
      for (int m = 0; m < mr; ++m) cell_update<kTrain>(r, bb + m, step, k);
    }
}

CRNN_SIMD_CLONES void recurrence_f32(const Recurrence &r, int64_t b0, int64_t b1, const Dims &k) {
  if (r.gates_res)
    recurrence<true>(r, b0, b1, k);
  else
    recurrence<false>(r, b0, b1, k);
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
  return crnn::cpu::lstm_forward(y, h_n, c_n, reserve, x, h0, c0, seq_length, w, d, workspace,
                                 workspace_bytes, nullptr);
}

}  // extern "C"

int64_t crnn::cpu::lstm_panels_size(int64_t H, int64_t D) {
  return D * rec::forward_pack_size(H);
}

int crnn::cpu::lstm_panel_form() {
  return static_cast<int>(rec::mode());
}

void crnn::cpu::lstm_pack_layer(float *panels, const crnn_lstm_weights_f32 *w, int64_t layer,
                                int64_t D, int64_t H) {
  const int64_t nblk = rec::ceil_div(H, rec::kFwdUnits), psize = rec::forward_pack_size(H);
  const rec::Mode mode = rec::mode();
  for (int64_t dir = 0; dir < D; ++dir) {
    float *dst = panels + dir * psize;
    rec::pack_forward(dst, w->w_hh[layer * D + dir], H, 0, nblk);
    rec::prepare_panels(dst, H, 2 * nblk, mode);
  }
}

crnn_status_t crnn::cpu::lstm_forward(float *y, float *h_n, float *c_n, float *reserve,
                                      const float *x, const float *h0, const float *c0,
                                      const int32_t *seq_length, const crnn_lstm_weights_f32 *w,
                                      const crnn_lstm_desc *d, void *workspace,
                                      size_t workspace_bytes, const float *const *panels) {
  if (!y || !h_n || !c_n || !x || !crnn::cpu::lstm_args_ok(d, w, seq_length))
    return CRNN_STATUS_INVALID_VALUE;
  const Dims k = dims_of(d);
  const Workspace ws = workspace_of(k);
  if (!workspace || workspace_bytes < ws.bytes) return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  char *base = static_cast<char *>(workspace);
  float *gx = reinterpret_cast<float *>(base + ws.gx);
  float *pack = reinterpret_cast<float *>(base + ws.pack);
  float *zbuf = reinterpret_cast<float *>(base + ws.z);
  float *state = reinterpret_cast<float *>(base + ws.state);
  float *bias = reinterpret_cast<float *>(base + ws.bias);
  float *bufs[2] = {reinterpret_cast<float *>(base + ws.buf0),
                    reinterpret_cast<float *>(base + ws.buf1)};
  const int64_t TB = k.T * k.B, BH = k.B * k.H, DH = k.D * k.H, ldgx = gx_stride(k);
  const int nt = crnn::cpu::resolve_threads(d->num_threads, k.B * k.D);
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h): no second pool
  const rec::Mode mode = rec::mode();

  const float *in = x;
  int64_t in_size = k.I;
  for (int64_t l = 0; l < k.L; ++l) {
    float *res_out = reserve ? reserve + crnn::cpu::reserve_output(k, l) : nullptr;
    float *out = l == k.L - 1 ? y : reserve ? res_out : bufs[l % 2];
    for (int64_t dir = 0; dir < k.D; ++dir) {
      const int64_t idx = l * k.D + dir;
      float *gxd = gx + dir * TB * ldgx;
      if (TB >= nt * kMinProjectionRows)
        crnn::cpu::parallel_chunks(nt, TB, [&](int64_t m0, int64_t m1) {
          crnn::cpu::gemm(false, true, m1 - m0, k.G, in_size, in + m0 * in_size, in_size,
                          w->w_ih[idx], in_size, 0.0f, gxd + m0 * ldgx, ldgx);
        });
      else  // few rows (inference at B = 1): split the gate columns, each thread reads part of W_ih
        crnn::cpu::parallel_chunks(nt, (k.G + 15) / 16, [&](int64_t n0, int64_t n1) {
          n0 *= 16, n1 = n1 * 16 < k.G ? n1 * 16 : k.G;
          crnn::cpu::gemm(false, true, TB, n1 - n0, in_size, in, in_size,
                          w->w_ih[idx] + n0 * in_size, in_size, 0.0f, gxd + n0, ldgx);
        });
      for (int64_t j = 0; j < k.G; ++j)
        bias[dir * k.G + j] = d->has_bias ? w->b_ih[idx][j] + w->b_hh[idx][j] : 0.0f;
    }
    // W_hh panels of both directions (given, or packed here with the unit blocks split over
    // the cores).
    const int64_t nblk = rec::ceil_div(k.H, rec::kFwdUnits), psize = rec::forward_pack_size(k.H);
    const float *layer_pack = panels ? panels[l] : pack;
    if (!panels)
      crnn::cpu::parallel_chunks(nt, k.D * nblk, [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
          float *dst = pack + (u / nblk) * psize;
          rec::pack_forward(dst, w->w_hh[l * k.D + u / nblk], k.H, u % nblk, u % nblk + 1);
          rec::prepare_panels(dst + (u % nblk) * 2 * k.H * rec::kPanel, k.H, 2, mode);
        }
      });
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
      const Recurrence r{out + dir * k.H,
                         h,
                         c,
                         gates_res,
                         cell_res,
                         zbuf + dir * k.B * z_stride(k),
                         gx + dir * TB * ldgx,
                         layer_pack + dir * psize,
                         bias + dir * k.G,
                         seq_length,
                         DH,
                         dir == 1,
                         h0 == nullptr,
                         mode};
      recurrence_f32(r, b0, b1, k);
      memcpy(h_n + idx * BH + b0 * k.H, h + b0 * k.H, nb * k.H * 4);
      memcpy(c_n + idx * BH + b0 * k.H, c + b0 * k.H, nb * k.H * 4);
    });
    in = out;
    in_size = DH;
  }
  return CRNN_STATUS_SUCCESS;
}
