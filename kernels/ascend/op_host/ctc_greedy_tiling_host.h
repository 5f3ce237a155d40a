// The tiling of the CTC greedy decoder's Ascend C kernel (../op_kernel/ctc_greedy.cpp), computed
// in one place for both callers: the CANN tiling function (ctc_greedy.cpp here, op CrnnCtcGreedy)
// and the host driver on our model of the API (../host/ctc_greedy.cpp, the ascend-emu backend).
// Plain C++, no CANN header.
#pragma once

#include <stdint.h>

#include <algorithm>

#include "../op_kernel/ctc_greedy_tiling.h"
#include "ascend_tiling_util.h"

namespace crnn {
namespace ascend_tiling {

constexpr uint32_t kCtcGreedyTileBytes = 32 * 1024;  // input tile target: k frames of C floats
constexpr uint32_t kCtcGreedyMaxOutChunk = 1024;     // frames per output chunk

// Scores (T, B, C), or (B, T, C) when batch_first; input_kind a crnn_ctc_input_kind (0 logits,
// 1 probs, 2 log-probs); blank in [0, C); B >= 1; max_cores >= 1.
inline CtcGreedyTiling ctc_greedy_tiling(int64_t T, int64_t B, int64_t C, int32_t blank,
                                         int32_t input_kind, bool batch_first, bool has_lengths,
                                         uint32_t max_cores) {
  CtcGreedyTiling t{};
  t.T = uint32_t(T), t.B = uint32_t(B), t.C = uint32_t(C);
  t.rowElems = uint32_t(round_up(C, 8));
  t.frameStride = batch_first ? uint64_t(C) : uint64_t(B) * C;
  t.sampleStride = batch_first ? uint64_t(T) * C : uint64_t(C);
  uint64_t k = std::max<uint64_t>(1, kCtcGreedyTileBytes / (4ull * t.rowElems));
  k = std::min<uint64_t>({k, uint64_t(std::max<int64_t>(T, 1)), 4095});
  if ((t.frameStride - C) * 4 > UINT32_MAX) k = 1;  // the DMA's gap between frames is 32-bit
  t.framesPerTile = uint32_t(k);
  t.tileElems = uint32_t(round_up(k * t.rowElems, 64));
  t.workElems =
      std::max(reduce_max_scratch(t.rowElems, true), reduce_max_scratch(t.tileElems, false));
  t.outChunk =
      uint32_t(std::min<uint64_t>(round_up(std::max<int64_t>(T, 1), 8), kCtcGreedyMaxOutChunk));
  t.coreNum = uint32_t(std::min<int64_t>(B, max_cores));
  t.samplesPerCore = t.B / t.coreNum;
  t.samplesTail = t.B % t.coreNum;
  t.blank = blank;
  t.inputKind = input_kind;
  t.hasLengths = has_lengths;
  t.padValue = input_kind == 1 ? 0.0f : -__builtin_inff();  // probs pad with 0, else -inf
  return t;
}

// UB bytes the decode kernel's InitBuffer calls take (each rounded up to 32 bytes).
inline uint64_t ctc_greedy_ub_bytes(const CtcGreedyTiling &t) {
  const uint64_t k8 = round_up(t.framesPerTile, 8);
  return 2 * round_up(t.tileElems * 4ull, 32) + 2 * round_up(3ull * t.outChunk * 4, 32) +
         round_up(kCtcGreedySampleChunk * 4, 32) + round_up(kCtcGreedySampleChunk * 12, 32) +
         round_up(t.tileElems * 4ull, 32) + round_up(t.tileElems / 8, 32) +
         round_up((t.workElems + 16) * 4ull, 32) + round_up(5 * k8 * 4, 32);
}

}  // namespace ascend_tiling
}  // namespace crnn
