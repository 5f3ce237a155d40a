// kernel_operator.h -- crnn_fast's HOST MODEL of the Ascend C API subset our kernels use.
//
// This is NOT CANN's kernel_operator.h, not bisheng, and not the hardware. It is a model of the
// public Ascend C API written here from the documented signatures and rules (see API.md in this
// directory; no CANN / asc-devkit source was used), so that an Ascend C kernel file which does
// `#include "kernel_operator.h"` compiles unchanged with g++ (CMake puts kernels/ascend/emu on
// the include path only for the emulated build) and runs on the CPU, with the API's rules
// checked:
// - each AI Vector core is a std::thread with its own UB arena of the real capacity (192 KiB on
//   910B, settable), GetBlockIdx() / GetBlockNum() per core, SyncAll() a barrier;
// - TPipe / TQue / TBuf: InitBuffer rounds to 32 B and fails on UB overflow; the queue
//   discipline (AllocTensor -> EnQue -> DeQue -> FreeTensor) is checked: alloc beyond the
//   buffers, DeQue from an empty queue, EnQue of a foreign tensor, double free, use after free,
//   buffers held at kernel end; freshly allocated UB is poisoned (0xFF bytes: NaN / -1);
// - every LocalTensor access is bounds-checked; vector operands must be 32-byte aligned, hold
//   `count` elements and coincide exactly or not overlap;
// - DataCopy needs count * sizeof(T) % 32 == 0 (the device silently rounds down: the model
//   fails), DataCopyPad has byte-unit blocks padded to 32 B on the UB side.
// A violation throws inside its core; crnn::ascend_emu::launch returns its message.
//
// What only CANN and the hardware can prove: pipe timing and overlap (SetFlag / WaitFlag are
// no-ops, every operation completes at once), bank conflicts, the real UB layout, the exact
// fp32 results of the vector units' exp / log / division, cube precision.
#pragma once

#include <cstring>

#include "emu_copy.h"
#include "emu_launch.h"
#include "emu_matmul.h"
#include "emu_pipe.h"
#include "emu_reduce.h"
#include "emu_tensor.h"
#include "emu_types.h"
#include "emu_vector.h"

// Tiling data: a plain struct the host wrote to GM (the asc-devkit >= 8.5 style). The kernel
// file names its default type with REGISTER_TILING_DEFAULT(T) (one per translation unit, as
// each CANN op kernel is its own unit); the BEGIN_TILING_DATA_DEF style is not modelled.
#define REGISTER_TILING_DEFAULT(Type) using CrnnAscendEmuDefaultTiling = Type
#define GET_TILING_DATA_WITH_STRUCT(Type, var, tiling) \
  Type var;                                            \
  std::memcpy(&var, (tiling), sizeof(Type))
#define GET_TILING_DATA(var, tiling) \
  GET_TILING_DATA_WITH_STRUCT(CrnnAscendEmuDefaultTiling, var, tiling)

// Kernel type markers: vector-only kernels, and MIX kernels of 1 cube + 2 vector cores whose cube
// work is the Matmul API (emu_matmul.h: it runs on the calling vector core's thread).
enum KernelMetaType {
  KERNEL_TYPE_AIV_ONLY,
  KERNEL_TYPE_AIC_ONLY,
  KERNEL_TYPE_MIX_AIV_1_0,
  KERNEL_TYPE_MIX_AIC_1_2
};
#define KERNEL_TASK_TYPE_DEFAULT(type)                                               \
  static_assert((type) == KERNEL_TYPE_AIV_ONLY || (type) == KERNEL_TYPE_MIX_AIC_1_2, \
                "the model runs AIV-only and MIX (1 AIC : 2 AIV) kernels")

namespace AscendC {
// The model reserves no system workspace (it models no library API that needs one): the
// workspace argument is the user workspace itself.
inline __gm__ uint8_t *GetUserWorkspace(GM_ADDR workspace) {
  return workspace;
}
}  // namespace AscendC
