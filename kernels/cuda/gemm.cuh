// The large GEMMs of the CUDA kernels (the LSTM's input projection and weight / input
// gradients): cuBLAS under nvcc -- a maintained library, not a hand GEMM -- and OpenBLAS on
// the SIMT executor. Row-major interface:
//   C (m, n) = alpha op(A) op(B) + beta C,  op(X) = X^T when its flag is set,
//   A is (m, k) after op, B is (k, n) after op; lda, ldb, ldc are row strides.
// cuBLAS: one handle per host thread, created on its first GEMM (setup, not per call) and
// bound to the call's stream; FP32 math (no TF32), so results match the CPU's within float32
// reordering.
#pragma once

#include "simt.h"

#if CRNN_SIMT_EMU
#include "../cpu/blas.h"
#else
#include <cublas_v2.h>
#endif

namespace crnn {
namespace CRNN_CUDA_NS {

inline cudaError_t gemm(cudaStream_t stream, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                        float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                        float beta, float *C, int64_t ldc) {
  if (m <= 0 || n <= 0) return cudaSuccess;
#if CRNN_SIMT_EMU
  (void)stream;
  if (k <= 0) {  // C = beta C (BLAS reads nothing of A and B)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return cudaSuccess;
  }
  CRNN_CBLAS_SGEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                   int(m), int(n), int(k), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
  return cudaSuccess;
#else
  static thread_local cublasHandle_t handle = nullptr;
  if (!handle && cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    handle = nullptr;
    return cudaErrorInitializationError;
  }
  if (cublasSetStream(handle, stream) != CUBLAS_STATUS_SUCCESS) return cudaErrorUnknown;
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
  const cublasStatus_t st =
      cublasSgemm(handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(n),
                  int(m), int(k), &alpha, B, int(ldb), A, int(lda), &beta, C, int(ldc));
  return st == CUBLAS_STATUS_SUCCESS ? cudaSuccess : cudaErrorUnknown;
#endif
}

}  // namespace CRNN_CUDA_NS
}  // namespace crnn
