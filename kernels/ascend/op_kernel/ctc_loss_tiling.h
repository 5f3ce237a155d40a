// Tiling data of the CTC loss + gradient Ascend C kernel (ctc_loss.cpp): a plain struct the host
// fills (kernels/ascend/op_host/ctc_loss_tiling_host.h, called by kernels/ascend/host/ctc_loss.cpp)
// and the kernel reads with GET_TILING_DATA.
#pragma once

#include <stdint.h>

struct CtcLossTiling {
  uint32_t T, B, C, S;      // logits (T, B, C) time-major, labels (B, S)
  uint32_t elemBytes;       // logits / grad element: 4 (float), 2 (half, bfloat16_t)
  uint32_t chunkElems;      // classes per vocabulary chunk (C when a row fits one chunk)
  uint32_t chunkNum;        // chunks per row: ceil(C / chunkElems)
  uint32_t rowElems;        // chunkElems rounded up to 32 B of elements: a row (chunk) in UB
  uint32_t framesPerTile;   // frames of one sample per input / output tile (k)
  uint32_t tileElems;       // k * rowElems: one tile in elements
  uint32_t stateElems;      // N: 2S+1 extended-label states rounded up to 64 floats
  uint32_t alphaRowElems;   // N + 8: an alpha row with 8 leading -inf lanes (s-1, s-2 reads)
  uint32_t workElems;       // ReduceMax scratch (floats) for max(rowElems, N) elements
  uint32_t coreNum;         // cores launched
  uint32_t samplesPerCore;  // B / coreNum; the first samplesTail cores take one more
  uint32_t samplesTail;     // B % coreNum
  int32_t blank;            // class id of the blank
  int32_t zeroInfinity;     // infeasible sample: loss 0 instead of +inf
  int32_t hasGrad;          // 0: loss only (grad is NULL)
  int32_t hasInputLengths;  // 0: every sample has T frames (input_lengths is not read)
  int32_t hasLabelLengths;  // 0: each label ends at its first blank / -1 (not read)
  uint32_t rsv;             // keeps the 64-bit field 8-byte aligned
  uint64_t frameStride;     // elements between frames t and t+1 of one sample (B * C)
};

// Classes per vocabulary chunk when a row is sliced (C above it): 16 KiB of float.
constexpr uint32_t kCtcLossChunkElems = 4096;
// Samples per chunk of lengths / losses / error keys staged in UB.
constexpr uint32_t kCtcLossSampleChunk = 64;
// Vectors of N + 8 floats over the extended-label states the kernel keeps in UB (vecBuf):
// offsets, masks, alpha / beta / log-prob rows and temporaries.
constexpr uint32_t kCtcLossStateVectors = 20;
