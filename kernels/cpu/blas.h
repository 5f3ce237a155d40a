// The BLAS the CPU kernels call for large GEMMs: OpenBLAS from the scipy-openblas32 wheel
// (symbols prefixed `scipy_`; DYNAMIC_ARCH picks the host's kernel at run time). Python loads
// the library (import scipy_openblas32) before crnn_fast._C, which then binds to it by SONAME.
#pragma once

#include <cblas.h>
#include <stdint.h>

namespace crnn {
namespace cpu {

// C (M, N) = alpha * A (M, K) . op(B) + beta * C, row-major; op(B) = B^T when b_trans, where
// B is then stored (N, K) (the nn.Linear / LSTM weight layout).
inline void gemm(int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, bool b_trans, float beta, float *C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, b_trans ? CblasTrans : CblasNoTrans, M, N, K,
                    alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(int64_t M, int64_t N, int64_t K, double alpha, const double *A, int64_t lda,
                 const double *B, int64_t ldb, bool b_trans, double beta, double *C, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, CblasNoTrans, b_trans ? CblasTrans : CblasNoTrans, M, N, K,
                    alpha, A, lda, B, ldb, beta, C, ldc);
}

// C (M, N) = A (M, K) . B^T (B stored (N, K)), rows of A/C split over nt OpenMP threads, each
// a single-threaded OpenBLAS call (set_blas_threads(1) first).
inline void gemm_rows_parallel(int nt, int64_t M, int64_t N, int64_t K, const float *A,
                               const float *B, float *C) {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
  for (int c = 0; c < nt; ++c) {
    const int64_t m0 = M * c / nt, m1 = M * (c + 1) / nt;
    gemm(m1 - m0, N, K, 1.0f, A + m0 * K, K, B, K, true, 0.0f, C + m0 * N, N);
  }
}

// C (M, N) = op(A) . op(B) + beta C with explicit transposes (row-major, leading dims given).
inline void gemm_t(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                   int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, a_trans ? CblasTrans : CblasNoTrans,
                    b_trans ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C,
                    ldc);
}

// OpenBLAS's own thread count (its pthread pool, separate from OpenMP).
inline int blas_threads() {
  return scipy_openblas_get_num_threads();
}
inline void set_blas_threads(int n) {
  scipy_openblas_set_num_threads(n);
}

}  // namespace cpu
}  // namespace crnn
