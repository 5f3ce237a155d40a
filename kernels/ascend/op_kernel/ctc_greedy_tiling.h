// Tiling data of the CTC greedy decoder's Ascend C kernels (ctc_greedy.cpp): a plain struct the
// host fills (kernels/ascend/host/ctc_greedy.cpp) and the kernels read with GET_TILING_DATA.
#pragma once

#include <stdint.h>

struct CtcGreedyTiling {
  uint32_t T, B, C;         // scores (T, B, C) or (B, T, C)
  uint32_t rowElems;        // C rounded up to 8 floats: one frame's row in UB (32 B aligned)
  uint32_t framesPerTile;   // frames of one sample per input tile (k)
  uint32_t tileElems;       // k * rowElems rounded up to 64 floats (a 256 B vector repeat)
  uint32_t workElems;       // ReduceMax scratch (floats), the documented minimum for the counts
  uint32_t outChunk;        // frames per output chunk, a multiple of 8 (usually >= T)
  uint32_t coreNum;         // cores launched
  uint32_t samplesPerCore;  // B / coreNum; the first samplesTail cores take one more
  uint32_t samplesTail;     // B % coreNum
  int32_t blank;            // class id of the blank
  int32_t inputKind;        // crnn_ctc_input_kind
  int32_t hasLengths;       // 0: every sample has T frames (input_lengths is NULL)
  float padValue;           // UB padding of a row: -inf (logits, log-probs), 0 (probs)
  uint32_t rsv;             // keeps the 64-bit fields 8-byte aligned
  uint64_t frameStride;     // elements between frames t and t+1 of one sample
  uint64_t sampleStride;    // elements between samples b and b+1 at one frame
};

// Samples per chunk of input lengths / output lengths / error keys staged in UB.
constexpr uint32_t kCtcGreedySampleChunk = 64;
