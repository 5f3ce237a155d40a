// The narrow GEMM of inference (cpu/gemm_small_n.h) against a double product: every N from 1 to
// kSmallN (register-tile edges), several panels, K from 1 to 300, strided B and C rows, C
// NaN-poisoned and its padding columns left alone; within float32 summation error. Run by ctest
// (CI: also under ASan + UBSan, and built for AVX2 and SSE2 only, the other SIMD clones).
#include <math.h>

#include <vector>

#include "check.h"
#include "cpu/gemm_small_n.h"

namespace {

float next(unsigned &x) {  // a small LCG in [-1, 1)
  x = x * 1664525u + 1013904223u;
  return static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
}

// Max over C of |C - ref| / (K 2^-23 sum |a b|): <= 1 passes (NaN fails).
double check_case(int64_t M, int64_t N, int64_t K, unsigned seed) {
  const int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;
  std::vector<float> A(M * lda), B(K * ldb), panels(M * K, NAN);
  for (float &v : A) v = next(seed);
  for (float &v : B) v = 2.0f * next(seed);
  crnn::cpu::pack_small_n(panels.data(), A.data(), M, K, lda);
  std::vector<float> C(M * ldc, NAN);
  crnn::cpu::gemm_small_n(M, N, K, panels.data(), B.data(), ldb, C.data(), ldc);
  double worst = 0.0;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double s = 0.0, a = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = static_cast<double>(A[i * lda + k]) * B[k * ldb + j];
        s += p, a += fabs(p);
      }
      const double e = fabs(C[i * ldc + j] - s) / (K * 0x1p-23 * a + 1e-30);
      worst = !(e <= worst) ? (e == e ? e : INFINITY) : worst;
    }
    for (int64_t j = N; j < ldc; ++j)
      CHECK(isnan(C[i * ldc + j]), "padding written at %lld", (long long)j);
  }
  return worst;
}

}  // namespace

int main() {
  unsigned seed = 7;
  for (int64_t M : {32, 64, 96})
    for (int64_t K : {1, 5, 128, 300})
      for (int64_t N = 1; N <= crnn::cpu::kSmallN; N += (N < 16 ? 1 : 7)) {
        const double e = check_case(M, N, K, seed++);
        CHECK(e <= 1.0, "M=%lld N=%lld K=%lld: error %.3g of the bound", (long long)M, (long long)N,
              (long long)K, e);
      }
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
