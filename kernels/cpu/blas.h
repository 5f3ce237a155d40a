// The BLAS the CPU kernels call for large GEMMs (CMakeLists.txt picks it). By default OpenBLAS
// from the scipy-openblas32 wheel (CRNN_BLAS_SCIPY_OPENBLAS: symbols prefixed `scipy_`;
// DYNAMIC_ARCH picks the host's kernel at run time): Python loads that library (import
// scipy_openblas32) before crnn_fast._C, which then binds to it by SONAME. A C-only build may
// take a plain OpenBLAS (CRNN_BLAS_OPENBLAS) or any CBLAS; the kernels call it from their own
// pool threads, so a BLAS that threads by itself should be limited to one thread by its own
// environment variable.
#pragma once

#include <cblas.h>
#include <stdint.h>

#include "gemm_bf16.h"

#if defined(CRNN_BLAS_SCIPY_OPENBLAS)
#define CRNN_CBLAS_SGEMM scipy_cblas_sgemm
#else
#define CRNN_CBLAS_SGEMM cblas_sgemm
#endif

namespace crnn {
namespace cpu {

// C (M, N) = op(A) . op(B) + beta C in float32 (sgemm), row-major with explicit leading
// dimensions; op(X) = X^T when its flag is set (an LSTM weight (4H, in) used as B^T needs
// b_trans).
inline void gemm_f32(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                     int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  CRNN_CBLAS_SGEMM(CblasRowMajor, a_trans ? CblasTrans : CblasNoTrans,
                   b_trans ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C,
                   ldc);
}

// The kernels' GEMM: gemm_f32, or gemm_bf16 while the process-wide matmul precision is
// bfloat16 (gemm_bf16.h; opt-in).
inline void gemm(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  if (matmul_precision() == MatmulPrecision::kBFloat16)
    return gemm_bf16(a_trans, b_trans, M, N, K, A, lda, B, ldb, beta, C, ldc);
  gemm_f32(a_trans, b_trans, M, N, K, A, lda, B, ldb, beta, C, ldc);
}

// OpenBLAS's own pthread pool is switched off: the kernels split GEMMs over their pool
// threads (parallel_chunks) and call OpenBLAS single-threaded inside them.
inline void set_blas_threads(int n) {
#if defined(CRNN_BLAS_SCIPY_OPENBLAS)
  scipy_openblas_set_num_threads(n);
#elif defined(CRNN_BLAS_OPENBLAS)
  openblas_set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace cpu
}  // namespace crnn
