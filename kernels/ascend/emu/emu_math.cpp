// Host model of the Ascend C API: Cast rounding, the ReduceSum order and ReduceMax's scratch
// size (see emu_vector.h / emu_reduce.h).
#include <cmath>
#include <limits>

#include "emu_reduce.h"

namespace crnn {
namespace ascend_emu {

using AscendC::RoundMode;

const char *round_mode_name(RoundMode mode) {
  switch (mode) {
    case RoundMode::CAST_NONE: return "CAST_NONE";
    case RoundMode::CAST_RINT: return "CAST_RINT";
    case RoundMode::CAST_FLOOR: return "CAST_FLOOR";
    case RoundMode::CAST_CEIL: return "CAST_CEIL";
    case RoundMode::CAST_ROUND: return "CAST_ROUND";
    case RoundMode::CAST_TRUNC: return "CAST_TRUNC";
    case RoundMode::CAST_ODD: return "CAST_ODD";
  }
  return "?";
}

float round_float(float v, RoundMode mode) {
  switch (mode) {
    case RoundMode::CAST_FLOOR: return std::floor(v);
    case RoundMode::CAST_CEIL: return std::ceil(v);
    case RoundMode::CAST_ROUND: return std::round(v);  // halves away from zero
    case RoundMode::CAST_TRUNC: return std::trunc(v);
    default: return std::nearbyint(v);  // CAST_RINT: halves to even (default FP environment)
  }
}

// Saturates (the documented overflow rule); NaN -> 0 is the model's choice (undocumented).
int32_t cast_float_to_int(float v, RoundMode mode) {
  if (std::isnan(v)) return 0;
  const float r = round_float(v, mode);
  if (r >= 2147483648.0f) return std::numeric_limits<int32_t>::max();
  if (r < -2147483648.0f) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(r);
}

// int32 -> float is inexact above 2^24: pick the neighbour the round mode asks for.
float cast_int_to_float(int32_t v, RoundMode mode) {
  const double exact = v;
  const float nearest = static_cast<float>(exact);  // to nearest, halves to even
  if (double(nearest) == exact || mode == RoundMode::CAST_NONE || mode == RoundMode::CAST_RINT) {
    return nearest;
  }
  float lo = nearest, hi = nearest;
  if (double(nearest) > exact) {
    lo = std::nextafter(nearest, -INFINITY);
  } else {
    hi = std::nextafter(nearest, INFINITY);
  }
  switch (mode) {
    case RoundMode::CAST_FLOOR: return lo;
    case RoundMode::CAST_CEIL: return hi;
    case RoundMode::CAST_TRUNC: return exact > 0 ? lo : hi;
    default: {  // CAST_ROUND: to nearest, halves away from zero
      const double dl = exact - lo, dh = hi - exact;
      if (dl != dh) return dl < dh ? lo : hi;
      return exact > 0 ? hi : lo;
    }
  }
}

uint32_t reduce_max_tmp_elements(uint32_t count, uint32_t elem, bool cal_index) {
  const uint32_t per_block = kBlockBytes / elem, per_repeat = kRepeatBytes / elem;
  auto align_up = [](uint32_t x, uint32_t a) { return (x + a - 1) / a * a; };
  auto div_up = [](uint32_t x, uint32_t a) { return (x + a - 1) / a; };
  const uint32_t first_repeats = count / per_repeat > 0 ? count / per_repeat : 1;
  const uint32_t out1 = first_repeats * 2;  // (value, index) per repeat, index or not
  if (!cal_index) return align_up(out1, per_block);
  const uint32_t start2 = align_up(out1, per_block);
  const uint32_t out2 = div_up(out1, per_repeat) * 2;
  const uint32_t end2 = align_up(out2, per_block);
  if (out2 <= 2) return start2 + end2;
  const uint32_t out3 = div_up(out2, per_repeat) * 2;
  return start2 + end2 + align_up(out3, per_block);
}

float reduce_sum_f32(const float *x, uint32_t count) {
  constexpr uint32_t per_repeat = kRepeatBytes / sizeof(float);
  float total = 0.0f;
  for (uint32_t r = 0; r < count; r += per_repeat) {
    float v[per_repeat];
    for (uint32_t i = 0; i < per_repeat; ++i) v[i] = r + i < count ? x[r + i] : 0.0f;
    for (uint32_t width = per_repeat / 2; width >= 1; width /= 2) {
      for (uint32_t i = 0; i < width; ++i) v[i] = v[2 * i] + v[2 * i + 1];
    }
    total = r == 0 ? v[0] : total + v[0];
  }
  return total;
}

// float -> half / bfloat16 bits in a round mode: the nearest-even result (narrow_float.h),
// moved to the neighbour that brackets v from the other side when the mode asks for it.
uint16_t cast_float_to_narrow(float v, RoundMode mode, bool bf16) {
  const uint16_t r = bf16 ? float_to_bf16_bits(v) : float_to_half_bits(v);
  auto widen_bits = [bf16](uint16_t b) {
    return bf16 ? bf16_bits_to_float(b) : half_bits_to_float(b);
  };
  const float w = widen_bits(r);
  if (mode == RoundMode::CAST_RINT || mode == RoundMode::CAST_NONE || std::isnan(v) ||
      std::isinf(v) || w == v)
    return r;
  // a: the candidate of smaller magnitude, b: of larger (same sign; bits +-1 step magnitude)
  const bool above = std::fabs(w) > std::fabs(v);
  const uint16_t a = above ? uint16_t(r - 1) : r, b = above ? r : uint16_t(r + 1);
  const bool neg = v < 0;
  switch (mode) {
    case RoundMode::CAST_TRUNC: return a;
    case RoundMode::CAST_FLOOR: return neg ? b : a;
    case RoundMode::CAST_CEIL: return neg ? a : b;
    case RoundMode::CAST_ROUND: {  // nearest, halves away from zero
      const double mid = (double(widen_bits(a)) + double(widen_bits(b))) / 2;
      return double(v) == mid ? b : r;
    }
    case RoundMode::CAST_ODD: return (a & 1u) ? a : b;
    default: return r;
  }
}

}  // namespace ascend_emu
}  // namespace crnn
