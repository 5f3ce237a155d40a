// Self-tests of the host model's cube Matmul API (kernels/ascend/emu/emu_matmul.h): the product
// against a float64 loop (fp32 accumulation: within 1e-5 relative) with and without transposes,
// bias, org shapes wider than the block (row strides), SetTail, atomic add from several cores;
// and every checked rule caught with its message: a bad tiling (base not a multiple of 16, L0
// overflow, single shape above the org shape), a block beyond its GlobalTensor, isBias and
// SetBias disagreeing, a transpose without MatmulType's isTrans, REGIST_MATMUL_OBJ after
// InitBuffer, a fifth Matmul object, IterateAll without SetTensorA.
#include <math.h>

#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "../cpp/check.h"
#include "kernel_operator.h"
#include "lib/matmul_intf.h"
#include "model_test_util.h"

using namespace AscendC;
namespace emu = crnn::ascend_emu;

using F = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>;
using FT = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float, true>;
using MM = matmul::Matmul<FT, FT, F, F>;

// The documented signatures (ASCEND.md section 3): a drifted parameter type fails to compile.
using GF = GlobalTensor<float>;
static_assert(
    std::is_same<decltype(&MM::SetTensorA), void (MM::*)(const GF &, bool)>::value &&
        std::is_same<decltype(&MM::SetTensorB), void (MM::*)(const GF &, bool)>::value &&
        std::is_same<decltype(&MM::SetBias), void (MM::*)(const GF &)>::value &&
        std::is_same<decltype(&MM::SetSingleShape), void (MM::*)(int, int, int)>::value &&
        std::is_same<decltype(&MM::SetTail), void (MM::*)(int, int, int)>::value &&
        std::is_same<decltype(&MM::IterateAll<true>), void (MM::*)(const GF &, uint8_t)>::value &&
        std::is_same<decltype(&MM::End), void (MM::*)()>::value,
    "Matmul signatures");
static_assert(
    std::is_same<decltype(static_cast<void (MM::*)(int, int, int, int, int)>(&MM::SetOrgShape)),
                 void (MM::*)(int, int, int, int, int)>::value,
    "SetOrgShape(M, N, Ka, Kb, Kc)");

static TCubeTiling tiling(int M, int N, int K, int sm, int sn, int sk, bool bias) {
  TCubeTiling t{};
  t.usedCoreNum = 1;
  t.M = M, t.N = N, t.Ka = K, t.Kb = K;
  t.singleCoreM = sm, t.singleCoreN = sn, t.singleCoreK = sk;
  t.baseM = 64, t.baseN = 64, t.baseK = 32;
  t.depthA1 = t.depthB1 = t.stepM = t.stepN = t.stepKa = t.stepKb = 1;
  t.isBias = bias;
  t.dbL0A = t.dbL0B = 2, t.dbL0C = 1;
  return t;
}

static std::vector<float> seq(size_t n, float s) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = s * float((i * 7919) % 23) - 1.0f;
  return v;
}

// C (M, N) rows [m0, m0 + m) = op(A) op(B) + bias, every (transA, transB) pair.
static void test_product() {
  const int M = 37, N = 21, K = 13, m0 = 5, m = 19;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      std::vector<float> a = seq(M * K, 0.11f), b = seq(K * N, 0.07f), bias = seq(N, 0.3f);
      std::vector<float> c(M * N, -5.0f);
      TCubeTiling t = tiling(M, N, K, 32, N, K, true);
      const std::string msg = emu::launch(1, emu::kUbBytes910B, [&] {
        TPipe pipe;
        MM mm;
        REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
        GlobalTensor<float> ga, gb, gc, gbias;
        ga.SetGlobalBuffer(a.data(), a.size()), gb.SetGlobalBuffer(b.data(), b.size());
        gc.SetGlobalBuffer(c.data(), c.size()), gbias.SetGlobalBuffer(bias.data(), N);
        mm.SetTensorA(ta ? ga[m0] : ga[m0 * K], ta);
        mm.SetTensorB(gb, tb);
        mm.SetBias(gbias);
        mm.SetTail(m, N, K);
        mm.IterateAll(gc[m0 * N]);
        mm.End();
      });
      CHECK(msg.empty(), "%s", msg.c_str());
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double want = -5.0;
          if (i >= m0 && i < m0 + m) {
            want = bias[j];
            for (int k = 0; k < K; ++k)
              want += double(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
          }
          CHECK(fabs(c[i * N + j] - want) <= 1e-5 * (1 + fabs(want)),
                "ta%d tb%d C[%d][%d] %g vs %g", ta, tb, i, j, c[i * N + j], want);
        }
    }
}

// Four cores add their K slices into one C (enAtomic = 1).
static void test_atomic() {
  const int M = 8, N = 16, K = 40;
  std::vector<float> a = seq(M * K, 0.05f), b = seq(K * N, 0.09f), c(M * N, 0.0f);
  TCubeTiling t = tiling(M, N, K, M, N, 10, false);
  const std::string msg = emu::launch(4, emu::kUbBytes910B, [&] {
    TPipe pipe;
    MM mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
    GlobalTensor<float> ga, gb, gc;
    ga.SetGlobalBuffer(a.data(), a.size()), gb.SetGlobalBuffer(b.data(), b.size());
    gc.SetGlobalBuffer(c.data(), c.size());
    const int k0 = 10 * int(GetBlockIdx());
    mm.SetTensorA(ga[k0]);
    mm.SetTensorB(gb[k0 * N]);
    mm.IterateAll(gc, 1);
    mm.End();
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double want = 0;
      for (int k = 0; k < K; ++k) want += double(a[i * K + k]) * b[k * N + j];
      CHECK(fabs(c[i * N + j] - want) <= 1e-5 * (1 + fabs(want)), "C[%d][%d]", i, j);
    }
}

// Runs one Matmul on M x N x K data with the tiling `t` after `setup` adjusted the object.
static std::string run_bad(TCubeTiling t, const std::function<void(MM &)> &setup,
                           int avail = 1 << 12) {
  std::vector<float> buf(1 << 12, 1.0f), c(1 << 12);
  return emu::launch(1, emu::kUbBytes910B, [&] {
    TPipe pipe;
    MM mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
    GlobalTensor<float> g, gc;
    g.SetGlobalBuffer(buf.data(), avail), gc.SetGlobalBuffer(c.data(), c.size());
    mm.SetTensorA(g), mm.SetTensorB(g);
    setup(mm);
    mm.IterateAll(gc);
  });
}

static void test_violations() {
  TCubeTiling t = tiling(32, 32, 32, 32, 32, 32, false);
  t.baseM = 24;
  EXPECT_MSG(run_bad(t, [](MM &) {}), "core 0: Matmul::Init: TCubeTiling baseM 24 / baseN 64");
  t = tiling(32, 32, 32, 32, 32, 32, false);
  t.baseK = 256;
  EXPECT_MSG(run_bad(t, [](MM &) {}), "exceeds L0A's 64 KiB");
  t = tiling(32, 32, 32, 48, 32, 32, false);
  EXPECT_MSG(run_bad(t, [](MM &) {}), "single-core shape (48, 32, 32) exceeds the org shape");
  t = tiling(32, 32, 32, 32, 32, 32, false);
  EXPECT_MSG(run_bad(t, [](MM &mm) { mm.SetSingleShape(32, 32, 40); }),
             "single shape (32, 32, 40) exceeds the org shape");
  EXPECT_MSG(run_bad(t, [](MM &) {}, 1000), "Matmul::IterateAll (A): 1024 elements");
  EXPECT_MSG(run_bad(t, [](MM &mm) { mm.SetTail(40); }), "tailM 40 is outside [1, 32]");
  t.isBias = 1;
  EXPECT_MSG(run_bad(t, [](MM &) {}), "the tiling has isBias = 1 but SetBias was not called");
  t.isBias = 0;
  EXPECT_MSG(run_bad(t, [](MM &mm) { mm.End(); }), "SetTensorA / SetTensorB not called");

  std::vector<float> buf(64);
  std::string msg = emu::launch(1, emu::kUbBytes910B, [&] {
    TPipe pipe;
    matmul::Matmul<F, F, F, F> mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
    GlobalTensor<float> g;
    g.SetGlobalBuffer(buf.data(), buf.size());
    mm.SetTensorA(g, true);
  });
  EXPECT_MSG(msg, "isTransposeA needs MatmulType<..., isTrans = true>");
  msg = emu::launch(1, emu::kUbBytes910B, [&] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 64);
    MM mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
  });
  EXPECT_MSG(msg, "REGIST_MATMUL_OBJ: called after TPipe::InitBuffer");
  msg = emu::launch(1, emu::kUbBytes910B, [&] {
    TPipe pipe;
    MM a, b, c, d, e;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), a, &t, b, &t, c, &t, d, &t, e, &t);
  });
  EXPECT_MSG(msg, "REGIST_MATMUL_OBJ: more than 4 Matmul objects");
}

int main() {
  test_product();
  test_atomic();
  test_violations();
  if (failures) {
    fprintf(stderr, "test_ascend_matmul: %d failures\n", failures);
    return 1;
  }
  printf("test_ascend_matmul: all passed\n");
  return 0;
}
