// The BLAS the CPU kernels call for large GEMMs: OpenBLAS from the scipy-openblas32 wheel
// (symbols prefixed `scipy_`; DYNAMIC_ARCH picks the host's kernel at run time). Python loads
// the library (import scipy_openblas32) before crnn_fast._C, which then binds to it by SONAME.
#pragma once

#include <cblas.h>
#include <stdint.h>

namespace crnn {
namespace cpu {

// C (M, N) = op(A) . op(B) + beta C, row-major with explicit leading dimensions; op(X) = X^T
// when its flag is set (an LSTM weight (4H, in) used as B^T needs b_trans).
inline void gemm(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, a_trans ? CblasTrans : CblasNoTrans,
                    b_trans ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C,
                    ldc);
}

// OpenBLAS's own pthread pool is switched off: the kernels split GEMMs over their pool
// threads (parallel_chunks) and call OpenBLAS single-threaded inside them.
inline void set_blas_threads(int n) {
  scipy_openblas_set_num_threads(n);
}

}  // namespace cpu
}  // namespace crnn
