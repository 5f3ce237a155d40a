// Host model of the Ascend C API, part 4: the core launch, inter-core sync (SyncAll), the
// in-core sync calls (no-ops: every operation completes at once in the model) and the GM
// atomic-add mode.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>

#include "emu_types.h"

namespace crnn {
namespace ascend_emu {

// Runs kernel() on `block_dim` emulated AI Vector cores at once, each a std::thread with its own
// UB arena of `ub_bytes` bytes (poisoned with 0xFF) and GetBlockIdx() = 0 .. block_dim-1.
// Returns "" or the first model violation, as "core <i>: <api>: <what>". A violation ends its
// core (an exception inside the core); the other cores are released from SyncAll and the launch
// returns normally: the process is never aborted. After a core's kernel() returns, its queues
// must hold no buffer.
std::string launch(uint32_t block_dim, uint32_t ub_bytes, const std::function<void()> &kernel);

// Binds the calling thread to an emulated core (launch does it; tests of the model may too).
void bind_core(CoreContext *ctx);

// SyncAll: a barrier across the launch's cores.
void sync_all();

// GM <- UB while SetAtomicAdd<T> is set: dst[i] += src[i], atomically with every other core.
void atomic_add_gm(void *dst, const void *src, uint64_t count, int type_tag);

}  // namespace ascend_emu
}  // namespace crnn

// Runs a kernel function on `blockDim` cores with the 910B UB size; the launch's message.
#define ASCEND_EMU_RUN_KF(func, blockDim, ...) \
  crnn::ascend_emu::launch((blockDim), crnn::ascend_emu::kUbBytes910B, [&] { func(__VA_ARGS__); })

namespace AscendC {

template <pipe_t pipe>
inline void PipeBarrier() {}

template <HardEvent event>
inline void SetFlag(int32_t) {}

template <HardEvent event>
inline void WaitFlag(int32_t) {}

// The hardware form (all AIV cores of the launch).
template <bool isAIVOnly = true>
inline void SyncAll() {
  static_assert(isAIVOnly, "the host model implements vector-only kernels (isAIVOnly = true)");
  crnn::ascend_emu::sync_all();
}

template <typename T>
inline void SetAtomicAdd() {
  static_assert(std::is_same<T, float>::value || std::is_same<T, int32_t>::value ||
                    std::is_same<T, int16_t>::value || std::is_same<T, int8_t>::value,
                "SetAtomicAdd: the model implements float / int32_t / int16_t / int8_t");
  crnn::ascend_emu::CoreContext &ctx = crnn::ascend_emu::core();
  ctx.atomic_type = crnn::ascend_emu::TypeTag<T>::value;
  ctx.atomic_name = crnn::ascend_emu::TypeTag<T>::name;
}

inline void SetAtomicNone() {
  crnn::ascend_emu::CoreContext &ctx = crnn::ascend_emu::core();
  ctx.atomic_type = 0;
  ctx.atomic_name = nullptr;
}
inline void DisableDmaAtomic() {
  SetAtomicNone();
}

}  // namespace AscendC

inline void pipe_barrier(pipe_t) {}
