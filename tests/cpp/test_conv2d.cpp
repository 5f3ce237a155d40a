// conv2d forward kernel vs a naive double-precision loop on small random cases (strides, pads,
// dilation, groups, ReLU; Winograd F(2x2), F(4x4) and F(2x4)), with outputs and workspaces
// NaN-poisoned first; statuses for bad descriptors.
#include <math.h>
#include <stdlib.h>

#include <random>
#include <vector>

#include "check.h"
#include "crnn/conv2d.h"

// Calls f(y_index, x_index, w_index) for every (output element, kernel tap) that reads a real
// (not padding) input element: the definition of the convolution, shared by both naive loops.
template <typename F>
static void for_each_tap(const crnn_conv2d_desc &d, F f) {
  const int64_t Ho = crnn_conv2d_out_h(&d), Wo = crnn_conv2d_out_w(&d);
  const int64_t Cg = d.C_in / d.groups, Og = d.C_out / d.groups;
  for (int64_t n = 0; n < d.B; ++n)
    for (int64_t o = 0; o < d.C_out; ++o)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow)
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < d.kh; ++i)
              for (int64_t j = 0; j < d.kw; ++j) {
                const int64_t h = oh * d.stride_h - d.pad_t + i * d.dil_h;
                const int64_t ww = ow * d.stride_w - d.pad_l + j * d.dil_w;
                if (h < 0 || h >= d.H || ww < 0 || ww >= d.W) continue;
                f(((n * d.C_out + o) * Ho + oh) * Wo + ow,
                  ((n * d.C_in + (o / Og) * Cg + c) * d.H + h) * d.W + ww,
                  ((o * Cg + c) * d.kh + i) * d.kw + j);
              }
}

static void naive(std::vector<double> &y, const std::vector<float> &x, const std::vector<float> &w,
                  const std::vector<float> &b, const crnn_conv2d_desc &d) {
  const int64_t N = crnn_conv2d_out_h(&d) * crnn_conv2d_out_w(&d);
  y.assign(d.B * d.C_out * N, 0.0);
  for (size_t i = 0; i < y.size(); ++i) y[i] = b[(i / N) % d.C_out];
  for_each_tap(d, [&](int64_t yi, int64_t xi, int64_t wi) { y[yi] += double(x[xi]) * w[wi]; });
  if (d.relu)
    for (double &v : y) v = v < 0 ? 0 : v;
}

// d_x, d_w, d_b of sum(y * dy), in double.
static void naive_backward(std::vector<double> &dx, std::vector<double> &dw,
                           std::vector<double> &db, const std::vector<float> &dy,
                           const std::vector<float> &x, const std::vector<float> &w,
                           const crnn_conv2d_desc &d) {
  const int64_t N = crnn_conv2d_out_h(&d) * crnn_conv2d_out_w(&d);
  dx.assign(x.size(), 0.0), dw.assign(w.size(), 0.0), db.assign(d.C_out, 0.0);
  for (size_t i = 0; i < dy.size(); ++i) db[(i / N) % d.C_out] += dy[i];
  for_each_tap(d, [&](int64_t yi, int64_t xi, int64_t wi) {
    dx[xi] += double(dy[yi]) * w[wi];
    dw[wi] += double(dy[yi]) * x[xi];
  });
}

static double max_rel(const std::vector<float> &a, const std::vector<double> &e) {
  double m = 0, scale = 1;
  for (double v : e) scale = fmax(scale, fabs(v));
  for (size_t i = 0; i < e.size(); ++i)
    m = std::isnan(a[i]) ? INFINITY : fmax(m, fabs(a[i] - e[i]) / scale);
  return m;
}

// Forward and backward of d vs the naive loops, outputs and workspaces NaN-poisoned first.
// tol < 0: the default kernels' bounds (2e-5, the forward's per element relative to 1 + |y|);
// tol > 0: max|err| <= tol max(1, max|ref|) for every output (Winograd F(4x4)).
static void check_case(const crnn_conv2d_desc &d, std::mt19937 &gen, double tol, const char *tag) {
  std::normal_distribution<float> nd;
  std::vector<float> x(d.B * d.C_in * d.H * d.W), w(d.C_out * (d.C_in / d.groups) * d.kh * d.kw),
      b(d.C_out);
  for (auto *v : {&x, &w, &b})
    for (float &f : *v) f = nd(gen);
  const int64_t ny = d.B * d.C_out * crnn_conv2d_out_h(&d) * crnn_conv2d_out_w(&d);
  std::vector<float> y(ny, NAN);
  std::vector<char> ws(crnn_conv2d_forward_workspace_size(&d), char(0xff));  // NaN floats
  CHECK(crnn_conv2d_forward_f32(y.data(), x.data(), w.data(), b.data(), &d, ws.data(), ws.size()) ==
            CRNN_STATUS_SUCCESS,
        "status");
  std::vector<double> want;
  naive(want, x, w, b, d);
  double err = 0;
  int nan = 0;
  for (int64_t i = 0; i < ny; ++i) {
    nan += std::isnan(y[i]);
    err = fmax(err, fabs(y[i] - want[i]) / (1.0 + fabs(want[i])));
  }
  if (tol > 0) err = max_rel(y, want);
  const double bound = tol > 0 ? tol : 2e-5;
  CHECK(nan == 0 && err < bound, "%s B=%lld C_in=%lld groups=%lld: %d NaN, max rel err %g", tag,
        (long long)d.B, (long long)d.C_in, (long long)d.groups, nan, err);

  crnn_conv2d_desc db_desc = d;
  db_desc.relu = 0;
  std::vector<float> dy(ny), dx(x.size(), NAN), dw(w.size(), NAN), dbias(d.C_out, NAN);
  for (float &f : dy) f = nd(gen);
  std::vector<char> bws(crnn_conv2d_backward_workspace_size(&db_desc), char(0xff));
  CHECK(crnn_conv2d_backward_f32(dx.data(), dw.data(), dbias.data(), dy.data(), x.data(), w.data(),
                                 &db_desc, bws.data(), bws.size()) == CRNN_STATUS_SUCCESS,
        "backward status");
  std::vector<double> ex, ew, eb;
  naive_backward(ex, ew, eb, dy, x, w, db_desc);
  const double ed = max_rel(dx, ex), eW = max_rel(dw, ew), eB = max_rel(dbias, eb);
  CHECK(ed < bound && eW < bound && eB < bound, "%s backward groups=%lld: dx %g dw %g db %g", tag,
        (long long)d.groups, ed, eW, eB);
}

int main() {
  std::mt19937 gen(7);
  // {B, C_in, H, W, C_out, kh, kw, stride h/w, pad t/b/l/r, dilation h/w, groups, relu, threads}
  const crnn_conv2d_desc cases[] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, CRNN_DEVICE_CPU, nullptr},
      {2, 3, 5, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, CRNN_DEVICE_CPU, nullptr},
      {3, 4, 9, 11, 6, 3, 2, 2, 1, 1, 2, 0, 1, 2, 1, 2, 0, 2, CRNN_DEVICE_CPU, nullptr},
      {1, 6, 5, 8, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 6, 1, 1, CRNN_DEVICE_CPU, nullptr},
      {2, 8, 2, 25, 4, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, CRNN_DEVICE_CPU, nullptr},
      // several samples per im2col panel (small planes), with groups
      {5, 4, 6, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2, 1, 0, CRNN_DEVICE_CPU, nullptr},
      // Winograd F(2x2, 3x3) (3x3, stride 1, >= 16 channels): odd and even output sizes,
      // asymmetric pads 0..2, several chunks per thread, a 1x1 plane
      {3, 16, 5, 7, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, CRNN_DEVICE_CPU, nullptr},
      {2, 17, 6, 9, 16, 3, 3, 1, 1, 0, 2, 2, 1, 1, 1, 1, 0, 2, CRNN_DEVICE_CPU, nullptr},
      {9, 16, 1, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, CRNN_DEVICE_CPU, nullptr},
      {70, 16, 2, 3, 16, 3, 3, 1, 1, 1, 1, 0, 2, 1, 1, 1, 1, 0, CRNN_DEVICE_CPU, nullptr},
      // im2col row copies (stride_w 1: one memcpy per row) at ResNet34_vd's stride (2, 1): odd C,
      // W_out 13, H_out 1, W = 1, asymmetric pads; a 1x1 stride-1 layer reading x as its panel
      // (groups, B below and above the thread count, one that splits a sample's rows)
      {3, 5, 5, 13, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, CRNN_DEVICE_CPU, nullptr},
      {2, 7, 2, 17, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, CRNN_DEVICE_CPU, nullptr},
      {1, 3, 4, 1, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3, CRNN_DEVICE_CPU, nullptr},
      {2, 4, 7, 10, 6, 3, 3, 3, 1, 2, 0, 0, 2, 1, 1, 1, 0, 0, CRNN_DEVICE_CPU, nullptr},
      {3, 6, 4, 9, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3, 1, 0, CRNN_DEVICE_CPU, nullptr},
      {1, 5, 3, 7, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 3, CRNN_DEVICE_CPU, nullptr},
  };

  // The 2e-5 bounds are im2col's and F(2x2)'s: Winograd pinned to F(2x2) by the kernel's test
  // knob CRNN_FAST_WINOGRAD (its selection rule picks F(4x4) for some of these cases).
  setenv("CRNN_FAST_WINOGRAD", "f2", 1);
  for (const auto &d : cases) check_case(d, gen, -1.0, "F2");
  // Winograd F(4x4, 3x3) forced (max|err| <= 2e-5 max|ref|, its stated bound) on the
  // Winograd-eligible cases above and on more: a 16-tile block per tile row and more (W_out > 64),
  // pads 2, C not a multiple of 16, one sample with threads splitting its chunk.
  const crnn_conv2d_desc f4_cases[] = {
      {2, 16, 9, 70, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, CRNN_DEVICE_CPU, nullptr},
      {2, 33, 7, 5, 18, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 0, CRNN_DEVICE_CPU, nullptr},
      {1, 20, 10, 13, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3, CRNN_DEVICE_CPU, nullptr},
  };
  setenv("CRNN_FAST_WINOGRAD", "f4", 1);
  for (const auto &d : cases)
    if (d.kh == 3 && d.kw == 3 && d.stride_h == 1 && d.C_in >= 16) check_case(d, gen, 2e-5, "F4");
  for (const auto &d : f4_cases) check_case(d, gen, 2e-5, "F4");
  // F(2x4) forced on the same cases, and chosen by the rule on 2-row planes (the last case)
  const crnn_conv2d_desc f2x4_cases[] = {
      {2, 24, 2, 50, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, CRNN_DEVICE_CPU, nullptr},
  };
  setenv("CRNN_FAST_WINOGRAD", "f2x4", 1);
  for (const auto &d : cases)
    if (d.kh == 3 && d.kw == 3 && d.stride_h == 1 && d.C_in >= 16) check_case(d, gen, 2e-5, "F2x4");
  for (const auto &d : f4_cases) check_case(d, gen, 2e-5, "F2x4");
  for (const auto &d : f2x4_cases) check_case(d, gen, 2e-5, "F2x4");
  unsetenv("CRNN_FAST_WINOGRAD");  // the selection rule's choice
  for (const auto &d : f4_cases) check_case(d, gen, 2e-5, "auto");
  for (const auto &d : f2x4_cases) check_case(d, gen, 2e-5, "auto");
  crnn_conv2d_desc bad = cases[1];
  bad.groups = 3;  // divides C_in = 3 but not C_out = 10
  bad.C_out = 10;
  float y = 0, x = 0, w = 0;
  char ws[64];
  CHECK(crnn_conv2d_forward_f32(&y, &x, &w, nullptr, &bad, ws, sizeof ws) ==
            CRNN_STATUS_INVALID_VALUE,
        "groups not dividing C_in must be INVALID_VALUE");
  CHECK(crnn_conv2d_forward_workspace_size(&bad) == 0, "invalid desc -> workspace 0");
  const crnn_conv2d_desc ok = cases[1];
  CHECK(crnn_conv2d_forward_f32(&y, &x, &w, nullptr, &ok, ws, 1) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "a small workspace must be refused");
  if (failures) {
    fprintf(stderr, "test_conv2d: %d failures\n", failures);
    return 1;
  }
  printf("test_conv2d: all checks passed\n");
  return 0;
}
