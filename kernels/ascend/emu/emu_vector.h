// Host model of the Ascend C API, part 6: element-wise vector APIs (count forms), Duplicate,
// Cast and the advanced-API activations. Every operand is checked: live, 32-byte aligned, at
// least `count` elements; a source may coincide with dst exactly but not overlap it partially.
// Arithmetic is IEEE fp32 on the host (libm for exp / log / tanh): the device's vector units
// may differ by a few ulp, so kernel tests compare with a tolerance.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "emu_tensor.h"

namespace crnn {
namespace ascend_emu {

template <typename T>
constexpr bool is_f32 = std::is_same<T, float>::value;
template <typename T>
constexpr bool is_f32_i32 = std::is_same<T, float>::value || std::is_same<T, int32_t>::value;

inline uint64_t checked_count(int64_t count, const char *api) {
  if (count < 0) fail("%s: count %lld is negative", api, (long long)count);
  return static_cast<uint64_t>(count);
}

template <typename T>
T *vec_operand(const AscendC::LocalTensor<T> &t, uint64_t n, const char *api, const char *name) {
  return reinterpret_cast<T *>(ub_span(t, n, sizeof(T), kBlockBytes, api, name));
}

template <typename T, typename F>
void unary_op(const char *api, const AscendC::LocalTensor<T> &dst,
              const AscendC::LocalTensor<T> &src, int64_t count, F f) {
  const uint64_t n = checked_count(count, api);
  if (n == 0) return;
  T *d = vec_operand(dst, n, api, "dst");
  const T *s = vec_operand(src, n, api, "src");
  check_overlap(reinterpret_cast<uint8_t *>(d), n * sizeof(T), reinterpret_cast<const uint8_t *>(s),
                n * sizeof(T), api, "dst", "src", true);
  for (uint64_t i = 0; i < n; ++i) d[i] = f(s[i]);
}

template <typename T, typename F>
void binary_op(const char *api, const AscendC::LocalTensor<T> &dst,
               const AscendC::LocalTensor<T> &src0, const AscendC::LocalTensor<T> &src1,
               int64_t count, F f) {
  const uint64_t n = checked_count(count, api);
  if (n == 0) return;
  T *d = vec_operand(dst, n, api, "dst");
  const T *a = vec_operand(src0, n, api, "src0");
  const T *b = vec_operand(src1, n, api, "src1");
  const uint64_t bytes = n * sizeof(T);
  const auto *d8 = reinterpret_cast<const uint8_t *>(d);
  check_overlap(d8, bytes, reinterpret_cast<const uint8_t *>(a), bytes, api, "dst", "src0", true);
  check_overlap(d8, bytes, reinterpret_cast<const uint8_t *>(b), bytes, api, "dst", "src1", true);
  for (uint64_t i = 0; i < n; ++i) d[i] = f(a[i], b[i]);
}

// int32 arithmetic wraps (computed unsigned: no signed overflow on the host).
template <typename T, typename F>
T wrap(T a, T b, F f) {
  if constexpr (std::is_integral<T>::value) {
    return static_cast<T>(f(static_cast<uint32_t>(a), static_cast<uint32_t>(b)));
  } else {
    return f(a, b);
  }
}

// NaN-propagating max / min (the device's NaN rule is not documented).
template <typename T>
T max_of(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a > b ? a : b;
}
template <typename T>
T min_of(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  }
  return a < b ? a : b;
}

// Advanced APIs: the scratch buffer must not overlap the operands; the model scribbles over it
// (and over src when isReuseSource allows the API to) so a kernel relying on either shows.
template <typename T>
void adv_scratch(const AscendC::LocalTensor<T> &dst, const AscendC::LocalTensor<T> &src,
                 const AscendC::LocalTensor<uint8_t> *tmp, uint64_t n, bool reuse_source,
                 const char *api) {
  const uint8_t *d = ub_span(dst, n, sizeof(T), kBlockBytes, api, "dst");
  uint8_t *s = ub_span(src, n, sizeof(T), kBlockBytes, api, "src");
  if (tmp != nullptr) {
    uint8_t *t = ub_span(*tmp, tmp->GetSize(), 1, kBlockBytes, api, "sharedTmpBuffer");
    check_overlap(t, tmp->GetSize(), d, n * sizeof(T), api, "sharedTmpBuffer", "dst", false);
    check_overlap(t, tmp->GetSize(), s, n * sizeof(T), api, "sharedTmpBuffer", "src", false);
    std::memset(t, 0xFF, tmp->GetSize());
  }
  if (reuse_source && s != d) std::memset(s, 0xFF, n * sizeof(T));
}

template <typename T, typename F>
void adv_unary(const char *api, const AscendC::LocalTensor<T> &dst,
               const AscendC::LocalTensor<T> &src, const AscendC::LocalTensor<uint8_t> *tmp,
               uint32_t count, bool reuse_source, F f) {
  static_assert(is_f32<T>, "the model implements the advanced activations for float");
  if (count == 0) return;
  unary_op(api, dst, src, count, f);
  adv_scratch(dst, src, tmp, count, reuse_source, api);
}

float cast_int_to_float(int32_t v, AscendC::RoundMode mode);
int32_t cast_float_to_int(float v, AscendC::RoundMode mode);
float round_float(float v, AscendC::RoundMode mode);
uint16_t cast_float_to_narrow(float v, AscendC::RoundMode mode, bool bf16);
const char *round_mode_name(AscendC::RoundMode mode);

}  // namespace ascend_emu
}  // namespace crnn

namespace AscendC {

#define CRNN_ASCEND_EMU_BINARY(Name, Check, expr)                                              \
  template <typename T>                                                                        \
  void Name(const LocalTensor<T> &dst, const LocalTensor<T> &src0, const LocalTensor<T> &src1, \
            const int32_t &count) {                                                            \
    static_assert(crnn::ascend_emu::Check<T>, #Name ": type not implemented by the model");    \
    crnn::ascend_emu::binary_op(#Name, dst, src0, src1, count, [](T a, T b) { return expr; }); \
  }
CRNN_ASCEND_EMU_BINARY(Add, is_f32_i32,
                       crnn::ascend_emu::wrap(a, b, [](auto x, auto y) { return x + y; }))
CRNN_ASCEND_EMU_BINARY(Sub, is_f32_i32,
                       crnn::ascend_emu::wrap(a, b, [](auto x, auto y) { return x - y; }))
CRNN_ASCEND_EMU_BINARY(Mul, is_f32_i32,
                       crnn::ascend_emu::wrap(a, b, [](auto x, auto y) { return x * y; }))
CRNN_ASCEND_EMU_BINARY(Div, is_f32, a / b)
CRNN_ASCEND_EMU_BINARY(Max, is_f32_i32, crnn::ascend_emu::max_of(a, b))
CRNN_ASCEND_EMU_BINARY(Min, is_f32_i32, crnn::ascend_emu::min_of(a, b))
#undef CRNN_ASCEND_EMU_BINARY

#define CRNN_ASCEND_EMU_SCALAR(Name, expr)                                                       \
  template <typename T, bool isSetMask = true>                                                   \
  void Name(const LocalTensor<T> &dst, const LocalTensor<T> &src, const T &scalarValue,          \
            const int32_t &count) {                                                              \
    static_assert(crnn::ascend_emu::is_f32_i32<T>, #Name ": type not implemented by the model"); \
    const T b = scalarValue;                                                                     \
    crnn::ascend_emu::unary_op(#Name, dst, src, count, [b](T a) { return expr; });               \
  }
CRNN_ASCEND_EMU_SCALAR(Adds, crnn::ascend_emu::wrap(a, b, [](auto x, auto y) { return x + y; }))
CRNN_ASCEND_EMU_SCALAR(Muls, crnn::ascend_emu::wrap(a, b, [](auto x, auto y) { return x * y; }))
CRNN_ASCEND_EMU_SCALAR(Maxs, crnn::ascend_emu::max_of(a, b))
CRNN_ASCEND_EMU_SCALAR(Mins, crnn::ascend_emu::min_of(a, b))
#undef CRNN_ASCEND_EMU_SCALAR

#define CRNN_ASCEND_EMU_UNARY(Name, expr)                                                    \
  template <typename T>                                                                      \
  void Name(const LocalTensor<T> &dst, const LocalTensor<T> &src, const int32_t &count) {    \
    static_assert(crnn::ascend_emu::is_f32<T>, #Name ": type not implemented by the model"); \
    crnn::ascend_emu::unary_op(#Name, dst, src, count, [](T x) { return expr; });            \
  }
CRNN_ASCEND_EMU_UNARY(Exp, std::exp(x))
CRNN_ASCEND_EMU_UNARY(Ln, std::log(x))
CRNN_ASCEND_EMU_UNARY(Abs, std::fabs(x))
CRNN_ASCEND_EMU_UNARY(Sqrt, std::sqrt(x))
CRNN_ASCEND_EMU_UNARY(Reciprocal, 1.0f / x)
CRNN_ASCEND_EMU_UNARY(Relu, x < 0.0f ? 0.0f : x)
#undef CRNN_ASCEND_EMU_UNARY

template <typename T>
void Duplicate(const LocalTensor<T> &dst, const T &scalarValue, const int32_t &count) {
  static_assert(crnn::ascend_emu::is_f32_i32<T> || std::is_same<T, uint32_t>::value ||
                    std::is_same<T, int16_t>::value || std::is_same<T, uint16_t>::value,
                "Duplicate: type not implemented by the model");
  const uint64_t n = crnn::ascend_emu::checked_count(count, "Duplicate");
  if (n == 0) return;
  T *d = crnn::ascend_emu::vec_operand(dst, n, "Duplicate", "dst");
  for (uint64_t i = 0; i < n; ++i) d[i] = scalarValue;
}

// float <-> int32_t (and float -> float to an integral value), half / bfloat16_t <-> float, with
// the A2 round modes: half -> float and bfloat16_t -> float take only CAST_NONE (exact);
// float -> half all modes (CAST_NONE = CAST_RINT); float -> bfloat16_t RINT / FLOOR / CEIL /
// ROUND / TRUNC; float <-> int32_t and float -> float no CAST_ODD (and float -> * no CAST_NONE).
template <typename T, typename U>
void Cast(const LocalTensor<T> &dst, const LocalTensor<U> &src, const RoundMode &roundMode,
          const uint32_t count) {
  namespace e = crnn::ascend_emu;
  constexpr bool f2i = std::is_same<U, float>::value && std::is_same<T, int32_t>::value;
  constexpr bool i2f = std::is_same<U, int32_t>::value && std::is_same<T, float>::value;
  constexpr bool f2f = std::is_same<U, float>::value && std::is_same<T, float>::value;
  constexpr bool widen = (std::is_same<U, half>::value || std::is_same<U, bfloat16_t>::value) &&
                         std::is_same<T, float>::value;
  constexpr bool f2h = std::is_same<U, float>::value && std::is_same<T, half>::value;
  constexpr bool f2b = std::is_same<U, float>::value && std::is_same<T, bfloat16_t>::value;
  static_assert(f2i || i2f || f2f || widen || f2h || f2b,
                "Cast: the model implements float <-> int32_t, float -> float, half / bfloat16_t "
                "<-> float");
  const bool ok = widen ? roundMode == RoundMode::CAST_NONE
                  : f2h ? true
                  : i2f ? roundMode != RoundMode::CAST_ODD
                        : roundMode != RoundMode::CAST_NONE && roundMode != RoundMode::CAST_ODD;
  if (!ok) {
    e::fail("Cast: %s -> %s does not take %s on A2", e::TypeTag<U>::name, e::TypeTag<T>::name,
            e::round_mode_name(roundMode));
  }
  if (count == 0) return;
  T *d = e::vec_operand(dst, count, "Cast", "dst");
  const U *s = e::vec_operand(src, count, "Cast", "src");
  e::check_overlap(reinterpret_cast<uint8_t *>(d), uint64_t(count) * sizeof(T),
                   reinterpret_cast<const uint8_t *>(s), uint64_t(count) * sizeof(U), "Cast", "dst",
                   "src", true);
  for (uint32_t i = 0; i < count; ++i) {
    if constexpr (f2i) {
      d[i] = e::cast_float_to_int(s[i], roundMode);
    } else if constexpr (i2f) {
      d[i] = e::cast_int_to_float(s[i], roundMode);
    } else if constexpr (widen) {
      d[i] = float(s[i]);
    } else if constexpr (f2h || f2b) {
      d[i].bits = e::cast_float_to_narrow(s[i], roundMode, f2b);
    } else {
      d[i] = e::round_float(s[i], roundMode);
    }
  }
}

// ---- Advanced API (activations; count forms, with and without a scratch buffer) -------------

template <typename T, bool isReuseSource = false>
void Sigmoid(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Sigmoid", dst, src, nullptr, calCount, isReuseSource,
                              [](T x) { return 1.0f / (1.0f + std::exp(-x)); });
}
template <typename T, bool isReuseSource = false>
void Sigmoid(const LocalTensor<T> &dst, const LocalTensor<T> &src,
             const LocalTensor<uint8_t> &sharedTmpBuffer, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Sigmoid", dst, src, &sharedTmpBuffer, calCount, isReuseSource,
                              [](T x) { return 1.0f / (1.0f + std::exp(-x)); });
}
template <typename T, bool isReuseSource = false>
void Tanh(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Tanh", dst, src, nullptr, calCount, isReuseSource,
                              [](T x) { return std::tanh(x); });
}
template <typename T, bool isReuseSource = false>
void Tanh(const LocalTensor<T> &dst, const LocalTensor<T> &src,
          const LocalTensor<uint8_t> &sharedTmpBuffer, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Tanh", dst, src, &sharedTmpBuffer, calCount, isReuseSource,
                              [](T x) { return std::tanh(x); });
}
template <typename T, bool isReuseSource = false>
void Log(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Log", dst, src, nullptr, calCount, isReuseSource,
                              [](T x) { return std::log(x); });
}
template <typename T, bool isReuseSource = false>
void Log(const LocalTensor<T> &dst, const LocalTensor<T> &src,
         const LocalTensor<uint8_t> &sharedTmpBuffer, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Log", dst, src, &sharedTmpBuffer, calCount, isReuseSource,
                              [](T x) { return std::log(x); });
}
// The advanced Exp (taylorExpandLevel: the device's precision knob; the model uses libm).
template <typename T, uint8_t taylorExpandLevel, bool isReuseSource = false>
void Exp(const LocalTensor<T> &dst, const LocalTensor<T> &src, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Exp", dst, src, nullptr, calCount, isReuseSource,
                              [](T x) { return std::exp(x); });
}
template <typename T, uint8_t taylorExpandLevel, bool isReuseSource = false>
void Exp(const LocalTensor<T> &dst, const LocalTensor<T> &src,
         const LocalTensor<uint8_t> &sharedTmpBuffer, const uint32_t calCount) {
  crnn::ascend_emu::adv_unary("Exp", dst, src, &sharedTmpBuffer, calCount, isReuseSource,
                              [](T x) { return std::exp(x); });
}

}  // namespace AscendC
