// A float32 GEMM for a narrow right-hand side and a left-hand side packed once: C (M, N) = A B
// with N small (up to kSmallN), the shape of the Winograd GEMMs of inference at batch 1 (M output
// channels, N tiles: 7 for VGG7's 4x25 layers in F(4x4), 26 in F(2x2)). OpenBLAS vectorizes such
// a product along N (7 of 16 lanes used) and reads A row by row; here A is packed into panels of
// kPanelRows rows, k-major (panel[k * 32 + r]), streamed once per call, and M runs along the
// vector lanes: per k, the panel's row times N broadcasts of B, in register tiles of 32 x 7
// (AVX-512: 14 accumulators) or 32 x 2 (AVX2). Each C element sums over k in order.
#pragma once

#include <stdint.h>

namespace crnn {
namespace cpu {

// Where the kernel beats OpenBLAS's sgemm (one thread, 36 GEMMs of F(4x4) points, weights streamed
// from memory): N <= 64 with K >= 128 (C_out 256-512: 1.3x at N = 56-63, 2-2.5x at N = 7-14);
// at K = 64 (VGG7's conv2, N = 52) OpenBLAS is faster (105 vs 77 GFLOP/s).
constexpr int64_t kSmallN = 64;
constexpr int64_t kSmallNMinK = 128;
constexpr int64_t kPanelRows = 32;  // rows of A per panel; M must be a multiple

// Packs A (M, K) row-major (lda) into M / kPanelRows panels (K, kPanelRows): M K floats.
void pack_small_n(float *panels, const float *A, int64_t M, int64_t K, int64_t lda);

// C[m * ldc + n] = sum_k A[m][k] B[k * ldb + n] for m < M, n < N, A given as pack_small_n's
// panels (C overwritten; M a multiple of kPanelRows).
void gemm_small_n(int64_t M, int64_t N, int64_t K, const float *panels, const float *B, int64_t ldb,
                  float *C, int64_t ldc);

}  // namespace cpu
}  // namespace crnn
