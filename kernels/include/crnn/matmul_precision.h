// The CPU kernels' matmul precision (crnn_fast kernel C API; backend: CPU). Process-wide.
//
// CRNN_MATMUL_FLOAT32 (the default): float32 GEMMs (OpenBLAS sgemm).
// CRNN_MATMUL_BFLOAT16 (opt-in, for training with bf16 mixed precision): the GEMMs of the
// convolutions (im2col path), the LSTM input projections and weight gradients round both
// operands to bfloat16 (round to nearest even) and accumulate in float32; tensors, outputs and
// master weights stay float32. Native on CPUs with AVX512-BF16 (vdpbf16ps), emulated (same
// numerics, slower than float32) elsewhere: crnn_cpu_bf16_native says which.
// Memory: in bfloat16 each CPU thread that runs a GEMM allocates its packing buffers (704 KB)
// and a row buffer for the LSTM recurrence once, on first use (the only allocations of the
// kernels outside the caller's workspace; float32 allocates nothing).
// Status: INVALID_VALUE for a precision outside the enum.
#pragma once

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum crnn_matmul_precision_t {
  CRNN_MATMUL_FLOAT32 = 0,
  CRNN_MATMUL_BFLOAT16 = 1,
} crnn_matmul_precision_t;

crnn_status_t crnn_cpu_set_matmul_precision(crnn_matmul_precision_t precision);
crnn_matmul_precision_t crnn_cpu_matmul_precision(void);
// 1 where this CPU runs the bfloat16 GEMMs natively (AVX512-BF16), 0 where they are emulated.
int crnn_cpu_bf16_native(void);

#ifdef __cplusplus
}
#endif
