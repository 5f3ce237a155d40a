// What the Ascend C kernels of crnn_fast share (op_kernel/*.cpp; AIV code): the scalar <-> vector /
// DMA sync helper and the end of every kernel with a device error record -- each sample's
// error key (common/device_error.h) in its own workspace slot (no cross-core atomics), then
// SyncAll and core 0 writes the smallest key to the op's `error` output (on our API model: the
// start of the workspace, read by crnn_device_error_read).
#pragma once

#include "common/device_error.h"
#include "kernel_operator.h"

namespace crnn_kernel {

using namespace AscendC;

// SetFlag + WaitFlag on one event: the scalar unit reads what a vector op / DMA wrote, or a
// vector op / DMA reads what the scalar unit wrote (no-ops on the API model).
template <HardEvent event>
__aicore__ inline void Sync() {
  SetFlag<event>(EVENT_ID0);
  WaitFlag<event>(EVENT_ID0);
}

// One block of `count` consecutive elements, UB -> GM and GM -> UB (DataCopyPad: any count).
template <typename T>
__aicore__ inline void CopyRowOut(const GlobalTensor<T> &gm, const LocalTensor<T> &ub,
                                  uint32_t count) {
  DataCopyPad(gm, ub, DataCopyExtParams{1, uint32_t(count * sizeof(T)), 0, 0, 0});
}
template <typename T>
__aicore__ inline void CopyRowIn(const LocalTensor<T> &ub, const GlobalTensor<T> &gm,
                                 uint32_t count) {
  DataCopyPad(ub, gm, DataCopyExtParams{1, uint32_t(count * sizeof(T)), 0, 0, 0},
              DataCopyPadExtParams<T>{false, 0, 0, 0});
}

// This core's samples [begin, end): samplesPerCore each, one more on the first samplesTail cores.
__aicore__ inline void CoreSamples(uint32_t samplesPerCore, uint32_t samplesTail, uint32_t &begin,
                                   uint32_t &end) {
  const uint32_t core = GetBlockIdx();
  begin = core * samplesPerCore + (core < samplesTail ? core : samplesTail);
  end = begin + samplesPerCore + (core < samplesTail ? 1 : 0);
}

// The per-sample error keys: `count` slots after the workspace's record area.
__aicore__ inline void SetErrorKeys(GlobalTensor<uint64_t> &keys, GM_ADDR workspace,
                                    uint32_t count) {
  keys.SetGlobalBuffer((__gm__ uint64_t *)(GetUserWorkspace(workspace) + crnn::kDeviceErrorBytes),
                       count);
}

// A chunk of `count` per-sample results out of `metaQueue`'s tensor: the values (4 bytes each)
// at its start to valueGm, the samples' error keys at element keysAt to keysGm.
template <typename T, typename Que>
__aicore__ inline void CopyOutSampleMeta(Que &metaQueue, const GlobalTensor<T> &valueGm,
                                         const GlobalTensor<uint64_t> &keysGm, uint32_t keysAt,
                                         uint32_t count) {
  LocalTensor<T> meta = metaQueue.template DeQue<T>();
  CopyRowOut(valueGm, meta, count);
  CopyRowOut(keysGm, meta[keysAt].template ReinterpretCast<uint64_t>(), count);
  metaQueue.FreeTensor(meta);
}

constexpr uint32_t kErrorKeyChunk = 512;  // error keys per UB chunk of the reduction

// One core: error[0] = the smallest of the `count` keys after the workspace's record area.
class KernelErrorReduce {
 public:
  __aicore__ inline KernelErrorReduce() {}
  __aicore__ inline void Init(GM_ADDR error, GM_ADDR workspace, uint32_t keys) {
    count = keys;
    recordGm.SetGlobalBuffer((__gm__ uint64_t *)error, 1);
    SetErrorKeys(keysGm, workspace, count);
    pipe.InitBuffer(inQueue, 2, kErrorKeyChunk * sizeof(uint64_t));
    pipe.InitBuffer(outQueue, 1, 32);
  }
  __aicore__ inline void Process() {
    uint64_t best = crnn::kNoDeviceError;
    for (uint32_t at = 0; at < count; at += kErrorKeyChunk) {
      const uint32_t n = count - at < kErrorKeyChunk ? count - at : kErrorKeyChunk;
      CopyIn(at, n);
      best = Compute(n, best);
    }
    CopyOut(best);
  }

 private:
  __aicore__ inline void CopyIn(uint32_t at, uint32_t n) {
    LocalTensor<uint64_t> k = inQueue.AllocTensor<uint64_t>();
    CopyRowIn(k, keysGm[at], n);
    inQueue.EnQue(k);
  }
  __aicore__ inline uint64_t Compute(uint32_t n, uint64_t best) {
    LocalTensor<uint64_t> k = inQueue.DeQue<uint64_t>();
    Sync<HardEvent::MTE2_S>();
    for (uint32_t i = 0; i < n; ++i) {  // one key per sample: scalar is fine
      const uint64_t v = k.GetValue(i);
      if (v < best) best = v;
    }
    inQueue.FreeTensor(k);
    return best;
  }
  __aicore__ inline void CopyOut(uint64_t best) {
    LocalTensor<uint64_t> r = outQueue.AllocTensor<uint64_t>();
    r.SetValue(0, best);
    Sync<HardEvent::S_MTE3>();
    outQueue.EnQue(r);
    r = outQueue.DeQue<uint64_t>();
    CopyRowOut(recordGm, r, 1);
    outQueue.FreeTensor(r);
  }

  TPipe pipe;
  TQue<TPosition::VECIN, 2> inQueue;
  TQue<TPosition::VECOUT, 1> outQueue;
  GlobalTensor<uint64_t> recordGm, keysGm;
  uint32_t count = 0;
};

// The end of a kernel whose cores wrote `keys` error keys: every core waits (SyncAll: its own
// TPipe must be gone, i.e. called after the kernel object's scope), then core 0 reduces them.
__aicore__ inline void ReduceErrorKeys(GM_ADDR error, GM_ADDR workspace, uint32_t keys) {
  SyncAll();
  if (GetBlockIdx() != 0) return;
  KernelErrorReduce reduce;
  reduce.Init(error, workspace, keys);
  reduce.Process();
}

}  // namespace crnn_kernel
