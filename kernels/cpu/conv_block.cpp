// Conv -> [BatchNorm (training)] -> [+ residual] -> [ReLU] -> [max-pool] (crnn/conv_block.h).
// Forward: the convolution writes z (conv2d.cpp), then per channel the batch statistics (two
// passes over its B planes, in double), then per plane the affine + residual + ReLU, pooled into
// y. Backward: per channel, each plane's activation is recomputed into thread scratch, dy routed
// through the pool and the ReLU into dv (the dz buffer), BatchNorm's two sums taken, then dz
// written in place; the convolution's backward runs on dz.
#include "crnn/conv_block.h"

#include <math.h>
#include <string.h>

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
  return !d->residual && d->pool_kw >= 1 && d->pool_sh >= 1 && d->pool_sw >= 1 && d->pool_pt >= 0 &&
         d->pool_pb >= 0 && d->pool_pl >= 0 && d->pool_pr >= 0 && d->pool_pt < d->pool_kh &&
         d->pool_pb < d->pool_kh && d->pool_pl < d->pool_kw && d->pool_pr < d->pool_kw &&
         g.Ph >= 1 && g.Pw >= 1;
}

// v = z scale + shift (+ r), then max(v, 0): the activation a of one plane.
struct Affine {
  float mean, scale, beta;
  bool bn, relu;
  CRNN_CPU_INLINE float operator()(float z, float r) const {
    float v = bn ? (z - mean) * scale + beta : z;
    v += r;
    return relu && !(v > 0.0f) ? 0.0f : v;
  }
};

Affine affine_of(const crnn_conv_block_desc *d, const float *mean, const float *invstd,
                 const float *gamma, const float *beta, int64_t c) {
  if (!d->batch_norm) return Affine{0.0f, 1.0f, 0.0f, false, d->relu != 0};
  return Affine{mean[c], gamma[c] * invstd[c], beta[c], true, d->relu != 0};
}

void activate(float *a, const float *z, const float *r, int64_t n, const Affine &f) {
  if (r)
    for (int64_t i = 0; i < n; ++i) a[i] = f(z[i], r[i]);
  else
    for (int64_t i = 0; i < n; ++i) a[i] = f(z[i], 0.0f);
}

// The window of pooled cell (i, j), clipped to the plane: rows [h0, h1), columns [w0, w1).
struct Window {
  int64_t h0, h1, w0, w1;
};

Window window_of(const crnn_conv_block_desc *d, const Geo &g, int64_t i, int64_t j) {
  Window w;
  w.h0 = i * d->pool_sh - g.pt, w.w0 = j * d->pool_sw - g.pl;
  w.h1 = w.h0 + d->pool_kh < g.Ho ? w.h0 + d->pool_kh : g.Ho;
  w.w1 = w.w0 + d->pool_kw < g.Wo ? w.w0 + d->pool_kw : g.Wo;
  w.h0 = w.h0 > 0 ? w.h0 : 0, w.w0 = w.w0 > 0 ? w.w0 : 0;
  return w;
}

// Index in the plane of the window's first maximum (row-major).
int64_t window_argmax(const float *a, const Window &w, int64_t Wo) {
  int64_t best = w.h0 * Wo + w.w0;
  for (int64_t h = w.h0; h < w.h1; ++h)
    for (int64_t x = w.w0; x < w.w1; ++x)
      if (a[h * Wo + x] > a[best]) best = h * Wo + x;
  return best;
}

void pool_plane(float *y, const float *a, const crnn_conv_block_desc *d, const Geo &g) {
  for (int64_t i = 0; i < g.Ph; ++i)
    for (int64_t j = 0; j < g.Pw; ++j)
      y[i * g.Pw + j] = a[window_argmax(a, window_of(d, g, i, j), g.Wo)];
}

// da = 0, then da[argmax of each window] += dy.
void unpool_plane(float *da, const float *dy, const float *a, const crnn_conv_block_desc *d,
                  const Geo &g) {
  memset(da, 0, sizeof(float) * g.N);
  for (int64_t i = 0; i < g.Ph; ++i)
    for (int64_t j = 0; j < g.Pw; ++j)
      da[window_argmax(a, window_of(d, g, i, j), g.Wo)] += dy[i * g.Pw + j];
}

struct Layout {
  int nt;
  size_t conv, scratch, dz, bytes;
};

Layout layout_of(const crnn_conv_block_desc *d, bool backward) {
  const Geo g = geo_of(d);
  Layout l;
  l.nt = crnn::cpu::resolve_threads(d->conv.num_threads, d->conv.B * g.C);
  const size_t conv = backward ? crnn_cpu_conv2d_backward_workspace_size(&d->conv)
                               : crnn_cpu_conv2d_forward_workspace_size(&d->conv);
  const size_t scratch = l.nt * crnn::cpu::align_up(sizeof(float) * g.N);
  crnn::cpu::Carver c;
  l.dz = c.take(backward ? sizeof(float) * d->conv.B * g.C * g.N : 0);
  l.conv = l.scratch = c.take(conv > scratch ? conv : scratch);  // used one after the other
  l.bytes = c.off;
  return l;
}

float *scratch_of(void *ws, const Layout &l, const Geo &g, int tid) {
  return reinterpret_cast<float *>(static_cast<char *>(ws) + l.scratch +
                                   tid * crnn::cpu::align_up(sizeof(float) * g.N));
}

// mean and invstd of channel c over its B planes of z (two passes, double); moving stats.
void channel_statistics(float *mean, float *invstd, float *moving_mean, float *moving_var,
                        const float *z, const crnn_conv_block_desc *d, const Geo &g, int64_t c) {
  const int64_t B = d->conv.B, M = B * g.N;
  double s = 0.0;
  for (int64_t n = 0; n < B; ++n) {
    const float *p = z + (n * g.C + c) * g.N;
    for (int64_t i = 0; i < g.N; ++i) s += p[i];
  }
  const double mu = s / M;
  double q = 0.0;
  for (int64_t n = 0; n < B; ++n) {
    const float *p = z + (n * g.C + c) * g.N;
    for (int64_t i = 0; i < g.N; ++i) q += (p[i] - mu) * (p[i] - mu);
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
  if (!valid(d) || !y || !z || !x || !w || (d->residual && !r) ||
      (d->batch_norm && (!mean || !invstd || !gamma || !beta)))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_cpu_conv_block_forward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Geo g = geo_of(d);
  const Layout l = layout_of(d, false);
  char *ws = static_cast<char *>(workspace);
  const crnn_status_t st =
      crnn_cpu_conv2d_forward_f32(z, x, w, b, &d->conv, ws + l.conv, workspace_bytes - l.conv);
  if (st != CRNN_STATUS_SUCCESS) return st;
  if (d->batch_norm)
    crnn::cpu::parallel_for(l.nt, g.C, false, [&](int64_t c, int) {
      channel_statistics(mean, invstd, moving_mean, moving_var, z, d, g, c);
    });
  crnn::cpu::parallel_for(l.nt, d->conv.B * g.C, false, [&](int64_t u, int tid) {
    const Affine f = affine_of(d, mean, invstd, gamma, beta, u % g.C);
    float *a = g.pool ? scratch_of(workspace, l, g, tid) : y + u * g.N;
    activate(a, z + u * g.N, d->residual ? r + u * g.N : nullptr, g.N, f);
    if (g.pool) pool_plane(y + u * g.P, a, d, g);
  });
  return CRNN_STATUS_SUCCESS;
}

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
  crnn::cpu::parallel_for(l.nt, g.C, false, [&](int64_t c, int tid) {
    const Affine f = affine_of(d, mean, invstd, gamma, beta, c);
    float *a = scratch_of(workspace, l, g, tid);
    double sdv = 0.0, sdvx = 0.0;
    for (int64_t n = 0; n < B; ++n) {
      const int64_t u = n * g.C + c;
      const float *zp = z + u * g.N, *rp = d->residual ? r + u * g.N : nullptr;
      float *dv = dz + u * g.N;
      activate(a, zp, rp, g.N, f);
      if (g.pool)
        unpool_plane(dv, dy + u * g.P, a, d, g);
      else
        memcpy(dv, dy + u * g.N, sizeof(float) * g.N);
      if (d->relu)
        for (int64_t i = 0; i < g.N; ++i) dv[i] = a[i] > 0.0f ? dv[i] : 0.0f;
      if (d->residual) memcpy(dr + u * g.N, dv, sizeof(float) * g.N);
      if (d->batch_norm)
        for (int64_t i = 0; i < g.N; ++i) {
          sdv += dv[i];
          sdvx += static_cast<double>(dv[i]) * ((zp[i] - f.mean) * invstd[c]);
        }
    }
    if (!d->batch_norm) return;
    dgamma[c] = static_cast<float>(sdvx), dbeta[c] = static_cast<float>(sdv);
    const float k = gamma[c] * invstd[c], is = invstd[c], m = mean[c];
    const float mdv = static_cast<float>(sdv / M), mdvx = static_cast<float>(sdvx / M);
    for (int64_t n = 0; n < B; ++n) {
      const float *zp = z + (n * g.C + c) * g.N;
      float *dv = dz + (n * g.C + c) * g.N;
      for (int64_t i = 0; i < g.N; ++i) dv[i] = k * (dv[i] - mdv - (zp[i] - m) * is * mdvx);
    }
  });
  return crnn_cpu_conv2d_backward_f32(dx, dw, db, dz, x, w, &d->conv, ws + l.conv,
                                      workspace_bytes - l.conv);
}

}  // extern "C"
