// bfloat16 matmul precision for the CPU kernels' GEMMs (opt-in, float32 is the default).
//
// With the process-wide precision set to kBFloat16, crnn::cpu::gemm (blas.h) rounds both
// operands to bfloat16 (round to nearest even) and accumulates in float32: every product of
// two bfloat16 values is exact in float32, so the only error beyond the operands' rounding is
// the float32 sum's. Inputs, outputs and master weights stay float32 (what oneDNN calls
// fpmath_mode bf16, PyTorch `set_float32_matmul_precision("medium")` on CPU).
//
// Where the CPU has AVX512-BF16, gemm_bf16 packs the operands into bf16 pairs and runs a
// 12 x 32 `vdpbf16ps` micro-kernel (twice the float32 FMA rate); elsewhere it rounds the
// operands into float32 copies and calls sgemm: the same numerics, slower than float32.
#pragma once

#include <stdint.h>

namespace crnn {
namespace cpu {

enum class MatmulPrecision : int { kFloat32 = 0, kBFloat16 = 1 };

void set_matmul_precision(MatmulPrecision p);
MatmulPrecision matmul_precision();

// Whether this CPU runs gemm_bf16's vdpbf16ps kernel (AVX512-BF16), not the sgemm emulation.
bool bf16_native();

// C (M, N) = op(A) . op(B) + beta C with op(A), op(B) rounded to bfloat16, float32 sums;
// row-major with explicit leading dimensions, op(X) = X^T when its flag is set (the
// arguments of crnn::cpu::gemm). beta is 0 (C is only written) or 1. Single-threaded: the
// kernels call it from their own pool threads. `portable` forces the sgemm emulation (tests).
void gemm_bf16(bool a_trans, bool b_trans, int64_t M, int64_t N, int64_t K, const float *A,
               int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
               bool portable = false);

}  // namespace cpu
}  // namespace crnn
