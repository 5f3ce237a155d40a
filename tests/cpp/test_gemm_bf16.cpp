// The bfloat16 GEMM (cpu/gemm_bf16.h) against a double product of the bf16-rounded operands,
// both paths (the AVX512-BF16 kernel where the CPU has it, the sgemm emulation), every
// transpose, tile / block edges and strided rows, outputs NaN-poisoned; two threads at once
// (each has its own packing buffers: TSan in CI); the C API precision switch, seen through a
// 1x1 convolution (its GEMM); a 2-layer BiLSTM forward + backward in bf16 (the recurrence's
// bf16 panels and row buffers) with NaN-poisoned workspaces, within bf16 error of float32. Run by
// ctest (CI: also under ASan + UBSan and TSan).
#include <math.h>

#include <thread>
#include <vector>

#include "check.h"
#include "common/narrow_float.h"
#include "cpu/gemm_bf16.h"
#include "crnn/conv2d.h"
#include "crnn/lstm.h"
#include "crnn/matmul_precision.h"

namespace {

float next(unsigned &x) {  // a small LCG in [-1, 1)
  x = x * 1664525u + 1013904223u;
  return static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
}

double rounded(float v) {
  return crnn::bf16_bits_to_float(crnn::float_to_bf16_bits(v));
}

// Max over C of |C - ref| / (K 2^-23 |A||B|): <= 1 passes.
double check_case(int64_t M, int64_t N, int64_t K, bool at, bool bt, bool portable, unsigned seed) {
  const int64_t lda = (at ? M : K) + 3, ldb = (bt ? K : N) + 5, ldc = N + 2;
  std::vector<float> A((at ? K : M) * lda), B((bt ? N : K) * ldb);
  for (float &v : A) v = next(seed);
  for (float &v : B) v = 2.0f * next(seed);
  std::vector<float> C(M * ldc, NAN);
  crnn::cpu::gemm_bf16(at, bt, M, N, K, A.data(), lda, B.data(), ldb, 0.0f, C.data(), ldc,
                       portable);
  double worst = 0.0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0.0, a = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double x = rounded(at ? A[k * lda + i] : A[i * lda + k]);
        const double y = rounded(bt ? B[j * ldb + k] : B[k * ldb + j]);
        s += x * y, a += fabs(x * y);
      }
      const double e = fabs(C[i * ldc + j] - s) / (K * 0x1p-23 * a + 1e-30);
      worst = e > worst || !(e == e) ? (e == e ? e : INFINITY) : worst;
    }
  for (int64_t i = 0; i < M; ++i)  // the row padding past N stays untouched
    for (int64_t j = N; j < ldc; ++j) CHECK(isnan(C[i * ldc + j]), "padding (%ld, %ld)", i, j);
  return worst;
}

void matches_double_reference() {
  const int64_t shapes[][3] = {{1, 1, 1},     {1, 1, 2},     {5, 3, 7},
                               {12, 32, 256}, {13, 33, 257}, {25, 17, 31},
                               {97, 70, 513}, {7, 1030, 9},  {390, 40, 300}};
  unsigned seed = 1;
  for (const auto &s : shapes)
    for (int t = 0; t < 4; ++t)
      for (int portable = 0; portable < 2; ++portable) {
        const double e = check_case(s[0], s[1], s[2], t & 1, t & 2, portable, seed++);
        CHECK(e <= 1.0, "M %ld N %ld K %ld trans %d portable %d: err %g of the bound", s[0], s[1],
              s[2], t, portable, e);
      }
}

void two_threads_at_once() {
  double e[2] = {INFINITY, INFINITY};
  std::thread a([&] { e[0] = check_case(40, 300, 200, false, true, false, 11); });
  std::thread b([&] { e[1] = check_case(50, 200, 300, true, false, false, 12); });
  a.join(), b.join();
  CHECK(e[0] <= 1.0 && e[1] <= 1.0, "errors %g %g", e[0], e[1]);
}

void precision_switch() {
  CHECK(crnn_cpu_matmul_precision() == CRNN_MATMUL_FLOAT32, "default");
  CHECK(crnn_cpu_set_matmul_precision(static_cast<crnn_matmul_precision_t>(7)) ==
            CRNN_STATUS_INVALID_VALUE,
        "bad value");
  // y = w x over 20 pixels and 3 channels, every product 1 + 2^-10 (1 in bfloat16)
  crnn_conv2d_desc d{1, 3, 4, 5, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0, nullptr};
  std::vector<float> x(60, 1.0f + 0x1p-10f), w(6, 1.0f), y(40);
  std::vector<char> ws(crnn_conv2d_forward_workspace_size(&d) + 1);
  const float want[2] = {3.0f * (1.0f + 0x1p-10f), 3.0f};
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    CHECK(crnn_cpu_set_matmul_precision(bf16 ? CRNN_MATMUL_BFLOAT16 : CRNN_MATMUL_FLOAT32) ==
              CRNN_STATUS_SUCCESS,
          "set");
    CHECK(crnn_cpu_matmul_precision() == (bf16 ? CRNN_MATMUL_BFLOAT16 : CRNN_MATMUL_FLOAT32),
          "get");
    y.assign(40, NAN);
    CHECK(crnn_conv2d_forward_f32(y.data(), x.data(), w.data(), nullptr, &d, ws.data(),
                                  ws.size()) == CRNN_STATUS_SUCCESS,
          "conv");
    for (float v : y) CHECK(v == want[bf16], "bf16 %d: %g", bf16, v);
  }
  crnn_cpu_set_matmul_precision(CRNN_MATMUL_FLOAT32);
  CHECK(crnn_cpu_bf16_native() == (crnn::cpu::bf16_native() ? 1 : 0), "native flag");
}

// Forward + backward of a ragged 2-layer BiLSTM (H = 20: a partial 16-unit panel) at the
// given precision; returns y followed by every gradient.
std::vector<float> lstm_run(crnn_matmul_precision_t p) {
  crnn_cpu_set_matmul_precision(p);
  const int64_t T = 6, B = 7, I = 9, H = 20, G = 4 * H;
  const crnn_lstm_desc d{T, B, I, H, 2, 1, 1, 2, 0, nullptr};
  unsigned seed = 5;
  std::vector<std::vector<float>> par(16);
  const float *wi[4], *wh[4], *bi[4], *bh[4];
  float *dwi[4], *dwh[4], *dbi[4], *dbh[4];
  std::vector<std::vector<float>> grads(16);
  for (int i = 0; i < 4; ++i) {
    const int64_t in = i < 2 ? I : 2 * H, sizes[4] = {G * in, G * H, G, G};
    for (int j = 0; j < 4; ++j) {
      par[4 * i + j].resize(sizes[j]);
      for (float &v : par[4 * i + j]) v = 0.3f * next(seed);
      grads[4 * i + j].assign(sizes[j], NAN);
    }
    wi[i] = par[4 * i].data(), wh[i] = par[4 * i + 1].data();
    bi[i] = par[4 * i + 2].data(), bh[i] = par[4 * i + 3].data();
    dwi[i] = grads[4 * i].data(), dwh[i] = grads[4 * i + 1].data();
    dbi[i] = grads[4 * i + 2].data(), dbh[i] = grads[4 * i + 3].data();
  }
  const crnn_lstm_weights_f32 w{wi, wh, bi, bh};
  std::vector<float> x(T * B * I), dy(T * B * 2 * H), y(T * B * 2 * H, NAN), hn(4 * B * H, NAN),
      cn(4 * B * H, NAN), dx(x.size(), NAN), res(crnn_lstm_reserve_size(&d), NAN);
  for (float &v : x) v = next(seed);
  for (float &v : dy) v = next(seed);
  const int32_t len[7] = {6, 0, 3, 6, 1, 5, 6};
  std::vector<float> wsf(crnn_lstm_forward_workspace_size(&d) / 4 + 1, NAN);
  std::vector<float> wsb(crnn_lstm_backward_workspace_size(&d) / 4 + 1, NAN);
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), res.data(), x.data(), nullptr,
                              nullptr, len, &w, &d, wsf.data(), wsf.size() * 4) == 0,
        "forward");
  CHECK(crnn_lstm_backward_f32(dx.data(), nullptr, nullptr, dwi, dwh, dbi, dbh, dy.data(), nullptr,
                               nullptr, x.data(), y.data(), nullptr, nullptr, len, res.data(), &w,
                               &d, wsb.data(), wsb.size() * 4) == 0,
        "backward");
  std::vector<float> all(y);
  all.insert(all.end(), dx.begin(), dx.end());
  for (const auto &g : grads) all.insert(all.end(), g.begin(), g.end());
  crnn_cpu_set_matmul_precision(CRNN_MATMUL_FLOAT32);
  return all;
}

void lstm_in_bf16() {
  const std::vector<float> f = lstm_run(CRNN_MATMUL_FLOAT32), h = lstm_run(CRNN_MATMUL_BFLOAT16);
  double num = 0.0, den = 0.0;
  bool finite = true;
  for (size_t i = 0; i < f.size(); ++i) {
    finite = finite && std::isfinite(h[i]) && std::isfinite(f[i]);
    num += (h[i] - f[i]) * (h[i] - f[i]), den += f[i] * f[i];
  }
  const double rel = sqrt(num / den);
  CHECK(finite && rel > 1e-5 && rel < 2e-2, "relative RMS difference to float32: %g", rel);
}

}  // namespace

int main() {
  matches_double_reference();
  two_threads_at_once();
  precision_switch();
  lstm_in_bf16();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_gemm_bf16: all checks passed (%s path)\n",
         crnn_cpu_bf16_native() ? "AVX512-BF16" : "emulated");
  return 0;
}
