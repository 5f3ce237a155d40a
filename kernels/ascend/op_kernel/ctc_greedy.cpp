// CTC greedy decoding as Ascend C kernels (AIV only; Atlas A2 910B / A3), the contract of
// crnn_ctc_greedy_f32 (kernels/include/crnn/ctc_decode.h). Compiled here with g++ against our
// host model of the API (kernels/ascend/emu, CRNN_FAST_ASCEND=EMU) and tested there against the
// CPU kernel; not compiled with CANN, not run on a 910B.
//
//   crnn_ctc_greedy               samples split over the cores (GetBlockIdx); per sample its
//                                 frames in tiles of k rows (one DataCopyPad per tile, rows
//                                 padded to 8 floats), double-buffered (TQue depth 2):
//     value checks, tile-wide:    CompareScalar + Select into a 0/1/2 flag tile, one ReduceMax
//                                 (0: the common case, no per-row check); per row only when set
//     argmax per row:             ReduceMax with calIndex (ties: the first index, see below)
//     probability per row:        logits Adds(-max) + Exp (tile-wide) + ReduceSum, Div(1, sum);
//                                 log-probs Exp(max); probs the max itself
//     collapse:                   scalar per frame (never per class) into a UB output chunk of
//                                 ids | frames | probs pre-filled with -1 | -1 | 0; each sample's
//                                 rows are written once (DataCopyPad) when T <= outChunk
//     errors:                     each sample's key (common/device_error.h) into its own slot
//                                 of the workspace (no cross-core atomics); a failed sample
//                                 decodes to nothing (length 0, padding only)
//   then, after SyncAll,          core 0: the smallest key of the B slots into the 64-bit
//                                 record (the op's `error` output; on the API model the start
//                                 of the workspace, read by crnn_device_error_read)
//
// Error order (the CPU kernel's): an input length outside [0, T] (an argument error: before
// every value error); then per sample for probs the first frame with a negative value (-inf
// included) before the first frame with NaN / +inf; for logits / log-probs the first frame with
// NaN / +inf or only -inf. Across samples the lowest batch index wins.
//
// Workspace: [0, 256) the record, then B uint64 keys.
//
// UB per core (910B: 192 KiB; the host refuses a shape that does not fit, NOT_SUPPORTED):
//   in 2 x tileElems*4, flag tileElems*4, mask tileElems/8, ReduceMax scratch (workElems+16)*4,
//   per-row vectors 5 x k8*4, out 2 x 3*outChunk*4, lengths 64*4, lengths+keys 64*12 (bytes,
//   each rounded up to 32; outChunk = T rounded up to 8, at most 1024):
//   C = 37   (rows of 40):   T = 25:     k = 25,  tileElems 1024:  15 040 B (14.7 KiB)
//                            T >= 1024:  k = 204, tileElems 8192: 130 176 B (127.1 KiB)
//   C = 6625 (rows of 6632): T = 25:     k = 1,   tileElems 6656:  83 616 B (81.7 KiB)
//                            T >= 1024:                           107 424 B (104.9 KiB)
//   Largest C that fits: 15 872 at T = 25, 13 888 at T >= 1024 (three rows of C floats: two
//   input buffers and the flags).
//
// Tie rule: ReduceMax with calIndex returns the first index of the maximum in the model
// (API.md), as NumPy's argmax; on the device the multi-round reduction keeps the first index
// per repeat and per round, which CANN and the hardware must confirm. NaN never reaches the
// argmax: rows with NaN / +inf are flagged and not decoded.
//
// Device sync: SetFlag / WaitFlag V_S, S_V, S_MTE3, MTE2_S are no-ops in the model; they mark
// where the scalar unit reads vector results or writes what a vector op / DMA then reads.
// For bisheng, kernels/common/hostdevice.h's CRNN_HD_INLINE must also carry __aicore__.
#include "common/device_error.h"
#include "crnn/ctc_decode.h"
#include "ctc_greedy_tiling.h"
#include "kernel_common.h"
#include "kernel_operator.h"

using namespace AscendC;
using crnn_kernel::Sync;

REGISTER_TILING_DEFAULT(CtcGreedyTiling);

namespace {

constexpr int32_t BUFFER_NUM = 2;
constexpr uint32_t kRedElems = 16;  // ReduceMax / ReduceSum results after the scratch

__aicore__ inline uint32_t RoundUp(uint32_t x, uint32_t a) {
  return (x + a - 1) / a * a;
}

class KernelCtcGreedy {
 public:
  __aicore__ inline KernelCtcGreedy() {}

  __aicore__ inline void Init(GM_ADDR scores, GM_ADDR inputLengths, GM_ADDR ids, GM_ADDR lengths,
                              GM_ADDR probs, GM_ADDR frames, GM_ADDR workspace,
                              const CtcGreedyTiling &t) {
    tiling = t;
    crnn_kernel::CoreSamples(t.samplesPerCore, t.samplesTail, sampleBegin, sampleEnd);
    const uint64_t rows = uint64_t(t.T) * t.B;
    if (rows > 0) {
      scoresGm.SetGlobalBuffer((__gm__ float *)scores, rows * t.C);
      idsGm.SetGlobalBuffer((__gm__ int32_t *)ids, rows);
      framesGm.SetGlobalBuffer((__gm__ int32_t *)frames, rows);
      probsGm.SetGlobalBuffer((__gm__ float *)probs, rows);
    }
    if (t.hasLengths) inLenGm.SetGlobalBuffer((__gm__ int32_t *)inputLengths, t.B);
    lengthsGm.SetGlobalBuffer((__gm__ int32_t *)lengths, t.B);
    crnn_kernel::SetErrorKeys(keysGm, workspace, t.B);
    k8 = RoundUp(t.framesPerTile, 8);
    pipe.InitBuffer(inQueue, BUFFER_NUM, t.tileElems * sizeof(float));
    pipe.InitBuffer(outQueue, BUFFER_NUM, 3 * t.outChunk * sizeof(int32_t));
    pipe.InitBuffer(lenQueue, 1, kCtcGreedySampleChunk * sizeof(int32_t));
    pipe.InitBuffer(metaQueue, 1, kCtcGreedySampleChunk * (sizeof(int32_t) + sizeof(uint64_t)));
    pipe.InitBuffer(flagBuf, t.tileElems * sizeof(float));
    pipe.InitBuffer(maskBuf, t.tileElems / 8);
    pipe.InitBuffer(workBuf, (t.workElems + kRedElems) * sizeof(float));
    pipe.InitBuffer(rowBuf, 5 * k8 * sizeof(float));
    ones = rowBuf.Get<float>()[3 * k8];
    Duplicate(ones, 1.0f, k8);
  }

  __aicore__ inline void Process() {
    for (uint32_t b0 = sampleBegin; b0 < sampleEnd; b0 += kCtcGreedySampleChunk) {
      const uint32_t count =
          sampleEnd - b0 < kCtcGreedySampleChunk ? sampleEnd - b0 : kCtcGreedySampleChunk;
      LocalTensor<int32_t> inLen;
      if (tiling.hasLengths) {
        CopyInLengths(b0, count);
        inLen = lenQueue.DeQue<int32_t>();
        Sync<HardEvent::MTE2_S>();
      }
      LocalTensor<int32_t> meta = metaQueue.AllocTensor<int32_t>();
      LocalTensor<uint64_t> keys = meta[kCtcGreedySampleChunk].ReinterpretCast<uint64_t>();
      for (uint32_t i = 0; i < count; ++i) {
        const int64_t frames = tiling.hasLengths ? inLen.GetValue(i) : int64_t(tiling.T);
        keys.SetValue(i, DecodeSample(b0 + i, frames));
        meta.SetValue(i, int32_t(emitted));
      }
      if (tiling.hasLengths) lenQueue.FreeTensor(inLen);
      Sync<HardEvent::S_MTE3>();
      metaQueue.EnQue(meta);
      CopyOutMeta(b0, count);
    }
  }

 private:
  // One sample: returns its error key (kNoDeviceError when it decoded); `emitted` its length.
  __aicore__ inline uint64_t DecodeSample(uint32_t b, int64_t frames) {
    uint64_t key = crnn::kNoDeviceError;
    if (frames < 0 || frames > int64_t(tiling.T)) {
      key = crnn::device_error_key(false, b, -1, CRNN_STATUS_INVALID_VALUE);
      frames = 0;  // decodes to nothing
    }
    curSample = b, emitted = 0, chunkStart = 0, prevId = -1;
    nonfiniteFrame = -1, failFrame = -1, failStatus = CRNN_STATUS_SUCCESS;
    out = outQueue.AllocTensor<int32_t>();
    FillPadding();
    for (uint32_t t0 = 0; t0 < frames && failStatus == CRNN_STATUS_SUCCESS;
         t0 += tiling.framesPerTile) {
      const uint32_t rows =
          frames - t0 < tiling.framesPerTile ? uint32_t(frames - t0) : tiling.framesPerTile;
      CopyIn(b, t0, rows);
      Compute(t0, rows);
    }
    if (failStatus == CRNN_STATUS_SUCCESS && nonfiniteFrame >= 0)
      Fail(CRNN_STATUS_NONFINITE_INPUT, nonfiniteFrame);
    if (failStatus != CRNN_STATUS_SUCCESS) {
      key = crnn::device_error_key(true, b, failFrame, failStatus);
      emitted = 0, chunkStart = 0;
      Sync<HardEvent::S_V>();
      FillPadding();
    }
    FinishSample(b);
    return key;
  }

  __aicore__ inline void CopyIn(uint32_t b, uint32_t t0, uint32_t rows) {
    LocalTensor<float> x = inQueue.AllocTensor<float>();
    const uint64_t at = uint64_t(b) * tiling.sampleStride + uint64_t(t0) * tiling.frameStride;
    const uint32_t gap = rows > 1 ? uint32_t((tiling.frameStride - tiling.C) * sizeof(float)) : 0;
    DataCopyExtParams copy{uint16_t(rows), uint32_t(tiling.C * sizeof(float)), gap, 0, 0};
    DataCopyPadExtParams<float> pad{true, 0, uint8_t(tiling.rowElems - tiling.C), tiling.padValue};
    DataCopyPad(x, scoresGm[at], copy, pad);
    inQueue.EnQue(x);
  }

  __aicore__ inline void Compute(uint32_t t0, uint32_t rows) {
    LocalTensor<float> x = inQueue.DeQue<float>();
    LocalTensor<float> flag = flagBuf.Get<float>();
    LocalTensor<uint8_t> mask = maskBuf.Get<uint8_t>();
    LocalTensor<float> work = workBuf.Get<float>();
    LocalTensor<float> red = work[tiling.workElems];
    LocalTensor<float> rowMax = rowBuf.Get<float>();
    LocalTensor<float> rowSum = rowMax[k8], rowProb = rowMax[2 * k8];
    LocalTensor<int32_t> rowArg = rowMax[4 * k8].ReinterpretCast<int32_t>();
    const uint32_t R = tiling.rowElems, used = rows * R, n = RoundUp(used, 64);
    const bool isProbs = tiling.inputKind == CRNN_CTC_PROBS;
    if (n > used) Duplicate(x[used], tiling.padValue, n - used);
    // flag: 2 where a prob is negative (-inf included), 1 where NaN or +inf, else 0
    Duplicate(flag, 0.0f, n);
    if (isProbs) {
      CompareScalar(mask, x, 0.0f, CMPMODE::GE, n);
      Select(flag, mask, flag, 2.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, n);
    }
    CompareScalar(mask, x, __builtin_inff(), CMPMODE::LT, n);
    Select(flag, mask, flag, 1.0f, SELMODE::VSEL_TENSOR_SCALAR_MODE, n);
    ReduceMax(red, flag, work, n);
    Sync<HardEvent::V_S>();
    const bool anyFlag = red.GetValue(0) > 0.0f;
    for (uint32_t r = 0; r < rows; ++r) {
      const int64_t t = int64_t(t0) + r;
      if (anyFlag) {
        ReduceMax(red, flag[r * R], work, R);
        Sync<HardEvent::V_S>();
        const float f = red.GetValue(0);
        if (f == 2.0f) return Fail(CRNN_STATUS_INVALID_VALUE, t, x);
        if (f == 1.0f && !isProbs) return Fail(CRNN_STATUS_NONFINITE_INPUT, t, x);
        if (f == 1.0f && nonfiniteFrame < 0) nonfiniteFrame = t;  // probs: a negative wins
      }
      if (nonfiniteFrame >= 0) continue;  // this sample fails: only the negative scan goes on
      ReduceMax(red, x[r * R], work, R, true);
      Sync<HardEvent::V_S>();
      const float m = red.GetValue(0);
      if (!isProbs && m == -__builtin_inff()) return Fail(CRNN_STATUS_NEG_INF_FRAME, t, x);
      rowMax.SetValue(r, m);
      rowArg.SetValue(r, red.ReinterpretCast<int32_t>().GetValue(1));
      Sync<HardEvent::S_V>();
      if (tiling.inputKind == CRNN_CTC_LOGITS) Adds(x[r * R], x[r * R], -m, R);
    }
    if (nonfiniteFrame >= 0) return inQueue.FreeTensor(x);
    if (tiling.inputKind == CRNN_CTC_LOGITS) {  // max prob = 1 / sum exp(x - max)
      Exp(x, x, used);
      for (uint32_t r = 0; r < rows; ++r) ReduceSum(rowSum[r], x[r * R], work, R);
      Div(rowProb, ones, rowSum, rows);
    } else if (tiling.inputKind == CRNN_CTC_LOG_PROBS) {
      Exp(rowProb, rowMax, rows);
    }
    const LocalTensor<float> &p = isProbs ? rowMax : rowProb;
    Sync<HardEvent::V_S>();
    for (uint32_t r = 0; r < rows; ++r) Emit(rowArg.GetValue(r), p.GetValue(r), t0 + r);
    inQueue.FreeTensor(x);
  }

  __aicore__ inline void Fail(int status, int64_t frame) { failStatus = status, failFrame = frame; }
  __aicore__ inline void Fail(int status, int64_t frame, LocalTensor<float> &x) {
    Fail(status, frame);
    inQueue.FreeTensor(x);
  }

  // The collapse: drop blanks and repeats of the previous frame's id.
  __aicore__ inline void Emit(int32_t id, float p, uint32_t t) {
    const bool keep = id != tiling.blank && id != prevId;
    prevId = id;
    if (!keep) return;
    if (emitted - chunkStart == tiling.outChunk) {  // T > outChunk: the chunk is full
      FlushChunk(curSample);
      chunkStart += tiling.outChunk;
      out = outQueue.AllocTensor<int32_t>();
      FillPadding();
    }
    const uint32_t j = emitted - chunkStart;
    out.SetValue(j, id);
    out.SetValue(tiling.outChunk + j, int32_t(t));
    out[2 * tiling.outChunk].ReinterpretCast<float>().SetValue(j, p);
    ++emitted;
  }

  // ids and frames -1, probs 0 over the whole chunk.
  __aicore__ inline void FillPadding() {
    Duplicate(out, int32_t(-1), 2 * tiling.outChunk);
    Duplicate(out[2 * tiling.outChunk].ReinterpretCast<float>(), 0.0f, tiling.outChunk);
    Sync<HardEvent::V_S>();
  }

  // Writes the chunk being filled, then padding-only chunks up to T.
  __aicore__ inline void FinishSample(uint32_t b) {
    FlushChunk(b);
    for (uint32_t at = chunkStart + tiling.outChunk; at < tiling.T; at += tiling.outChunk) {
      chunkStart = at;
      out = outQueue.AllocTensor<int32_t>();
      FillPadding();
      FlushChunk(b);
    }
  }

  __aicore__ inline void FlushChunk(uint32_t b) {
    Sync<HardEvent::S_MTE3>();
    outQueue.EnQue(out);
    CopyOut(b, chunkStart);
  }

  __aicore__ inline void CopyOut(uint32_t b, uint32_t start) {
    LocalTensor<int32_t> o = outQueue.DeQue<int32_t>();
    const uint32_t len = tiling.T - start < tiling.outChunk ? tiling.T - start : tiling.outChunk;
    if (len > 0) {
      const uint64_t at = uint64_t(b) * tiling.T + start;
      const DataCopyExtParams row{1, uint32_t(len * sizeof(int32_t)), 0, 0, 0};
      DataCopyPad(idsGm[at], o, row);
      DataCopyPad(framesGm[at], o[tiling.outChunk], row);
      DataCopyPad(probsGm[at], o[2 * tiling.outChunk].ReinterpretCast<float>(), row);
    }
    outQueue.FreeTensor(o);
  }

  __aicore__ inline void CopyInLengths(uint32_t b0, uint32_t count) {
    LocalTensor<int32_t> l = lenQueue.AllocTensor<int32_t>();
    crnn_kernel::CopyRowIn(l, inLenGm[b0], count);
    lenQueue.EnQue(l);
  }

  __aicore__ inline void CopyOutMeta(uint32_t b0, uint32_t count) {
    crnn_kernel::CopyOutSampleMeta<int32_t>(metaQueue, lengthsGm[b0], keysGm[b0],
                                            kCtcGreedySampleChunk, count);
  }

  TPipe pipe;
  TQue<TPosition::VECIN, BUFFER_NUM> inQueue;
  TQue<TPosition::VECOUT, BUFFER_NUM> outQueue;
  TQue<TPosition::VECIN, 1> lenQueue;
  TQue<TPosition::VECOUT, 1> metaQueue;
  TBuf<TPosition::VECCALC> flagBuf, maskBuf, workBuf, rowBuf;
  GlobalTensor<float> scoresGm, probsGm;
  GlobalTensor<int32_t> inLenGm, idsGm, framesGm, lengthsGm;
  GlobalTensor<uint64_t> keysGm;
  LocalTensor<int32_t> out;  // the output chunk being filled (ids | frames | probs)
  LocalTensor<float> ones;
  CtcGreedyTiling tiling{};
  uint32_t sampleBegin = 0, sampleEnd = 0, k8 = 8, curSample = 0;
  uint32_t emitted = 0, chunkStart = 0;
  int32_t prevId = -1;
  int64_t nonfiniteFrame = -1, failFrame = -1;
  int failStatus = CRNN_STATUS_SUCCESS;
};

}  // namespace

// The op CrnnCtcGreedy (op_host/ctc_greedy.cpp): scores (T, B, C) or (B, T, C) float;
// input_lengths (B) int32 or NULL; config (read by the tiling on the host, unused here); ids,
// frames (B, T) int32, probs (B, T) float, lengths (B) int32 out; error: the 64-bit record (the
// smallest per-sample key); workspace: the B per-sample keys after kDeviceErrorBytes.
// Every core decodes its samples, then after SyncAll core 0 reduces the keys into the record.
extern "C" __global__ __aicore__ void crnn_ctc_greedy(GM_ADDR scores, GM_ADDR input_lengths,
                                                      GM_ADDR config, GM_ADDR ids, GM_ADDR lengths,
                                                      GM_ADDR probs, GM_ADDR frames, GM_ADDR error,
                                                      GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  GET_TILING_DATA(tilingData, tiling);
  (void)config;
  {
    KernelCtcGreedy op;  // its TPipe ends with this scope, before the reduction's
    op.Init(scores, input_lengths, ids, lengths, probs, frames, workspace, tilingData);
    op.Process();
  }
  crnn_kernel::ReduceErrorKeys(error, workspace, tilingData.B);
}
