// kernel_tiling/kernel_tiling.h -- crnn_fast's HOST MODEL of the header that declares the
// kernel-side tiling structs of CANN's library APIs (here only the cube Matmul's TCubeTiling;
// not CANN's header: the field names follow the public Matmul tiling documentation).
#pragma once

#include <cstdint>

// The kernel-side cube tiling (a plain struct inside a kernel's tiling data; on CANN the host
// fills it with matmul_tiling::MultiCoreMatmulTiling::GetTiling). Fields the model reads are
// checked; the rest are carried for layout compatibility of the kernels' tiling structs.
struct TCubeTiling {
  int32_t usedCoreNum;
  int32_t M, N, Ka, Kb;                           // org shapes: A (M, Ka), B (Kb, N), C (M, N)
  int32_t singleCoreM, singleCoreN, singleCoreK;  // one core's block
  int32_t baseM, baseN, baseK;                    // one L0 step
  int32_t depthA1, depthB1, stepM, stepN;
  int32_t isBias;
  int32_t transLength, iterateOrder, shareMode, shareL1Size, shareL0CSize, shareUbSize;
  int32_t batchM, batchN, singleBatchM, singleBatchN;
  int32_t stepKa, stepKb, depthAL1CacheUB, depthBL1CacheUB;
  int32_t dbL0A, dbL0B, dbL0C;
  int32_t reserved;
};
