// gemm_small_n (gemm_small_n.h): register tiles of kPanelRows rows (NV vectors of L lanes) by up
// to NT columns.
#include "gemm_small_n.h"

#include <string.h>

#include "cpu_common.h"

namespace crnn {
namespace cpu {
namespace {

// C rows [0, kPanelRows) of one panel, columns [n0, n0 + nt) (nt <= NT).
template <int L, int NT>
CRNN_CPU_INLINE void tile(int nt, int64_t K, const float *panel, const float *B, int64_t ldb,
                          float *C, int64_t ldc) {
  typedef typename Lanes<L>::type V;
  constexpr int NV = kPanelRows / L;
  V acc[NT][NV];
  for (int j = 0; j < NT; ++j)
    for (int v = 0; v < NV; ++v) acc[j][v] = V{};
  for (int64_t k = 0; k < K; ++k) {
    V a[NV];
    for (int v = 0; v < NV; ++v) __builtin_memcpy(&a[v], panel + k * kPanelRows + v * L, sizeof(V));
    const float *b = B + k * ldb;
    for (int j = 0; j < NT; ++j) {
      if (j >= nt) break;
      const V s = b[j] - V{};  // a broadcast (see lstm_recurrent.cpp's tile_mr)
      for (int v = 0; v < NV; ++v) acc[j][v] += a[v] * s;
    }
  }
  for (int j = 0; j < nt; ++j)
    for (int v = 0; v < NV; ++v) {
      float out[L];
      __builtin_memcpy(out, &acc[j][v], sizeof(out));
      for (int i = 0; i < L; ++i) C[(v * L + i) * ldc + j] = out[i];
    }
}

template <int L, int NT>
CRNN_CPU_INLINE void run(int64_t M, int64_t N, int64_t K, const float *panels, const float *B,
                         int64_t ldb, float *C, int64_t ldc) {
  for (int64_t m0 = 0; m0 < M; m0 += kPanelRows)
    for (int64_t n0 = 0; n0 < N; n0 += NT) {
      const int nt = static_cast<int>(N - n0 < NT ? N - n0 : NT);
      tile<L, NT>(nt, K, panels + m0 * K, B + n0, ldb, C + m0 * ldc + n0, ldc);
    }
}

}  // namespace

void pack_small_n(float *panels, const float *A, int64_t M, int64_t K, int64_t lda) {
  for (int64_t m0 = 0; m0 < M; m0 += kPanelRows)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t r = 0; r < kPanelRows; ++r)
        panels[m0 * K + k * kPanelRows + r] = A[(m0 + r) * lda + k];
}

CRNN_SIMD_CLONES void gemm_small_n(int64_t M, int64_t N, int64_t K, const float *panels,
                                   const float *B, int64_t ldb, float *C, int64_t ldc) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    (!defined(CRNN_NO_CLONES) || defined(__AVX512F__))
  static const bool wide = __builtin_cpu_supports("avx512f");
  if (wide) return run<16, 7>(M, N, K, panels, B, ldb, C, ldc);
#endif
  run<8, 2>(M, N, K, panels, B, ldb, C, ldc);
}

}  // namespace cpu
}  // namespace crnn
