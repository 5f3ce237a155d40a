// Host model of the Ascend C API, part 7: Compare / CompareScalar (uint8 bit masks), Select,
// Gather (byte offsets), ReduceMax (with its index) and ReduceSum, count forms.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "emu_vector.h"

namespace crnn {
namespace ascend_emu {

template <typename T>
bool compare(T a, T b, AscendC::CMPMODE mode) {
  switch (mode) {
    case AscendC::CMPMODE::LT: return a < b;
    case AscendC::CMPMODE::GT: return a > b;
    case AscendC::CMPMODE::EQ: return a == b;
    case AscendC::CMPMODE::LE: return a <= b;
    case AscendC::CMPMODE::GE: return a >= b;
    case AscendC::CMPMODE::NE: return a != b;
  }
  return false;
}

// Compare / CompareScalar: count * sizeof(T) must be a multiple of 256 bytes (the device
// drops the rest); int32_t compares EQ only on A2. Bit i of the mask (LSB first) = element i.
template <typename T, typename U, typename F>
void compare_op(const char *api, const AscendC::LocalTensor<U> &dst,
                const AscendC::LocalTensor<T> &src0, const AscendC::LocalTensor<T> *src1,
                AscendC::CMPMODE mode, uint32_t count, F rhs) {
  static_assert(is_f32_i32<T>, "Compare: the model implements float and int32_t sources");
  static_assert(std::is_same<U, uint8_t>::value || std::is_same<U, int8_t>::value,
                "Compare: the mask is uint8_t / int8_t");
  if (std::is_same<T, int32_t>::value && mode != AscendC::CMPMODE::EQ) {
    fail("%s: int32_t compares only with CMPMODE::EQ on A2", api);
  }
  const uint64_t bytes = uint64_t(count) * sizeof(T);
  if (bytes % kRepeatBytes != 0) {
    fail("%s: %llu bytes (count %u) is not a multiple of 256 (the device ignores the rest)", api,
         (unsigned long long)bytes, count);
  }
  if (count == 0) return;
  uint8_t *m = ub_span(dst, count / 8 / sizeof(U), sizeof(U), kBlockBytes, api, "dst");
  const T *a = vec_operand(src0, count, api, "src0");
  check_overlap(m, count / 8, reinterpret_cast<const uint8_t *>(a), bytes, api, "dst", "src0",
                false);
  if (src1 != nullptr) {
    const T *b = vec_operand(*src1, count, api, "src1");
    check_overlap(m, count / 8, reinterpret_cast<const uint8_t *>(b), bytes, api, "dst", "src1",
                  false);
  }
  std::memset(m, 0, count / 8);
  for (uint32_t i = 0; i < count; ++i) {
    if (compare(a[i], rhs(i), mode)) m[i / 8] |= uint8_t(1u << (i % 8));
  }
}

template <typename T, typename U, typename F>
void select_op(const char *api, const AscendC::LocalTensor<T> &dst,
               const AscendC::LocalTensor<U> &selMask, const AscendC::LocalTensor<T> &src0,
               AscendC::SELMODE mode, uint32_t count, F other) {
  static_assert(is_f32<T>, "Select: the model implements float");
  static_assert(std::is_same<U, uint8_t>::value || std::is_same<U, uint16_t>::value ||
                    std::is_same<U, uint32_t>::value || std::is_same<U, uint64_t>::value,
                "Select: selMask is uint8_t / uint16_t / uint32_t / uint64_t");
  if (count == 0) return;
  constexpr uint32_t per_repeat = kRepeatBytes / sizeof(T);
  // mode 0 reuses the first 256 / sizeof(T) bits for every repeat; modes 1, 2 consume them all
  const uint32_t bits = mode == AscendC::SELMODE::VSEL_CMPMASK_SPR ? per_repeat : count;
  const uint32_t mask_bytes = (bits + 7) / 8;
  const uint8_t *m = ub_span(selMask, (mask_bytes + sizeof(U) - 1) / sizeof(U), sizeof(U),
                             kBlockBytes, api, "selMask");
  T *d = vec_operand(dst, count, api, "dst");
  const T *a = vec_operand(src0, count, api, "src0");
  const uint64_t bytes = uint64_t(count) * sizeof(T);
  check_overlap(reinterpret_cast<uint8_t *>(d), bytes, reinterpret_cast<const uint8_t *>(a), bytes,
                api, "dst", "src0", true);
  check_overlap(reinterpret_cast<uint8_t *>(d), bytes, m, mask_bytes, api, "dst", "selMask", false);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t bit = mode == AscendC::SELMODE::VSEL_CMPMASK_SPR ? i % per_repeat : i;
    d[i] = (m[bit / 8] >> (bit % 8)) & 1u ? a[i] : other(i);
  }
}

// The smallest sharedTmpBuffer (elements) ReduceMax's count form needs on A2, per the API
// documentation's formula (firstMaxRepeat = count / elementsPerRepeat, at least 1).
uint32_t reduce_max_tmp_elements(uint32_t count, uint32_t elem, bool cal_index);
// A2's count-form ReduceSum order: a binary tree inside each 256-byte repeat, the repeats'
// sums added in order.
float reduce_sum_f32(const float *x, uint32_t count);

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

template <typename T, typename U>
void Compare(const LocalTensor<U> &dst, const LocalTensor<T> &src0, const LocalTensor<T> &src1,
             CMPMODE cmpMode, uint32_t count) {
  const T *b = count ? crnn::ascend_emu::vec_operand(src1, count, "Compare", "src1") : nullptr;
  crnn::ascend_emu::compare_op("Compare", dst, src0, &src1, cmpMode, count,
                               [b](uint32_t i) { return b[i]; });
}

template <typename T, typename U>
void CompareScalar(const LocalTensor<U> &dst, const LocalTensor<T> &src0, const T src1Scalar,
                   CMPMODE cmpMode, uint32_t count) {
  crnn::ascend_emu::compare_op("CompareScalar", dst, src0,
                               static_cast<const LocalTensor<T> *>(nullptr), cmpMode, count,
                               [src1Scalar](uint32_t) { return src1Scalar; });
}

// Modes 0 (VSEL_CMPMASK_SPR) and 2 (VSEL_TENSOR_TENSOR_MODE): mask bit 1 -> src0, 0 -> src1.
template <typename T, typename U>
void Select(const LocalTensor<T> &dst, const LocalTensor<U> &selMask, const LocalTensor<T> &src0,
            const LocalTensor<T> &src1, SELMODE selMode, uint32_t count) {
  if (selMode == SELMODE::VSEL_TENSOR_SCALAR_MODE) {
    crnn::ascend_emu::fail("Select: VSEL_TENSOR_SCALAR_MODE takes a scalar src1");
  }
  if (count == 0) return;
  const T *b = crnn::ascend_emu::vec_operand(src1, count, "Select", "src1");
  crnn::ascend_emu::check_overlap(
      reinterpret_cast<const uint8_t *>(crnn::ascend_emu::vec_operand(dst, count, "Select", "dst")),
      uint64_t(count) * sizeof(T), reinterpret_cast<const uint8_t *>(b),
      uint64_t(count) * sizeof(T), "Select", "dst", "src1", true);
  crnn::ascend_emu::select_op("Select", dst, selMask, src0, selMode, count,
                              [b](uint32_t i) { return b[i]; });
}

// Mode 1 (VSEL_TENSOR_SCALAR_MODE): mask bit 1 -> src0, 0 -> the scalar src1.
template <typename T, typename U>
void Select(const LocalTensor<T> &dst, const LocalTensor<U> &selMask, const LocalTensor<T> &src0,
            T src1, SELMODE selMode, uint32_t count) {
  if (selMode != SELMODE::VSEL_TENSOR_SCALAR_MODE) {
    crnn::ascend_emu::fail("Select: a scalar src1 needs VSEL_TENSOR_SCALAR_MODE");
  }
  crnn::ascend_emu::select_op("Select", dst, selMask, src0, selMode, count,
                              [src1](uint32_t) { return src1; });
}

// dst[i] = src[(srcBaseAddr + srcOffset[i]) / sizeof(T)]; offsets in bytes. The model also
// requires every gathered element to lie inside src's view (the device only bounds it by UB).
template <typename T>
void Gather(const LocalTensor<T> &dst, const LocalTensor<T> &src,
            const LocalTensor<uint32_t> &srcOffset, const uint32_t srcBaseAddr,
            const uint32_t count) {
  namespace e = crnn::ascend_emu;
  static_assert(sizeof(T) == 2 || sizeof(T) == 4, "Gather: 16- and 32-bit types on A2");
  if (srcBaseAddr % sizeof(T) != 0) {
    e::fail("Gather: srcBaseAddr %u is not a multiple of sizeof(T) = %zu", srcBaseAddr, sizeof(T));
  }
  if (count == 0) return;
  T *d = e::vec_operand(dst, count, "Gather", "dst");
  const T *s = e::vec_operand(src, 0, "Gather", "src");
  const uint32_t *off = e::vec_operand(srcOffset, count, "Gather", "srcOffset");
  const uint64_t bytes = uint64_t(count) * sizeof(T);
  e::check_overlap(reinterpret_cast<uint8_t *>(d), bytes, reinterpret_cast<const uint8_t *>(s),
                   src.GetSize() * sizeof(T), "Gather", "dst", "src", false);
  e::check_overlap(reinterpret_cast<uint8_t *>(d), bytes, reinterpret_cast<const uint8_t *>(off),
                   uint64_t(count) * 4, "Gather", "dst", "srcOffset", false);
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t at = uint64_t(srcBaseAddr) + off[i];
    if (off[i] % sizeof(T) != 0 || at / sizeof(T) >= src.GetSize()) {
      e::fail(
          "Gather: srcOffset[%u] = %u bytes (+ srcBaseAddr %u) is misaligned or outside src's "
          "%u elements",
          i, off[i], srcBaseAddr, src.GetSize());
    }
    d[i] = s[at / sizeof(T)];
  }
}

// dst[0] = max of src[0, count); with calIndex dst[1] holds the index of its first occurrence
// as uint32_t bits (read it with a reinterpret cast). NaN: the model returns the first NaN.
template <typename T>
void ReduceMax(const LocalTensor<T> &dst, const LocalTensor<T> &src,
               const LocalTensor<T> &sharedTmpBuffer, const int32_t count, bool calIndex = 0) {
  namespace e = crnn::ascend_emu;
  static_assert(e::is_f32<T>, "ReduceMax: the model implements float");
  const uint64_t n = e::checked_count(count, "ReduceMax");
  if (n == 0) return;  // a NOP on A2 / A3
  const uint32_t need = e::reduce_max_tmp_elements(uint32_t(n), sizeof(T), calIndex);
  T *d = reinterpret_cast<T *>(
      e::ub_span(dst, calIndex ? 2 : 1, sizeof(T), 2 * sizeof(T), "ReduceMax", "dst"));
  const T *s = e::vec_operand(src, n, "ReduceMax", "src");
  if (sharedTmpBuffer.GetSize() < need) {
    e::fail("ReduceMax: sharedTmpBuffer holds %u elements, count %llu%s needs %u",
            sharedTmpBuffer.GetSize(), (unsigned long long)n, calIndex ? " with calIndex" : "",
            need);
  }
  T *t = e::vec_operand(sharedTmpBuffer, need, "ReduceMax", "sharedTmpBuffer");
  const uint64_t dbytes = (calIndex ? 2 : 1) * sizeof(T);
  e::check_overlap(reinterpret_cast<uint8_t *>(d), dbytes, reinterpret_cast<const uint8_t *>(s),
                   n * sizeof(T), "ReduceMax", "dst", "src", true);
  uint32_t best = 0;
  for (uint32_t i = 1; i < n && !std::isnan(s[best]); ++i) {
    if (std::isnan(s[i]) || s[i] > s[best]) best = i;
  }
  const T value = s[best];
  std::memset(t, 0xFF, uint64_t(need) * sizeof(T));  // the API's scratch: not for the kernel
  d[0] = value;
  if (calIndex) std::memcpy(&d[1], &best, sizeof(uint32_t));
}

// dst[0] = sum of src[0, count) in A2's order (see reduce_sum_f32); sharedTmpBuffer is not
// used by the count form on A2 (any size).
template <typename T, bool isSetMask = true>
void ReduceSum(const LocalTensor<T> &dst, const LocalTensor<T> &src,
               const LocalTensor<T> &sharedTmpBuffer, const int32_t count) {
  namespace e = crnn::ascend_emu;
  static_assert(e::is_f32<T>, "ReduceSum: the model implements float");
  const uint64_t n = e::checked_count(count, "ReduceSum");
  if (n == 0) return;
  T *d = reinterpret_cast<T *>(e::ub_span(dst, 1, sizeof(T), sizeof(T), "ReduceSum", "dst"));
  const T *s = e::vec_operand(src, n, "ReduceSum", "src");
  e::vec_operand(sharedTmpBuffer, 0, "ReduceSum", "sharedTmpBuffer");
  e::check_overlap(reinterpret_cast<uint8_t *>(d), sizeof(T), reinterpret_cast<const uint8_t *>(s),
                   n * sizeof(T), "ReduceSum", "dst", "src", true);
  d[0] = e::reduce_sum_f32(s, uint32_t(n));
}

}  // namespace AscendC
