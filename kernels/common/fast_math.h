// Scalar math shared by the CPU and CUDA kernels: branch-free float exp/log that the
// host compiler vectorizes inside `#pragma omp simd` loops, and log-space helpers.
//
// exp_fast<float>: Cephes-style range reduction + degree-6 polynomial. Max relative error
//   8.3e-8 (~1 ulp) on [-87, 88.3] (measured by tests/cpp); below -87.3 it returns 0 (true
//   value is subnormal, < 1.2e-38), above 88.37 +inf; -inf -> 0, NaN -> NaN.
// log_fast<float>: Cephes logf polynomial, max relative error 7.7e-8 for normal inputs;
//   0 -> -inf, x < 0 -> NaN, +inf -> +inf, subnormals handled by pre-scaling.
// double versions call the C library (the float64 kernels exist for exact tests, not speed).
#pragma once

#include <math.h>
#include <stdint.h>

#include "hostdevice.h"

namespace crnn {

CRNN_HD_INLINE int32_t float_as_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(x);
#else
  return __builtin_bit_cast(int32_t, x);
#endif
}

CRNN_HD_INLINE float bits_as_float(int32_t i) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(i);
#else
  return __builtin_bit_cast(float, i);
#endif
}

template <typename T>
CRNN_HD_INLINE T neg_inf() {
  return -static_cast<T>(INFINITY);
}

template <typename T>
CRNN_HD_INLINE T exp_fast(T x);
template <typename T>
CRNN_HD_INLINE T log_fast(T x);

template <>
CRNN_HD_INLINE double exp_fast<double>(double x) {
  return exp(x);
}
template <>
CRNN_HD_INLINE double log_fast<double>(double x) {
  return log(x);
}

namespace detail {
// 2^n for integral-valued n in [-126, 127], by building the exponent bits.
CRNN_HD_INLINE float pow2_int(float n) {
  return bits_as_float((static_cast<int32_t>(n) + 127) << 23);
}
#if !defined(__CUDACC__)
// Host SIMD: the same math on GCC vector extensions (row loops in kernels/cpu).
typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
inline __attribute__((always_inline)) f32x8 pow2_int(f32x8 n) {
  return reinterpret_cast<f32x8>((__builtin_convertvector(n, i32x8) + 127) << 23);
}
#endif
template <typename F>
CRNN_HD_INLINE F splat(float c) {
  return F{} + c;
}
}  // namespace detail

// exp for float or a float vector type F (one polynomial for every backend).
template <typename F>
CRNN_HD_INLINE F exp_poly(F x) {
  using detail::splat;
  const F hi = splat<F>(88.3762626647949f), lo = splat<F>(-87.3f);
  F xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  // round(xc / ln2) by the 1.5 * 2^23 trick: no floorf, so SSE2/AVX/CUDA all vectorize it
  const F n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  F r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  F p = splat<F>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const F y = p * r * r + r + 1.0f;
  F out = y * detail::pow2_int(n);
  out = x < lo ? splat<F>(0.0f) : out;
  out = x > hi ? splat<F>(INFINITY) : out;
  return x != x ? x : out;
}

template <>
CRNN_HD_INLINE float exp_fast<float>(float x) {
  return exp_poly<float>(x);
}

// log for positive, normal, finite x (no special cases): the core of log_fast<float>.
CRNN_HD_INLINE float log_normal(float x) {
  const int32_t bits = float_as_bits(x);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 126);
  float m = bits_as_float((bits & 0x007fffff) | 0x3f000000);  // mantissa in [0.5, 1)
  const bool small = m < 0.707106781186547524f;
  e = small ? e - 1.0f : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = p * m * z;
  y = y - 2.12194440e-4f * e;
  y = y - 0.5f * z;
  return m + y + 0.693359375f * e;
}
CRNN_HD_INLINE double log_normal(double x) {
  return log(x);
}

template <>
CRNN_HD_INLINE float log_fast<float>(float x) {
  const bool tiny = x < 1.17549435e-38f;  // subnormal or <= 0: scale by 2^23 first
  float out = log_normal(tiny ? x * 8388608.0f : x) - (tiny ? 15.942385152878742f : 0.0f);
  out = x == 0.0f ? neg_inf<float>() : out;
  out = x < 0.0f ? static_cast<float>(NAN) : out;
  out = x == static_cast<float>(INFINITY) ? x : out;
  return x != x ? x : out;
}

// sigmoid(x) = 1 / (1 + exp(-x)): exact limits 0 and 1 (exp overflow gives 1/inf = 0); max
// absolute error 8.9e-8 in float (measured by tests/cpp).
template <typename T>
CRNN_HD_INLINE T sigmoid_fast(T x) {
  return T(1) / (T(1) + exp_fast<T>(-x));
}

// tanh(x) = 2 sigmoid(2x) - 1: exact limits -1 and 1; max absolute error 1.8e-7 in float,
// which is what the LSTM cell update needs (it adds the result to other terms).
template <typename T>
CRNN_HD_INLINE T tanh_fast(T x) {
  return T(2) / (T(1) + exp_fast<T>(T(-2) * x)) - T(1);
}

// log(exp(a) + exp(b)), exact for -inf operands: (-inf, -inf) gives -inf and never forms
// -inf - (-inf) (a NaN fed to exp_fast would also be undefined behaviour in its int conversion).
template <typename T>
CRNN_HD_INLINE T log_add_exp(T a, T b) {
  const T m = a > b ? a : b;
  const T ms = m == neg_inf<T>() ? T(0) : m;
  const T d = (a > b ? b : a) - ms;                   // <= 0; -inf when both are -inf
  const T r = m + log_normal(T(1) + exp_fast<T>(d));  // argument in [1, 2]
  return m == neg_inf<T>() ? m : r;
}

// log(exp(a) + exp(b) + exp(c)), exact for -inf operands; branch-free for SIMD loops.
// The largest term contributes exp(0) = 1, so only the other two need an exp.
template <typename T>
CRNN_HD_INLINE T log_add_exp3(T a, T b, T c) {
  const T hi = a > b ? a : b, lo = a > b ? b : a;
  const T m = hi > c ? hi : c, mid = hi > c ? c : hi;
  const T ms = m == neg_inf<T>() ? T(0) : m;
  const T r = ms + log_normal(T(1) + exp_fast<T>(mid - ms) + exp_fast<T>(lo - ms));  // [1, 3]
  return m == neg_inf<T>() ? m : r;
}

}  // namespace crnn
