// Semantics of the Ascend C host model's less obvious APIs, each on one emulated core:
// DataCopyPad's padding and strides, Compare / CompareScalar bit masks consumed by Select,
// Gather's byte offsets, Cast's round modes, ReduceMax's index and scratch size, ReduceSum's
// order, int32 wrap-around, and the rules these APIs add (256-byte Compare counts, CAST_NONE).
#include <algorithm>
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
namespace emu = crnn::ascend_emu;

static void test_data_copy_pad() {
  std::vector<float> gm(40);
  for (int i = 0; i < 40; ++i) gm[i] = float(i);
  std::vector<float> ub(48, 0.0f), ub2(16, 0.0f), out(40, -1.0f);
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECIN> b;
    pipe.InitBuffer(b, 64 * sizeof(float));
    GlobalTensor<float> g, o;
    g.SetGlobalBuffer(gm.data(), gm.size());
    o.SetGlobalBuffer(out.data(), out.size());
    LocalTensor<float> t = b.Get<float>();
    // 3 blocks of 5 floats, 2 floats apart in GM; 1 left + 5 + 2 right = 8 floats per UB block,
    // one 32-byte block of gap between UB blocks
    DataCopyPad(t, g, DataCopyExtParams{3, 20, 8, 1, 0},
                DataCopyPadExtParams<float>{true, 1, 2, -9.0f});
    for (int i = 0; i < 48; ++i) ub[i] = t.GetValue(i);
    // no padding asked, ragged block: the filler repeats the block's first element
    DataCopyPad(t, g[3], DataCopyExtParams{1, 12, 0, 0, 0},
                DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
    for (int i = 0; i < 16; ++i) ub2[i] = t.GetValue(i);
    // back out: 2 blocks of 3 floats from UB blocks 32 bytes apart, 1 float apart in GM
    DataCopyPad(o, t, DataCopyExtParams{2, 12, 0, 4, 0});
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int blk = 0; blk < 3; ++blk) {
    const float *u = &ub[blk * 16];
    CHECK(u[0] == -9.0f && u[6] == -9.0f && u[7] == -9.0f, "block %d padding", blk);
    for (int i = 0; i < 5; ++i)
      CHECK(u[1 + i] == float(blk * 7 + i), "block %d element %d = %g", blk, i, u[1 + i]);
    if (blk < 2) CHECK(std::isnan(u[8]), "the dstStride gap of block %d was written", blk);
  }
  CHECK(ub2[0] == 3 && ub2[1] == 4 && ub2[2] == 5, "ragged block data");
  for (int i = 3; i < 8; ++i)
    CHECK(ub2[i] == 3.0f, "filler %d = %g, want the first element", i, ub2[i]);
  CHECK(out[0] == 3 && out[1] == 4 && out[2] == 5 && out[3] == -1.0f, "UB->GM block 0");
  CHECK(std::isnan(out[4]) && std::isnan(out[5]) && std::isnan(out[6]) && out[7] == -1.0f,
        "UB->GM block 1");

  // the strided DataCopy: 2 blocks of 1 DataBlock (8 floats), 1 DataBlock apart in GM, packed
  std::vector<float> packed(16, 0.0f);
  msg = run([&] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 16 * sizeof(float));
    GlobalTensor<float> g;
    g.SetGlobalBuffer(gm.data(), gm.size());
    LocalTensor<float> t = q.AllocTensor<float>();
    DataCopy(t, g, DataCopyParams{2, 1, 1, 0});
    for (int i = 0; i < 16; ++i) packed[i] = t.GetValue(i);
    q.FreeTensor(t);
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int i = 0; i < 16; ++i) {
    CHECK(packed[i] == float(i < 8 ? i : i + 8), "strided DataCopy %d: %g", i, packed[i]);
  }

  msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECIN> b;
    pipe.InitBuffer(b, 64);
    GlobalTensor<float> g;
    g.SetGlobalBuffer(gm.data(), gm.size());
    DataCopyPad(b.Get<float>(), g, DataCopyExtParams{1, 10, 0, 0, 0},
                DataCopyPadExtParams<float>{});
  });
  EXPECT_MSG(msg, "DataCopyPad(GM->UB): blockLen 10 bytes is not a multiple of sizeof(T) = 4");
}

static void test_compare_select() {
  std::vector<float> got(64), got_scalar(64);
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, b, m, d;
    pipe.InitBuffer(a, 256);
    pipe.InitBuffer(b, 256);
    pipe.InitBuffer(m, 32);
    pipe.InitBuffer(d, 256);
    LocalTensor<float> x = a.Get<float>(), y = b.Get<float>(), z = d.Get<float>();
    LocalTensor<uint8_t> mask = m.Get<uint8_t>();
    for (int i = 0; i < 64; ++i) {
      x.SetValue(i, float(i % 7));
      y.SetValue(i, 3.0f);
    }
    Compare(mask, x, y, CMPMODE::GT, 64);
    Select(z, mask, x, y, SELMODE::VSEL_TENSOR_TENSOR_MODE, 64);  // max(x, 3)
    for (int i = 0; i < 64; ++i) got[i] = z.GetValue(i);
    CompareScalar(mask, x, 2.0f, CMPMODE::LE, 64);
    Select(z, mask, x, -1.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, 64);  // x <= 2 ? x : -1
    for (int i = 0; i < 64; ++i) got_scalar[i] = z.GetValue(i);
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int i = 0; i < 64; ++i) {
    const float x = float(i % 7);
    CHECK(got[i] == std::fmax(x, 3.0f), "Select tensor %d: %g", i, got[i]);
    CHECK(got_scalar[i] == (x <= 2.0f ? x : -1.0f), "Select scalar %d: %g", i, got_scalar[i]);
  }
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, m;
    pipe.InitBuffer(a, 256);
    pipe.InitBuffer(m, 32);
    CompareScalar(m.Get<uint8_t>(), a.Get<float>(), 0.0f, CMPMODE::LT, 40);
  });
  EXPECT_MSG(msg, "CompareScalar: 160 bytes (count 40) is not a multiple of 256");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, m;
    pipe.InitBuffer(a, 256);
    pipe.InitBuffer(m, 32);
    Compare(m.Get<uint8_t>(), a.Get<int32_t>(), a.Get<int32_t>(), CMPMODE::GT, 64);
  });
  EXPECT_MSG(msg, "Compare: int32_t compares only with CMPMODE::EQ");
}

static void test_gather_cast_reduce() {
  std::vector<float> gathered(8), reduced(4), summed(1);
  std::vector<int32_t> rint(8), floor_(8), round_(8), trunc_(8);
  uint32_t index = 0;
  const float vals[8] = {2.5f, -2.5f, 1.5f, -0.5f, 0.49f, 3e9f, -3e9f, NAN};
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, o, d, w, c;
    pipe.InitBuffer(a, 1024);
    pipe.InitBuffer(o, 32);
    pipe.InitBuffer(d, 32);
    pipe.InitBuffer(w, 256);
    pipe.InitBuffer(c, 32);
    LocalTensor<float> src = a.Get<float>(), dst = d.Get<float>();
    LocalTensor<uint32_t> off = o.Get<uint32_t>();
    for (int i = 0; i < 256; ++i) src.SetValue(i, float(i) * 0.5f);
    for (int i = 0; i < 8; ++i) off.SetValue(i, uint32_t(4 * (7 * i + 1)));  // bytes
    Gather(dst, src, off, 16, 8);  // base: 16 bytes = element 4
    for (int i = 0; i < 8; ++i) gathered[i] = dst.GetValue(i);

    src.SetValue(77, 1000.0f);
    src.SetValue(150, 1000.0f);  // a tie: the first index wins
    ReduceMax(dst, src, w.Get<float>(), 200, true);
    reduced[0] = dst.GetValue(0);
    index = dst.ReinterpretCast<uint32_t>().GetValue(1);
    Duplicate(src, 0.1f, 200);
    ReduceSum(dst, src, w.Get<float>(), 200);
    summed[0] = dst.GetValue(0);

    LocalTensor<int32_t> ci = c.Get<int32_t>();
    for (int i = 0; i < 8; ++i) dst.SetValue(i, vals[i]);
    Cast(ci, dst, RoundMode::CAST_RINT, 8);
    for (int i = 0; i < 8; ++i) rint[i] = ci.GetValue(i);
    Cast(ci, dst, RoundMode::CAST_FLOOR, 8);
    for (int i = 0; i < 8; ++i) floor_[i] = ci.GetValue(i);
    Cast(ci, dst, RoundMode::CAST_ROUND, 8);
    for (int i = 0; i < 8; ++i) round_[i] = ci.GetValue(i);
    Cast(ci, dst, RoundMode::CAST_TRUNC, 8);
    for (int i = 0; i < 8; ++i) trunc_[i] = ci.GetValue(i);
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int i = 0; i < 8; ++i)
    CHECK(gathered[i] == float(4 + 7 * i + 1) * 0.5f, "Gather %d: %g", i, gathered[i]);
  CHECK(reduced[0] == 1000.0f && index == 77, "ReduceMax %g at %u", reduced[0], index);
  // A2's order: a binary tree per 64 floats, the 4 repeat sums added in turn
  float tree = 0.1f;
  for (int level = 0; level < 6; ++level) tree = tree + tree;
  float tail = 0.1f;
  for (int level = 0; level < 3; ++level) tail = tail + tail;  // 8 real values, zeros after
  const float want_sum = ((tree + tree) + tree) + tail;
  CHECK(summed[0] == want_sum, "ReduceSum %.9g, want %.9g", summed[0], want_sum);
  const int32_t want_rint[8] = {2, -2, 2, 0, 0, INT32_MAX, INT32_MIN, 0};
  const int32_t want_floor[8] = {2, -3, 1, -1, 0, INT32_MAX, INT32_MIN, 0};
  const int32_t want_round[8] = {3, -3, 2, -1, 0, INT32_MAX, INT32_MIN, 0};
  const int32_t want_trunc[8] = {2, -2, 1, 0, 0, INT32_MAX, INT32_MIN, 0};
  for (int i = 0; i < 8; ++i) {
    CHECK(rint[i] == want_rint[i], "CAST_RINT(%g) = %d", vals[i], rint[i]);
    CHECK(floor_[i] == want_floor[i], "CAST_FLOOR(%g) = %d", vals[i], floor_[i]);
    CHECK(round_[i] == want_round[i], "CAST_ROUND(%g) = %d", vals[i], round_[i]);
    CHECK(trunc_[i] == want_trunc[i], "CAST_TRUNC(%g) = %d", vals[i], trunc_[i]);
  }
  CHECK(emu::cast_int_to_float(16777217, RoundMode::CAST_CEIL) == 16777218.0f, "int -> float ceil");
  CHECK(emu::cast_int_to_float(16777217, RoundMode::CAST_FLOOR) == 16777216.0f,
        "int -> float floor");
  CHECK(emu::cast_int_to_float(16777217, RoundMode::CAST_ROUND) == 16777218.0f,
        "int -> float round");
  CHECK(emu::cast_int_to_float(-16777217, RoundMode::CAST_TRUNC) == -16777216.0f,
        "int -> float trunc");

  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, w, d;
    pipe.InitBuffer(a, 65 * 64 * sizeof(float));
    pipe.InitBuffer(w, 64);
    pipe.InitBuffer(d, 32);
    Duplicate(a.Get<float>(), 0.0f, 65 * 64);
    ReduceMax(d.Get<float>(), a.Get<float>(), w.Get<float>(), 65 * 64, true);
  });
  // 65 repeats of 64 floats: 136 + 8 + 8 elements, by the API documentation's formula
  EXPECT_MSG(msg,
             "ReduceMax: sharedTmpBuffer holds 16 elements, count 4160 with calIndex needs 152");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, c;
    pipe.InitBuffer(a, 32);
    pipe.InitBuffer(c, 32);
    Cast(c.Get<int32_t>(), a.Get<float>(), RoundMode::CAST_NONE, 8);
  });
  EXPECT_MSG(msg, "Cast: float -> int32_t does not take CAST_NONE on A2");
}

static void test_int32_wraps() {
  int32_t sum = 0, prod = 0;
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> a;
    pipe.InitBuffer(a, 32);
    LocalTensor<int32_t> t = a.Get<int32_t>();
    Duplicate(t, INT32_MAX, 8);
    Adds(t, t, 1, 8);
    sum = t.GetValue(0);
    Duplicate(t, 65536, 8);
    Mul(t, t, t, 8);
    prod = t.GetValue(0);
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  CHECK(sum == INT32_MIN && prod == 0, "int32 wraps: %d %d", sum, prod);
}

// Every element-wise API against its scalar expression (the wiring: Sub is not Add, ...), and
// isReuseSource letting the advanced API overwrite its source.
static void test_elementwise_wiring() {
  constexpr int n = 64;
  std::vector<float> out(24 * n);
  std::vector<int32_t> iout(8 * n);
  std::vector<float> src_after(n);
  auto xa = [](int i) { return 0.25f + 0.5f * float(i % 9); };      // positive
  auto xb = [](int i) { return -1.75f + 0.375f * float(i % 11); };  // mixed sign
  std::string msg = run([&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> ba, bb, bd, bt;
    pipe.InitBuffer(ba, n * 4);
    pipe.InitBuffer(bb, n * 4);
    pipe.InitBuffer(bd, n * 4);
    pipe.InitBuffer(bt, 1024);
    LocalTensor<float> a = ba.Get<float>(), b = bb.Get<float>(), d = bd.Get<float>();
    LocalTensor<uint8_t> tmp = bt.Get<uint8_t>();
    int k = 0;
    auto keep = [&] {
      for (int i = 0; i < n; ++i) out[k * n + i] = d.GetValue(i);
      ++k;
    };
    auto fill = [&] {
      for (int i = 0; i < n; ++i) {
        a.SetValue(i, xa(i));
        b.SetValue(i, xb(i));
      }
    };
    fill();
    Add(d, a, b, n), keep();
    Sub(d, a, b, n), keep();
    Mul(d, a, b, n), keep();
    Div(d, a, b, n), keep();
    Max(d, a, b, n), keep();
    Min(d, a, b, n), keep();
    Adds(d, b, 2.0f, n), keep();
    Muls(d, b, -3.0f, n), keep();
    Maxs(d, b, 0.5f, n), keep();
    Mins(d, b, 0.5f, n), keep();
    Exp(d, b, n), keep();
    Ln(d, a, n), keep();
    Abs(d, b, n), keep();
    Sqrt(d, a, n), keep();
    Reciprocal(d, b, n), keep();
    Relu(d, b, n), keep();
    Sigmoid(d, b, n), keep();
    Tanh(d, b, tmp, n), keep();
    Log(d, a, n), keep();
    Exp<float, 0>(d, b, n), keep();
    Sigmoid<float, true>(d, b, n), keep();
    for (int i = 0; i < n; ++i) src_after[i] = b.GetValue(i);
    LocalTensor<int32_t> ia = a.ReinterpretCast<int32_t>(), ib = b.ReinterpretCast<int32_t>();
    LocalTensor<int32_t> id = d.ReinterpretCast<int32_t>();
    for (int i = 0; i < n; ++i) {
      ia.SetValue(i, i * 7 - 100);
      ib.SetValue(i, 50 - i * 3);
    }
    int m = 0;
    auto keepi = [&] {
      for (int i = 0; i < n; ++i) iout[m * n + i] = id.GetValue(i);
      ++m;
    };
    Add(id, ia, ib, n), keepi();
    Sub(id, ia, ib, n), keepi();
    Mul(id, ia, ib, n), keepi();
    Max(id, ia, ib, n), keepi();
    Min(id, ia, ib, n), keepi();
    Adds(id, ia, 5, n), keepi();
    Maxs(id, ia, 0, n), keepi();
    Mins(id, ia, 0, n), keepi();
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int i = 0; i < n; ++i) {
    const float a = xa(i), b = xb(i);
    const float want[21] = {a + b,
                            a - b,
                            a * b,
                            a / b,
                            std::fmax(a, b),
                            std::fmin(a, b),
                            b + 2.0f,
                            b * -3.0f,
                            std::fmax(b, 0.5f),
                            std::fmin(b, 0.5f),
                            std::exp(b),
                            std::log(a),
                            std::fabs(b),
                            std::sqrt(a),
                            1.0f / b,
                            std::fmax(b, 0.0f),
                            1.0f / (1.0f + std::exp(-b)),
                            std::tanh(b),
                            std::log(a),
                            std::exp(b),
                            1.0f / (1.0f + std::exp(-b))};
    for (int k = 0; k < 21; ++k)
      CHECK(out[k * n + i] == want[k], "float op %d, element %d: %g vs %g", k, i, out[k * n + i],
            want[k]);
    CHECK(std::isnan(src_after[i]), "isReuseSource: src %d was not overwritten", i);
    const int32_t ia = i * 7 - 100, ib = 50 - i * 3;
    const int32_t iwant[8] = {ia + ib,          ia - ib, ia * ib,         std::max(ia, ib),
                              std::min(ia, ib), ia + 5,  std::max(ia, 0), std::min(ia, 0)};
    for (int k = 0; k < 8; ++k)
      CHECK(iout[k * n + i] == iwant[k], "int32 op %d, element %d: %d vs %d", k, i, iout[k * n + i],
            iwant[k]);
  }
}

static void test_pipe_reset() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 192 * 1024);  // the whole UB
    LocalTensor<float> t = q.AllocTensor<float>();
    q.FreeTensor(t);
    pipe.Reset();
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 192 * 1024);  // fits again after Reset
    LocalTensor<float> u = b.Get<float>();
    u.SetValue(0, 1.0f);
    pipe.Reset();
    u.GetValue(0);  // a view of the TBuf from before the Reset
  });
  EXPECT_MSG(msg, "LocalTensor::GetValue: tensor is used after FreeTensor");
  msg = run([] {
    TPipe a;
    TPipe b;
  });
  EXPECT_MSG(msg, "TPipe: a second TPipe while one is alive on this core");
}

int main() {
  test_elementwise_wiring();
  test_pipe_reset();
  test_data_copy_pad();
  test_compare_select();
  test_gather_cast_reduce();
  test_int32_wraps();
  if (failures == 0) printf("test_ascend_api: all passed\n");
  return failures == 0 ? 0 : 1;
}
