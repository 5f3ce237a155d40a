// Fused CTC loss + gradient as an Ascend C kernel (AIV only; Atlas A2 910B / A3), the contract
// of crnn_ctc_loss_f32 / _f16 / _bf16 (kernels/include/crnn/ctc_loss.h): logits (T, B, C)
// time-major float / half / bfloat16_t, labels (B, S), loss (B) float, grad (T, B, C) in the
// logits' type or NULL. Compiled here with g++ against our host model of the API
// (kernels/ascend/emu, CRNN_FAST_ASCEND=EMU) and tested there against the CPU kernel; not
// compiled with CANN, not run on a 910B.
//
//   crnn_ctc_loss   samples split over the cores (GetBlockIdx), one sample at a time per core;
//                   frames through UB in tiles (one DataCopyPad each, rows padded to 32 bytes
//                   with -inf), double-buffered (TQue depth 2): k whole rows when C <= 4096,
//                   else the vocabulary sliced into chunks of 4096 classes, a tile one chunk of
//                   one frame (C = 6625: 4096 + 2529). Per sample:
//     setup        once, scalar over the N state lanes (never per frame): the class of every
//                  extended-label state, the skip masks for s-2 -> s and s+2 (0 / -inf float
//                  vectors, ctc_math.h's ctc_skip_mask), the final-state mask, and per chunk
//                  the states' class byte offsets in it with a 0 / -inf "class in this chunk"
//                  mask
//     pass 1       frames 0 .. Tb-1 forward; per chunk ReduceMax, Adds(-max), Exp, ReduceSum
//                  (two-pass within the chunk; across chunks the running sum rescaled by
//                  exp(old max - new max)); the states' raw scores by one Gather per chunk
//                  (+ its mask, Max across chunks); per frame the value rule from (max, sum)
//                  (ctc_math.h's ctc_row_kind / ctc_row_status), the log-sum-exp, then alpha_t
//                  in fp32 log space over N lanes (2S+1 padded to 64): the log-add-exp of
//                  alpha_{t-1}(s), (s-1), (s-2)+skip vectorised (the shifts are Gathers from
//                  the previous row, whose 8 leading lanes are -inf; Max, Maxs(-FLT_MAX) as the
//                  -inf guard, Sub, Exp, Add, Ln), each row scaled to max 0 (ReduceMax, Adds),
//                  the scales summed as a float pair (TwoSum: the CPU's double accumulators).
//                  Alpha rows stay in UB (T x (N+8) floats).
//     pass 2       (grad only) frames Tb-1 .. 0: beta_t from beta_{t+1} + logy_{t+1} (the same
//                  vector log-add-exp, shifts by Gather from a row with 8 trailing -inf lanes);
//                  occupancy gamma = Exp(alpha + beta + off) over N lanes; the blank's total
//                  one Gather of the even lanes + ReduceSum, each label position's one Gather
//                  of the odd lanes; then per chunk of the re-read row softmax = Exp(x - lse)
//                  into the output tile and the occupancies subtracted at the classes in the
//                  chunk: a scalar loop over the L labels (never over C; in label order, so
//                  repeats add deterministically). Each grad element is written once
//                  (DataCopyPad of the tile); frames >= Tb and failed / infeasible samples get
//                  zero rows.
//     narrow       crnn_ctc_loss_half / _bfloat16: each 16-bit tile is cast to float in UB
//                  (Cast, CAST_NONE: exact) and every step above runs in float; each gradient
//                  tile is cast back (CAST_RINT: round to nearest even) before its DataCopyPad.
//     errors       each sample's key (common/device_error.h) into its own workspace slot; after
//                  SyncAll core 0 writes the smallest to the record (kernel_common.h, shared
//                  with the greedy decoder).
//     lengths      input / label lengths as given, or (the aot entries' config without them)
//                  T frames and each label up to its first blank / -1 (ctc_math.h)
//
// Error order (the CPU kernel's, via the key): argument errors (input length outside [0, T],
// label length outside [0, S], a label < 0, >= C or == blank: INVALID_VALUE, frame -1) before
// every value error; value errors per sample at the first frame read (t < Tb) with NaN / +inf
// (NONFINITE_INPUT) or only -inf (NEG_INF_FRAME), checked for infeasible samples too; across
// samples the lowest batch index. A failed sample's loss is NaN and its gradient 0 (as CUDA).
// -inf logits are probability 0: softmax 0, their states' log-probs -inf, gradient 0; a sample
// whose label needs them (or more frames than Tb) is infeasible: loss +inf (0 with
// zero_infinity), gradient 0.
//
// Workspace: [0, 256) the record, then B uint64 keys.
//
// The state-lane side (the setup, the alpha and beta recursions, the occupancies) is the base
// class crnn_kernel::CtcLossStates (ctc_loss_states.h); here the tiles, the softmax and the
// gradient rows in the logits' type.
//
// UB per core (910B: 192 KiB; op_host/ctc_loss_tiling_host.h computes it, the host refuses a
// shape that does not fit, NOT_SUPPORTED): in 2 x tile, out (grad) 2 x tile (tile = k rows of
// min(C, 4096) classes rounded up to 32 bytes; half / bf16 add the float rows they are cast to
// / from, the same bytes per element in all), lengths 512, losses + keys 768, alpha
// T*(N+8)*4, lse + scales 3T*4, 20 state vectors (N+8)*4 each (N = 2S+1 rounded up to 64),
// 2 per chunk of (N+8)*4, ReduceMax scratch; k = 32 KiB / (row*4) frames, at most T, fewer
// when the alpha rows leave less room:
//   C = 37   (rows of 40),      S <= 25 (N = 64), T = 25:  k = 25:  31 232 B (30.5 KiB)
//                               (half / bf16:  rows of 48):        34 432 B
//   C = 6625 (2 chunks),        S = 25,           T = 25:  k = 1:   81 824 B (79.9 KiB)
//                                                 T = 80:  k = 1:   98 304 B (96.0 KiB)
//   (the same for half / bf16; loss only, no grad tiles: C = 6625, T = 25: 49 056 B.)
//   Largest that fit: C = 823 296 at T = S = 25 (704 512 at T = 80: 2 vectors per chunk);
//   S = 511 at C = 37, T = 25 (319 at C = 6625); T = 627 at C = 37, S = 25 (407 at C = 6625):
//   the alpha rows (T x 2S) are not spilled to GM. Beyond: NOT_SUPPORTED.
//
// Device sync: SetFlag / WaitFlag V_S, S_V, S_MTE3, MTE2_S are no-ops in the model; they mark
// where the scalar unit reads vector results or writes what a vector op / DMA then reads.
// The label is read by the scalar unit through its GM address (once per sample, for the setup
// and the argument checks), so ctc_math.h's label rules are used as they are. For bisheng,
// kernels/common/hostdevice.h's CRNN_HD_INLINE must also carry __aicore__.
#include "crnn/ctc_loss.h"

#include <float.h>

#include "common/ctc_math.h"
#include "common/device_error.h"
#include "ctc_loss_states.h"
#include "ctc_loss_tiling.h"
#include "kernel_common.h"
#include "kernel_operator.h"

using namespace AscendC;
using crnn_kernel::kLead;
using crnn_kernel::LogScale;
using crnn_kernel::Sync;

REGISTER_TILING_DEFAULT(CtcLossTiling);

namespace {

constexpr int32_t BUFFER_NUM = 2;

// The logits' storage type X: float, or half / bfloat16_t (cast to float in UB, the gradient
// cast back with CAST_RINT, round to nearest even).
template <typename X>
struct Storage {
  static constexpr bool kNarrow = true;
};
template <>
struct Storage<float> {
  static constexpr bool kNarrow = false;
};
template <typename X>
__aicore__ inline X NegInf();  // -inf of the storage type (the padding of a row)
template <>
__aicore__ inline float NegInf<float>() {
  return -__builtin_inff();
}
template <>
__aicore__ inline half NegInf<half>() {
  half v;
  v.bits = 0xfc00;
  return v;
}
template <>
__aicore__ inline bfloat16_t NegInf<bfloat16_t>() {
  bfloat16_t v;
  v.bits = 0xff80;
  return v;
}

template <typename X>
class KernelCtcLoss : public crnn_kernel::CtcLossStates {
  static constexpr bool kNarrow = Storage<X>::kNarrow;

 public:
  __aicore__ inline KernelCtcLoss() {}

  __aicore__ inline void Init(GM_ADDR logits, GM_ADDR labels, GM_ADDR inputLengths,
                              GM_ADDR labelLengths, GM_ADDR loss, GM_ADDR grad, GM_ADDR workspace,
                              const CtcLossTiling &t) {
    tiling = t;
    crnn_kernel::CoreSamples(t.samplesPerCore, t.samplesTail, sampleBegin, sampleEnd);
    const uint64_t elems = uint64_t(t.T) * t.frameStride;
    if (elems > 0) {
      logitsGm.SetGlobalBuffer((__gm__ X *)logits, elems);
      if (t.hasGrad) gradGm.SetGlobalBuffer((__gm__ X *)grad, elems);
    }
    if (t.S > 0) labelsGm.SetGlobalBuffer((__gm__ int32_t *)labels, uint64_t(t.B) * t.S);
    if (t.hasInputLengths) inLenGm.SetGlobalBuffer((__gm__ int32_t *)inputLengths, t.B);
    if (t.hasLabelLengths) labLenGm.SetGlobalBuffer((__gm__ int32_t *)labelLengths, t.B);
    lossGm.SetGlobalBuffer((__gm__ float *)loss, t.B);
    crnn_kernel::SetErrorKeys(keysGm, workspace, t.B);
    R = t.rowElems;
    pipe.InitBuffer(inQueue, BUFFER_NUM, t.tileElems * sizeof(X));
    if (t.hasGrad) pipe.InitBuffer(outQueue, BUFFER_NUM, t.tileElems * sizeof(X));
    if (kNarrow) pipe.InitBuffer(xfBuf, t.tileElems * sizeof(float));
    if (kNarrow && t.hasGrad) pipe.InitBuffer(gfBuf, t.tileElems * sizeof(float));
    pipe.InitBuffer(lenQueue, 1, 2 * kCtcLossSampleChunk * sizeof(int32_t));
    pipe.InitBuffer(metaQueue, 1, kCtcLossSampleChunk * (sizeof(float) + sizeof(uint64_t)));
    InitStates(pipe);
  }

  __aicore__ inline void Process() {
    for (uint32_t b0 = sampleBegin; b0 < sampleEnd; b0 += kCtcLossSampleChunk) {
      const uint32_t count =
          sampleEnd - b0 < kCtcLossSampleChunk ? sampleEnd - b0 : kCtcLossSampleChunk;
      CopyInLengths(b0, count);
      LocalTensor<int32_t> lens = lenQueue.DeQue<int32_t>();
      Sync<HardEvent::MTE2_S>();
      LocalTensor<float> meta = metaQueue.AllocTensor<float>();
      LocalTensor<uint64_t> keys = meta[kCtcLossSampleChunk].ReinterpretCast<uint64_t>();
      for (uint32_t i = 0; i < count; ++i) {
        float lossValue = 0.0f;
        const int64_t Tb = tiling.hasInputLengths ? lens.GetValue(i) : int64_t(tiling.T);
        const int64_t L = tiling.hasLabelLengths ? lens.GetValue(kCtcLossSampleChunk + i)
                                                 : PaddedLabelLength(b0 + i);
        keys.SetValue(i, Sample(b0 + i, Tb, L, &lossValue));
        meta.SetValue(i, lossValue);
      }
      lenQueue.FreeTensor(lens);
      Sync<HardEvent::S_MTE3>();
      metaQueue.EnQue(meta);
      CopyOutMeta(b0, count);
    }
  }

 private:
  // One sample: returns its error key (kNoDeviceError when it has none), *loss its loss.
  __aicore__ inline uint64_t Sample(uint32_t b, int64_t Tb, int64_t L, float *loss) {
    const float nan = __builtin_nanf("");
    const int32_t *label = L > 0 ? labelsGm.GetPhyAddr(uint64_t(b) * tiling.S) : nullptr;
    if (!TargetsValid(Tb, L, label)) {
      *loss = nan;
      ZeroGrad(b, 0, tiling.T);
      return crnn::device_error_key(false, b, -1, CRNN_STATUS_INVALID_VALUE);
    }
    const bool feasible = Tb >= crnn::ctc_min_frames(label, L);
    const float infeasibleLoss = tiling.zeroInfinity ? 0.0f : __builtin_inff();
    Sp = uint32_t(2 * L + 1), labelLen = uint32_t(L), frames = uint32_t(Tb);
    if (feasible && Tb > 0) SetupSample(label);
    int64_t badFrame = -1;
    const int st = Forward(b, feasible && Tb > 0, &badFrame);
    if (st != CRNN_STATUS_SUCCESS) {
      *loss = nan;
      ZeroGrad(b, 0, tiling.T);
      return crnn::device_error_key(true, b, badFrame, st);
    }
    if (Tb == 0 || !feasible) {
      *loss = feasible ? 0.0f : infeasibleLoss;
      ZeroGrad(b, 0, tiling.T);
      return crnn::kNoDeviceError;
    }
    LogScale ll = scaleA;  // log p = the last row's scales + its final states
    Sync<HardEvent::V_S>();
    const LocalTensor<float> last = alpha[(Tb - 1) * tiling.alphaRowElems + kLead];
    const float ends[3] = {last.GetValue(0), Sp > 1 ? last.GetValue(Sp - 2) : 0.0f,
                           Sp > 1 ? last.GetValue(Sp - 1) : 0.0f};
    ll.Add(crnn::ctc_final_log_likelihood(ends, Sp > 1 ? 3 : 1));
    if (!(ll.hi > -__builtin_inff())) {  // every path underflowed: as infeasible
      *loss = infeasibleLoss;
      ZeroGrad(b, 0, tiling.T);
      return crnn::kNoDeviceError;
    }
    *loss = -ll.Value();
    if (tiling.hasGrad) {
      Backward(b, ll);
      ZeroGrad(b, frames, tiling.T);
    }
    return crnn::kNoDeviceError;
  }

  // Sample b's label length without label_lengths: up to its first blank / -1 (ctc_math.h's
  // rule, the aot entries'); -1 (an argument error) for a class outside [0, C) or after the
  // padding.
  __aicore__ inline int64_t PaddedLabelLength(uint32_t b) {
    if (tiling.S == 0) return 0;
    int64_t bad = -1;
    const int64_t n = crnn::ctc_label_length_from_padding(
        labelsGm.GetPhyAddr(uint64_t(b) * tiling.S), tiling.S, tiling.C, tiling.blank, &bad);
    return bad >= 0 ? -1 : n;
  }

  __aicore__ inline bool TargetsValid(int64_t Tb, int64_t L, const int32_t *label) {
    if (Tb < 0 || Tb > int64_t(tiling.T) || L < 0 || L > int64_t(tiling.S)) return false;
    for (int64_t j = 0; j < L; ++j) {  // scalar, once per sample
      const int32_t v = label[j];
      if (v < 0 || v >= int32_t(tiling.C) || v == tiling.blank) return false;
    }
    return true;
  }

  // Vocabulary chunk i: its first class, its classes, and the elements the vector ops cover
  // (the classes rounded up to 32 bytes of X, padded with -inf by the copy).
  __aicore__ inline uint32_t ChunkBegin(uint32_t i) { return i * tiling.chunkElems; }
  __aicore__ inline uint32_t ChunkLen(uint32_t i) {
    const uint32_t rest = tiling.C - ChunkBegin(i);
    return rest < tiling.chunkElems ? rest : tiling.chunkElems;
  }
  __aicore__ inline uint32_t ChunkSpan(uint32_t i) {
    const uint32_t a = 32 / sizeof(X);
    return (ChunkLen(i) + a - 1) / a * a;
  }

  // Pass 1: every frame checked; with `recur` the alpha rows. Returns a status. Tiles of k
  // whole rows (one chunk), or of one chunk of one frame (k = 1).
  __aicore__ inline int Forward(uint32_t b, bool recur, int64_t *badFrame) {
    scaleA = LogScale{};
    for (uint32_t t0 = 0; t0 < frames; t0 += tiling.framesPerTile) {
      const uint32_t rows = frames - t0 < tiling.framesPerTile ? frames - t0 : tiling.framesPerTile;
      for (uint32_t i = 0; i < tiling.chunkNum; ++i) {
        CopyIn(b, t0, rows, i);
        LocalTensor<float> x = AcquireRows(rows, i);
        for (uint32_t r = 0; r < rows; ++r) {
          ChunkForward(x[r * R], i, recur);
          if (i + 1 < tiling.chunkNum) continue;
          const int st = FrameFinish(t0 + r, recur);
          if (st != CRNN_STATUS_SUCCESS) {
            *badFrame = t0 + r;
            ReleaseRows(x);
            return st;
          }
        }
        ReleaseRows(x);
      }
    }
    return CRNN_STATUS_SUCCESS;
  }

  // One chunk of a frame's row: its states' raw scores, then the running max and sum of
  // exp(x - max) (two-pass within the chunk, rescaled across chunks; ctc_math.h's value rule
  // is decided from them once the row is complete).
  __aicore__ inline void ChunkForward(const LocalTensor<float> &x, uint32_t i, bool recur) {
    if (recur) GatherChunk(logyCur, x, i, g1);
    const uint32_t n = ChunkSpan(i);
    ReduceMax(red, x, work, n);
    Sync<HardEvent::V_S>();
    const float m = red.GetValue(0);
    const float mg = m > -FLT_MAX ? m : -FLT_MAX;  // -inf guard (NaN: the sum turns NaN)
    if (i == 0) rowMax = -FLT_MAX, rowSum = 0.0f;
    const float mNew = mg > rowMax ? mg : rowMax;
    Adds(x, x, -mNew, n);
    Exp(x, x, n);
    ReduceSum(red, x, work, n);
    Sync<HardEvent::V_S>();
    rowSum = rowSum * crnn::exp_fast<float>(rowMax - mNew) + red.GetValue(0);
    rowMax = mNew;
  }

  // Pass 2: frames Tb-1 .. 0, each grad row = softmax - occupancy, written once (per tile
  // of k whole rows, or per chunk of one frame's row).
  __aicore__ inline void Backward(uint32_t b, const LogScale &ll) {
    const uint32_t k = tiling.framesPerTile, tiles = (frames + k - 1) / k;
    scaleB = LogScale{};
    for (uint32_t tile = tiles; tile-- > 0;) {
      const uint32_t t0 = tile * k, rows = frames - t0 < k ? frames - t0 : k;
      for (uint32_t i = 0; i < tiling.chunkNum; ++i) {
        CopyIn(b, t0, rows, i);
        LocalTensor<float> x = AcquireRows(rows, i);
        LocalTensor<float> g = OutRows();
        for (uint32_t r = rows; r-- > 0;) {
          if (i == 0) Occupancy(t0 + r, ll);
          ChunkGrad(x[r * R], g[r * R], t0 + r, i);
        }
        ReleaseRows(x);
        PublishRows(g, rows, i);
        CopyOut(b, t0, rows, i);
      }
    }
  }

  // Chunk i of frame t's gradient row: softmax minus the occupancy of the classes in the chunk
  // (a scalar loop over the L labels, never over C; in label order, so repeats add
  // deterministically); logy_t gathered for frame t-1 on the way.
  __aicore__ inline void ChunkGrad(const LocalTensor<float> &x, const LocalTensor<float> &g,
                                   uint32_t t, uint32_t i) {
    const float lse = frameBuf.Get<float>().GetValue(t);
    GatherChunk(logyCur, x, i, g1);
    const uint32_t n = ChunkSpan(i);
    Adds(g, x, -lse, n);
    Exp(g, g, n);  // the softmax
    Sync<HardEvent::V_S>();
    const uint32_t c0 = ChunkBegin(i), c1 = c0 + ChunkLen(i);
    const uint32_t blank = uint32_t(tiling.blank);
    if (blank >= c0 && blank < c1) g.SetValue(blank - c0, g.GetValue(blank - c0) - blankOcc);
    for (uint32_t j = 0; j < labelLen; ++j) {
      const uint32_t c = ofsClass.GetValue(2 * j + 1) / 4;
      if (c >= c0 && c < c1) g.SetValue(c - c0, g.GetValue(c - c0) - g2.GetValue(j));
    }
    Sync<HardEvent::S_V>();
    if (i + 1 < tiling.chunkNum) return;
    Adds(logyCur, logyCur, -lse, N);  // frame t's row is complete
    LocalTensor<float> tmp = betaNext;
    betaNext = betaCur, betaCur = tmp;
    tmp = logyNext, logyNext = logyCur, logyCur = tmp;
  }

  // Zero gradient rows [t0, t1) of sample b.
  __aicore__ inline void ZeroGrad(uint32_t b, uint32_t t0, uint32_t t1) {
    if (!tiling.hasGrad) return;
    for (uint32_t t = t0; t < t1; t += tiling.framesPerTile) {
      const uint32_t rows = t1 - t < tiling.framesPerTile ? t1 - t : tiling.framesPerTile;
      for (uint32_t i = 0; i < tiling.chunkNum; ++i) {
        LocalTensor<X> g = outQueue.template AllocTensor<X>();
        if constexpr (kNarrow) {
          Duplicate(g.template ReinterpretCast<uint16_t>(), uint16_t(0), rows * R);  // +0
        } else {
          Duplicate(g, 0.0f, rows * R);
        }
        outQueue.EnQue(g);
        CopyOut(b, t, rows, i);
      }
    }
  }

  // The float rows of the tile CopyIn queued: the queue's own tensor for float logits, else
  // the narrow tile cast to float (exact) in xfBuf and the queue's tensor freed at once.
  __aicore__ inline LocalTensor<float> AcquireRows(uint32_t rows, uint32_t chunk) {
    if constexpr (kNarrow) {
      LocalTensor<X> s = inQueue.template DeQue<X>();
      LocalTensor<float> x = xfBuf.Get<float>();
      Cast(x, s, RoundMode::CAST_NONE, (rows - 1) * R + ChunkSpan(chunk));
      inQueue.FreeTensor(s);
      return x;
    } else {
      return inQueue.template DeQue<float>();
    }
  }
  __aicore__ inline void ReleaseRows(LocalTensor<float> &x) {
    if constexpr (!kNarrow) inQueue.FreeTensor(x);
  }

  // Where the gradient rows of a tile are built (float), and their hand-over to CopyOut: the
  // queue's tensor itself, or gfBuf cast to the narrow type (round to nearest even).
  __aicore__ inline LocalTensor<float> OutRows() {
    if constexpr (kNarrow) {
      return gfBuf.Get<float>();
    } else {
      return outQueue.template AllocTensor<float>();
    }
  }
  __aicore__ inline void PublishRows(LocalTensor<float> &g, uint32_t rows, uint32_t i) {
    if constexpr (kNarrow) {
      LocalTensor<X> o = outQueue.template AllocTensor<X>();
      Cast(o, g, RoundMode::CAST_RINT, (rows - 1) * R + ChunkSpan(i));
      outQueue.EnQue(o);
    } else {
      Sync<HardEvent::S_MTE3>();
      outQueue.EnQue(g);
    }
  }

  // Rows t0 .. t0+rows-1 of sample b, classes of chunk i, in GM (element `at`, rows frameStride
  // apart: gmGap bytes between them) and in a UB tile (rows R apart: ubGap 32-byte blocks).
  struct TileRows {
    uint64_t at;
    uint32_t len, gmGap, ubGap;
  };
  __aicore__ inline TileRows ChunkRows(uint32_t b, uint32_t t0, uint32_t rows, uint32_t i) {
    const uint32_t len = ChunkLen(i);
    return {uint64_t(t0) * tiling.frameStride + uint64_t(b) * tiling.C + ChunkBegin(i), len,
            rows > 1 ? uint32_t((tiling.frameStride - len) * sizeof(X)) : 0,
            uint32_t((R - ChunkSpan(i)) * sizeof(X) / 32)};  // only k = 1 has short chunks
  }

  // The tile's rows into an input tile, each padded with -inf to 32 bytes.
  __aicore__ inline void CopyIn(uint32_t b, uint32_t t0, uint32_t rows, uint32_t i) {
    LocalTensor<X> x = inQueue.template AllocTensor<X>();
    const TileRows r = ChunkRows(b, t0, rows, i);
    DataCopyExtParams copy{uint16_t(rows), uint32_t(r.len * sizeof(X)), r.gmGap, r.ubGap, 0};
    DataCopyPadExtParams<X> pad{true, 0, uint8_t(ChunkSpan(i) - r.len), NegInf<X>()};
    DataCopyPad(x, logitsGm[r.at], copy, pad);
    inQueue.EnQue(x);
  }

  __aicore__ inline void CopyOut(uint32_t b, uint32_t t0, uint32_t rows, uint32_t i) {
    LocalTensor<X> g = outQueue.template DeQue<X>();
    const TileRows r = ChunkRows(b, t0, rows, i);
    DataCopyPad(
        gradGm[r.at], g,
        DataCopyExtParams{uint16_t(rows), uint32_t(r.len * sizeof(X)), r.ubGap, r.gmGap, 0});
    outQueue.FreeTensor(g);
  }

  __aicore__ inline void CopyInLengths(uint32_t b0, uint32_t count) {
    LocalTensor<int32_t> l = lenQueue.AllocTensor<int32_t>();
    if (tiling.hasInputLengths) crnn_kernel::CopyRowIn(l, inLenGm[b0], count);
    if (tiling.hasLabelLengths) crnn_kernel::CopyRowIn(l[kCtcLossSampleChunk], labLenGm[b0], count);
    lenQueue.EnQue(l);
  }

  __aicore__ inline void CopyOutMeta(uint32_t b0, uint32_t count) {
    crnn_kernel::CopyOutSampleMeta<float>(metaQueue, lossGm[b0], keysGm[b0], kCtcLossSampleChunk,
                                          count);
  }

  TPipe pipe;
  TQue<TPosition::VECIN, BUFFER_NUM> inQueue;
  TQue<TPosition::VECOUT, BUFFER_NUM> outQueue;
  TQue<TPosition::VECIN, 1> lenQueue;
  TQue<TPosition::VECOUT, 1> metaQueue;
  TBuf<TPosition::VECCALC> xfBuf, gfBuf;
  GlobalTensor<X> logitsGm, gradGm;
  GlobalTensor<float> lossGm;
  GlobalTensor<int32_t> labelsGm, inLenGm, labLenGm;
  GlobalTensor<uint64_t> keysGm;
  uint32_t sampleBegin = 0, sampleEnd = 0, R = 8;
};

template <typename X>
__aicore__ inline void RunCtcLoss(GM_ADDR logits, GM_ADDR labels, GM_ADDR input_lengths,
                                  GM_ADDR label_lengths, GM_ADDR loss, GM_ADDR grad, GM_ADDR error,
                                  GM_ADDR workspace, GM_ADDR tiling) {
  GET_TILING_DATA(tilingData, tiling);
  {
    KernelCtcLoss<X> op;  // its TPipe ends with this scope, before the reduction's
    op.Init(logits, labels, input_lengths, label_lengths, loss, grad, workspace, tilingData);
    op.Process();
  }
  crnn_kernel::ReduceErrorKeys(error, workspace, tilingData.B);
}

}  // namespace

// The op CrnnCtcLoss (op_host/ctc_loss.cpp): logits (T, B, C) float / half / bfloat16_t; labels
// (B, S), input_lengths (B), label_lengths (B) int32 (each read only when the tiling says it is
// given); config (read by the tiling on the host, unused here); loss (B) float out; grad
// (T, B, C) in the logits' type, out, or NULL; error: the 64-bit record; workspace: B keys after
// kDeviceErrorBytes. CANN compiles the entry once per logits dtype of the OpDef (DTYPE_LOGITS);
// on our API model the three instances have their own names.
#define CRNN_CTC_LOSS_ENTRY(name, X)                                                             \
  extern "C" __global__ __aicore__ void name(GM_ADDR logits, GM_ADDR labels,                     \
                                             GM_ADDR input_lengths, GM_ADDR label_lengths,       \
                                             GM_ADDR config, GM_ADDR loss, GM_ADDR grad,         \
                                             GM_ADDR error, GM_ADDR workspace, GM_ADDR tiling) { \
    KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);                                              \
    (void)config;                                                                                \
    RunCtcLoss<X>(logits, labels, input_lengths, label_lengths, loss, grad, error, workspace,    \
                  tiling);                                                                       \
  }

#if defined(DTYPE_LOGITS)
CRNN_CTC_LOSS_ENTRY(crnn_ctc_loss, DTYPE_LOGITS)
#else
CRNN_CTC_LOSS_ENTRY(crnn_ctc_loss, float)
CRNN_CTC_LOSS_ENTRY(crnn_ctc_loss_half, half)
CRNN_CTC_LOSS_ENTRY(crnn_ctc_loss_bfloat16, bfloat16_t)
#endif
