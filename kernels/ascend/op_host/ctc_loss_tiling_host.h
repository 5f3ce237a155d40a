// The tiling of the CTC loss + gradient Ascend C kernel (op_kernel/ctc_loss.cpp) as inline host
// functions: the emulated host driver (kernels/ascend/host/ctc_loss.cpp) and a CANN op_host
// tiling function compute the same CtcLossTiling and UB budget from here (a CANN tiling function
// passes GetCoreNumAiv() as max_cores and GetCoreMemSize(UB) as the capacity).
#pragma once

#include <stdint.h>

#include "../op_kernel/ctc_loss_tiling.h"
#include "ascend_tiling_util.h"

namespace crnn {
namespace ascend_tiling {

constexpr uint32_t kCtcLossTileBytes = 32 * 1024;  // input tile target: k frames of C floats

// UB bytes the kernel's InitBuffer calls take (each rounded up to 32 bytes).
inline uint64_t ctc_loss_ub_bytes(const CtcLossTiling &t) {
  const uint64_t N = t.stateElems, R = t.alphaRowElems, T = t.T > 0 ? t.T : 1;
  const uint64_t tile = round_up(uint64_t(t.tileElems) * t.elemBytes, 32);
  const uint64_t tile_f32 = t.elemBytes == 4 ? 0 : round_up(t.tileElems * 4ull, 32);
  return 2 * tile + (t.hasGrad ? 2 * tile : 0)               // in, out queues
         + tile_f32 * (t.hasGrad ? 2 : 1)                    // half / bf16: their float rows
         + round_up(2ull * kCtcLossSampleChunk * 4, 32)      // lengths
         + round_up(kCtcLossSampleChunk * 12ull, 32)         // losses + keys
         + round_up(T * R * 4, 32)                           // alpha table
         + round_up(3 * T * 4, 32)                           // lse, scale hi / lo
         + round_up(kCtcLossStateVectors * (N + 8) * 4, 32)  // state vectors
         + round_up((t.workElems + 16) * 4ull, 32)           // ReduceMax scratch
         + round_up(2ull * t.chunkNum * (N + 8) * 4, 32);    // chunk offsets and masks
}

// The tiling for logits (T, B, C) of elem_bytes (4: float, 2: half / bfloat16_t), labels (B, S)
// (input / label lengths given or not) on at most max_cores cores (>= 1), B >= 1,
// with ub_capacity bytes of UB per core: k frames per tile, 32 KiB of input at most, fewer when
// the alpha rows leave less room (the result may still exceed the capacity: check
// ctc_loss_ub_bytes).
inline CtcLossTiling ctc_loss_tiling(int64_t T, int64_t B, int64_t C, int64_t S,
                                     uint32_t elem_bytes, int32_t blank, int32_t zero_infinity,
                                     bool has_grad, bool has_input_lengths, bool has_label_lengths,
                                     uint32_t max_cores, uint64_t ub_capacity) {
  CtcLossTiling t{};
  t.T = uint32_t(T), t.B = uint32_t(B), t.C = uint32_t(C), t.S = uint32_t(S);
  t.elemBytes = elem_bytes;
  const uint64_t align = 32 / elem_bytes;
  const bool sliced = round_up(uint64_t(C), align) > kCtcLossChunkElems;
  t.chunkElems = sliced ? kCtcLossChunkElems : uint32_t(C);
  t.chunkNum = uint32_t((uint64_t(C) + t.chunkElems - 1) / t.chunkElems);
  t.rowElems = uint32_t(round_up(t.chunkElems, align));
  t.frameStride = uint64_t(B) * uint64_t(C);
  uint64_t k = kCtcLossTileBytes / (4ull * t.rowElems);  // 32 KiB of float rows
  k = k < 1 ? 1 : k;
  k = k > uint64_t(T > 0 ? T : 1) ? uint64_t(T > 0 ? T : 1) : k;
  k = sliced ? 1 : k;  // a tile holds one chunk of one frame
  k = k > 4095 ? 4095 : k;
  if ((t.frameStride - uint64_t(C)) * 4 > UINT32_MAX) k = 1;  // the DMA's gap is 32-bit
  t.stateElems = uint32_t(round_up(2 * uint64_t(S) + 1, 64));
  t.alphaRowElems = t.stateElems + 8;
  const uint32_t widest = t.rowElems > t.stateElems ? t.rowElems : t.stateElems;
  t.workElems = reduce_max_scratch(widest, false);
  t.hasGrad = has_grad ? 1 : 0;
  const uint64_t fixed = ctc_loss_ub_bytes(t);  // tileElems 0: all but the tiles
  const uint64_t per_frame = (has_grad ? 4ull : 2ull) * t.rowElems * elem_bytes +
                             (elem_bytes == 4 ? 0 : (has_grad ? 2ull : 1ull) * t.rowElems * 4);
  const uint64_t room = ub_capacity > fixed ? (ub_capacity - fixed) / per_frame : 0;
  k = k > room ? (room > 0 ? room : 1) : k;
  t.framesPerTile = uint32_t(k);
  t.tileElems = uint32_t(k * t.rowElems);
  t.coreNum = uint32_t(B < int64_t(max_cores) ? B : int64_t(max_cores));
  t.samplesPerCore = t.B / t.coreNum;
  t.samplesTail = t.B % t.coreNum;
  t.blank = blank;
  t.zeroInfinity = zero_infinity ? 1 : 0;
  t.hasInputLengths = has_input_lengths;
  t.hasLabelLengths = has_label_lengths;
  return t;
}

}  // namespace ascend_tiling
}  // namespace crnn
