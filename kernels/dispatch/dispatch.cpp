// The public C API (kernels/include/crnn/): each entry point of entry_points.h routes its call
// to the backend its options' `device` names (route.h). A backend adds one `case` line below.
#include "../cpu/cpu_kernels.h"
#if CRNN_HAVE_CUDA || CRNN_HAVE_CUDA_EMU
#include "../cuda/cuda_kernels.h"
#endif
#include "entry_points.h"
#include "route.h"
#if CRNN_HAVE_ASCEND_EMU
#include "ascend_emu_routes.h"
#endif

namespace {

using crnn::dispatch::device_of;
using crnn::dispatch::Route;
using crnn::dispatch::route;

// What a call no backend takes returns: no workspace, or the status (error outputs cleared).
template <typename Options>
size_t not_taken(size_t *, Route, const Options *) {
  return 0;
}
template <typename Options>
crnn_status_t not_taken(crnn_status_t *, Route r, const Options *o) {
  return crnn::dispatch::unrouted(r, o);
}

}  // namespace

// clang-format off
#if CRNN_HAVE_CUDA
#define CRNN_CASE_CUDA(name, args) case Route::cuda: return crnn_cuda_##name args;
#else
#define CRNN_CASE_CUDA(name, args)
#endif
#if CRNN_HAVE_CUDA_EMU
#define CRNN_CASE_CUDA_EMU(name, args) case Route::cuda_emu: return crnn_cuda_emu_##name args;
#else
#define CRNN_CASE_CUDA_EMU(name, args)
#endif

#if CRNN_HAVE_ASCEND_EMU
#define CRNN_CASE_ASCEND_EMU(name, args) \
  CRNN_ROUTE_IF(CRNN_ASCEND_EMU_HAS(name))(case Route::ascend_emu: return crnn_ascend_emu_##name args;)
#else
#define CRNN_CASE_ASCEND_EMU(name, args)
#endif

#define CRNN_DISPATCH(ret, name, options, params, args)                  \
  extern "C" ret crnn_##name params {                                    \
    const Route r = route(device_of(options));                           \
    switch (r) {                                                         \
      case Route::cpu: return crnn_cpu_##name args;                      \
      CRNN_CASE_CUDA(name, args)                                         \
      CRNN_CASE_CUDA_EMU(name, args)                                     \
      CRNN_CASE_ASCEND_EMU(name, args)                                   \
      default: return not_taken(static_cast<ret *>(nullptr), r, options); \
    }                                                                    \
  }

#define CRNN_DISPATCH_CPU_ONLY(ret, name, options, params, args)         \
  extern "C" ret crnn_##name params {                                    \
    const Route r = route(device_of(options));                           \
    if (r == Route::cpu) return crnn_cpu_##name args;                    \
    return not_taken(static_cast<ret *>(nullptr), r, options);           \
  }
// clang-format on

CRNN_ENTRY_POINTS(CRNN_DISPATCH)
CRNN_CPU_ONLY_ENTRY_POINTS(CRNN_DISPATCH_CPU_ONLY)
