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

// ---- float16 -------------------------------------------------------------------------------

CRNN_HD_INLINE float half_bits_to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
#else
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  uint32_t bits;
  if (e == 0x1f) {
    bits = sign | 0x7f800000u | (m << 13);  // inf, or NaN with its payload
  } else if (e != 0) {
    bits = sign | ((e + 112) << 23) | (m << 13);  // rebias 15 -> 127
  } else if (m == 0) {
    bits = sign;
  } else {  // subnormal m * 2^-24: normalise the mantissa
    int shift = 0;
    while (!(m & 0x400u)) {
      m <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((m & 0x3ffu) << 13);
  }
  return bits_as_float(static_cast<int32_t>(bits));
#endif
}

CRNN_HD_INLINE uint16_t float_to_half_bits(float f) {
#if defined(__CUDA_ARCH__)
  uint16_t h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
#else
  const uint32_t u = float_bits_u(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t x = u & 0x7fffffffu;
  if (x > 0x7f800000u) {  // NaN: keep the top payload bits, never let it become inf
    const uint32_t m = (x >> 13) & 0x3ffu;
    return static_cast<uint16_t>(sign | 0x7c00u | (m ? m : 0x200u));
  }
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 (and inf)
  if (x >= 0x38800000u) {  // a normal half (>= 2^-14): drop 13 bits, RNE, rebias 127 -> 15
    const uint32_t r = x + 0xfffu + ((x >> 13) & 1u) - (112u << 23);
    return static_cast<uint16_t>(sign | (r >> 13));  // a carry into the exponent is right
  }
  const uint32_t e = x >> 23;
  if (e < 102) return sign;  // < 2^-25: rounds to 0 (2^-25 itself is a tie, to even 0)
  // Subnormal half: round(|f| / 2^-24) with the implicit bit; shift in [14, 24].
  const uint32_t m = (x & 0x7fffffu) | 0x800000u, shift = 126 - e;
  const uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  const uint32_t r = q + (rem > half || (rem == half && (q & 1u)) ? 1u : 0u);
  return static_cast<uint16_t>(sign | r);  // r == 0x400 is the smallest normal: right too
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
  const uint32_t u = float_bits_u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN
    const uint32_t top = u >> 16;
    return static_cast<uint16_t>(top | ((top & 0x7fu) ? 0u : 0x40u));
  }
  // RNE on the low 16 bits; a carry reaches the exponent, and past the largest finite to inf.
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
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
