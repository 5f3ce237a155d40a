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

#include "emu_copy.h"
#include "emu_launch.h"
#include "emu_pipe.h"
#include "emu_reduce.h"
#include "emu_tensor.h"
#include "emu_types.h"
#include "emu_vector.h"

// Tiling data passed as a GM pointer to a plain struct (the asc-devkit >= 8.5 style).
#define GET_TILING_DATA_WITH_STRUCT(Type, var, tiling) \
  Type var;                                            \
  std::memcpy(&var, (tiling), sizeof(Type))
