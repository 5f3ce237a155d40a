// Conv -> [BatchNorm (training)] -> [+ residual] -> [ReLU] -> [max-pool] (crnn/conv_block.h).
// Forward: the convolution writes z (conv2d.cpp), then per channel the batch statistics (two
// passes over its B planes: 8 float lanes per plane, double across planes), then per plane the
// affine + residual + ReLU (specialised per flag combination), pooled into y. Backward: per
// channel, each plane's activation is recomputed (into thread scratch with a pool), dy routed
// through the pool and the ReLU into dv (the dz buffer), BatchNorm's two sums taken, then dz
// written in place; the convolution's backward runs on dz. Windows that tile the plane (2x2,
// 2x1: VGG7's) take an unrolled path.
#include "crnn/conv_block.h"

#include <math.h>
#include <string.h>

#include "conv_forward.h"
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

struct Geo {
  int64_t C, Ho, Wo, N, Ph, Pw, P;  // channels, conv output plane, pooled plane (= conv's)
  int64_t pt, pl;                   // the pool's top / left paddings
  bool pool;
};

Geo geo_of(const crnn_conv_block_desc *d) {
  Geo g;
  g.C = d->conv.C_out;
  g.Ho = crnn_conv2d_out_h(&d->conv), g.Wo = crnn_conv2d_out_w(&d->conv), g.N = g.Ho * g.Wo;
  g.pool = d->pool_kh > 0;
  g.Ph = crnn_conv_block_out_h(d), g.Pw = crnn_conv_block_out_w(d), g.P = g.Ph * g.Pw;
  int64_t pads[4];
  crnn_conv_block_pool_pads(d, pads);
  g.pt = pads[0], g.pl = pads[2];
  return g;
}

bool valid(const crnn_conv_block_desc *d) {
  if (!d || d->conv.relu || crnn_cpu_conv2d_forward_workspace_size(&d->conv) == 0) return false;
  const Geo g = geo_of(d);
  if (d->batch_norm &&
      (!(d->eps > 0.0f) || !(d->momentum >= 0.0f && d->momentum <= 1.0f) || d->conv.B * g.N < 2))
    return false;
  if (!g.pool) return true;
  if (d->residual || d->pool_kw < 1 || d->pool_sh < 1 || d->pool_sw < 1) return false;
  int64_t p[4];
  crnn_conv_block_pool_pads(d, p);
  return p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0 && p[0] < d->pool_kh &&
         p[1] < d->pool_kh && p[2] < d->pool_kw && p[3] < d->pool_kw && g.Ph >= 1 && g.Pw >= 1;
}

// The activation of element i of a plane: v = (z - mean) scale + beta (BN) or z, + r, max(v, 0).
template <bool BN, bool RES, bool RELU>
struct Act {
  float mean, scale, beta;
  static constexpr bool bn = BN, res = RES, relu = RELU;
  CRNN_CPU_INLINE float operator()(const float *z, const float *r, int64_t i) const {
    float v = BN ? (z[i] - mean) * scale + beta : z[i];
    if (RES) v += r[i];
    return RELU ? (v > 0.0f ? v : 0.0f) : v;
  }
};

// Calls fn(Act<...>{mean, scale, beta}) with the block's flags as template arguments.
template <typename F>
void with_act(const crnn_conv_block_desc *d, float mean, float scale, float beta, F &&fn) {
#define CRNN_ACT_CASE(k, bn, res, relu) \
  case k: return fn(Act<bn, res, relu>{mean, scale, beta});
  switch ((d->batch_norm ? 4 : 0) | (d->residual ? 2 : 0) | (d->relu ? 1 : 0)) {
    CRNN_ACT_CASE(0, false, false, false)
    CRNN_ACT_CASE(1, false, false, true)
    CRNN_ACT_CASE(2, false, true, false)
    CRNN_ACT_CASE(3, false, true, true)
    CRNN_ACT_CASE(4, true, false, false)
    CRNN_ACT_CASE(5, true, false, true)
    CRNN_ACT_CASE(6, true, true, false)
    default: return fn(Act<true, true, true>{mean, scale, beta});
  }
#undef CRNN_ACT_CASE
}

// The pool's windows on the conv output plane.
struct Windows {
  int64_t kh, kw, sh, sw, pt, pl, Ho, Wo, Ph, Pw;
  bool tiling;  // non-overlapping windows from (0, 0) covering the plane: each cell in one
  int64_t h0(int64_t i) const { return i * sh - pt > 0 ? i * sh - pt : 0; }
  int64_t h1(int64_t i) const { return i * sh - pt + kh < Ho ? i * sh - pt + kh : Ho; }
  int64_t w0(int64_t j) const { return j * sw - pl > 0 ? j * sw - pl : 0; }
  int64_t w1(int64_t j) const { return j * sw - pl + kw < Wo ? j * sw - pl + kw : Wo; }
};

Windows windows_of(const crnn_conv_block_desc *d, const Geo &g) {
  Windows w{d->pool_kh, d->pool_kw, d->pool_sh, d->pool_sw, g.pt, g.pl,
            g.Ho,       g.Wo,       g.Ph,       g.Pw,       false};
  w.tiling = w.kh == w.sh && w.kw == w.sw && w.pt == 0 && w.pl == 0 && g.Ph * w.sh >= g.Ho &&
             g.Pw * w.sw >= g.Wo;
  return w;
}

// fn(i, j, at, m) for every pooled cell (i, j): at, the plane index of its window's first
// maximum (row-major) in the activation plane a, and m that maximum.
template <int KH, int KW, typename F>
CRNN_CPU_INLINE void tiling_windows(const float *a, const Windows &w, F &&fn);

template <typename F>
CRNN_CPU_INLINE void generic_window(const float *a, const Windows &w, int64_t i, int64_t j,
                                    F &&fn) {
  const int64_t r0 = w.h0(i), r1 = w.h1(i), c0 = w.w0(j), c1 = w.w1(j);
  int64_t at = r0 * w.Wo + c0;
  for (int64_t h = r0; h < r1; ++h)
    for (int64_t x = c0; x < c1; ++x)
      if (a[h * w.Wo + x] > a[at]) at = h * w.Wo + x;
  fn(i, j, at, a[at]);
}

template <int KH, int KW, typename F>
CRNN_CPU_INLINE void tiling_windows(const float *a, const Windows &w, F &&fn) {
  for (int64_t i = 0; i < w.Ph; ++i) {
    const int64_t r0 = i * KH;
    const int64_t full = r0 + KH <= w.Ho ? w.Wo / KW : 0;  // windows not cut by an edge
    for (int64_t j = 0; j < full; ++j) {
      int64_t at = r0 * w.Wo + j * KW;
      float m = a[at];
      for (int hh = 0; hh < KH; ++hh)
        for (int ww = 0; ww < KW; ++ww) {
          const int64_t k = (r0 + hh) * w.Wo + j * KW + ww;
          if (a[k] > m) m = a[k], at = k;
        }
      fn(i, j, at, m);
    }
    for (int64_t j = full; j < w.Pw; ++j) generic_window(a, w, i, j, fn);
  }
}

template <typename F>
void each_window(const float *a, const Windows &w, F &&fn) {
  if (w.tiling && w.kh == 2 && w.kw == 2) return tiling_windows<2, 2>(a, w, fn);
  if (w.tiling && w.kh == 2 && w.kw == 1) return tiling_windows<2, 1>(a, w, fn);
  for (int64_t i = 0; i < w.Ph; ++i)
    for (int64_t j = 0; j < w.Pw; ++j) generic_window(a, w, i, j, fn);
}

template <typename A>
CRNN_SIMD_CLONES void activate(float *a, const float *z, const float *r, int64_t n, A act) {
  for (int64_t i = 0; i < n; ++i) a[i] = act(z, r, i);
}

// y (the pooled plane, or the activation plane without a pool) of one (sample, channel); a is
// scratch for the activation plane.
template <typename A>
void forward_plane(float *y, float *a, const float *z, const float *r, const A &act, const Geo &g,
                   const Windows &w) {
  if (!g.pool) return activate(y, z, r, g.N, act);
  activate(a, z, r, g.N, act);
  each_window(a, w, [&](int64_t i, int64_t j, int64_t, float m) { y[i * g.Pw + j] = m; });
}

// dv = relu'(a) unpool(dy) for one plane with a pool (a recomputed from z into the scratch a).
template <typename A>
void unpool_plane(float *dv, float *a, const float *dy, const float *z, const A &act, const Geo &g,
                  const Windows &w) {
  activate(a, z, nullptr, g.N, act);
  memset(dv, 0, sizeof(float) * g.N);
  each_window(a, w, [&](int64_t i, int64_t j, int64_t at, float m) {
    dv[at] += !A::relu || m > 0.0f ? dy[i * g.Pw + j] : 0.0f;
  });
}

typedef crnn::cpu::Vec<float>::type V8;
constexpr int64_t kLanes = crnn::cpu::Vec<float>::kLanes;

CRNN_CPU_INLINE void vstore(float *p, V8 v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// The activation of 8 consecutive elements, as Act computes it from z (and r) (this file is
// compiled without FMA contraction, so every path rounds alike: the backward's recomputed
// activations, and the ReLU masks and maxima taken on them, are the forward's).
template <typename A>
CRNN_CPU_INLINE V8 act8(const A &act, const float *z, const float *r = nullptr) {
  V8 v = crnn::cpu::vload(z);
  if (A::bn) v = (v - act.mean) * act.scale + act.beta;
  if (A::res) v += crnn::cpu::vload(r);
  return A::relu ? (v > V8{} ? v : V8{}) : v;
}

typedef decltype(V8{} > V8{}) M8;
constexpr M8 kEven8 = {0, 2, 4, 6, 8, 10, 12, 14}, kOdd8 = kEven8 + 1;
constexpr M8 kLo8 = {0, 8, 1, 9, 2, 10, 3, 11}, kHi8 = kLo8 + 4;

// unpool_plane for 2 x KW windows (KW 1 or 2) that tile the plane (VGG7's pools: every cell in
// one window), without the scratch plane: 8 windows at a time, the activations recomputed in
// registers, dy sent to each window's first maximum in row-major order (the forward's choice)
// and zeros elsewhere; windows cut by the plane's edge one at a time.
template <int KW, typename A>
CRNN_SIMD_CLONES void unpool_tiling(float *dv, const float *dy, const float *z, const A &act,
                                    const Geo &g, const Windows &w) {
  const V8 zero = V8{};
  const auto one_window = [&](int64_t i, int64_t j) {
    const int64_t r0 = 2 * i, r1 = r0 + 2 < w.Ho ? r0 + 2 : w.Ho;
    const int64_t c0 = j * KW, c1 = c0 + KW < w.Wo ? c0 + KW : w.Wo;
    int64_t at = r0 * w.Wo + c0;
    float m = act(z, nullptr, at);
    for (int64_t h = r0; h < r1; ++h)
      for (int64_t x = c0; x < c1; ++x) {
        const float v = act(z, nullptr, h * w.Wo + x);
        if (v > m) m = v, at = h * w.Wo + x;
        dv[h * w.Wo + x] = 0.0f;
      }
    dv[at] = !A::relu || m > 0.0f ? dy[i * g.Pw + j] : 0.0f;
  };
  for (int64_t i = 0; i < w.Ph; ++i) {
    const int64_t r0 = 2 * i;
    int64_t j = 0;
    if (r0 + 2 <= w.Ho) {
      const float *z0 = z + r0 * w.Wo, *z1 = z0 + w.Wo, *gy = dy + i * g.Pw;
      float *d0 = dv + r0 * w.Wo, *d1 = d0 + w.Wo;
      for (; (j + 8) * KW <= w.Wo; j += 8) {
        const V8 g8 = crnn::cpu::vload(gy + j);
        if (KW == 1) {
          const V8 a = act8(act, z0 + j), b = act8(act, z1 + j);
          const M8 mb = b > a;
          const V8 m = mb ? b : a, d = !A::relu ? g8 : m > zero ? g8 : zero;
          vstore(d0 + j, mb ? zero : d);
          vstore(d1 + j, mb ? d : zero);
        } else {  // a b / c e: the window's cells in row-major order
          const V8 p0 = act8(act, z0 + 2 * j), p1 = act8(act, z0 + 2 * j + 8);
          const V8 q0 = act8(act, z1 + 2 * j), q1 = act8(act, z1 + 2 * j + 8);
          const V8 a = __builtin_shuffle(p0, p1, kEven8), b = __builtin_shuffle(p0, p1, kOdd8);
          const V8 c = __builtin_shuffle(q0, q1, kEven8), e = __builtin_shuffle(q0, q1, kOdd8);
          const M8 mb = b > a;
          V8 m = mb ? b : a;
          const M8 mc = c > m;
          m = mc ? c : m;
          const M8 me = e > m;
          m = me ? e : m;
          const V8 d = !A::relu ? g8 : m > zero ? g8 : zero;
          const V8 da = (mb | mc | me) ? zero : d, db = (mb & ~(mc | me)) ? d : zero;
          const V8 dc = (mc & ~me) ? d : zero, de = me ? d : zero;
          vstore(d0 + 2 * j, __builtin_shuffle(da, db, kLo8));
          vstore(d0 + 2 * j + 8, __builtin_shuffle(da, db, kHi8));
          vstore(d1 + 2 * j, __builtin_shuffle(dc, de, kLo8));
          vstore(d1 + 2 * j + 8, __builtin_shuffle(dc, de, kHi8));
        }
      }
    }
    for (; j < w.Pw; ++j) one_window(i, j);
  }
}

// One plane without a pool, in one pass: dv = relu'(v) dy with v the activation recomputed from
// z (and r), dr = dv with a residual; sums[0] += sum dv, sums[1] += sum dv (z - mean) (8 float
// lanes per plane, double across planes).
template <typename A>
CRNN_SIMD_CLONES void route_plane(float *dv, float *dr, const float *dy, const float *z,
                                  const float *r, const A &act, int64_t n, double *sums) {
  const float m = act.mean;
  V8 s = V8{}, sx = V8{};
  const V8 zero = V8{};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const V8 zv = crnn::cpu::vload(z + i), g = crnn::cpu::vload(dy + i);
    const V8 d = !A::relu ? g : act8(act, z + i, A::res ? r + i : nullptr) > zero ? g : zero;
    vstore(dv + i, d);
    if (A::res) vstore(dr + i, d);
    s += d;
    sx += d * (zv - m);
  }
  float ts = crnn::cpu::hsum8(s), tsx = crnn::cpu::hsum8(sx);
  for (; i < n; ++i) {
    const float d = !A::relu || act(z, r, i) > 0.0f ? dy[i] : 0.0f;
    dv[i] = d;
    if (A::res) dr[i] = d;
    ts += d;
    tsx += d * (z[i] - m);
  }
  sums[0] += ts, sums[1] += tsx;
}

// BatchNorm's backward in place on one plane: dz = k (dv - mean dv - (z - mean) kx).
CRNN_SIMD_CLONES void batch_norm_plane(float *dv, const float *z, int64_t n, float k, float mdv,
                                       float m, float kx) {
  for (int64_t i = 0; i < n; ++i) dv[i] = k * (dv[i] - mdv - (z[i] - m) * kx);
}

struct Layout {
  int nt;
  size_t conv, dz, scratch, bytes;  // scratch: one activation plane per thread (with a pool)
};

size_t plane_bytes(const Geo &g) {
  return crnn::cpu::align_up(sizeof(float) * g.N);
}

float *scratch_of(void *ws, const Layout &l, const Geo &g, int tid) {
  return reinterpret_cast<float *>(static_cast<char *>(ws) + l.scratch + tid * plane_bytes(g));
}

Layout layout_of(const crnn_conv_block_desc *d, bool backward) {
  const Geo g = geo_of(d);
  Layout l;
  l.nt = crnn::cpu::resolve_threads(d->conv.num_threads, d->conv.B * g.C);
  crnn::cpu::Carver c;
  l.dz = c.take(backward ? sizeof(float) * d->conv.B * g.C * g.N : 0);
  l.conv = c.take(backward ? crnn_cpu_conv2d_backward_workspace_size(&d->conv)
                           : crnn_cpu_conv2d_forward_workspace_size(&d->conv));
  l.scratch = c.take(g.pool ? l.nt * plane_bytes(g) : 0);
  l.bytes = c.off;
  return l;
}

// sum of a[i] (z[i] - m) over one plane, in 8 float lanes (planes are summed in double).
CRNN_CPU_INLINE float sum_times_dev(const float *a, const float *z, float m, int64_t n) {
  typedef crnn::cpu::Vec<float>::type V;
  constexpr int64_t K = crnn::cpu::Vec<float>::kLanes;
  V acc = V{};
  int64_t i = 0;
  for (; i + K <= n; i += K) acc += crnn::cpu::vload(a + i) * (crnn::cpu::vload(z + i) - m);
  float r = 0.0f;
  for (int64_t j = 0; j < K; ++j) r += acc[j];
  for (; i < n; ++i) r += a[i] * (z[i] - m);
  return r;
}

// mean and invstd of channel c over its B planes of z (two passes, double); moving stats.
CRNN_SIMD_CLONES void channel_statistics(float *mean, float *invstd, float *moving_mean,
                                         float *moving_var, const float *z,
                                         const crnn_conv_block_desc *d, const Geo &g, int64_t c) {
  const int64_t B = d->conv.B, M = B * g.N;
  double s = 0.0;
  for (int64_t n = 0; n < B; ++n) s += crnn::cpu::row_sum(z + (n * g.C + c) * g.N, g.N);
  const double mu = s / M;
  double q = 0.0;
  for (int64_t n = 0; n < B; ++n) {
    const float *p = z + (n * g.C + c) * g.N;
    q += sum_times_dev(p, p, static_cast<float>(mu), g.N);
  }
  const double var = q / M;
  mean[c] = static_cast<float>(mu);
  invstd[c] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(d->eps)));
  const double m = d->momentum;
  if (moving_mean) moving_mean[c] = static_cast<float>(m * moving_mean[c] + (1.0 - m) * mu);
  if (moving_var)
    moving_var[c] = static_cast<float>(m * moving_var[c] + (1.0 - m) * var * M / (M - 1));
}

}  // namespace

// The forward of crnn_cpu_conv_block_forward_f32, with a Winograd conv's weights already
// transformed when U is not NULL (crnn::cpu::conv_block_forward).
static crnn_status_t block_forward(float *y, float *z, float *mean, float *invstd,
                                   float *moving_mean, float *moving_var, const float *x,
                                   const float *w, const float *U, const float *UP, const float *b,
                                   const float *gamma, const float *beta, const float *r,
                                   const crnn_conv_block_desc *d, void *workspace,
                                   size_t workspace_bytes) {
  if (!valid(d) || !y || !z || !x || !w || (d->residual && !r) ||
      (d->batch_norm && (!mean || !invstd || !gamma || !beta)))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_cpu_conv_block_forward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Geo g = geo_of(d);
  const Layout l = layout_of(d, false);
  char *ws = static_cast<char *>(workspace);
  const crnn_status_t st =
      crnn::cpu::conv2d_forward(z, x, w, U, UP, b, &d->conv, ws + l.conv, workspace_bytes - l.conv);
  if (st != CRNN_STATUS_SUCCESS) return st;
  if (d->batch_norm)
    crnn::cpu::parallel_for(l.nt, g.C, false, [&](int64_t c, int) {
      channel_statistics(mean, invstd, moving_mean, moving_var, z, d, g, c);
    });
  const Windows win = windows_of(d, g);
  crnn::cpu::parallel_for(l.nt, d->conv.B * g.C, false, [&](int64_t u, int tid) {
    float *a = scratch_of(workspace, l, g, tid);
    const int64_t c = u % g.C;
    const float m = d->batch_norm ? mean[c] : 0.0f;
    const float k = d->batch_norm ? gamma[c] * invstd[c] : 1.0f;
    with_act(d, m, k, d->batch_norm ? beta[c] : 0.0f, [&](const auto &act) {
      forward_plane(y + u * g.P, a, z + u * g.N, d->residual ? r + u * g.N : nullptr, act, g, win);
    });
  });
  return CRNN_STATUS_SUCCESS;
}

extern "C" {

void crnn_conv_block_pool_pads(const crnn_conv_block_desc *d, int64_t pads[4]) {
  if (!d->pool_same) {
    pads[0] = d->pool_pt, pads[1] = d->pool_pb, pads[2] = d->pool_pl, pads[3] = d->pool_pr;
    return;
  }
  const int64_t size[2] = {crnn_conv2d_out_h(&d->conv), crnn_conv2d_out_w(&d->conv)};
  const int64_t k[2] = {d->pool_kh, d->pool_kw}, s[2] = {d->pool_sh, d->pool_sw};
  for (int i = 0; i < 2; ++i) {
    const int64_t out = s[i] >= 1 ? (size[i] + s[i] - 1) / s[i] : 1;
    const int64_t total = (out - 1) * s[i] + k[i] - size[i];
    pads[2 * i] = total > 0 ? total / 2 : 0;
    pads[2 * i + 1] = total > 0 ? total - total / 2 : 0;
  }
}

int64_t crnn_conv_block_out_h(const crnn_conv_block_desc *d) {
  const int64_t h = crnn_conv2d_out_h(&d->conv);
  if (d->pool_kh <= 0 || d->pool_sh < 1) return h;
  int64_t p[4];
  crnn_conv_block_pool_pads(d, p);
  return (h + p[0] + p[1] - d->pool_kh) / d->pool_sh + 1;
}

int64_t crnn_conv_block_out_w(const crnn_conv_block_desc *d) {
  const int64_t w = crnn_conv2d_out_w(&d->conv);
  if (d->pool_kh <= 0 || d->pool_sw < 1) return w;
  int64_t p[4];
  crnn_conv_block_pool_pads(d, p);
  return (w + p[2] + p[3] - d->pool_kw) / d->pool_sw + 1;
}

size_t crnn_cpu_conv_block_forward_workspace_size(const crnn_conv_block_desc *d) {
  return valid(d) ? layout_of(d, false).bytes : 0;
}

crnn_status_t crnn_cpu_conv_block_forward_f32(float *y, float *z, float *mean, float *invstd,
                                              float *moving_mean, float *moving_var, const float *x,
                                              const float *w, const float *b, const float *gamma,
                                              const float *beta, const float *r,
                                              const crnn_conv_block_desc *d, void *workspace,
                                              size_t workspace_bytes) {
  return block_forward(y, z, mean, invstd, moving_mean, moving_var, x, w, nullptr, nullptr, b,
                       gamma, beta, r, d, workspace, workspace_bytes);
}

}  // extern "C"

crnn_status_t crnn::cpu::conv_block_forward(float *y, float *z, const float *x, const float *w,
                                            const float *U, const float *UP, const float *b,
                                            const float *r, const crnn_conv_block_desc *d,
                                            void *workspace, size_t workspace_bytes) {
  if (d && d->batch_norm) return CRNN_STATUS_INVALID_VALUE;
  return block_forward(y, z, nullptr, nullptr, nullptr, nullptr, x, w, U, UP, b, nullptr, nullptr,
                       r, d, workspace, workspace_bytes);
}

extern "C" {

size_t crnn_cpu_conv_block_backward_workspace_size(const crnn_conv_block_desc *d) {
  return valid(d) ? layout_of(d, true).bytes : 0;
}

crnn_status_t crnn_cpu_conv_block_backward_f32(float *dx, float *dw, float *db, float *dgamma,
                                               float *dbeta, float *dr, const float *dy,
                                               const float *x, const float *w, const float *z,
                                               const float *mean, const float *invstd,
                                               const float *gamma, const float *beta,
                                               const float *r, const crnn_conv_block_desc *d,
                                               void *workspace, size_t workspace_bytes) {
  if (!valid(d) || !dw || !dy || !x || !w || !z || (d->residual && (!r || !dr)) ||
      (d->batch_norm && (!mean || !invstd || !gamma || !beta || !dgamma || !dbeta)))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_cpu_conv_block_backward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Geo g = geo_of(d);
  const Layout l = layout_of(d, true);
  const int64_t B = d->conv.B, M = B * g.N;
  char *ws = static_cast<char *>(workspace);
  float *dz = reinterpret_cast<float *>(ws + l.dz);
  const Windows win = windows_of(d, g);
  crnn::cpu::parallel_for(l.nt, g.C, false, [&](int64_t c, int tid) {
    float *a = scratch_of(workspace, l, g, tid);
    const float m = d->batch_norm ? mean[c] : 0.0f, is = d->batch_norm ? invstd[c] : 1.0f;
    const float k = d->batch_norm ? gamma[c] * is : 1.0f;
    double sums[2] = {0.0, 0.0};  // sum dv, sum dv (z - mean)
    with_act(d, m, k, d->batch_norm ? beta[c] : 0.0f, [&](const auto &act) {
      for (int64_t n = 0; n < B; ++n) {
        const int64_t u = n * g.C + c;
        const float *zp = z + u * g.N;
        float *dv = dz + u * g.N;
        if (g.pool) {
          if (win.tiling && win.kh == 2 && win.kw == 2)
            unpool_tiling<2>(dv, dy + u * g.P, zp, act, g, win);
          else if (win.tiling && win.kh == 2 && win.kw == 1)
            unpool_tiling<1>(dv, dy + u * g.P, zp, act, g, win);
          else
            unpool_plane(dv, a, dy + u * g.P, zp, act, g, win);
          if (d->batch_norm) {
            sums[0] += crnn::cpu::row_sum(dv, g.N);
            sums[1] += sum_times_dev(dv, zp, m, g.N);
          }
        } else {
          route_plane(dv, d->residual ? dr + u * g.N : nullptr, dy + u * g.N, zp,
                      d->residual ? r + u * g.N : nullptr, act, g.N, sums);
        }
      }
    });
    if (!d->batch_norm) return;
    const double sdv = sums[0], sdvx = sums[1];
    dgamma[c] = static_cast<float>(sdvx * is), dbeta[c] = static_cast<float>(sdv);
    const float mdv = static_cast<float>(sdv / M), mdvx = static_cast<float>(sdvx * is / M);
    const float kx = is * mdvx;  // dz = k (dv - mean dv - (z - mean) invstd mean(dv xhat))
    for (int64_t n = 0; n < B; ++n) {
      const int64_t u = n * g.C + c;
      batch_norm_plane(dz + u * g.N, z + u * g.N, g.N, k, mdv, m, kx);
    }
  });
  return crnn_cpu_conv2d_backward_f32(dx, dw, db, dz, x, w, &d->conv, ws + l.conv,
                                      workspace_bytes - l.conv);
}

}  // extern "C"
