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

// x rounded to the nearest bfloat16 (ties to even), as a float.
float round_bf16(float x);

// The bfloat16 pieces of the LSTM recurrence (lstm_recurrent.h), native (bf16_native()) only.
// n floats -> (n + 1) / 2 pair words (k even low, k odd high; an odd tail paired with 0).
void to_pair_words(const float *x, int64_t n, uint32_t *out);
// In place: a panel of K rows x 16 floats -> (K + 1) / 2 rows x 16 pair words (rows 2p, 2p + 1).
void panel_to_pair_words(float *panel, int64_t K);
// Rows r < mr (<= 6) of a (pair words, rows lda2 apart): z0[r * ldz + 0..8) =
// sum_p a[r][p] . panel[p][0..8) (vdpbf16ps), z1 the same over panel columns 8..16.
void tile_pair_words(int mr, float *z0, float *z1, int64_t ldz, const uint32_t *a, int64_t lda2,
                     int64_t K2, const uint32_t *panel);

}  // namespace cpu
}  // namespace crnn
