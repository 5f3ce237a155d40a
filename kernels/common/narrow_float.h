// float16 (IEEE binary16) and bfloat16 storage: uint16_t bit patterns <-> float, shared by the
// CPU and CUDA kernels (the narrow-logits CTC loss reads and writes them; compute is float32).
//
// Widening is exact for every pattern: subnormals, +-0, +-inf and NaN (payload kept, so every
// NaN pattern round-trips). Narrowing rounds to nearest, ties to even (IEEE default, what the
// hardware conversions cvt.rn.f16.f32 / cvt.rn.bf16.f32 do), overflows to +-inf (half: |x| >=
// 65520, bf16: |x| >= 2^128 - 2^119), underflows to +-0 or a subnormal, and keeps NaN a NaN
// (the top payload bits, or the quiet bit when they are all 0). The host (and the SIMT executor)
// uses integer bit operations, exact whatever the floating-point flags; device code uses the
// hardware conversions (cvt.f32.f16, cvt.rn.f16.f32, cvt.rn.bf16.f32: one instruction instead of
// ~10 in the memory-bound gradient write), which give the same bits for every non-NaN value
// (inline PTX, so fast-math's .ftz never applies) and a canonical NaN for NaN.
// tests/cpp/test_narrow_float.cpp checks all 65536 patterns of each type.
#pragma once

#include <stdint.h>

#include "fast_math.h"
#include "hostdevice.h"

namespace crnn {

CRNN_HD_INLINE uint32_t float_bits_u(float x) {
  return static_cast<uint32_t>(float_as_bits(x));
}

// c ? a : b by masks: GCC's if-conversion gives up on a chain of `?:` and keeps the branches.
CRNN_HD_INLINE uint32_t select_u32(bool c, uint32_t a, uint32_t b) {
  return b ^ ((a ^ b) & (0u - static_cast<uint32_t>(c)));
}

// ---- float16 -------------------------------------------------------------------------------

CRNN_HD_INLINE float half_bits_to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
#else
  // Selects, no branches: the CPU's conversion loops vectorize.
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, em = h & 0x7fffu;
  uint32_t bits = (em << 13) + (112u << 23);          // normal: rebias 15 -> 127
  bits = em >= 0x7c00u ? bits + (112u << 23) : bits;  // inf, or NaN with its payload
  const float sub = static_cast<float>(static_cast<int32_t>(em)) * 0x1p-24f;  // 0, subnormal:
  bits = em < 0x400u ? float_bits_u(sub) : bits;  // an exact product, a normal float
  return bits_as_float(static_cast<int32_t>(bits | sign));
#endif
}

CRNN_HD_INLINE uint16_t float_to_half_bits(float f) {
#if defined(__CUDA_ARCH__)
  uint16_t h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
#else
  // Every case computed, then selected (no branches: the CPU's conversion loops vectorize).
  const uint32_t u = float_bits_u(f), x = u & 0x7fffffffu, e = x >> 23;
  const uint32_t sign = (u >> 16) & 0x8000u;
  // normal half (>= 2^-14): drop 13 bits, RNE, rebias 127 -> 15 (a carry into the exponent is
  // right, up to 0x7c00 = inf just below 65520)
  const uint32_t normal = (x + 0xfffu + ((x >> 13) & 1u) - (112u << 23)) >> 13;
  // subnormal half: round(|f| / 2^-24) from the mantissa with its implicit bit, shifted by
  // 126 - e in [14, 24]; below 2^-25 (e < 102) a shift of 25 leaves 0 and no round-up
  // (2^-25 itself is a tie, to even 0); r == 0x400 is the smallest normal, right too
  const uint32_t sh = select_u32(e < 102u, 25u, select_u32(e > 112u, 14u, 126u - e));
  const uint32_t m = (x & 0x7fffffu) | 0x800000u, q = m >> sh;
  const uint32_t rem = m & ((1u << sh) - 1u), half = 1u << (sh - 1u);
  const uint32_t sub = q + ((half - rem - (q & 1u)) >> 31);  // rem + odd > half: up (< 2^25)
  const uint32_t nan_m = (x >> 13) & 0x3ffu;  // NaN: the top payload bits, or the quiet bit
  uint32_t r = select_u32(x >= 0x38800000u, normal, sub);
  r = select_u32(x >= 0x477ff000u, 0x7c00u, r);  // >= 65520, and inf
  r = select_u32(x > 0x7f800000u, 0x7c00u | select_u32(nan_m != 0, nan_m, 0x200u), r);
  return static_cast<uint16_t>(sign | r);
#endif
}

// ---- bfloat16 ------------------------------------------------------------------------------

CRNN_HD_INLINE float bf16_bits_to_float(uint16_t h) {
  return bits_as_float(static_cast<int32_t>(static_cast<uint32_t>(h) << 16));
}

CRNN_HD_INLINE uint16_t float_to_bf16_bits(float f) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint16_t h;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
#else
  const uint32_t u = float_bits_u(f), top = u >> 16;
  // RNE on the low 16 bits; a carry reaches the exponent, and past the largest finite to inf.
  const uint32_t rounded = (u + 0x7fffu + (top & 1u)) >> 16;
  const uint32_t nan = top | ((top & 0x7fu) ? 0u : 0x40u);  // NaN: keep it one
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
#endif
}

// ---- the storage types the kernels template on --------------------------------------------

// A float16 or bfloat16 value as stored in memory (2 bytes, the bit pattern).
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// Storage -> float32 compute, and back (RNE). float and double pass through.
CRNN_HD_INLINE float widen(Half h) {
  return half_bits_to_float(h.bits);
}
CRNN_HD_INLINE float widen(BFloat16 h) {
  return bf16_bits_to_float(h.bits);
}
CRNN_HD_INLINE float widen(float x) {
  return x;
}
CRNN_HD_INLINE double widen(double x) {
  return x;
}

template <typename S>
struct Narrow;  // Narrow<S>::from(compute value) -> S
template <>
struct Narrow<Half> {
  static CRNN_HD_INLINE Half from(float x) { return Half{float_to_half_bits(x)}; }
};
template <>
struct Narrow<BFloat16> {
  static CRNN_HD_INLINE BFloat16 from(float x) { return BFloat16{float_to_bf16_bits(x)}; }
};
template <>
struct Narrow<float> {
  static CRNN_HD_INLINE float from(float x) { return x; }
};
template <>
struct Narrow<double> {
  static CRNN_HD_INLINE double from(double x) { return x; }
};

template <typename S, typename T>
CRNN_HD_INLINE S narrow_to(T x) {
  return Narrow<S>::from(x);
}

}  // namespace crnn
