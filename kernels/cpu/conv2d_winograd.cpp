// Winograd F(mh x m, 3x3), 2x2, 4x4 or 2x4 (conv2d_winograd.h): the plan, chunking and threading
// shared by all variants; the tile transforms are the variant's (conv2d_winograd_f2.cpp, _f4.cpp).
// Per chunk of samples (one chunk per pool task): input transform into V, T sgemms into M, output
// transform (+ bias, ReLU) into y. The weight gradient is the transpose: Z = A dy A^T per tile,
// dU[k] += Z[k] V[k]^T (per-thread sums), dw = G^T dU G.
#include "conv2d_winograd.h"

#include <stdlib.h>
#include <string.h>

#include <vector>

#include "blas.h"
#include "conv2d_winograd_tiles.h"
#include "cpu_common.h"
#include "gemm_small_n.h"

namespace crnn {
namespace cpu {
namespace winograd {
namespace {

enum class Mode { kForward, kDataGrad, kWeightGrad };

bool forced(const char *variant) {  // the test / benchmark knob (see tiles)
  const char *v = getenv("CRNN_FAST_WINOGRAD");
  return v && strcmp(v, variant) == 0;
}

Plan make_plan(const crnn_conv2d_desc *d, Mode mode) {
  Plan p;
  const Tiles shape = tiles(d);
  p.v = shape == Tiles::kF2x2   ? &kF2
        : shape == Tiles::kF2x4 ? &kF2x4
        : forced("f4std")       ? &kF4Standard
                                : &kF4;
  p.e = mode == Mode::kDataGrad ? data_gradient_desc(d) : *d;
  p.mh = p.v->mh, p.m = p.v->m, p.T = (p.mh + 2) * (p.m + 2);
  p.C = p.e.C_in, p.O = p.e.C_out;
  p.Ho = crnn_conv2d_out_h(&p.e), p.Wo = crnn_conv2d_out_w(&p.e);
  p.TH = (p.Ho + p.mh - 1) / p.mh, p.TW = (p.Wo + p.m - 1) / p.m, p.tiles = p.TH * p.TW;
  p.Hp = p.mh * p.TH + 2;
  const int64_t blocks = (p.TW + 15) / 16;  // of 16 tiles, 16 m (+ 2 input) columns
  p.W2s = 16 * p.m * blocks, p.Wps = p.W2s + 16;
  const int64_t target = mode == Mode::kWeightGrad ? p.v->target_tiles_wgrad : p.v->target_tiles;
  const int64_t want = (target + p.tiles - 1) / p.tiles;
  const int nt_max = resolve_threads(d->num_threads, d->B * p.O);  // not capped by B
  p.chunk = balanced_unit(d->B, nt_max, want);
  p.units = (d->B + p.chunk - 1) / p.chunk;
  // Fewer chunks than threads (a small batch): one chunk, every thread on it (forward only).
  p.nt = mode != Mode::kWeightGrad && p.units < nt_max ? nt_max
                                                       : resolve_threads(d->num_threads, p.units);
  p.Pmax = p.chunk * p.tiles;
  Carver c;
  p.u_off = c.take(sizeof(float) * p.T * p.O * p.C);
  Carver t;
  p.v_off = t.take(sizeof(float) * p.T * p.C * (p.Pmax + 16));
  p.m_off = t.take(sizeof(float) * p.T * p.O * (p.Pmax + 16));
  p.in_off = t.take(sizeof(float) * p.Hp * p.Wps);
  p.out_off = t.take(sizeof(float) * p.mh * p.TH * p.W2s);
  p.du_off = t.take(mode == Mode::kWeightGrad ? sizeof(float) * p.T * p.O * p.C : 0);
  p.taps_off = t.take(mode == Mode::kWeightGrad ? 0 : sizeof(float) * 9 * p.C);
  p.per_thread = t.off;
  p.threads_off = c.off;
  p.bytes = c.off + p.nt * p.per_thread;
  return p;
}

// U[k][o][c] for output channels [o0, o1); g is the caller's (9, C) scratch. With flip, the
// weights of the data-gradient convolution: w'[o][c][i][j] = w[c][o][2 - i][2 - j].
void transform_weights(float *U, float *g, const float *w, const Plan &p, bool flip, int64_t o0,
                       int64_t o1) {
  const int64_t step = flip ? 9 * p.O : 9;  // from channel c to c + 1 in w
  for (int64_t o = o0; o < o1; ++o) {
    const float *wo = w + (flip ? 9 * o : 9 * o * p.C);
    for (int64_t c = 0; c < p.C; ++c)
      for (int k = 0; k < 9; ++k) g[k * p.C + c] = wo[c * step + (flip ? 8 - k : k)];
    p.v->weights(U + o * p.C, p.O * p.C, g, p.C);
  }
}

void pad_plane(float *xp, const float *x, const Plan &p) {
  const crnn_conv2d_desc &e = p.e;
  memset(xp, 0, sizeof(float) * p.Hp * p.Wps);
  for (int64_t h = 0; h < e.H && h + e.pad_t < p.Hp; ++h)
    memcpy(xp + (h + e.pad_t) * p.Wps + e.pad_l, x + h * e.W, sizeof(float) * e.W);
}

// One chunk of samples [n0, n1): V and M live in region 0 of `regions` (per_thread bytes
// apart), each of the nt threads working on it uses its own region's planes. nt = 1 inside a
// per-chunk task; nt > 1 when a small batch is one chunk (each phase is then split: channels,
// (k, block of output channels), output channels).
void run_chunk(float *y, const float *x, const float *b, const float *U, const float *UP,
               const Plan &p, int64_t n0, int64_t n1, char *regions, int nt) {
  const auto region = [&](int t) { return regions + t * p.per_thread; };
  float *V = reinterpret_cast<float *>(region(0) + p.v_off);
  float *M = reinterpret_cast<float *>(region(0) + p.m_off);
  const crnn_conv2d_desc &e = p.e;
  const int64_t P = (n1 - n0) * p.tiles, ld = P + 16, HW = e.H * e.W, HWo = p.Ho * p.Wo;
  parallel_for(nt, p.C, false, [&](int64_t c, int tid) {
    float *xp = reinterpret_cast<float *>(region(tid) + p.in_off);
    for (int64_t n = n0; n < n1; ++n) {
      pad_plane(xp, x + (n * p.C + c) * HW, p);
      p.v->input(V + c * ld + (n - n0) * p.tiles, p.C * ld, xp, p);
    }
  });
  if (UP && P <= kSmallN && p.C >= kSmallNMinK && matmul_precision() == MatmulPrecision::kFloat32) {
    const int64_t panels = p.O / kPanelRows;  // split in whole panels
    parallel_for(nt, p.T * nt, false, [&](int64_t j, int) {
      const int64_t k = j / nt, o0 = panels * (j % nt) / nt * kPanelRows;
      const int64_t o1 = panels * (j % nt + 1) / nt * kPanelRows;
      if (o1 > o0)
        gemm_small_n(o1 - o0, P, p.C, UP + (k * p.O + o0) * p.C, V + k * p.C * ld, ld,
                     M + (k * p.O + o0) * ld, ld);
    });
  } else {
    parallel_for(nt, p.T * nt, false, [&](int64_t j, int) {
      const int64_t k = j / nt, o0 = p.O * (j % nt) / nt, o1 = p.O * (j % nt + 1) / nt;
      gemm(false, false, o1 - o0, P, p.C, U + (k * p.O + o0) * p.C, p.C, V + k * p.C * ld, ld, 0.0f,
           M + (k * p.O + o0) * ld, ld);
    });
  }
  parallel_for(nt, p.O, false, [&](int64_t o, int tid) {
    float *yp = reinterpret_cast<float *>(region(tid) + p.out_off);
    const float bias = b ? b[o] : 0.0f;
    for (int64_t n = n0; n < n1; ++n) {
      p.v->output(yp, M + o * ld + (n - n0) * p.tiles, p.O * ld, p);
      float *dst = y + (n * p.O + o) * HWo;
      for (int64_t h = 0; h < p.Ho; ++h) {
        const float *src = yp + h * p.W2s;
        float *row = dst + h * p.Wo;
        if (e.relu)
          for (int64_t i = 0; i < p.Wo; ++i) row[i] = src[i] + bias > 0.0f ? src[i] + bias : 0.0f;
        else
          for (int64_t i = 0; i < p.Wo; ++i) row[i] = src[i] + bias;
      }
    }
  });
}

// dU (T, O, C) += Z V^T over the chunk's tiles.
void weight_grad_chunk(float *dU, const float *dy, const float *x, const Plan &p, int64_t n0,
                       int64_t n1, char *scratch) {
  float *V = reinterpret_cast<float *>(scratch + p.v_off);
  float *Z = reinterpret_cast<float *>(scratch + p.m_off);
  float *xp = reinterpret_cast<float *>(scratch + p.in_off);
  float *gp = reinterpret_cast<float *>(scratch + p.out_off);
  const crnn_conv2d_desc &e = p.e;
  const int64_t P = (n1 - n0) * p.tiles, ld = P + 16, HW = e.H * e.W;
  memset(gp, 0, sizeof(float) * p.mh * p.TH * p.W2s);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t c = 0; c < p.C; ++c) {
      pad_plane(xp, x + (n * p.C + c) * HW, p);
      p.v->input(V + c * ld + (n - n0) * p.tiles, p.C * ld, xp, p);
    }
    for (int64_t o = 0; o < p.O; ++o) {
      const float *g = dy + (n * p.O + o) * p.Ho * p.Wo;
      for (int64_t h = 0; h < p.Ho; ++h) memcpy(gp + h * p.W2s, g + h * p.Wo, sizeof(float) * p.Wo);
      p.v->output_grad(Z + o * ld + (n - n0) * p.tiles, p.O * ld, gp, p);
    }
  }
  for (int64_t k = 0; k < p.T; ++k)
    gemm(false, true, p.O, p.C, P, Z + k * p.O * ld, ld, V + k * p.C * ld, ld, 1.0f,
         dU + k * p.O * p.C, p.C);
}

// dw[i] = G^T (sum over threads of dU_t[.][i]) G for i = o C + c in [first, i0 + 16): the sums
// 16 pairs at a time (i0 <= first; the last block of a plane overlaps the one before it).
CRNN_SIMD_CLONES
void finish_weight_grad(float *dw, const Plan &p, char *base, int64_t i0, int64_t first) {
  const int64_t OC = p.O * p.C;
  float u[36 * 16];  // u[k 16 + lane]
  for (int64_t k = 0; k < p.T; ++k) {
    f16v acc = load16(reinterpret_cast<float *>(base + p.du_off) + k * OC + i0);
    for (int t = 1; t < p.nt; ++t)
      acc += load16(reinterpret_cast<float *>(base + t * p.per_thread + p.du_off) + k * OC + i0);
    store16(u + 16 * k, acc);
  }
  for (int64_t lane = first - i0; lane < 16; ++lane)
    p.v->weights_grad(dw + (i0 + lane) * 9, u + lane, 16);
}

}  // namespace

Tiles tiles(const crnn_conv2d_desc *d) {
  if (forced("f2")) return Tiles::kF2x2;
  if (forced("f4") || forced("f4std")) return Tiles::kF4x4;
  if (forced("f2x4")) return Tiles::kF2x4;
  if (matmul_precision() == MatmulPrecision::kBFloat16) return Tiles::kF2x2;
  const auto flops = [&](int64_t mh, int64_t m) {  // sgemm points over the plane's tiles
    return (mh + 2) * (m + 2) * ((crnn_conv2d_out_h(d) + mh - 1) / mh) *
           ((crnn_conv2d_out_w(d) + m - 1) / m);
  };
  if (4 * flops(4, 4) <= 3 * flops(2, 2)) return Tiles::kF4x4;
  return 5 * flops(2, 4) <= 4 * flops(2, 2) ? Tiles::kF2x4 : Tiles::kF2x2;
}

void weight_gradient(float *dw, const float *dy, const float *x, const crnn_conv2d_desc *d,
                     void *workspace) {
  const Plan p = make_plan(d, Mode::kWeightGrad);
  char *base = static_cast<char *>(workspace) + p.threads_off;
  const auto dU_of = [&](int t) {
    return reinterpret_cast<float *>(base + t * p.per_thread + p.du_off);
  };
  set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  for (int t = 0; t < p.nt; ++t) memset(dU_of(t), 0, sizeof(float) * p.T * p.O * p.C);
  parallel_for(p.nt, p.units, false, [&](int64_t u, int tid) {
    const int64_t n0 = u * p.chunk, n1 = n0 + p.chunk < d->B ? n0 + p.chunk : d->B;
    weight_grad_chunk(dU_of(tid), dy, x, p, n0, n1, base + tid * p.per_thread);
  });
  const int64_t OC = p.O * p.C, blocks = (OC + 15) / 16;  // OC >= 256
  parallel_for(p.nt, blocks, false, [&](int64_t blk, int) {
    finish_weight_grad(dw, p, base, blk * 16 + 16 <= OC ? blk * 16 : OC - 16, blk * 16);
  });
}

bool eligible(const crnn_conv2d_desc *d) {
  const auto small = [](int64_t v) { return v >= 0 && v <= 2; };
  if (forced("off")) return false;  // CRNN_FAST_WINOGRAD=off: im2col for every layer
  return d->kh == 3 && d->kw == 3 && d->stride_h == 1 && d->stride_w == 1 && d->dil_h == 1 &&
         d->dil_w == 1 && d->groups == 1 && d->C_in >= 16 && d->C_out >= 16 && small(d->pad_t) &&
         small(d->pad_b) && small(d->pad_l) && small(d->pad_r);
}

crnn_conv2d_desc data_gradient_desc(const crnn_conv2d_desc *d) {
  crnn_conv2d_desc e = *d;
  e.C_in = d->C_out, e.C_out = d->C_in;
  e.H = crnn_conv2d_out_h(d), e.W = crnn_conv2d_out_w(d);
  e.pad_t = 2 - d->pad_t, e.pad_b = 2 - d->pad_b, e.pad_l = 2 - d->pad_l, e.pad_r = 2 - d->pad_r;
  e.relu = 0;
  return e;
}

size_t forward_workspace(const crnn_conv2d_desc *d, bool flip_transpose) {
  return make_plan(d, flip_transpose ? Mode::kDataGrad : Mode::kForward).bytes;
}

size_t weight_gradient_workspace(const crnn_conv2d_desc *d) {
  return make_plan(d, Mode::kWeightGrad).bytes;
}

const void *variant(const crnn_conv2d_desc *d) {
  return make_plan(d, Mode::kForward).v;
}

// narrow() for the forward plan p of d.
static bool narrow_plan(const crnn_conv2d_desc *d, const Plan &p) {
  return matmul_precision() == MatmulPrecision::kFloat32 && d->C_out % kPanelRows == 0 &&
         d->C_in >= kSmallNMinK && (p.units < p.nt ? d->B : p.chunk) * p.tiles <= kSmallN;
}

bool narrow(const crnn_conv2d_desc *d) {
  return narrow_plan(d, make_plan(d, Mode::kForward));
}

void pack_forward_panels(float *UP, const float *U, const crnn_conv2d_desc *d) {
  const Plan p = make_plan(d, Mode::kForward);
  for (int64_t k = 0; k < p.T; ++k)
    pack_small_n(UP + k * p.O * p.C, U + k * p.O * p.C, p.O, p.C, p.C);
}

size_t transformed_weights_size(const crnn_conv2d_desc *d) {
  const Plan p = make_plan(d, Mode::kForward);
  return static_cast<size_t>(p.T * p.O * p.C);
}

void transform_forward_weights(float *U, const float *w, const crnn_conv2d_desc *d) {
  const Plan p = make_plan(d, Mode::kForward);
  std::vector<float> g(9 * p.C);
  transform_weights(U, g.data(), w, p, false, 0, p.O);
}

void forward(float *y, const float *x, const float *w, const float *b, const crnn_conv2d_desc *d,
             bool flip_transpose, void *workspace, const float *U_given, const float *UP) {
  const Plan p = make_plan(d, flip_transpose ? Mode::kDataGrad : Mode::kForward);
  char *base = static_cast<char *>(workspace);
  float *U = reinterpret_cast<float *>(base + p.u_off);
  set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  if (flip_transpose) UP = nullptr;
  if (UP && narrow_plan(d, p))
    U = nullptr;  // the panels serve every chunk
  else if (U_given && !flip_transpose)
    U = const_cast<float *>(U_given);  // read only below
  else
    parallel_for(p.nt, p.nt, false, [&](int64_t c, int tid) {
      float *g = reinterpret_cast<float *>(base + p.threads_off + tid * p.per_thread + p.taps_off);
      transform_weights(U, g, w, p, flip_transpose, p.O * c / p.nt, p.O * (c + 1) / p.nt);
    });
  const float *bias = flip_transpose ? nullptr : b;
  if (p.units < p.nt) {  // one chunk, split inside
    run_chunk(y, x, bias, U, UP, p, 0, d->B, base + p.threads_off, p.nt);
    return;
  }
  parallel_for(p.nt, p.units, false, [&](int64_t u, int tid) {
    const int64_t n0 = u * p.chunk, n1 = n0 + p.chunk < d->B ? n0 + p.chunk : d->B;
    run_chunk(y, x, bias, U, UP, p, n0, n1, base + p.threads_off + tid * p.per_thread, 1);
  });
}

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
