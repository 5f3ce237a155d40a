// Winograd F(2x2, 3x3): see conv2d_winograd.h. Per chunk of samples (one chunk per pool task):
// input transform into V, 16 sgemms into M, output transform (+ bias, ReLU) into y. The weight
// gradient is the transpose: Z = A dy A^T per tile, dU[k] += Z[k] V[k]^T (per-thread sums),
// dw = G^T dU G.
#include "conv2d_winograd.h"

#include <string.h>

#include "blas.h"
#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace winograd {
namespace {

// Tiles per chunk (the N of the forward sgemms, the K of the weight-gradient ones): V and M
// stay in L2/L3; the weight gradient wants more, its per-thread dU is read and written per chunk.
constexpr int64_t kTargetTiles = 512, kTargetTilesWeightGrad = 2048;

enum class Mode { kForward, kDataGrad, kWeightGrad };

struct Plan {
  crnn_conv2d_desc e;  // the convolution actually computed (the data-gradient one if flipped)
  int64_t C, O, Ho, Wo, TH, TW, tiles, chunk, units, Pmax, Hp, Wps, W2s;
  int nt;
  size_t u_off, threads_off, per_thread, v_off, m_off, in_off, out_off, du_off, taps_off, bytes;
};

Plan make_plan(const crnn_conv2d_desc *d, Mode mode) {
  Plan p;
  p.e = mode == Mode::kDataGrad ? data_gradient_desc(d) : *d;
  p.C = p.e.C_in, p.O = p.e.C_out;
  p.Ho = crnn_conv2d_out_h(&p.e), p.Wo = crnn_conv2d_out_w(&p.e);
  p.TH = (p.Ho + 1) / 2, p.TW = (p.Wo + 1) / 2, p.tiles = p.TH * p.TW;
  p.Hp = 2 * p.TH + 2;
  const int64_t blocks = (p.TW + 15) / 16;  // of 16 tiles, 32 (+ 2 input) columns
  p.W2s = 32 * blocks, p.Wps = p.W2s + 16;
  const int64_t target = mode == Mode::kWeightGrad ? kTargetTilesWeightGrad : kTargetTiles;
  const int64_t want = (target + p.tiles - 1) / p.tiles;
  const int nt_max = resolve_threads(d->num_threads, d->B * p.O);  // not capped by B
  p.chunk = balanced_unit(d->B, nt_max, want);
  p.units = (d->B + p.chunk - 1) / p.chunk;
  // Fewer chunks than threads (a small batch): one chunk, every thread on it (forward only).
  p.nt = mode != Mode::kWeightGrad && p.units < nt_max ? nt_max
                                                       : resolve_threads(d->num_threads, p.units);
  p.Pmax = p.chunk * p.tiles;
  Carver c;
  p.u_off = c.take(sizeof(float) * 16 * p.O * p.C);
  Carver t;
  p.v_off = t.take(sizeof(float) * 16 * p.C * (p.Pmax + 16));
  p.m_off = t.take(sizeof(float) * 16 * p.O * (p.Pmax + 16));
  p.in_off = t.take(sizeof(float) * p.Hp * p.Wps);
  p.out_off = t.take(sizeof(float) * 2 * p.TH * p.W2s);
  p.du_off = t.take(mode == Mode::kWeightGrad ? sizeof(float) * 16 * p.O * p.C : 0);
  p.taps_off = t.take(mode == Mode::kWeightGrad ? 0 : sizeof(float) * 9 * p.C);
  p.per_thread = t.off;
  p.threads_off = c.off;
  p.bytes = c.off + p.nt * p.per_thread;
  return p;
}

// Transforms work on 16 tiles of a tile row at a time (GCC vector extensions: one AVX-512
// register in the x86-64-v4 clone, pairs / quads of narrower ones in the others). They read and
// write whole blocks: planes are padded to Wps / W2s columns, and every (k, channel) row of V, M
// and Z has 16 slack tiles (ld = P + 16), so a block past the tile row's end lands in tiles
// written later or in the slack.
typedef float f16v __attribute__((vector_size(64)));
typedef int32_t i16v __attribute__((vector_size(64)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));

inline f16v load16(const float *p) {
  return *reinterpret_cast<const f16u *>(p);
}
inline void store16(float *p, f16v v) {
  *reinterpret_cast<f16u *>(p) = v;
}
constexpr i16v kEven = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
constexpr i16v kOdd = kEven + 1;
constexpr i16v kLo = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23};
constexpr i16v kHi = kLo + 8;

// U[k][o][c] = (G g G^T)[k], G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], for
// 16 channels at a time (C >= 16; the last block overlaps the one before it).
CRNN_SIMD_CLONES
void transform_weights(float *U, float *g, const float *w, const Plan &p, bool flip, int64_t o0,
                       int64_t o1) {
  const int64_t step = flip ? 9 * p.O : 9, OC = p.O * p.C;  // from channel c to c + 1 in w
  // g (9, C): g[i][j] of every channel of one o, channel-contiguous (the caller's scratch)
  for (int64_t o = o0; o < o1; ++o) {
    const float *wo = w + (flip ? 9 * o : 9 * o * p.C);
    for (int64_t c = 0; c < p.C; ++c)
      for (int k = 0; k < 9; ++k) g[k * p.C + c] = wo[c * step + (flip ? 8 - k : k)];
    float *uo = U + o * p.C;
    for (int64_t c0 = 0; c0 < p.C; c0 += 16) {
      const int64_t c = c0 + 16 <= p.C ? c0 : p.C - 16;
      f16v t[4][3];
      for (int j = 0; j < 3; ++j) {
        const f16v g0 = load16(g + j * p.C + c), g1 = load16(g + (3 + j) * p.C + c);
        const f16v g2 = load16(g + (6 + j) * p.C + c);
        t[0][j] = g0, t[1][j] = 0.5f * (g0 + g1 + g2), t[2][j] = 0.5f * (g0 - g1 + g2),
        t[3][j] = g2;
      }
      for (int i = 0; i < 4; ++i) {
        store16(uo + (4 * i + 0) * OC + c, t[i][0]);
        store16(uo + (4 * i + 1) * OC + c, 0.5f * (t[i][0] + t[i][1] + t[i][2]));
        store16(uo + (4 * i + 2) * OC + c, 0.5f * (t[i][0] - t[i][1] + t[i][2]));
        store16(uo + (4 * i + 3) * OC + c, t[i][2]);
      }
    }
  }
}

// V[k][c][p0 + th TW + tw] = (B^T d B)[k] for the 4x4 tile of plane xp (already padded, row
// stride Wps) at rows 2 th, columns 2 tw; B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0],
// [0, 1, 0, -1]].
CRNN_SIMD_CLONES
void transform_input(float *V, int64_t ldv, const float *xp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v d[4][4], t[4][4];
      for (int i = 0; i < 4; ++i) {
        const float *r = xp + (2 * th + i) * p.Wps + 2 * tw;
        const f16v a = load16(r), b = load16(r + 16), a2 = load16(r + 2), b2 = load16(r + 18);
        d[i][0] = __builtin_shuffle(a, b, kEven), d[i][1] = __builtin_shuffle(a, b, kOdd);
        d[i][2] = __builtin_shuffle(a2, b2, kEven), d[i][3] = __builtin_shuffle(a2, b2, kOdd);
      }
      for (int j = 0; j < 4; ++j) {
        t[0][j] = d[0][j] - d[2][j], t[1][j] = d[1][j] + d[2][j];
        t[2][j] = d[2][j] - d[1][j], t[3][j] = d[1][j] - d[3][j];
      }
      float *v = V + th * p.TW + tw;
      for (int i = 0; i < 4; ++i) {
        store16(v + (4 * i + 0) * ldv, t[i][0] - t[i][2]);
        store16(v + (4 * i + 1) * ldv, t[i][1] + t[i][2]);
        store16(v + (4 * i + 2) * ldv, t[i][2] - t[i][1]);
        store16(v + (4 * i + 3) * ldv, t[i][1] - t[i][3]);
      }
    }
}

// yp (2 TH, W2s) = A^T m A per tile, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].
CRNN_SIMD_CLONES
void transform_output(float *yp, const float *M, int64_t ldm, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      const float *m = M + th * p.TW + tw;
      f16v t[2][4];
      for (int j = 0; j < 4; ++j) {
        const f16v a = load16(m + j * ldm), b = load16(m + (4 + j) * ldm);
        const f16v c = load16(m + (8 + j) * ldm), e = load16(m + (12 + j) * ldm);
        t[0][j] = a + b + c, t[1][j] = b - c - e;
      }
      for (int i = 0; i < 2; ++i) {
        const f16v even = t[i][0] + t[i][1] + t[i][2], odd = t[i][1] - t[i][2] - t[i][3];
        float *row = yp + (2 * th + i) * p.W2s + 2 * tw;
        store16(row, __builtin_shuffle(even, odd, kLo));
        store16(row + 16, __builtin_shuffle(even, odd, kHi));
      }
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
void run_chunk(float *y, const float *x, const float *b, const float *U, const Plan &p, int64_t n0,
               int64_t n1, char *regions, int nt) {
  const auto region = [&](int t) { return regions + t * p.per_thread; };
  float *V = reinterpret_cast<float *>(region(0) + p.v_off);
  float *M = reinterpret_cast<float *>(region(0) + p.m_off);
  const crnn_conv2d_desc &e = p.e;
  const int64_t P = (n1 - n0) * p.tiles, ld = P + 16, HW = e.H * e.W, HWo = p.Ho * p.Wo;
  parallel_for(nt, p.C, false, [&](int64_t c, int tid) {
    float *xp = reinterpret_cast<float *>(region(tid) + p.in_off);
    for (int64_t n = n0; n < n1; ++n) {
      pad_plane(xp, x + (n * p.C + c) * HW, p);
      transform_input(V + c * ld + (n - n0) * p.tiles, p.C * ld, xp, p);
    }
  });
  parallel_for(nt, 16 * nt, false, [&](int64_t j, int) {
    const int64_t k = j / nt, o0 = p.O * (j % nt) / nt, o1 = p.O * (j % nt + 1) / nt;
    gemm(false, false, o1 - o0, P, p.C, U + (k * p.O + o0) * p.C, p.C, V + k * p.C * ld, ld, 0.0f,
         M + (k * p.O + o0) * ld, ld);
  });
  parallel_for(nt, p.O, false, [&](int64_t o, int tid) {
    float *yp = reinterpret_cast<float *>(region(tid) + p.out_off);
    const float bias = b ? b[o] : 0.0f;
    for (int64_t n = n0; n < n1; ++n) {
      transform_output(yp, M + o * ld + (n - n0) * p.tiles, p.O * ld, p);
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

// Z[k][o][p0 + th TW + tw] = (A g A^T)[k] for the 2x2 tile of the zero-padded output-gradient
// plane gp (2 TH, W2s) at (2 th, 2 tw); A = [[1, 0], [1, 1], [1, -1], [0, -1]].
CRNN_SIMD_CLONES
void transform_output_grad(float *Z, int64_t ldz, const float *gp, const Plan &p) {
  for (int64_t th = 0; th < p.TH; ++th)
    for (int64_t tw = 0; tw < p.TW; tw += 16) {
      f16v r[4][2];
      const float *g0 = gp + 2 * th * p.W2s + 2 * tw, *g1 = g0 + p.W2s;
      const f16v u0 = load16(g0), u1 = load16(g0 + 16), w0 = load16(g1), w1 = load16(g1 + 16);
      const f16v a0 = __builtin_shuffle(u0, u1, kEven), a1 = __builtin_shuffle(u0, u1, kOdd);
      const f16v b0 = __builtin_shuffle(w0, w1, kEven), b1 = __builtin_shuffle(w0, w1, kOdd);
      r[0][0] = a0, r[0][1] = a1, r[1][0] = a0 + b0, r[1][1] = a1 + b1;
      r[2][0] = a0 - b0, r[2][1] = a1 - b1, r[3][0] = -b0, r[3][1] = -b1;
      float *z = Z + th * p.TW + tw;
      for (int i = 0; i < 4; ++i) {
        store16(z + (4 * i + 0) * ldz, r[i][0]);
        store16(z + (4 * i + 1) * ldz, r[i][0] + r[i][1]);
        store16(z + (4 * i + 2) * ldz, r[i][0] - r[i][1]);
        store16(z + (4 * i + 3) * ldz, -r[i][1]);
      }
    }
}

// dU (16, O, C) += Z V^T over the chunk's tiles.
void weight_grad_chunk(float *dU, const float *dy, const float *x, const Plan &p, int64_t n0,
                       int64_t n1, char *scratch) {
  float *V = reinterpret_cast<float *>(scratch + p.v_off);
  float *Z = reinterpret_cast<float *>(scratch + p.m_off);
  float *xp = reinterpret_cast<float *>(scratch + p.in_off);
  float *gp = reinterpret_cast<float *>(scratch + p.out_off);
  const crnn_conv2d_desc &e = p.e;
  const int64_t P = (n1 - n0) * p.tiles, ld = P + 16, HW = e.H * e.W;
  memset(gp, 0, sizeof(float) * 2 * p.TH * p.W2s);
  for (int64_t n = n0; n < n1; ++n) {
    for (int64_t c = 0; c < p.C; ++c) {
      pad_plane(xp, x + (n * p.C + c) * HW, p);
      transform_input(V + c * ld + (n - n0) * p.tiles, p.C * ld, xp, p);
    }
    for (int64_t o = 0; o < p.O; ++o) {
      const float *g = dy + (n * p.O + o) * p.Ho * p.Wo;
      for (int64_t h = 0; h < p.Ho; ++h) memcpy(gp + h * p.W2s, g + h * p.Wo, sizeof(float) * p.Wo);
      transform_output_grad(Z + o * ld + (n - n0) * p.tiles, p.O * ld, gp, p);
    }
  }
  for (int k = 0; k < 16; ++k)
    gemm(false, true, p.O, p.C, P, Z + k * p.O * ld, ld, V + k * p.C * ld, ld, 1.0f,
         dU + k * p.O * p.C, p.C);
}

}  // namespace

void weight_gradient(float *dw, const float *dy, const float *x, const crnn_conv2d_desc *d,
                     void *workspace) {
  const Plan p = make_plan(d, Mode::kWeightGrad);
  char *base = static_cast<char *>(workspace) + p.threads_off;
  const auto dU_of = [&](int t) {
    return reinterpret_cast<float *>(base + t * p.per_thread + p.du_off);
  };
  set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  for (int t = 0; t < p.nt; ++t) memset(dU_of(t), 0, sizeof(float) * 16 * p.O * p.C);
  parallel_for(p.nt, p.units, false, [&](int64_t u, int tid) {
    const int64_t n0 = u * p.chunk, n1 = n0 + p.chunk < d->B ? n0 + p.chunk : d->B;
    weight_grad_chunk(dU_of(tid), dy, x, p, n0, n1, base + tid * p.per_thread);
  });
  const int64_t OC = p.O * p.C;
  parallel_chunks(p.nt, OC, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {  // i = o C + c: dw[o][c] = G^T (sum_t dU_t) G
      float u[4][4], t[3][4];
      for (int k = 0; k < 16; ++k) {
        float acc = 0.0f;
        for (int th = 0; th < p.nt; ++th) acc += dU_of(th)[k * OC + i];
        u[k / 4][k % 4] = acc;
      }
      for (int j = 0; j < 4;
           ++j) {  // G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]]
        t[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
        t[1][j] = 0.5f * (u[1][j] - u[2][j]);
        t[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
      }
      float *out = dw + i * 9;
      for (int r = 0; r < 3; ++r) {
        out[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
        out[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
        out[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
      }
    }
  });
}

bool eligible(const crnn_conv2d_desc *d) {
  const auto small = [](int64_t v) { return v >= 0 && v <= 2; };
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

void forward(float *y, const float *x, const float *w, const float *b, const crnn_conv2d_desc *d,
             bool flip_transpose, void *workspace) {
  const Plan p = make_plan(d, flip_transpose ? Mode::kDataGrad : Mode::kForward);
  char *base = static_cast<char *>(workspace);
  float *U = reinterpret_cast<float *>(base + p.u_off);
  set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  parallel_for(p.nt, p.nt, false, [&](int64_t c, int tid) {
    float *g = reinterpret_cast<float *>(base + p.threads_off + tid * p.per_thread + p.taps_off);
    transform_weights(U, g, w, p, flip_transpose, p.O * c / p.nt, p.O * (c + 1) / p.nt);
  });
  const float *bias = flip_transpose ? nullptr : b;
  if (p.units < p.nt) {  // one chunk, split inside
    run_chunk(y, x, bias, U, p, 0, d->B, base + p.threads_off, p.nt);
    return;
  }
  parallel_for(p.nt, p.units, false, [&](int64_t u, int tid) {
    const int64_t n0 = u * p.chunk, n1 = n0 + p.chunk < d->B ? n0 + p.chunk : d->B;
    run_chunk(y, x, bias, U, p, n0, n1, base + p.threads_off + tid * p.per_thread, 1);
  });
}

}  // namespace winograd
}  // namespace cpu
}  // namespace crnn
