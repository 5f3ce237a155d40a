// Conv2d forward: per sample and group, im2col into a (K = C_g kh kw, N = H_out W_out) panel,
// then y_g (C_out_g, N) = w_g (C_out_g, K) . panel in one sgemm, then bias (+ ReLU) in place.
#include "conv2d.h"

#include <string.h>

#include "blas.h"
#include "conv2d_winograd.h"
#include "cpu_common.h"

namespace {

struct Dims {
  int64_t Ho, Wo, N, Cg, Og, K;
};

bool valid(const crnn_conv2d_desc *d) {
  return d && d->B >= 1 && d->C_in >= 1 && d->H >= 1 && d->W >= 1 && d->C_out >= 1 && d->kh >= 1 &&
         d->kw >= 1 && d->stride_h >= 1 && d->stride_w >= 1 && d->pad_t >= 0 && d->pad_b >= 0 &&
         d->pad_l >= 0 && d->pad_r >= 0 && d->dil_h >= 1 && d->dil_w >= 1 && d->groups >= 1 &&
         d->C_in % d->groups == 0 && d->C_out % d->groups == 0 && crnn_conv2d_out_h(d) >= 1 &&
         crnn_conv2d_out_w(d) >= 1;
}

Dims dims_of(const crnn_conv2d_desc *d) {
  Dims k;
  k.Ho = crnn_conv2d_out_h(d), k.Wo = crnn_conv2d_out_w(d), k.N = k.Ho * k.Wo;
  k.Cg = d->C_in / d->groups, k.Og = d->C_out / d->groups, k.K = k.Cg * d->kh * d->kw;
  return k;
}

// panel[(c kh + i) kw + j][(oh - oh0) Wo + ow] = x[c][oh s_h - pad_t + i d_h][ow s_w - pad_l + j
// d_w] for the output rows oh in [oh0, oh1) (a panel of (oh1 - oh0) Wo columns).
void im2col(float *panel, const float *x, const crnn_conv2d_desc *d, const Dims &k, int64_t oh0,
            int64_t oh1) {
  const int64_t cols = (oh1 - oh0) * k.Wo;
  for (int64_t c = 0; c < k.Cg; ++c)
    for (int64_t i = 0; i < d->kh; ++i)
      for (int64_t j = 0; j < d->kw; ++j) {
        float *row = panel + ((c * d->kh + i) * d->kw + j) * cols;
        const float *xc = x + c * d->H * d->W;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          float *out = row + (oh - oh0) * k.Wo;
          const int64_t h = oh * d->stride_h - d->pad_t + i * d->dil_h;
          if (h < 0 || h >= d->H) {
            memset(out, 0, sizeof(float) * k.Wo);
            continue;
          }
          const float *xr = xc + h * d->W;
          const int64_t w0 = j * d->dil_w - d->pad_l;
          for (int64_t ow = 0; ow < k.Wo; ++ow) {
            const int64_t w = ow * d->stride_w + w0;
            out[ow] = w >= 0 && w < d->W ? xr[w] : 0.0f;
          }
        }
      }
}

// dx_c[h][w] += dpanel[(c kh + i) kw + j][oh Wo + ow] for every window position (col2im).
void col2im(float *dx, const float *dpanel, const crnn_conv2d_desc *d, const Dims &k) {
  for (int64_t c = 0; c < k.Cg; ++c)
    for (int64_t i = 0; i < d->kh; ++i)
      for (int64_t j = 0; j < d->kw; ++j) {
        const float *row = dpanel + ((c * d->kh + i) * d->kw + j) * k.N;
        float *dxc = dx + c * d->H * d->W;
        for (int64_t oh = 0; oh < k.Ho; ++oh) {
          const int64_t h = oh * d->stride_h - d->pad_t + i * d->dil_h;
          if (h < 0 || h >= d->H) continue;
          float *dxr = dxc + h * d->W;
          const float *in = row + oh * k.Wo;
          const int64_t w0 = j * d->dil_w - d->pad_l;
          for (int64_t ow = 0; ow < k.Wo; ++ow) {
            const int64_t w = ow * d->stride_w + w0;
            if (w >= 0 && w < d->W) dxr[w] += in[ow];
          }
        }
      }
}

void bias_gradient(float *db, const float *dy, const crnn_conv2d_desc *d, const Dims &k) {
  if (db)
    for (int64_t o = 0; o < d->C_out; ++o) {
      double acc = 0.0;
      for (int64_t n = 0; n < d->B; ++n) {
        const float *row = dy + (n * d->C_out + o) * k.N;
        for (int64_t i = 0; i < k.N; ++i) acc += row[i];
      }
      db[o] = static_cast<float>(acc);
    }
}

struct BackwardLayout {
  size_t panel, dpanel, dw, per_thread;
};

BackwardLayout backward_layout(const crnn_conv2d_desc *d, const Dims &k) {
  BackwardLayout l;
  l.panel = crnn::cpu::align_up(sizeof(float) * k.K * k.N);
  l.dpanel = l.panel;
  l.dw = crnn::cpu::align_up(sizeof(float) * d->C_out * k.K);
  l.per_thread = l.panel + l.dpanel + l.dw;
  return l;
}

}  // namespace

extern "C" {

int64_t crnn_conv2d_out_h(const crnn_conv2d_desc *d) {
  return (d->H + d->pad_t + d->pad_b - d->dil_h * (d->kh - 1) - 1) / d->stride_h + 1;
}

int64_t crnn_conv2d_out_w(const crnn_conv2d_desc *d) {
  return (d->W + d->pad_l + d->pad_r - d->dil_w * (d->kw - 1) - 1) / d->stride_w + 1;
}

size_t crnn_conv2d_forward_workspace_size(const crnn_conv2d_desc *d) {
  if (!valid(d)) return 0;
  if (crnn::cpu::winograd::eligible(d)) return crnn::cpu::winograd::forward_workspace(d, false);
  const Dims k = dims_of(d);
  const int nt = crnn::cpu::resolve_threads(d->num_threads, d->B * k.Ho);
  return nt * crnn::cpu::align_up(sizeof(float) * k.K * k.N);
}

crnn_status_t crnn_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b,
                                      const crnn_conv2d_desc *d, void *workspace,
                                      size_t workspace_bytes) {
  if (!valid(d) || !y || !x || !w) return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_conv2d_forward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  if (crnn::cpu::winograd::eligible(d)) {
    crnn::cpu::winograd::forward(y, x, w, b, d, false, workspace);
    return CRNN_STATUS_SUCCESS;
  }
  const Dims k = dims_of(d);
  const int nt = crnn::cpu::resolve_threads(d->num_threads, d->B * k.Ho);
  const size_t panel_bytes = crnn::cpu::align_up(sizeof(float) * k.K * k.N);
  // Units: (sample, block of output rows); a batch smaller than the thread count (inference at
  // B = 1) is split by output rows so every thread gets work.
  const int64_t blocks = d->B >= nt ? 1 : (nt + d->B - 1) / d->B;
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  crnn::cpu::parallel_for(nt, d->B * blocks, false, [&](int64_t u, int tid) {
    const int64_t n = u / blocks, r = u % blocks;
    const int64_t oh0 = k.Ho * r / blocks, oh1 = k.Ho * (r + 1) / blocks, cols = (oh1 - oh0) * k.Wo;
    if (cols == 0) return;
    float *panel = reinterpret_cast<float *>(static_cast<char *>(workspace) + tid * panel_bytes);
    for (int64_t g = 0; g < d->groups; ++g) {
      const float *xg = x + (n * d->C_in + g * k.Cg) * d->H * d->W;
      float *yg = y + (n * d->C_out + g * k.Og) * k.N + oh0 * k.Wo;
      im2col(panel, xg, d, k, oh0, oh1);
      crnn::cpu::gemm(false, false, k.Og, cols, k.K, w + g * k.Og * k.K, k.K, panel, cols, 0.0f, yg,
                      k.N);
      for (int64_t o = 0; o < k.Og; ++o) {
        float *row = yg + o * k.N;
        const float bias = b ? b[g * k.Og + o] : 0.0f;
        if (d->relu)
          for (int64_t i = 0; i < cols; ++i) row[i] = row[i] + bias > 0.0f ? row[i] + bias : 0.0f;
        else if (b)
          for (int64_t i = 0; i < cols; ++i) row[i] += bias;
      }
    }
  });
  return CRNN_STATUS_SUCCESS;
}

size_t crnn_conv2d_backward_workspace_size(const crnn_conv2d_desc *d) {
  if (!valid(d)) return 0;
  const Dims k = dims_of(d);
  if (crnn::cpu::winograd::eligible(d)) {  // dx, then dw, in the same workspace
    const size_t a = crnn::cpu::winograd::forward_workspace(d, true);
    const size_t b = crnn::cpu::winograd::weight_gradient_workspace(d);
    return a > b ? a : b;
  }
  return crnn::cpu::resolve_threads(d->num_threads, d->B) * backward_layout(d, k).per_thread;
}

crnn_status_t crnn_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy,
                                       const float *x, const float *w, const crnn_conv2d_desc *d,
                                       void *workspace, size_t workspace_bytes) {
  if (!valid(d) || d->relu || !dw || !dy || !x || !w) return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_conv2d_backward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Dims k = dims_of(d);
  const BackwardLayout lay = backward_layout(d, k);
  const int nt = crnn::cpu::resolve_threads(d->num_threads, d->B);
  char *base = static_cast<char *>(workspace);
  if (crnn::cpu::winograd::eligible(d)) {
    if (dx) crnn::cpu::winograd::forward(dx, dy, w, nullptr, d, true, workspace);
    crnn::cpu::winograd::weight_gradient(dw, dy, x, d, workspace);
    bias_gradient(db, dy, d, k);
    return CRNN_STATUS_SUCCESS;
  }
  const auto dw_of = [&](int t) {
    return reinterpret_cast<float *>(base + t * lay.per_thread + lay.panel + lay.dpanel);
  };
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  for (int t = 0; t < nt; ++t) memset(dw_of(t), 0, sizeof(float) * d->C_out * k.K);
  crnn::cpu::parallel_for(nt, d->B, false, [&](int64_t n, int tid) {
    float *panel = reinterpret_cast<float *>(base + tid * lay.per_thread);
    float *dpanel = reinterpret_cast<float *>(base + tid * lay.per_thread + lay.panel);
    float *dw_t = dw_of(tid);
    if (dx) memset(dx + n * d->C_in * d->H * d->W, 0, sizeof(float) * d->C_in * d->H * d->W);
    for (int64_t g = 0; g < d->groups; ++g) {
      const float *xg = x + (n * d->C_in + g * k.Cg) * d->H * d->W;
      const float *dyg = dy + (n * d->C_out + g * k.Og) * k.N;
      im2col(panel, xg, d, k, 0, k.Ho);
      // dw_g (Og, K) += dy_g (Og, N) . panel^T
      crnn::cpu::gemm(false, true, k.Og, k.K, k.N, dyg, k.N, panel, k.N, 1.0f,
                      dw_t + g * k.Og * k.K, k.K);
      if (dx) {  // dpanel (K, N) = w_g^T (K, Og) . dy_g
        crnn::cpu::gemm(true, false, k.K, k.N, k.Og, w + g * k.Og * k.K, k.K, dyg, k.N, 0.0f,
                        dpanel, k.N);
        col2im(dx + (n * d->C_in + g * k.Cg) * d->H * d->W, dpanel, d, k);
      }
    }
  });
  const int64_t nw = d->C_out * k.K;
  crnn::cpu::parallel_chunks(nt, nw, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float acc = 0.0f;
      for (int t = 0; t < nt; ++t) acc += dw_of(t)[i];
      dw[i] = acc;
    }
  });
  bias_gradient(db, dy, d, k);
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
