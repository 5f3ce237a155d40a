// Host model of the Ascend C API, part 5: data movement between GM and UB.
// DataCopy (count form) needs count * sizeof(T) to be a multiple of 32 bytes: the hardware
// silently rounds the copy down, the model fails instead. DataCopyPad moves ragged blocks
// (blockLen in bytes), padding each block to 32 bytes on the UB side.
#pragma once

#include <cstdint>
#include <cstring>

#include "emu_launch.h"
#include "emu_tensor.h"

namespace AscendC {

struct DataCopyExtParams {
  uint16_t blockCount = 1;  // blocks, [0, 4095]
  uint32_t blockLen = 0;    // bytes per block, [0, 2097151], a multiple of sizeof(T)
  uint32_t srcStride = 0;   // gap between blocks: bytes on the GM side, 32 B blocks on UB
  uint32_t dstStride = 0;   // gap between blocks: bytes on the GM side, 32 B blocks on UB
  uint32_t rsv = 0;
  DataCopyExtParams() = default;
  DataCopyExtParams(const uint16_t count, const uint32_t len, const uint32_t srcStrideIn,
                    const uint32_t dstStrideIn, const uint32_t rsvIn)
      : blockCount(count),
        blockLen(len),
        srcStride(srcStrideIn),
        dstStride(dstStrideIn),
        rsv(rsvIn) {}
};

// The strided form of DataCopy: every unit is a 32-byte DataBlock (both sides).
struct DataCopyParams {
  uint16_t blockCount = 1;  // blocks, [0, 4095]
  uint16_t blockLen = 0;    // DataBlocks per block
  union {
    uint16_t srcStride = 0;  // DataBlocks between blocks (end to start); 9.x name: srcGap
    uint16_t srcGap;
  };
  union {
    uint16_t dstStride = 0;
    uint16_t dstGap;
  };
  DataCopyParams() = default;
  DataCopyParams(const uint16_t count, const uint16_t len, const uint16_t srcStrideIn,
                 const uint16_t dstStrideIn)
      : blockCount(count), blockLen(len), srcStride(srcStrideIn), dstStride(dstStrideIn) {}
};

template <typename T>
struct DataCopyPadExtParams {
  bool isPad = false;        // true: fill the padding with paddingValue
  uint8_t leftPadding = 0;   // elements before each block (at most 32 bytes)
  uint8_t rightPadding = 0;  // elements after each block (at most 32 bytes)
  T paddingValue = 0;
  DataCopyPadExtParams() = default;
  DataCopyPadExtParams(const bool isPadValue, const uint8_t leftPadValue,
                       const uint8_t rightPadValue, T padValue)
      : isPad(isPadValue),
        leftPadding(leftPadValue),
        rightPadding(rightPadValue),
        paddingValue(padValue) {}
};

}  // namespace AscendC

namespace crnn {
namespace ascend_emu {

inline void check_copy_count(uint64_t bytes, const char *api) {
  if (bytes % kBlockBytes != 0) {
    fail(
        "%s: %llu bytes is not a multiple of 32 (the hardware rounds the copy down; use "
        "DataCopyPad)",
        api, (unsigned long long)bytes);
  }
}

inline void check_pad_params(const AscendC::DataCopyExtParams &p, uint32_t elem, const char *api) {
  if (p.blockCount > 4095) fail("%s: blockCount %u is above 4095", api, p.blockCount);
  if (p.blockLen > 2097151) fail("%s: blockLen %u is above 2097151", api, p.blockLen);
  if (p.blockLen % elem != 0) {
    fail("%s: blockLen %u bytes is not a multiple of sizeof(T) = %u", api, p.blockLen, elem);
  }
}

inline uint64_t round_up_block(uint64_t bytes) {
  return (bytes + kBlockBytes - 1) / kBlockBytes * kBlockBytes;
}

// GM <- UB, plain or (while SetAtomicAdd<T> is set) atomically added.
template <typename T>
void gm_store(T *dst, const uint8_t *src, uint64_t count, const char *api) {
  const CoreContext &ctx = core();
  if (ctx.atomic_type == 0) {
    std::memcpy(dst, src, count * sizeof(T));
    return;
  }
  if (ctx.atomic_type != TypeTag<T>::value) {
    fail("%s: SetAtomicAdd<%s> is set but the copy moves %s", api, ctx.atomic_name,
         TypeTag<T>::name);
  }
  atomic_add_gm(dst, src, count, ctx.atomic_type);
}

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

// UB <- GM, `count` elements.
template <typename T>
void DataCopy(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const uint32_t count) {
  namespace e = crnn::ascend_emu;
  e::check_copy_count(uint64_t(count) * sizeof(T), "DataCopy");
  uint8_t *d = e::ub_span(dst, count, sizeof(T), e::kBlockBytes, "DataCopy", "dst");
  const T *s = src.checked(count, sizeof(T), "DataCopy");
  std::memcpy(d, s, uint64_t(count) * sizeof(T));
}

// GM <- UB, `count` elements (added atomically while SetAtomicAdd<T> is set).
template <typename T>
void DataCopy(const GlobalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t count) {
  namespace e = crnn::ascend_emu;
  e::check_copy_count(uint64_t(count) * sizeof(T), "DataCopy");
  const uint8_t *s = e::ub_span(src, count, sizeof(T), e::kBlockBytes, "DataCopy", "src");
  T *d = dst.checked(count, sizeof(T), "DataCopy");
  e::gm_store(d, s, count, "DataCopy");
}

// UB <- UB, `count` elements.
template <typename T>
void DataCopy(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t count) {
  namespace e = crnn::ascend_emu;
  const uint64_t bytes = uint64_t(count) * sizeof(T);
  e::check_copy_count(bytes, "DataCopy");
  uint8_t *d = e::ub_span(dst, count, sizeof(T), e::kBlockBytes, "DataCopy", "dst");
  const uint8_t *s = e::ub_span(src, count, sizeof(T), e::kBlockBytes, "DataCopy", "src");
  e::check_overlap(d, bytes, s, bytes, "DataCopy", "dst", "src", false);
  std::memcpy(d, s, bytes);
}

// UB <- GM, blockCount blocks of blockLen DataBlocks, gaps in DataBlocks on both sides.
template <typename T>
void DataCopy(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const DataCopyParams &p) {
  namespace e = crnn::ascend_emu;
  const char *api = "DataCopy(DataCopyParams)";
  if (p.blockCount > 4095) e::fail("%s: blockCount %u is above 4095", api, p.blockCount);
  if (p.blockCount == 0 || p.blockLen == 0) return;
  const uint64_t n = p.blockCount, block = uint64_t(p.blockLen) * e::kBlockBytes;
  const uint64_t gm_pitch = block + uint64_t(p.srcStride) * e::kBlockBytes;
  const uint64_t ub_pitch = block + uint64_t(p.dstStride) * e::kBlockBytes;
  uint8_t *d = e::ub_span(dst, ((n - 1) * ub_pitch + block) / sizeof(T), sizeof(T), e::kBlockBytes,
                          api, "dst");
  const uint8_t *s = reinterpret_cast<const uint8_t *>(
      src.checked(((n - 1) * gm_pitch + block) / sizeof(T), sizeof(T), api));
  for (uint64_t j = 0; j < n; ++j) std::memcpy(d + j * ub_pitch, s + j * gm_pitch, block);
}

// GM <- UB, blockCount blocks of blockLen DataBlocks, gaps in DataBlocks on both sides.
template <typename T>
void DataCopy(const GlobalTensor<T> &dst, const LocalTensor<T> &src, const DataCopyParams &p) {
  namespace e = crnn::ascend_emu;
  const char *api = "DataCopy(DataCopyParams)";
  if (p.blockCount > 4095) e::fail("%s: blockCount %u is above 4095", api, p.blockCount);
  if (p.blockCount == 0 || p.blockLen == 0) return;
  const uint64_t n = p.blockCount, block = uint64_t(p.blockLen) * e::kBlockBytes;
  const uint64_t ub_pitch = block + uint64_t(p.srcStride) * e::kBlockBytes;
  const uint64_t gm_pitch = block + uint64_t(p.dstStride) * e::kBlockBytes;
  const uint8_t *s = e::ub_span(src, ((n - 1) * ub_pitch + block) / sizeof(T), sizeof(T),
                                e::kBlockBytes, api, "src");
  uint8_t *d = reinterpret_cast<uint8_t *>(
      dst.checked(((n - 1) * gm_pitch + block) / sizeof(T), sizeof(T), api));
  for (uint64_t j = 0; j < n; ++j) {
    e::gm_store(reinterpret_cast<T *>(d + j * gm_pitch), s + j * ub_pitch, block / sizeof(T), api);
  }
}

// UB <- GM in blockCount blocks of blockLen bytes; each UB block is leftPadding elements,
// the data, rightPadding elements, then filler up to a multiple of 32 bytes. Filler: with isPad
// paddingValue; without it the block's first element when there is no left/right padding,
// else undefined (the model writes 0xFF bytes).
template <typename T>
void DataCopyPad(const LocalTensor<T> &dst, const GlobalTensor<T> &src, const DataCopyExtParams &p,
                 const DataCopyPadExtParams<T> &pad) {
  namespace e = crnn::ascend_emu;
  const char *api = "DataCopyPad(GM->UB)";
  e::check_pad_params(p, sizeof(T), api);
  const uint64_t left = uint64_t(pad.leftPadding) * sizeof(T);
  const uint64_t right = uint64_t(pad.rightPadding) * sizeof(T);
  if (left > 32 || right > 32) {
    e::fail("%s: left / right padding of %u / %u elements is over 32 bytes", api, pad.leftPadding,
            pad.rightPadding);
  }
  if (p.blockCount == 0 || p.blockLen == 0) return;  // a NOP on A2 / A3
  const uint64_t n = p.blockCount, data = p.blockLen;
  const uint64_t ub_block = e::round_up_block(left + data + right);
  const uint64_t ub_pitch = ub_block + uint64_t(p.dstStride) * e::kBlockBytes;
  const uint64_t gm_pitch = data + p.srcStride;
  uint8_t *d = e::ub_span(dst, ((n - 1) * ub_pitch + ub_block) / sizeof(T), sizeof(T),
                          e::kBlockBytes, api, "dst");
  const uint64_t gm_bytes = (n - 1) * gm_pitch + data;
  const uint8_t *s = reinterpret_cast<const uint8_t *>(
      src.checked((gm_bytes + sizeof(T) - 1) / sizeof(T), 1, api));
  for (uint64_t j = 0; j < n; ++j) {
    uint8_t *b = d + j * ub_pitch;
    std::memcpy(b + left, s + j * gm_pitch, data);
    const bool first = !pad.isPad && left == 0 && right == 0;
    for (uint64_t at = 0; at < ub_block; at += sizeof(T)) {
      if (at >= left && at < left + data) continue;
      if (pad.isPad) {
        std::memcpy(b + at, &pad.paddingValue, sizeof(T));
      } else if (first) {
        std::memmove(b + at, b, sizeof(T));
      } else {
        std::memset(b + at, 0xFF, sizeof(T));
      }
    }
  }
}

// GM <- UB in blockCount blocks of blockLen bytes; each UB block starts at a 32-byte boundary
// (srcStride: 32 B blocks between UB blocks; dstStride: bytes between GM blocks).
template <typename T>
void DataCopyPad(const GlobalTensor<T> &dst, const LocalTensor<T> &src,
                 const DataCopyExtParams &p) {
  namespace e = crnn::ascend_emu;
  const char *api = "DataCopyPad(UB->GM)";
  e::check_pad_params(p, sizeof(T), api);
  if (p.blockCount == 0 || p.blockLen == 0) return;
  const uint64_t n = p.blockCount, data = p.blockLen;
  const uint64_t ub_pitch = e::round_up_block(data) + uint64_t(p.srcStride) * e::kBlockBytes;
  const uint64_t gm_pitch = data + p.dstStride;
  const uint8_t *s = e::ub_span(src, ((n - 1) * ub_pitch + data) / sizeof(T), sizeof(T),
                                e::kBlockBytes, api, "src");
  const uint64_t gm_bytes = (n - 1) * gm_pitch + data;
  uint8_t *d =
      reinterpret_cast<uint8_t *>(dst.checked((gm_bytes + sizeof(T) - 1) / sizeof(T), 1, api));
  for (uint64_t j = 0; j < n; ++j) {
    e::gm_store(reinterpret_cast<T *>(d + j * gm_pitch), s + j * ub_pitch, data / sizeof(T), api);
  }
}

}  // namespace AscendC
