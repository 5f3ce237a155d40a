// half / bfloat16_t in the Ascend C host model: DataCopy / DataCopyPad of 16-bit rows (32-byte
// rule in bytes, padding in elements), Cast half / bfloat16_t -> float (exact, CAST_NONE only)
// and float -> half / bfloat16_t in every documented round mode (ties, directed modes, overflow,
// subnormals, NaN), and the misuse the model must catch: a round mode the A2 table does not
// list for the pair, a 16-byte DataCopy of halves.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../cpp/check.h"
#include "kernel_operator.h"
#include "model_test_util.h"

using namespace AscendC;

// float -> narrow bits through the model's vector Cast on one core.
template <typename N>
static std::vector<uint16_t> cast_down(const std::vector<float> &x, RoundMode mode) {
  std::vector<uint16_t> out(x.size());
  const std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, b;
    pipe.InitBuffer(a, 64 * sizeof(float));
    pipe.InitBuffer(b, 64 * sizeof(N));
    LocalTensor<float> f = a.Get<float>();
    for (size_t i = 0; i < x.size(); ++i) f.SetValue(i, x[i]);
    LocalTensor<N> n = b.Get<N>();
    Cast(n, f, mode, uint32_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) out[i] = n.GetValue(i).bits;
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  return out;
}

static void test_cast_half() {
  const float ulp1 = 0x1p-10f;  // half ulp at 1
  // 1 + ulp/2 (tie, even below), 1 + 3ulp/2 (tie, even above), 1 + ulp/4, -(1 + ulp/2),
  // 65520 (overflows in RINT), 2^-25 (tie between 0 and the smallest subnormal), NaN, -inf
  const std::vector<float> x = {1 + ulp1 / 2, 1 + 1.5f * ulp1, 1 + ulp1 / 4, -(1 + ulp1 / 2),
                                65520.0f,     0x1p-25f,        NAN,          -INFINITY};
  const auto rint = cast_down<half>(x, RoundMode::CAST_RINT);
  const auto none = cast_down<half>(x, RoundMode::CAST_NONE);
  const uint16_t want_rint[] = {0x3c00, 0x3c02, 0x3c00, 0xbc00, 0x7c00, 0x0000, 0, 0xfc00};
  for (int i = 0; i < 8; ++i) {
    if (i == 6) {
      CHECK((rint[i] & 0x7c00) == 0x7c00 && (rint[i] & 0x3ff), "NaN stays NaN: %04x", rint[i]);
      continue;
    }
    CHECK(rint[i] == want_rint[i], "RINT %d: %04x want %04x", i, rint[i], want_rint[i]);
    CHECK(none[i] == rint[i], "NONE = RINT %d", i);
  }
  const auto floor_ = cast_down<half>(x, RoundMode::CAST_FLOOR);
  const auto ceil_ = cast_down<half>(x, RoundMode::CAST_CEIL);
  const auto trunc_ = cast_down<half>(x, RoundMode::CAST_TRUNC);
  const auto round_ = cast_down<half>(x, RoundMode::CAST_ROUND);
  const auto odd = cast_down<half>(x, RoundMode::CAST_ODD);
  CHECK(floor_[0] == 0x3c00 && ceil_[0] == 0x3c01 && trunc_[0] == 0x3c00, "directed at 1+u/2");
  CHECK(floor_[3] == 0xbc01 && ceil_[3] == 0xbc00 && trunc_[3] == 0xbc00, "directed at -(1+u/2)");
  CHECK(round_[0] == 0x3c01 && round_[1] == 0x3c02 && round_[2] == 0x3c00, "ROUND: ties away");
  CHECK(odd[0] == 0x3c01 && odd[2] == 0x3c01 && odd[1] == 0x3c01, "ODD: the odd neighbour");
  CHECK(trunc_[4] == 0x7bff && ceil_[4] == 0x7c00, "65520: TRUNC max finite, CEIL inf");
  CHECK(ceil_[5] == 0x0001 && floor_[5] == 0x0000, "2^-25: CEIL smallest subnormal");
  // widening is exact for every pattern but NaN payloads' quieting (checked: all 65536)
  std::vector<float> wide(65536);
  const std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, b;
    pipe.InitBuffer(a, 4096 * sizeof(half));
    pipe.InitBuffer(b, 4096 * sizeof(float));
    LocalTensor<uint16_t> h = a.Get<uint16_t>();
    for (uint32_t base = 0; base < 65536; base += 4096) {
      for (uint32_t i = 0; i < 4096; ++i) h.SetValue(i, uint16_t(base + i));
      Cast(b.Get<float>(), a.Get<half>(), RoundMode::CAST_NONE, 4096);
      for (uint32_t i = 0; i < 4096; ++i) wide[base + i] = b.Get<float>().GetValue(i);
    }
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  int bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const float w = crnn::half_bits_to_float(uint16_t(i));
    if (!(memcmp(&w, &wide[i], 4) == 0) && bad++ < 3) CHECK(false, "half %04x widened", i);
  }
}

static void test_cast_bf16() {
  const float ulp1 = 0x1p-7f;
  const std::vector<float> x = {1 + ulp1 / 2, 1 + 1.5f * ulp1, -(1 + ulp1 / 4), 3.4e38f};
  const auto rint = cast_down<bfloat16_t>(x, RoundMode::CAST_RINT);
  CHECK(rint[0] == 0x3f80 && rint[1] == 0x3f82 && rint[2] == 0xbf80, "bf16 RINT ties to even");
  CHECK(rint[3] == 0x7f80, "bf16 RINT overflow to inf: %04x", rint[3]);
  const auto trunc_ = cast_down<bfloat16_t>(x, RoundMode::CAST_TRUNC);
  CHECK(trunc_[3] == 0x7f7f, "bf16 TRUNC of an overflow: the largest finite");
  std::vector<float> back(2);
  const std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, b;
    pipe.InitBuffer(a, 32);
    pipe.InitBuffer(b, 64);
    a.Get<uint16_t>().SetValue(0, 0x3f81);
    a.Get<uint16_t>().SetValue(1, 0xff80);
    Cast(b.Get<float>(), a.Get<bfloat16_t>(), RoundMode::CAST_NONE, 2);
    back[0] = b.Get<float>().GetValue(0), back[1] = b.Get<float>().GetValue(1);
  });
  CHECK(msg.empty() && back[0] == 1 + ulp1 && back[1] == -INFINITY, "bf16 widening");
}

static void test_copy_16bit() {
  std::vector<uint16_t> gm(40), out(40, 0);
  for (int i = 0; i < 40; ++i) gm[i] = uint16_t(0x3c00 + i);
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECIN> b;
    pipe.InitBuffer(b, 64 * sizeof(half));
    GlobalTensor<half> g, o;
    g.SetGlobalBuffer(reinterpret_cast<half *>(gm.data()), gm.size());
    o.SetGlobalBuffer(reinterpret_cast<half *>(out.data()), out.size());
    LocalTensor<half> t = b.Get<half>();
    // 2 rows of 13 halves, 20 apart in GM, each padded with 3 -inf halves to 16 (32 bytes)
    half ninf;
    ninf.bits = 0xfc00;
    DataCopyPad(t, g, DataCopyExtParams{2, 26, 14, 0, 0},
                DataCopyPadExtParams<half>{true, 0, 3, ninf});
    DataCopy(t[32], g, 16);  // 32 bytes
    DataCopyPad(o, t, DataCopyExtParams{2, 26, 0, 14, 0});
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 13; ++i)
      CHECK(out[r * 20 + i] == gm[r * 20 + i], "row %d element %d", r, i);
  CHECK(out[13] == 0 && out[33] == 0, "the gaps stay");
  msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECIN> b;
    pipe.InitBuffer(b, 64 * sizeof(half));
    GlobalTensor<half> g;
    g.SetGlobalBuffer(reinterpret_cast<half *>(gm.data()), gm.size());
    DataCopy(b.Get<half>(), g, 8);  // 16 bytes: the device rounds down, the model fails
  });
  EXPECT_MSG(msg, "DataCopy");
}

static void test_misuse() {
  std::string msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, c;
    pipe.InitBuffer(a, 64);
    pipe.InitBuffer(c, 64);
    Cast(c.Get<bfloat16_t>(), a.Get<float>(), RoundMode::CAST_NONE, 8);
  });
  EXPECT_MSG(msg, "Cast: float -> bfloat16_t does not take CAST_NONE on A2");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, c;
    pipe.InitBuffer(a, 64);
    pipe.InitBuffer(c, 64);
    Cast(c.Get<float>(), a.Get<half>(), RoundMode::CAST_RINT, 8);
  });
  EXPECT_MSG(msg, "Cast: half -> float does not take CAST_RINT on A2");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, c;
    pipe.InitBuffer(a, 64);
    pipe.InitBuffer(c, 64);
    Cast(c.Get<int32_t>(), a.Get<float>(), RoundMode::CAST_ODD, 8);
  });
  EXPECT_MSG(msg, "Cast: float -> int32_t does not take CAST_ODD on A2");
}

int main() {
  test_cast_half();
  test_cast_bf16();
  test_copy_16bit();
  test_misuse();
  if (failures == 0) printf("test_ascend_narrow: all passed\n");
  return failures == 0 ? 0 : 1;
}
