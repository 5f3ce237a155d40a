// Where a call of the C API goes: the one switch on `device` (crnn/status.h) shared by every
// op's dispatch. A backend that was not compiled in (CRNN_HAVE_CUDA, CRNN_HAVE_CUDA_EMU and
// CRNN_HAVE_ASCEND(_EMU) are set by CMake for the backend libraries it links) gives NOT_SUPPORTED;
// an unknown device value gives INVALID_VALUE. Nothing here allocates or throws.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "crnn/status.h"

#ifndef CRNN_HAVE_CUDA
#define CRNN_HAVE_CUDA 0
#endif
#ifndef CRNN_HAVE_CUDA_EMU
#define CRNN_HAVE_CUDA_EMU 0
#endif
#ifndef CRNN_HAVE_ASCEND
#define CRNN_HAVE_ASCEND 0
#endif
#ifndef CRNN_HAVE_ASCEND_EMU
#define CRNN_HAVE_ASCEND_EMU 0
#endif

namespace crnn {
namespace dispatch {

enum class Route { cpu, cuda, cuda_emu, ascend, ascend_emu, not_compiled, unknown };

inline Route route(int32_t device) {
  switch (device) {
    case CRNN_DEVICE_CPU: return Route::cpu;
    case CRNN_DEVICE_CUDA: return CRNN_HAVE_CUDA ? Route::cuda : Route::not_compiled;
    case CRNN_DEVICE_CUDA_EMU: return CRNN_HAVE_CUDA_EMU ? Route::cuda_emu : Route::not_compiled;
    case CRNN_DEVICE_ASCEND: return CRNN_HAVE_ASCEND ? Route::ascend : Route::not_compiled;
    case CRNN_DEVICE_ASCEND_EMU:
      return CRNN_HAVE_ASCEND_EMU ? Route::ascend_emu : Route::not_compiled;
    default: return Route::unknown;
  }
}

// The device an option struct names (NULL options: the CPU, whose kernels then reject them).
template <typename Options>
int32_t device_of(const Options *o) {
  return o ? o->device : CRNN_DEVICE_CPU;
}

// Status of a call no backend takes (NOT_SUPPORTED, or INVALID_VALUE for an unknown device);
// clears the error outputs as a kernel would.
inline void clear_errors(const void *) {}
template <typename Options>
auto clear_errors(const Options *o) -> decltype(o->error_frame, void()) {
  if (o && o->error_index) *o->error_index = -1;
  if (o && o->error_frame) *o->error_frame = -1;
}

template <typename Options>
crnn_status_t unrouted(Route r, const Options *o) {
  clear_errors(o);
  return r == Route::unknown ? CRNN_STATUS_INVALID_VALUE : CRNN_STATUS_NOT_SUPPORTED;
}

}  // namespace dispatch
}  // namespace crnn
