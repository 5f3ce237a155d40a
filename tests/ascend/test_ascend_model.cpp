// The Ascend C host model (kernels/ascend/emu) running Ascend-C-style kernels on several
// emulated cores, against plain C++ loops:
// - row_lse: row-wise log-sum-exp over (N, C) rows, C ragged (DataCopyPad with -inf padding,
//   ReduceMax / Adds / Exp / ReduceSum / Ln), one row per tile, double-buffered queues;
// - affine_sigmoid: y = sigmoid(a * x + b) over N * C elements in 32-byte-aligned tiles (DataCopy,
//   Muls / Adds, the advanced Sigmoid with a scratch buffer), a ragged last tile by DataCopyPad;
// - SyncAll ordering (cores write GM, SyncAll, read the others' writes) and SetAtomicAdd.
// Error rule: fp32 results within 2e-6 relative of a double-precision loop (libm's exp / log in
// fp32, a handful of roundings per element); two runs are bit-identical.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../cpp/check.h"
#include "kernel_operator.h"

using namespace AscendC;

constexpr int32_t BUFFER_NUM = 2;

// ---- row_lse ------------------------------------------------------------------------------

struct RowLseTiling {
  uint32_t rows;     // N
  uint32_t cols;     // C (any)
  uint32_t colsPad;  // C rounded up to 8 floats (32 bytes)
};

class KernelRowLse {
 public:
  __aicore__ inline KernelRowLse() {}
  __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, const RowLseTiling &tiling) {
    cols = tiling.cols;
    colsPad = tiling.colsPad;
    const uint32_t perCore = (tiling.rows + GetBlockNum() - 1) / GetBlockNum();
    rowBegin = perCore * GetBlockIdx();
    rowEnd = rowBegin + perCore < tiling.rows ? rowBegin + perCore : tiling.rows;
    if (rowBegin > rowEnd) rowBegin = rowEnd;
    xGm.SetGlobalBuffer((__gm__ float *)x, uint64_t(tiling.rows) * cols);
    yGm.SetGlobalBuffer((__gm__ float *)y, tiling.rows);
    pipe.InitBuffer(inQueue, BUFFER_NUM, colsPad * sizeof(float));
    pipe.InitBuffer(outQueue, BUFFER_NUM, 8 * sizeof(float));
    pipe.InitBuffer(workBuf, 64 * sizeof(float));
  }
  __aicore__ inline void Process() {
    for (uint32_t row = rowBegin; row < rowEnd; ++row) {
      CopyIn(row);
      Compute();
      CopyOut(row);
    }
  }

 private:
  __aicore__ inline void CopyIn(uint32_t row) {
    LocalTensor<float> x = inQueue.AllocTensor<float>();
    DataCopyExtParams copy{1, static_cast<uint32_t>(cols * sizeof(float)), 0, 0, 0};
    DataCopyPadExtParams<float> pad{true, 0, static_cast<uint8_t>(colsPad - cols), -INFINITY};
    DataCopyPad(x, xGm[uint64_t(row) * cols], copy, pad);
    inQueue.EnQue(x);
  }
  __aicore__ inline void Compute() {
    LocalTensor<float> x = inQueue.DeQue<float>();
    LocalTensor<float> y = outQueue.AllocTensor<float>();
    LocalTensor<float> work = workBuf.Get<float>();
    LocalTensor<float> red = work[48];  // 16 floats for the results, 48 of scratch before
    ReduceMax(red, x, work, colsPad);
    const float rowMax = red.GetValue(0);
    Adds(x, x, -rowMax, colsPad);
    Exp(x, x, colsPad);
    ReduceSum(red, x, work, colsPad);
    Duplicate(y, red.GetValue(0), 8);
    Ln(y, y, 8);
    Adds(y, y, rowMax, 8);
    outQueue.EnQue(y);
    inQueue.FreeTensor(x);
  }
  __aicore__ inline void CopyOut(uint32_t row) {
    LocalTensor<float> y = outQueue.DeQue<float>();
    DataCopyPad(yGm[row], y, DataCopyExtParams{1, sizeof(float), 0, 0, 0});
    outQueue.FreeTensor(y);
  }

  TPipe pipe;
  TQue<TPosition::VECIN, BUFFER_NUM> inQueue;
  TQue<TPosition::VECOUT, BUFFER_NUM> outQueue;
  TBuf<TPosition::VECCALC> workBuf;
  GlobalTensor<float> xGm, yGm;
  uint32_t cols = 0, colsPad = 0, rowBegin = 0, rowEnd = 0;
};

extern "C" __global__ __aicore__ void row_lse(GM_ADDR x, GM_ADDR y, RowLseTiling tiling) {
  KernelRowLse op;
  op.Init(x, y, tiling);
  op.Process();
}

static void test_row_lse() {
  for (uint32_t cols : {1u, 8u, 37u, 200u}) {
    const uint32_t rows = 13;
    std::vector<float> x(rows * cols);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * 4.0f + (i % 5);
    const RowLseTiling tiling{rows, cols, (cols + 7) / 8 * 8};
    std::vector<float> y(rows, NAN), y2(rows, NAN);
    std::string err = ASCEND_EMU_RUN_KF(row_lse, 4, (GM_ADDR)x.data(), (GM_ADDR)y.data(), tiling);
    CHECK(err.empty(), "row_lse C=%u: %s", cols, err.c_str());
    err = ASCEND_EMU_RUN_KF(row_lse, 3, (GM_ADDR)x.data(), (GM_ADDR)y2.data(), tiling);
    CHECK(err.empty(), "row_lse C=%u (3 cores): %s", cols, err.c_str());
    for (uint32_t r = 0; r < rows; ++r) {
      double m = -INFINITY, s = 0;
      for (uint32_t c = 0; c < cols; ++c) m = std::fmax(m, x[r * cols + c]);
      for (uint32_t c = 0; c < cols; ++c) s += std::exp(double(x[r * cols + c]) - m);
      const double want = m + std::log(s);
      CHECK(std::fabs(y[r] - want) <= 2e-6 * std::fmax(1.0, std::fabs(want)),
            "row_lse C=%u row %u: %g vs %g", cols, r, y[r], want);
      CHECK(y[r] == y2[r], "row_lse C=%u row %u differs between 4 and 3 cores", cols, r);
    }
  }
}

// ---- affine_sigmoid (tiling as a GM struct, the CANN op-kernel form) ------------------------

struct AffineTiling {
  uint32_t total;    // elements
  uint32_t perCore;  // elements per core
  uint32_t tile;     // elements per tile, a multiple of 8 (32 bytes)
  float a, b;
};
REGISTER_TILING_DEFAULT(AffineTiling);

class KernelAffineSigmoid {
 public:
  __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, const AffineTiling &t) {
    tiling = t;
    const uint32_t begin = t.perCore * GetBlockIdx();
    count = begin >= t.total ? 0 : (t.total - begin < t.perCore ? t.total - begin : t.perCore);
    xGm.SetGlobalBuffer((__gm__ float *)x + begin, count);
    yGm.SetGlobalBuffer((__gm__ float *)y + begin, count);
    pipe.InitBuffer(inQueue, BUFFER_NUM, t.tile * sizeof(float));
    pipe.InitBuffer(outQueue, BUFFER_NUM, t.tile * sizeof(float));
    pipe.InitBuffer(tmpBuf, 1024);
  }
  __aicore__ inline void Process() {
    for (uint32_t at = 0; at < count; at += tiling.tile) {
      const uint32_t n = count - at < tiling.tile ? count - at : tiling.tile;
      CopyIn(at, n);
      Compute(n);
      CopyOut(at, n);
    }
  }

 private:
  __aicore__ inline void CopyIn(uint32_t at, uint32_t n) {
    LocalTensor<float> x = inQueue.AllocTensor<float>();
    if (n == tiling.tile) {
      DataCopy(x, xGm[at], n);
    } else {
      DataCopyPad(x, xGm[at], DataCopyExtParams{1, n * 4u, 0, 0, 0},
                  DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
    }
    inQueue.EnQue(x);
  }
  __aicore__ inline void Compute(uint32_t n) {
    LocalTensor<float> x = inQueue.DeQue<float>();
    LocalTensor<float> y = outQueue.AllocTensor<float>();
    Muls(y, x, tiling.a, n);
    Adds(y, y, tiling.b, n);
    Sigmoid<float, false>(y, y, tmpBuf.Get<uint8_t>(), n);
    outQueue.EnQue<float>(y);
    inQueue.FreeTensor(x);
  }
  __aicore__ inline void CopyOut(uint32_t at, uint32_t n) {
    LocalTensor<float> y = outQueue.DeQue<float>();
    if (n == tiling.tile) {
      DataCopy(yGm[at], y, DataCopyParams{1, static_cast<uint16_t>(n * sizeof(float) / 32), 0, 0});
    } else {
      DataCopyPad(yGm[at], y, DataCopyExtParams{1, n * 4u, 0, 0, 0});
    }
    outQueue.FreeTensor(y);
  }

  TPipe pipe;
  TQue<QuePosition::VECIN, BUFFER_NUM> inQueue;
  TQue<QuePosition::VECOUT, BUFFER_NUM> outQueue;
  TBuf<> tmpBuf;
  GlobalTensor<float> xGm, yGm;
  AffineTiling tiling{};
  uint32_t count = 0;
};

extern "C" __global__ __aicore__ void affine_sigmoid(GM_ADDR x, GM_ADDR y, GM_ADDR workspace,
                                                     GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  GET_TILING_DATA(tilingData, tiling);
  (void)GetUserWorkspace(workspace);
  KernelAffineSigmoid op;
  op.Init(x, y, tilingData);
  op.Process();
}

static void test_affine_sigmoid() {
  const uint32_t total = 1000, cores = 6, tile = 64;
  const uint32_t perCore = (total + cores - 1) / cores;  // 167: tiles of 64, 64, a ragged 39
  std::vector<float> x(total), y(total, NAN);
  for (uint32_t i = 0; i < total; ++i) x[i] = std::cos(0.11f * i) * 3.0f;
  const AffineTiling t{total, perCore, tile, 1.5f, -0.25f};
  const std::string err = ASCEND_EMU_RUN_KF(affine_sigmoid, cores, (GM_ADDR)x.data(),
                                            (GM_ADDR)y.data(), nullptr, (GM_ADDR)&t);
  CHECK(err.empty(), "affine_sigmoid: %s", err.c_str());
  for (uint32_t i = 0; i < total; ++i) {
    const double want = 1.0 / (1.0 + std::exp(-(1.5 * x[i] - 0.25)));
    CHECK(std::fabs(y[i] - want) <= 2e-6, "affine_sigmoid %u: %g vs %g", i, y[i], want);
  }
}

// ---- SyncAll and atomic add -----------------------------------------------------------------

// Each core writes its slot, SyncAll, then reads every other core's slot (twice, two rounds).
static void test_sync_all() {
  const int cores = 6;
  std::vector<int32_t> slots(2 * cores, -1), sums(cores, 0);
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, [&] {
    GlobalTensor<int32_t> g;
    g.SetGlobalBuffer(slots.data(), slots.size());
    const int64_t me = GetBlockIdx();
    for (int round = 0; round < 2; ++round) {
      g.SetValue(round * cores + me, int32_t(10 * round + me));
      SyncAll();
      int32_t sum = 0;
      for (int c = 0; c < cores; ++c) sum += g.GetValue(round * cores + c);
      sums[me] += sum;
    }
  });
  CHECK(err.empty(), "sync_all: %s", err.c_str());
  const int32_t want = (0 + 1 + 2 + 3 + 4 + 5) * 2 + 10 * cores;
  for (int c = 0; c < cores; ++c)
    CHECK(sums[c] == want, "core %d read %d, want %d", c, sums[c], want);
}

// Every core adds its tile into the same GM rows under SetAtomicAdd<float>.
static void test_atomic_add() {
  const int cores = 8;
  std::vector<float> acc(16, 1.0f);
  const std::string err = crnn::ascend_emu::launch(cores, crnn::ascend_emu::kUbBytes910B, [&] {
    TPipe pipe;
    TBuf<TPosition::VECOUT> buf;
    pipe.InitBuffer(buf, 16 * sizeof(float));
    GlobalTensor<float> g;
    g.SetGlobalBuffer(acc.data(), acc.size());
    LocalTensor<float> t = buf.Get<float>();
    Duplicate(t, float(GetBlockIdx() + 1), 16);
    SetAtomicAdd<float>();
    DataCopy(g, t, 16);
    SetAtomicNone();
  });
  CHECK(err.empty(), "atomic_add: %s", err.c_str());
  for (float v : acc) CHECK(v == 1.0f + 36.0f, "atomic add gave %g", v);
}

// Planted bugs the sanitizers must report (ctests of the sanitizer builds): the model checks UB,
// while GM is plain host memory, so an inter-core GM race is TSan's and an unsized GM overrun
// ASan's to see.
static int planted(const std::string &what) {
  std::vector<float> gm(8, 0.0f);
  std::string err;
  if (what == "race") {  // two cores write one GM element with nothing ordering them
    err = crnn::ascend_emu::launch(2, crnn::ascend_emu::kUbBytes910B, [&] {
      GlobalTensor<float> g;
      g.SetGlobalBuffer(gm.data(), gm.size());
      g.SetValue(0, float(GetBlockIdx()));
    });
  } else if (what == "gm_overflow") {  // 16 floats from an 8-float GM buffer given no size
    err = crnn::ascend_emu::launch(1, crnn::ascend_emu::kUbBytes910B, [&] {
      TPipe pipe;
      TBuf<TPosition::VECIN> b;
      pipe.InitBuffer(b, 16 * sizeof(float));
      GlobalTensor<float> g;
      g.SetGlobalBuffer(gm.data());
      DataCopy(b.Get<float>(), g, 16);
    });
  }
  printf("planted %s: %s\n", what.c_str(), err.c_str());
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1) return planted(argv[1]);
  test_row_lse();
  test_affine_sigmoid();
  test_sync_all();
  test_atomic_add();
  if (failures == 0) printf("test_ascend_model: all passed\n");
  return failures == 0 ? 0 : 1;
}
