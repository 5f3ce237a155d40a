// What the LSTM Ascend C kernels (lstm_forward.cpp, lstm_backward.cpp) share: the Matmul types,
// the vector core count of a MIX launch, the staged sequence lengths, the work units (direction,
// batch slice) of the recurrence and the copy of per-sample state rows.
#pragma once

#include "common/device_error.h"
#include "crnn/status.h"
#include "kernel_common.h"
#include "kernel_operator.h"
#include "lib/matmul_intf.h"

namespace crnn_kernel {

using GmF32 = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>;
using GmF32T = matmul::MatmulType<TPosition::GM, CubeFormat::ND, float, true>;

// Vector cores of the launch: in a MIX kernel GetBlockNum() counts the AIC blocks and each has
// GetTaskRatio() = 2 AIVs (the model launches the vector cores alone: ratio 1).
__aicore__ inline uint32_t VectorCoreNum() {
  return uint32_t(GetBlockNum() * GetTaskRatio());
}

// Lengths of all samples into UB (Bp int32, clamped to [0, T]; all T without seq_length); core 0
// records the first bad one (the `error` output is not initialized by the caller).
template <typename Tiling>
__aicore__ inline void StageLengths(const Tiling &tl, const LocalTensor<int32_t> &lens,
                                    const GlobalTensor<int32_t> &seqGm,
                                    GlobalTensor<uint64_t> &recordGm) {
  if (!tl.hasSeq) {
    Duplicate(lens, int32_t(tl.T), int32_t(tl.Bp));
    Sync<HardEvent::V_S>();
    return;
  }
  DataCopyPad(lens, seqGm, DataCopyExtParams(1, tl.B * sizeof(int32_t), 0, 0, 0),
              DataCopyPadExtParams<int32_t>(false, 0, 0, 0));
  Sync<HardEvent::MTE2_S>();
  int64_t bad = -1;
  for (uint32_t b = 0; b < tl.B; ++b) {  // once per launch, B scalars
    const int32_t n = lens.GetValue(b);
    if (n < 0 || n > int32_t(tl.T)) {
      if (bad < 0) bad = b;
      lens.SetValue(b, n < 0 ? 0 : int32_t(tl.T));
    }
  }
  if (GetBlockIdx() == 0)
    recordGm.SetValue(0, bad < 0
                             ? crnn::kNoDeviceError
                             : crnn::device_error_key(false, bad, -1, CRNN_STATUS_INVALID_VALUE));
}

// Work unit u (< D * slices) of the recurrence: direction d, samples [b0, b1) of one batch
// slice (empty when B < slices).
template <typename Tiling>
__aicore__ inline void UnitOf(const Tiling &tl, uint32_t u, uint32_t &d, uint32_t &b0,
                              uint32_t &b1) {
  const uint32_t s = u % tl.slices;
  d = u / tl.slices;
  b0 = uint64_t(tl.B) * s / tl.slices;
  b1 = uint64_t(tl.B) * (s + 1) / tl.slices;
}

__aicore__ inline int32_t MaxLength(const LocalTensor<int32_t> &lens, uint32_t b0, uint32_t b1) {
  int32_t maxLen = 0;
  for (uint32_t b = b0; b < b1; ++b) maxLen = lens.GetValue(b) > maxLen ? lens.GetValue(b) : maxLen;
  return maxLen;
}

// The frame a sample of length n runs at step s in direction dir, or -1 past its length.
__aicore__ inline int64_t StepFrame(int32_t n, uint32_t dir, uint32_t s) {
  return int32_t(s) >= n ? -1 : (dir == 0 ? int64_t(s) : int64_t(n) - 1 - s);
}

// dst rows [b0, b1) (H floats each) = src rows at srcOff + b*H, or zeros without a source,
// through `que` in tiles of up to `rowsPerTile` UB rows of Hp floats.
template <typename Que>
__aicore__ inline void CopyStateRows(Que &que, const GlobalTensor<float> &dst,
                                     const GlobalTensor<float> &src, bool hasSrc, uint64_t srcOff,
                                     uint32_t b0, uint32_t b1, uint32_t H, uint32_t Hp,
                                     uint32_t rowsPerTile) {
  const uint32_t H4 = H * sizeof(float);
  for (uint32_t r0 = b0; r0 < b1; r0 += rowsPerTile) {
    const uint32_t rows = b1 - r0 < rowsPerTile ? b1 - r0 : rowsPerTile;
    const DataCopyExtParams p(uint16_t(rows), H4, 0, 0, 0);
    LocalTensor<float> buf = que.template AllocTensor<float>();
    if (hasSrc)
      DataCopyPad(buf, src[srcOff + uint64_t(r0) * H], p,
                  DataCopyPadExtParams<float>(true, 0, uint8_t(Hp - H), 0.0f));
    else
      Duplicate(buf, 0.0f, int32_t(rows * Hp));
    que.EnQue(buf);
    buf = que.template DeQue<float>();
    DataCopyPad(dst[uint64_t(r0) * H], buf, p);
    que.FreeTensor(buf);
  }
}

}  // namespace crnn_kernel
