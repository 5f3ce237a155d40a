// The bfloat16 GEMM (cpu/gemm_bf16.h) against a double product of the bf16-rounded operands,
// both paths (the AVX512-BF16 kernel where the CPU has it, the sgemm emulation), every
// transpose, tile / block edges and strided rows, outputs NaN-poisoned; two threads at once
// (each has its own packing buffers: TSan in CI); the C API precision switch, seen through a
// 1x1 convolution (its GEMM). Run by ctest (CI: also under ASan + UBSan and TSan).
#include <math.h>

#include <thread>
#include <vector>

#include "check.h"
#include "common/narrow_float.h"
#include "cpu/gemm_bf16.h"
#include "crnn/conv2d.h"
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

}  // namespace

int main() {
  matches_double_reference();
  two_threads_at_once();
  precision_switch();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_gemm_bf16: all checks passed (%s path)\n",
         crnn_cpu_bf16_native() ? "AVX512-BF16" : "emulated");
  return 0;
}
