// Self-tests of the Ascend C host model (kernels/ascend/emu): every broken API rule must be
// caught with its message (returned by the launch, the process never aborts), poisoned UB must
// read as NaN, and the semantics of the less obvious APIs (DataCopyPad padding, Compare /
// Select bit masks, Gather byte offsets, Cast round modes, ReduceMax's index) must hold.
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

// ---- Violations the issue names ------------------------------------------------------------

static void test_ragged_and_misaligned_copy() {
  std::vector<int16_t> gm(64, 7);
  std::string msg = run(
      [&] {
        TPipe pipe;
        TQue<TPosition::VECIN, 1> q;
        pipe.InitBuffer(q, 1, 64 * sizeof(int16_t));
        GlobalTensor<int16_t> g;
        g.SetGlobalBuffer(gm.data(), gm.size());
        LocalTensor<int16_t> t = q.AllocTensor<int16_t>();
        DataCopy(t, g, GetBlockIdx() == 3 ? 15 : 16);  // 30 bytes on core 3
        q.FreeTensor(t);
      },
      4);
  CHECK(msg.rfind("core 3: DataCopy: 30 bytes is not a multiple of 32", 0) == 0, "got \"%s\"",
        msg.c_str());

  std::vector<float> f(64, 1.0f);
  msg = run([&] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 64 * sizeof(float));
    GlobalTensor<float> g;
    g.SetGlobalBuffer(f.data(), f.size());
    LocalTensor<float> t = q.AllocTensor<float>();
    DataCopy(t[3], g, 8);  // UB address 12: not 32-byte aligned
    q.FreeTensor(t);
  });
  EXPECT_MSG(msg, "core 0: DataCopy: dst UB address 12 is not 32-byte aligned");

  msg = run([&] {  // GM side: more elements than the GlobalTensor has
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 128 * sizeof(float));
    GlobalTensor<float> g;
    g.SetGlobalBuffer(f.data(), f.size());
    DataCopy(b.Get<float>(), g, 72);
  });
  EXPECT_MSG(msg, "DataCopy: 72 elements of 4 B are accessed but the GlobalTensor has 64");
}

static void test_ub_overflow() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 2> in;
    TQue<TPosition::VECOUT, 2> out;
    pipe.InitBuffer(in, 2, 64 * 1024);
    pipe.InitBuffer(out, 2, 40 * 1024);  // 128 KiB + 80 KiB > 192 KiB
  });
  EXPECT_MSG(msg, "TPipe::InitBuffer: UB overflow: TQue<VECOUT, 2> needs 2 x 40960 B");
  // the capacity is settable; lengths round up to 32 bytes
  msg = run(
      [] {
        TPipe pipe;
        TBuf<TPosition::VECCALC> a, b;
        pipe.InitBuffer(a, 1000);  // 1024 after rounding
        pipe.InitBuffer(b, 1);     // 32 more: over a 1 KiB UB
      },
      1, 1024);
  EXPECT_MSG(msg,
             "UB overflow: TBuf<VECCALC> needs 1 x 32 B = 32 B but only 0 of the core's 1024 B");
}

static void test_double_free() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 2> q;
    pipe.InitBuffer(q, 2, 256);
    LocalTensor<float> t = q.AllocTensor<float>();
    q.EnQue(t);
    LocalTensor<float> u = q.DeQue<float>();
    q.FreeTensor(u);
    q.FreeTensor(t);
  });
  EXPECT_MSG(msg, "TQue<VECIN, 2>::FreeTensor: double free");
}

static void test_deque_empty() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECOUT, 1> q;
    pipe.InitBuffer(q, 1, 256);
    LocalTensor<float> t = q.DeQue<float>();
    q.FreeTensor(t);
  });
  EXPECT_MSG(msg, "TQue<VECOUT, 1>::DeQue from an empty queue");
}

static void test_poisoned_ub() {
  float first = 0.0f;
  int32_t as_int = 0;
  std::string msg = run([&] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 256);
    LocalTensor<float> t = q.AllocTensor<float>();
    t.SetValue(0, 1.0f);
    q.FreeTensor(t);
    t = q.AllocTensor<float>();  // the same buffer again: poisoned again
    first = t.GetValue(0);
    as_int = t.ReinterpretCast<int32_t>().GetValue(5);
    q.FreeTensor(t);
  });
  CHECK(msg.empty(), "%s", msg.c_str());
  CHECK(std::isnan(first), "a read before a write gave %g, not NaN", first);
  CHECK(as_int == -1, "poisoned int32 reads %d, not -1", as_int);
}

static void test_out_of_bounds() {
  std::string msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 8 * sizeof(float));
    b.Get<float>().GetValue(8);
  });
  EXPECT_MSG(msg, "LocalTensor::GetValue: index 8 is out of range [0, 8)");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 64 * sizeof(float));
    LocalTensor<float> t = b.Get<float>(16);
    Add(t, t, t, 24);
  });
  EXPECT_MSG(msg, "Add: dst holds 16 elements but 24 are accessed");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 64 * sizeof(float));
    LocalTensor<float> t = b.Get<float>();
    t[40].SetValue(24, 0.0f);  // element 64 of the buffer
  });
  EXPECT_MSG(msg, "LocalTensor::SetValue: index 24 is out of range [0, 24)");
}

static void test_held_at_end() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 2> q;
    pipe.InitBuffer(q, 2, 256);
    LocalTensor<float> t = q.AllocTensor<float>();
    q.EnQue(t);
  });
  EXPECT_MSG(msg, "TQue<VECIN, 2>: 1 buffer(s) still held at kernel end");
}

// ---- More discipline ------------------------------------------------------------------------

static void test_queue_discipline() {
  std::string msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 2> q;
    pipe.InitBuffer(q, 2, 256);
    for (int i = 0; i < 3; ++i) q.AllocTensor<float>();
  });
  EXPECT_MSG(msg, "TQue<VECIN, 2>::AllocTensor: all 2 buffers are in use");
  msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> a;
    TQue<TPosition::VECOUT, 1> b;
    pipe.InitBuffer(a, 1, 256);
    pipe.InitBuffer(b, 1, 256);
    LocalTensor<float> t = a.AllocTensor<float>();
    b.EnQue(t);
  });
  EXPECT_MSG(msg, "TQue<VECOUT, 1>::EnQue: the tensor was not allocated from this queue");
  msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 256);
    LocalTensor<float> t = q.AllocTensor<float>();
    q.FreeTensor(t);
    Duplicate(t, 0.0f, 8);
  });
  EXPECT_MSG(msg, "Duplicate: dst is used after FreeTensor");
  msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, 256);
    LocalTensor<float> t = q.AllocTensor<float>();
    q.EnQue(t);
    Duplicate(t, 0.0f, 8);
  });
  EXPECT_MSG(msg, "Duplicate: dst is used between EnQue and DeQue");
  msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 2, 256);
    q.EnQue(q.AllocTensor<float>());
    q.EnQue(q.AllocTensor<float>());
  });
  EXPECT_MSG(msg, "TQue<VECIN, 1>::EnQue: the queue is full (depth 1)");
  msg = run([] {
    TPipe pipe;
    TBuf<TPosition::VECCALC> b;
    pipe.InitBuffer(b, 256);
    LocalTensor<float> t = b.Get<float>();
    Add(t[8], t, t, 16);
  });
  EXPECT_MSG(msg, "Add: dst and src0 overlap partially");
  msg = run([] {
    TPipe pipe;
    TQue<TPosition::VECCALC, 1> q[9];
    for (auto &one : q) pipe.InitBuffer(one, 1, 32);
    for (auto &one : q) one.AllocTensor<float>();
  });
  EXPECT_MSG(msg, "more than 8 tensors held at once on VECCALC");
  bool outside = false;
  try {
    GetBlockIdx();
  } catch (const emu::Violation &v) {
    outside = std::string(v.what()).find("outside") != std::string::npos;
  }
  CHECK(outside, "GetBlockIdx outside a launch must be a violation");
}

// A failing core releases the cores waiting in SyncAll; a core leaving without SyncAll fails.
static void test_sync_all_failures() {
  std::string msg = run(
      [] {
        if (GetBlockIdx() == 2) emu::fail("planted");
        SyncAll();
      },
      4);
  CHECK(msg == "core 2: planted", "got \"%s\"", msg.c_str());
  msg = run(
      [] {
        if (GetBlockIdx() != 1) SyncAll();
      },
      3);
  EXPECT_MSG(msg, "SyncAll");
  EXPECT_MSG(msg, "(the hardware hangs)");
}

int main() {
  test_ragged_and_misaligned_copy();
  test_ub_overflow();
  test_double_free();
  test_deque_empty();
  test_poisoned_ub();
  test_out_of_bounds();
  test_held_at_end();
  test_queue_discipline();
  test_sync_all_failures();
  if (failures == 0) printf("test_ascend_checks: all passed\n");
  return failures == 0 ? 0 : 1;
}
