// kernels/common/narrow_float.h against a reference computed another way: every float16 and
// bfloat16 pattern widens to the value its fields define (evaluated with ldexp in long
// double) and narrows back to itself (NaN payloads included); narrowing floats (the midpoints
// between neighbouring narrow values and the floats beside them, overflow, subnormal and
// underflow edges, 2M random float patterns of every exponent) gives the nearest narrow
// value, ties to the even pattern, found by a search over the sorted narrow values where
// +inf stands in for the next value past the largest finite one (IEEE's overflow rule).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

#include "../../kernels/common/narrow_float.h"
#include "check.h"

namespace {

struct Format {
  const char *name;
  int mant_bits, bias;  // float16: 10, 15; bfloat16: 7, 127
  float (*widen)(uint16_t);
  uint16_t (*narrow)(float);
  uint16_t inf_bits() const { return uint16_t(0x7fffu >> mant_bits << mant_bits); }
  int exp_max() const { return (1 << (15 - mant_bits)) - 1; }
};

float half_w(uint16_t h) {
  return crnn::half_bits_to_float(h);
}
uint16_t half_n(float f) {
  return crnn::float_to_half_bits(f);
}
float bf16_w(uint16_t h) {
  return crnn::bf16_bits_to_float(h);
}
uint16_t bf16_n(float f) {
  return crnn::float_to_bf16_bits(f);
}

const Format kHalf{"float16", 10, 15, half_w, half_n};
const Format kBf16{"bfloat16", 7, 127, bf16_w, bf16_n};

// The value a pattern's fields define; NaN for NaN patterns.
long double ref_value(const Format &f, uint16_t h) {
  const int e = (h >> f.mant_bits) & f.exp_max();
  const int m = h & ((1 << f.mant_bits) - 1);
  const long double s = (h & 0x8000u) ? -1.0L : 1.0L;
  if (e == f.exp_max()) return m ? NAN : s * INFINITY;
  if (e == 0) return s * ldexpl(m, 1 - f.bias - f.mant_bits);
  return s * ldexpl((1 << f.mant_bits) + m, e - f.bias - f.mant_bits);
}

bool is_nan_pattern(const Format &f, uint16_t h) {
  return (h & 0x7fffu) > f.inf_bits();
}

void check_every_pattern(const Format &f) {
  int bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const uint16_t h = uint16_t(i);
    const float w = f.widen(h);
    const long double want = ref_value(f, h);
    if (is_nan_pattern(f, h)) {
      if (!isnan(w) || signbit(w) != bool(h & 0x8000u)) ++bad;
    } else if (static_cast<long double>(w) != want || signbit(w) != bool(h & 0x8000u)) {
      if (bad++ < 5) CHECK(false, "%s 0x%04x widens to %.9g, want %.9Lg", f.name, h, w, want);
    }
    const uint16_t back = f.narrow(w);
    if (back != h && bad++ < 5) CHECK(false, "%s 0x%04x round-trips to 0x%04x", f.name, h, back);
  }
  CHECK(bad == 0, "%s: %d patterns failed", f.name, bad);
}

// Positive narrow values in increasing order (patterns 0 .. inf): pattern == index.
std::vector<long double> positive_values(const Format &f) {
  std::vector<long double> v;
  for (uint32_t h = 0; h < f.inf_bits(); ++h) v.push_back(ref_value(f, uint16_t(h)));
  // +inf as the value one step past the largest finite (2^(emax+1)): overflow is rounding.
  v.push_back(ldexpl(1.0L, f.exp_max() - f.bias));
  return v;
}

// The reference narrowing of a non-NaN float: nearest, ties to the even pattern.
uint16_t ref_narrow(const Format &f, const std::vector<long double> &pos, float x) {
  const uint16_t sign = signbit(x) ? 0x8000u : 0;
  const long double a = fabsl(static_cast<long double>(x));
  if (isinf(a) || a >= pos.back()) return uint16_t(sign | f.inf_bits());
  size_t lo = 0, hi = pos.size() - 1;  // pos[lo] <= a < pos[hi]
  while (hi - lo > 1) {
    const size_t mid = (lo + hi) / 2;
    (pos[mid] <= a ? lo : hi) = mid;
  }
  const long double dl = a - pos[lo], dh = pos[hi] - a;
  const size_t pick = dl < dh ? lo : dh < dl ? hi : (lo % 2 == 0 ? lo : hi);
  return uint16_t(sign | pick);
}

int check_narrow(const Format &f, const std::vector<long double> &pos, float x, int bad) {
  const uint16_t got = f.narrow(x);
  if (isnan(x)) {
    if ((!is_nan_pattern(f, got) || bool(got & 0x8000u) != bool(signbit(x))) && bad++ < 5)
      CHECK(false, "%s: NaN narrows to 0x%04x", f.name, got);
    return bad;
  }
  const uint16_t want = ref_narrow(f, pos, x);
  if (got != want && bad++ < 5)
    CHECK(false, "%s: %.9g (0x%08x) narrows to 0x%04x, want 0x%04x", f.name, x,
          crnn::float_bits_u(x), got, want);
  return bad;
}

void check_rounding(const Format &f) {
  const std::vector<long double> pos = positive_values(f);
  int bad = 0;
  // Midpoints of neighbours (exact in float: one bit more than the narrow mantissa), the
  // floats on either side, and each value itself; with both signs.
  for (size_t i = 0; i + 1 < pos.size(); ++i) {
    const float mid = static_cast<float>((pos[i] + pos[i + 1]) / 2);
    CHECK(static_cast<long double>(mid) == (pos[i] + pos[i + 1]) / 2, "midpoint not exact");
    for (float x :
         {mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY), static_cast<float>(pos[i])}) {
      bad = check_narrow(f, pos, x, bad);
      bad = check_narrow(f, pos, -x, bad);
    }
  }
  std::mt19937 rng(15);
  for (int i = 0; i < 2000000; ++i)
    bad = check_narrow(f, pos, crnn::bits_as_float(static_cast<int32_t>(rng())), bad);
  for (float x : {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 3.4028235e38f, 1e-45f, 1e-40f})
    bad = check_narrow(f, pos, x, bad);
  CHECK(bad == 0, "%s: %d roundings failed", f.name, bad);
}

// Known constants, independent of the search above.
void check_constants() {
  CHECK(half_n(65504.0f) == 0x7bff && half_n(65519.996f) == 0x7bff, "half max");
  CHECK(half_n(65520.0f) == 0x7c00 && half_n(1e10f) == 0x7c00 && half_n(-1e10f) == 0xfc00,
        "half overflow to inf");
  CHECK(half_n(1.0f) == 0x3c00 && half_n(1.0f + 0x1p-11f) == 0x3c00, "half tie 1 + 2^-11 -> 1");
  CHECK(half_n(1.0f + 3 * 0x1p-11f) == 0x3c02, "half tie 1 + 3*2^-11 -> even 0x3c02");
  CHECK(half_n(0x1p-24f) == 0x0001 && half_n(0x1p-25f) == 0x0000, "half smallest subnormal");
  CHECK(half_n(nextafterf(0x1p-25f, 1.0f)) == 0x0001, "half just above 2^-25");
  CHECK(half_n(3 * 0x1p-25f) == 0x0002 && half_n(5 * 0x1p-25f) == 0x0002, "half subnormal ties");
  CHECK(half_n(0x1p-14f - 0x1p-25f) == 0x0400, "half subnormal rounds up to the smallest normal");
  CHECK(half_w(0x0001) == 0x1p-24f && half_w(0x03ff) == 1023 * 0x1p-24f, "half subnormals");
  CHECK(half_w(0x7bff) == 65504.0f && half_w(0xc000) == -2.0f, "half values");
  CHECK(bf16_n(1.0f) == 0x3f80 && bf16_n(1.0f + 0x1p-8f) == 0x3f80, "bf16 tie 1 + 2^-8 -> 1");
  CHECK(bf16_n(1.0f + 3 * 0x1p-8f) == 0x3f82, "bf16 tie -> even");
  CHECK(bf16_n(3.38953139e38f) == 0x7f7f, "bf16 max");
  CHECK(bf16_n(3.40282347e38f) == 0x7f80, "bf16 overflow to inf");
  CHECK(bf16_n(1e-45f) == 0x0000 && bf16_n(0x1p-133f) == 0x0001, "bf16 subnormals");
  CHECK(bf16_w(0x0001) == 0x1p-133f && bf16_w(0xbf80) == -1.0f, "bf16 values");
  CHECK(half_n(NAN) == 0x7e00 && bf16_n(NAN) == 0x7fc0, "quiet NaN");
  CHECK(half_n(crnn::bits_as_float(0x7f800001)) == 0x7e00, "NaN with low payload stays NaN");
  CHECK(bf16_n(crnn::bits_as_float(0x7f800001)) == 0x7fc0, "bf16 NaN low payload stays NaN");
  // the storage wrappers the kernels use
  CHECK(crnn::widen(crnn::Half{0x3c00}) == 1.0f && crnn::widen(crnn::BFloat16{0x4000}) == 2.0f,
        "widen");
  CHECK(crnn::narrow_to<crnn::Half>(0.5f).bits == 0x3800 &&
            crnn::narrow_to<crnn::BFloat16>(-0.5f).bits == 0xbf00,
        "narrow_to");
}

}  // namespace

int main() {
  check_every_pattern(kHalf);
  check_every_pattern(kBf16);
  check_rounding(kHalf);
  check_rounding(kBf16);
  check_constants();
  if (failures) {
    fprintf(stderr, "test_narrow_float: %d failures\n", failures);
    return 1;
  }
  printf("test_narrow_float: OK\n");
  return 0;
}
