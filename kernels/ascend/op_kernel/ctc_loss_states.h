// The state-lane side of the CTC loss kernel (ctc_loss.cpp), independent of the logits' type:
// the per-sample label setup, the alpha recursion of pass 1 and the beta recursion and
// occupancies of pass 2, in fp32 log space over N lanes (2S+1 rounded up to 64). Its buffers
// (alpha rows, per-frame lse and scales, the state vectors, the ReduceMax scratch, the per-chunk
// offsets and masks) follow the kernel's queues in UB; the budget is in ctc_loss.cpp's header.
#pragma once

#include <float.h>

#include "common/ctc_math.h"
#include "ctc_loss_tiling.h"
#include "kernel_common.h"
#include "kernel_operator.h"

namespace crnn_kernel {

constexpr uint32_t kLead = 8;  // -inf lanes before each alpha row's states (32 bytes)

// A sum of row scales as an unevaluated float pair (hi + lo), added with TwoSum.
struct LogScale {
  float hi = 0.0f, lo = 0.0f;
  __aicore__ inline void Add(float x) {
    const float s = hi + x, bb = s - hi;
    lo += (hi - (s - bb)) + (x - bb);
    hi = s;
  }
  __aicore__ inline void Add(const LogScale &o) {
    Add(o.hi);
    lo += o.lo;
  }
  __aicore__ inline float Value() const { return hi + lo; }
};

class CtcLossStates {
 protected:
  // The state buffers and the lanes every sample shares (once per core).
  __aicore__ inline void InitStates(TPipe &pipe) {
    N = tiling.stateElems, V = tiling.stateElems + 8;
    const uint32_t T1 = tiling.T > 0 ? tiling.T : 1;
    pipe.InitBuffer(alphaBuf, T1 * tiling.alphaRowElems * sizeof(float));
    pipe.InitBuffer(frameBuf, 3 * T1 * sizeof(float));
    pipe.InitBuffer(vecBuf, kCtcLossStateVectors * V * sizeof(float));
    pipe.InitBuffer(workBuf, (tiling.workElems + 16) * sizeof(float));
    pipe.InitBuffer(chunkBuf, 2 * tiling.chunkNum * V * sizeof(float));
    alpha = alphaBuf.Get<float>();
    work = workBuf.Get<float>();
    red = work[tiling.workElems];
    LocalTensor<float> v = vecBuf.Get<float>();
    ofsM1 = Offsets(0), ofsM2 = Offsets(1), ofsP1 = Offsets(2), ofsP2 = Offsets(3);
    ofsEven = Offsets(4), ofsOdd = Offsets(5), ofsClass = Offsets(6);
    startMask = Slot(7), finalMask = Slot(8), skipA = Slot(9), skipB = Slot(10);
    logyCur = Slot(11), logyNext = Slot(12), betaCur = Slot(13), betaNext = Slot(14);
    ubuf = Slot(15), g1 = Slot(16), g2 = Slot(17), mx = Slot(18), e0 = Slot(19);
    const float ninf = -__builtin_inff();
    Duplicate(v, ninf,
              kCtcLossStateVectors * V);  // every pad lane -inf (ubuf's trailing 8 stay so)
    Duplicate(startMask, 0.0f, 2);
    Sync<HardEvent::V_S>();
    for (uint32_t s = 0; s < N; ++s) {  // once per core
      ofsM1.SetValue(s, (kLead + s - 1) * 4), ofsM2.SetValue(s, (kLead + s - 2) * 4);
      ofsP1.SetValue(s, (s + 1) * 4), ofsP2.SetValue(s, (s + 2) * 4);
      if (s < N / 2) ofsEven.SetValue(s, 8 * s), ofsOdd.SetValue(s, 8 * s + 4);
    }
    Sync<HardEvent::S_V>();
  }

  // State vector i of vecBuf: V = N + 8 floats (a view of exactly that size, so that a Gather
  // source never spans its neighbours).
  __aicore__ inline LocalTensor<float> Slot(uint32_t i) {
    LocalTensor<float> v = vecBuf.Get<float>()[i * V];
    v.SetSize(V);
    return v;
  }
  __aicore__ inline LocalTensor<uint32_t> Offsets(uint32_t i) {
    return Slot(i).ReinterpretCast<uint32_t>();
  }

  // The per-sample vectors over the N state lanes (scalar, once per sample): per vocabulary
  // chunk i the byte offsets of the states' classes inside the chunk (0 for a class outside)
  // and a mask, 0 where the state's class lies in the chunk, else -inf (pad lanes included).
  __aicore__ inline void SetupSample(const int32_t *label) {
    const float ninf = -__builtin_inff();
    Duplicate(chunkBuf.Get<float>(), ninf, 2 * tiling.chunkNum * V);
    Duplicate(finalMask, ninf, N);
    Sync<HardEvent::V_S>();
    for (uint32_t s = 0; s < N; ++s) {
      const int32_t cls = s < Sp ? crnn::ctc_state_class(label, s, tiling.blank) : tiling.blank;
      ofsClass.SetValue(s, uint32_t(cls) * 4);
      skipA.SetValue(s, crnn::ctc_skip_mask<float>(label, s, Sp));
      skipB.SetValue(s, crnn::ctc_skip_mask<float>(label, s + 2, Sp));
      if (s < Sp && crnn::ctc_is_final_state(s, Sp)) finalMask.SetValue(s, 0.0f);
      const uint32_t chunk = uint32_t(cls) / tiling.chunkElems;
      for (uint32_t i = 0; i < tiling.chunkNum; ++i)
        ChunkOffsets(i).SetValue(s, i == chunk ? (uint32_t(cls) - i * tiling.chunkElems) * 4 : 0);
      if (s < Sp) ChunkMask(chunk).SetValue(s, 0.0f);
    }
    Sync<HardEvent::S_V>();
  }

  __aicore__ inline LocalTensor<uint32_t> ChunkOffsets(uint32_t i) {
    LocalTensor<float> v = chunkBuf.Get<float>()[2 * i * V];
    v.SetSize(V);
    return v.ReinterpretCast<uint32_t>();
  }
  __aicore__ inline LocalTensor<float> ChunkMask(uint32_t i) {
    LocalTensor<float> v = chunkBuf.Get<float>()[(2 * i + 1) * V];
    v.SetSize(V);
    return v;
  }

  // logy (raw scores) of the states whose class lies in chunk i, from its row x: the first
  // chunk writes dst, the others keep the larger (every state's class lies in one chunk; the
  // others' lanes are -inf through the mask).
  __aicore__ inline void GatherChunk(const LocalTensor<float> &dst, const LocalTensor<float> &x,
                                     uint32_t i, const LocalTensor<float> &tmp) {
    if (i == 0) {
      Gather(dst, x, ChunkOffsets(0), 0, N);
      Add(dst, dst, ChunkMask(0), N);
      return;
    }
    Gather(tmp, x, ChunkOffsets(i), 0, N);
    Add(tmp, tmp, ChunkMask(i), N);
    Max(dst, dst, tmp, N);
  }

  // The row is complete: its value rule, log-sum-exp, and with `recur` its alpha row.
  __aicore__ inline int FrameFinish(uint32_t t, bool recur) {
    const float sum = rowSum;
    const int st =
        crnn::ctc_row_status(crnn::ctc_row_kind(!(sum == sum), sum > 0.0f), CRNN_CTC_LOGITS);
    if (st != CRNN_STATUS_SUCCESS) return st;
    const float lse = rowMax + crnn::log_fast<float>(sum);
    frameBuf.Get<float>().SetValue(t, lse);
    if (!recur) return st;
    Sync<HardEvent::S_V>();
    Adds(logyCur, logyCur, -lse, N);
    const LocalTensor<float> row = alpha[t * tiling.alphaRowElems];
    const LocalTensor<float> cur = row[kLead];
    Duplicate(row, -__builtin_inff(), kLead);
    if (t == 0) {
      Add(cur, logyCur, startMask, N);
    } else {
      const LocalTensor<float> prevRow = alpha[(t - 1) * tiling.alphaRowElems];
      Gather(g1, prevRow, ofsM1, 0, N);  // alpha_{t-1}(s-1)
      Gather(g2, prevRow, ofsM2, 0, N);  // alpha_{t-1}(s-2)
      Add(g2, g2, skipA, N);
      LogAddExp3(cur, prevRow[kLead], g1, g2);
      Add(cur, cur, logyCur, N);
    }
    scaleA.Add(ScaleRow(cur));
    frameBuf.Get<float>().SetValue(tiling.T + t, scaleA.hi);
    frameBuf.Get<float>().SetValue(2 * tiling.T + t, scaleA.lo);
    return st;
  }

  // dst = log(exp(a) + exp(b) + exp(c)) over N lanes; b and c are overwritten. All -inf: -inf.
  __aicore__ inline void LogAddExp3(const LocalTensor<float> &dst, const LocalTensor<float> &a,
                                    const LocalTensor<float> &b, const LocalTensor<float> &c) {
    Max(mx, a, b, N);
    Max(mx, mx, c, N);
    Maxs(mx, mx, -FLT_MAX, N);  // -inf - (-FLT_MAX) = -inf: exp 0, no inf - inf
    Sub(e0, a, mx, N);
    Exp(e0, e0, N);
    Sub(b, b, mx, N);
    Exp(b, b, N);
    Sub(c, c, mx, N);
    Exp(c, c, N);
    Add(e0, e0, b, N);
    Add(e0, e0, c, N);
    Ln(e0, e0, N);
    Add(dst, e0, mx, N);
  }

  // Shifts the row to max 0 (a row of -inf stays); returns the shift.
  __aicore__ inline float ScaleRow(const LocalTensor<float> &row) {
    ReduceMax(red, row, work, N);
    Sync<HardEvent::V_S>();
    const float m = red.GetValue(0);
    if (!(m > -__builtin_inff())) return 0.0f;
    Adds(row, row, -m, N);
    return m;
  }

  // beta_t from beta_{t+1} and logy_{t+1}; the occupancy gamma_t = exp(alpha + beta - log p)
  // of every state (e0), the blank's total (blankOcc) and each label position's (g2).
  __aicore__ inline void Occupancy(uint32_t t, const LogScale &ll) {
    if (t + 1 == frames) {
      DataCopy(betaCur, finalMask, N);
    } else {
      Add(ubuf, betaNext, logyNext, N);  // beta_{t+1}(s) + logy_{t+1}(s); 8 trailing -inf
      Gather(g1, ubuf, ofsP1, 0, N);
      Gather(g2, ubuf, ofsP2, 0, N);
      Add(g2, g2, skipB, N);
      LogAddExp3(betaCur, ubuf, g1, g2);
      scaleB.Add(ScaleRow(betaCur));
    }
    LogScale off = scaleB;  // the row scales and -log p folded into one offset
    off.Add(AlphaScale(t));
    LogScale negLl;
    negLl.hi = -ll.hi, negLl.lo = -ll.lo;
    off.Add(negLl);
    Add(e0, alpha[t * tiling.alphaRowElems + kLead], betaCur, N);
    Adds(e0, e0, off.Value(), N);
    Exp(e0, e0, N);
    Gather(g1, e0, ofsEven, 0, labelLen + 1);
    ReduceSum(red, g1, work, labelLen + 1);
    Gather(g2, e0, ofsOdd, 0, labelLen);
    Sync<HardEvent::V_S>();
    blankOcc = red.GetValue(0);
  }

  // The alpha scales summed up to frame t (kept per frame by pass 1).
  __aicore__ inline LogScale AlphaScale(uint32_t t) {
    LogScale s;
    s.hi = frameBuf.Get<float>().GetValue(tiling.T + t);
    s.lo = frameBuf.Get<float>().GetValue(2 * tiling.T + t);
    return s;
  }

  TBuf<TPosition::VECCALC> alphaBuf, frameBuf, vecBuf, workBuf, chunkBuf;
  LocalTensor<float> alpha, work, red;
  LocalTensor<uint32_t> ofsM1, ofsM2, ofsP1, ofsP2, ofsEven, ofsOdd, ofsClass;
  LocalTensor<float> startMask, finalMask, skipA, skipB;
  LocalTensor<float> logyCur, logyNext, betaCur, betaNext, ubuf, g1, g2, mx, e0;
  CtcLossTiling tiling{};
  LogScale scaleA, scaleB;
  uint32_t N = 64, V = 72;
  uint32_t Sp = 1, labelLen = 0, frames = 0;
  float rowMax = 0.0f, rowSum = 0.0f, blankOcc = 0.0f;
};

}  // namespace crnn_kernel
