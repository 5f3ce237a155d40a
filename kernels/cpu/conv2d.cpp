// Conv2d: Winograd (conv2d_winograd.h) for the 3x3 stride-1 layers, else im2col + sgemm: per
// unit of samples and group, im2col into a (K = C_g kh kw, N = H_out W_out per sample) panel,
// then y_g (C_out_g, N) = w_g (C_out_g, K) . panel in one sgemm, then bias (+ ReLU). A unit is
// one sample (or a block of its output rows when the batch is smaller than the thread count),
// or several samples side by side when a plane is small (the sgemm gets >= kPanelCols columns).
// 1x1 stride-1 unpadded layers (ResNet34_vd's shortcuts) skip im2col: x is the panel.
// Direct kernels for ResNet34_vd's stride-(2, 1) 3x3 layers were probed (issue 19) and not kept:
// an AVX2 micro-kernel over row-gathered input planes (4 output channels x 3 vectors of 8 along
// the flattened output row, weights packed, input blocked to L1) ran at 0.8-0.95x the speed of
// OpenBLAS's sgemm including its packing (s1b0/s2b0/s3b0 forward shapes, one thread), so it
// could only save the im2col copies, which are memcpys now.
#include <string.h>

#include "blas.h"
#include "conv2d_winograd.h"
#include "conv_forward.h"
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

struct Dims {
  int64_t Ho, Wo, N, Cg, Og, K;
};

constexpr int64_t kPanelCols = 512;

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

// A 1x1 convolution with stride 1 and no padding: its im2col panel of one sample is x itself
// (C_g, H W), so the sgemms read x and write y / dx in place, one sample per unit. Side-by-side
// samples would need the copies back (panel, output scatter, dy gather) for wider sgemms; with
// none, ResNet34_vd's shortcut convs (H W = 400, 200, 100) at B = 64 ran 1.2-2.5x faster forward
// and 1.05-1.4x fwd+bwd than before (benchmarks/conv_strided_ab.py, 9 interleaved rounds).
bool identity_panel(const crnn_conv2d_desc *d) {
  return d->kh == 1 && d->kw == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_t == 0 &&
         d->pad_b == 0 && d->pad_l == 0 && d->pad_r == 0;
}

// Samples per unit: 1, or enough for kPanelCols columns when planes are small and every one of
// the nt threads still gets a unit.
int64_t samples_per_unit(const crnn_conv2d_desc *d, const Dims &k, int nt) {
  if (k.N >= kPanelCols || d->B < nt || identity_panel(d)) return 1;
  return crnn::cpu::balanced_unit(d->B, nt, (kPanelCols + k.N - 1) / k.N);
}

// The output columns [*lo, *hi) of a row whose input column ow s_w + w0 lies inside [0, W); the
// columns outside read padding.
void valid_columns(int64_t *lo, int64_t *hi, int64_t w0, const crnn_conv2d_desc *d, const Dims &k) {
  const int64_t s = d->stride_w;
  int64_t a = w0 >= 0 ? 0 : (-w0 + s - 1) / s, b = d->W - w0 <= 0 ? 0 : (d->W - w0 + s - 1) / s;
  if (b > k.Wo) b = k.Wo;
  *lo = a < b ? a : b, *hi = b;
}

// panel[(c kh + i) kw + j][(oh - oh0) Wo + ow] = x[c][oh s_h - pad_t + i d_h][ow s_w - pad_l + j
// d_w] for the output rows oh in [oh0, oh1); panel rows are ldp apart. The in-bounds columns are
// one memcpy per row at stride_w 1 (a per-element bounds test was 12-20 % of a strided layer's
// forward, ResNet34_vd s2b0.conv0 at B = 64, perf), the padding columns memsets.
void im2col(float *panel, int64_t ldp, const float *x, const crnn_conv2d_desc *d, const Dims &k,
            int64_t oh0, int64_t oh1) {
  for (int64_t j = 0; j < d->kw; ++j) {
    const int64_t w0 = j * d->dil_w - d->pad_l;
    int64_t lo, hi;
    valid_columns(&lo, &hi, w0, d, k);
    for (int64_t c = 0; c < k.Cg; ++c)
      for (int64_t i = 0; i < d->kh; ++i) {
        float *row = panel + ((c * d->kh + i) * d->kw + j) * ldp;
        const float *xc = x + c * d->H * d->W;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          float *out = row + (oh - oh0) * k.Wo;
          const int64_t h = oh * d->stride_h - d->pad_t + i * d->dil_h;
          if (h < 0 || h >= d->H) {
            memset(out, 0, sizeof(float) * k.Wo);
            continue;
          }
          const float *xr = xc + h * d->W;
          memset(out, 0, sizeof(float) * lo);
          if (d->stride_w == 1)
            memcpy(out + lo, xr + lo + w0, sizeof(float) * (hi - lo));
          else
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = xr[ow * d->stride_w + w0];
          memset(out + hi, 0, sizeof(float) * (k.Wo - hi));
        }
      }
  }
}

// dx_c[h][w] += dpanel[(c kh + i) kw + j][oh Wo + ow] for every window position (col2im);
// dpanel rows are ldp apart. Only the in-bounds columns, without a test per element.
void col2im(float *dx, const float *dpanel, int64_t ldp, const crnn_conv2d_desc *d, const Dims &k) {
  for (int64_t j = 0; j < d->kw; ++j) {
    const int64_t w0 = j * d->dil_w - d->pad_l;
    int64_t lo, hi;
    valid_columns(&lo, &hi, w0, d, k);
    for (int64_t c = 0; c < k.Cg; ++c)
      for (int64_t i = 0; i < d->kh; ++i) {
        const float *row = dpanel + ((c * d->kh + i) * d->kw + j) * ldp;
        float *dxc = dx + c * d->H * d->W;
        for (int64_t oh = 0; oh < k.Ho; ++oh) {
          const int64_t h = oh * d->stride_h - d->pad_t + i * d->dil_h;
          if (h < 0 || h >= d->H) continue;
          float *__restrict dxr = dxc + h * d->W;
          const float *__restrict in = row + oh * k.Wo;
          if (d->stride_w == 1)
            for (int64_t ow = lo; ow < hi; ++ow) dxr[ow + w0] += in[ow];
          else
            for (int64_t ow = lo; ow < hi; ++ow) dxr[ow * d->stride_w + w0] += in[ow];
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
  int nt;
  int64_t cs;  // samples per unit
  size_t panel, dpanel, dyc, dw, per_thread;
};

BackwardLayout backward_layout(const crnn_conv2d_desc *d, const Dims &k) {
  BackwardLayout l;
  l.nt = crnn::cpu::resolve_threads(d->num_threads, d->B);
  l.cs = samples_per_unit(d, k, l.nt);
  l.panel = identity_panel(d) ? 0 : crnn::cpu::align_up(sizeof(float) * k.K * k.N * l.cs);
  l.dpanel = l.panel;
  l.dyc = l.cs > 1 ? crnn::cpu::align_up(sizeof(float) * k.Og * k.N * l.cs) : 0;
  l.dw = crnn::cpu::align_up(sizeof(float) * d->C_out * k.K);
  l.per_thread = l.panel + l.dpanel + l.dyc + l.dw;
  return l;
}

struct ForwardLayout {
  int nt;
  int64_t cs, blocks;  // samples per unit; blocks of output rows per sample (cs == 1)
  int64_t oblocks;     // blocks of output channels per sample (cs == 1, blocks == 1)
  size_t panel, out, per_thread;
};

ForwardLayout forward_layout(const crnn_conv2d_desc *d, const Dims &k) {
  ForwardLayout l;
  const int nt_max = crnn::cpu::resolve_threads(d->num_threads, d->B * k.Og);
  l.nt = crnn::cpu::resolve_threads(d->num_threads, d->B * k.Ho);
  l.cs = samples_per_unit(d, k, l.nt);
  // A batch smaller than the thread count (inference at B = 1) is split by output rows, or,
  // when there are fewer rows than threads (VGG7's last layer: one row), by output channels.
  l.blocks = d->B >= l.nt ? 1 : (l.nt + d->B - 1) / d->B;
  l.oblocks = 1;
  if (d->B * k.Ho < nt_max) {
    l.nt = nt_max;
    l.cs = 1, l.blocks = 1;
    l.oblocks = (nt_max + d->B - 1) / d->B;
  }
  l.panel = identity_panel(d) ? 0 : crnn::cpu::align_up(sizeof(float) * k.K * k.N * l.cs);
  l.out = l.cs > 1 ? crnn::cpu::align_up(sizeof(float) * k.Og * k.N * l.cs) : 0;
  l.per_thread = l.panel + l.out;
  return l;
}

void bias_relu(float *row, int64_t n, const float *b, int64_t o, int32_t relu) {
  const float bias = b ? b[o] : 0.0f;
  if (relu)
    for (int64_t i = 0; i < n; ++i) row[i] = row[i] + bias > 0.0f ? row[i] + bias : 0.0f;
  else if (b)
    for (int64_t i = 0; i < n; ++i) row[i] += bias;
}

}  // namespace

extern "C" {

int64_t crnn_conv2d_out_h(const crnn_conv2d_desc *d) {
  return (d->H + d->pad_t + d->pad_b - d->dil_h * (d->kh - 1) - 1) / d->stride_h + 1;
}

int64_t crnn_conv2d_out_w(const crnn_conv2d_desc *d) {
  return (d->W + d->pad_l + d->pad_r - d->dil_w * (d->kw - 1) - 1) / d->stride_w + 1;
}

size_t crnn_cpu_conv2d_forward_workspace_size(const crnn_conv2d_desc *d) {
  if (!valid(d)) return 0;
  if (crnn::cpu::winograd::eligible(d)) return crnn::cpu::winograd::forward_workspace(d, false);
  const Dims k = dims_of(d);
  const ForwardLayout l = forward_layout(d, k);
  // never 0 for a valid d (0 means invalid to the callers): 1x1 stride-1 layers need no panel
  return l.nt * l.per_thread > 0 ? l.nt * l.per_thread : 64;
}

crnn_status_t crnn_cpu_conv2d_forward_f32(float *y, const float *x, const float *w, const float *b,
                                          const crnn_conv2d_desc *d, void *workspace,
                                          size_t workspace_bytes) {
  return crnn::cpu::conv2d_forward(y, x, w, nullptr, nullptr, b, d, workspace, workspace_bytes);
}

}  // extern "C"

crnn_status_t crnn::cpu::conv2d_forward(float *y, const float *x, const float *w, const float *U,
                                        const float *UP, const float *b, const crnn_conv2d_desc *d,
                                        void *workspace, size_t workspace_bytes) {
  if (!valid(d) || !y || !x || !w) return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_cpu_conv2d_forward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  if (crnn::cpu::winograd::eligible(d)) {
    crnn::cpu::winograd::forward(y, x, w, b, d, false, workspace, U, UP);
    return CRNN_STATUS_SUCCESS;
  }
  const Dims k = dims_of(d);
  const ForwardLayout l = forward_layout(d, k);
  const int64_t units = l.cs > 1 ? (d->B + l.cs - 1) / l.cs : d->B * l.blocks * l.oblocks;
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  crnn::cpu::parallel_for(l.nt, units, false, [&](int64_t u, int tid) {
    float *panel = reinterpret_cast<float *>(static_cast<char *>(workspace) + tid * l.per_thread);
    if (l.cs > 1) {  // samples [n0, n1) side by side: y_g of all into out, then scattered
      float *out = reinterpret_cast<float *>(reinterpret_cast<char *>(panel) + l.panel);
      const int64_t n0 = u * l.cs, n1 = n0 + l.cs < d->B ? n0 + l.cs : d->B, cols = (n1 - n0) * k.N;
      for (int64_t g = 0; g < d->groups; ++g) {
        for (int64_t n = n0; n < n1; ++n)
          im2col(panel + (n - n0) * k.N, cols, x + (n * d->C_in + g * k.Cg) * d->H * d->W, d, k, 0,
                 k.Ho);
        crnn::cpu::gemm(false, false, k.Og, cols, k.K, w + g * k.Og * k.K, k.K, panel, cols, 0.0f,
                        out, cols);
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t o = 0; o < k.Og; ++o) {
            float *row = y + (n * d->C_out + g * k.Og + o) * k.N;
            memcpy(row, out + o * cols + (n - n0) * k.N, sizeof(float) * k.N);
            bias_relu(row, k.N, b, g * k.Og + o, d->relu);
          }
      }
      return;
    }
    const int64_t per_sample = l.blocks * l.oblocks, n = u / per_sample;
    const int64_t r = (u % per_sample) / l.oblocks, ob = u % l.oblocks;
    const int64_t oh0 = k.Ho * r / l.blocks, oh1 = k.Ho * (r + 1) / l.blocks;
    const int64_t o0 = k.Og * ob / l.oblocks, o1 = k.Og * (ob + 1) / l.oblocks;
    const int64_t cols = (oh1 - oh0) * k.Wo;
    if (cols == 0 || o1 == o0) return;
    for (int64_t g = 0; g < d->groups; ++g) {
      const float *xg = x + (n * d->C_in + g * k.Cg) * d->H * d->W;
      const float *wg = w + (g * k.Og + o0) * k.K;
      float *yg = y + (n * d->C_out + g * k.Og + o0) * k.N + oh0 * k.Wo;
      if (identity_panel(d)) {
        crnn::cpu::gemm(false, false, o1 - o0, cols, k.K, wg, k.K, xg + oh0 * k.Wo, k.N, 0.0f, yg,
                        k.N);
      } else {
        im2col(panel, cols, xg, d, k, oh0, oh1);
        crnn::cpu::gemm(false, false, o1 - o0, cols, k.K, wg, k.K, panel, cols, 0.0f, yg, k.N);
      }
      for (int64_t o = o0; o < o1; ++o)
        bias_relu(yg + (o - o0) * k.N, cols, b, g * k.Og + o, d->relu);
    }
  });
  return CRNN_STATUS_SUCCESS;
}

extern "C" {

size_t crnn_cpu_conv2d_backward_workspace_size(const crnn_conv2d_desc *d) {
  if (!valid(d)) return 0;
  const Dims k = dims_of(d);
  if (crnn::cpu::winograd::eligible(d)) {  // dx, then dw, in the same workspace
    const size_t a = crnn::cpu::winograd::forward_workspace(d, true);
    const size_t b = crnn::cpu::winograd::weight_gradient_workspace(d);
    return a > b ? a : b;
  }
  const BackwardLayout l = backward_layout(d, k);
  return l.nt * l.per_thread;
}

crnn_status_t crnn_cpu_conv2d_backward_f32(float *dx, float *dw, float *db, const float *dy,
                                           const float *x, const float *w,
                                           const crnn_conv2d_desc *d, void *workspace,
                                           size_t workspace_bytes) {
  if (!valid(d) || d->relu || !dw || !dy || !x || !w) return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < crnn_cpu_conv2d_backward_workspace_size(d))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Dims k = dims_of(d);
  const BackwardLayout lay = backward_layout(d, k);
  const int nt = lay.nt;
  char *base = static_cast<char *>(workspace);
  if (crnn::cpu::winograd::eligible(d)) {
    if (dx) crnn::cpu::winograd::forward(dx, dy, w, nullptr, d, true, workspace);
    crnn::cpu::winograd::weight_gradient(dw, dy, x, d, workspace);
    bias_gradient(db, dy, d, k);
    return CRNN_STATUS_SUCCESS;
  }
  const auto dw_of = [&](int t) {
    return reinterpret_cast<float *>(base + t * lay.per_thread + lay.panel + lay.dpanel + lay.dyc);
  };
  crnn::cpu::set_blas_threads(1);  // parallelism is ours (thread_pool.h)
  for (int t = 0; t < nt; ++t) memset(dw_of(t), 0, sizeof(float) * d->C_out * k.K);
  const int64_t HW = d->H * d->W;
  crnn::cpu::parallel_for(nt, (d->B + lay.cs - 1) / lay.cs, false, [&](int64_t u, int tid) {
    char *mine = base + tid * lay.per_thread;
    float *panel = reinterpret_cast<float *>(mine);
    float *dpanel = reinterpret_cast<float *>(mine + lay.panel);
    float *dyc = reinterpret_cast<float *>(mine + lay.panel + lay.dpanel);
    float *dw_t = dw_of(tid);
    const int64_t n0 = u * lay.cs, n1 = n0 + lay.cs < d->B ? n0 + lay.cs : d->B;
    const int64_t cols = (n1 - n0) * k.N;
    if (identity_panel(d)) {  // one sample (n1 = n0 + 1): x is the panel, dx the dpanel
      for (int64_t g = 0; g < d->groups; ++g) {
        const float *dyg = dy + (n0 * d->C_out + g * k.Og) * k.N;
        const float *xg = x + (n0 * d->C_in + g * k.Cg) * HW;
        crnn::cpu::gemm(false, true, k.Og, k.K, k.N, dyg, k.N, xg, k.N, 1.0f, dw_t + g * k.Og * k.K,
                        k.K);
        if (dx)
          crnn::cpu::gemm(true, false, k.K, k.N, k.Og, w + g * k.Og * k.K, k.K, dyg, k.N, 0.0f,
                          dx + (n0 * d->C_in + g * k.Cg) * HW, k.N);
      }
      return;
    }
    if (dx) memset(dx + n0 * d->C_in * HW, 0, sizeof(float) * (n1 - n0) * d->C_in * HW);
    for (int64_t g = 0; g < d->groups; ++g) {
      for (int64_t n = n0; n < n1; ++n)
        im2col(panel + (n - n0) * k.N, cols, x + (n * d->C_in + g * k.Cg) * HW, d, k, 0, k.Ho);
      const float *dyg = dy + (n0 * d->C_out + g * k.Og) * k.N;
      if (lay.cs > 1) {  // dy_g of the unit's samples side by side, like the panel
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t o = 0; o < k.Og; ++o)
            memcpy(dyc + o * cols + (n - n0) * k.N, dy + (n * d->C_out + g * k.Og + o) * k.N,
                   sizeof(float) * k.N);
        dyg = dyc;
      }
      // dw_g (Og, K) += dy_g (Og, cols) . panel^T
      crnn::cpu::gemm(false, true, k.Og, k.K, cols, dyg, cols, panel, cols, 1.0f,
                      dw_t + g * k.Og * k.K, k.K);
      if (dx) {  // dpanel (K, cols) = w_g^T (K, Og) . dy_g
        crnn::cpu::gemm(true, false, k.K, cols, k.Og, w + g * k.Og * k.K, k.K, dyg, cols, 0.0f,
                        dpanel, cols);
        for (int64_t n = n0; n < n1; ++n)
          col2im(dx + (n * d->C_in + g * k.Cg) * HW, dpanel + (n - n0) * k.N, cols, d, k);
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
