// Which backends this build of the kernel library holds, and the error record of device calls
// (crnn/status.h).
#include "route.h"
#if CRNN_HAVE_CUDA || CRNN_HAVE_CUDA_EMU
#include "../cuda/cuda_kernels.h"
#endif

extern "C" int crnn_device_compiled(int32_t device) {
  using crnn::dispatch::Route;
  const Route r = crnn::dispatch::route(device);
  return r == Route::cpu || r == Route::cuda || r == Route::cuda_emu || r == Route::ascend;
}

extern "C" crnn_status_t crnn_device_error_read(const void *workspace, int32_t device, void *stream,
                                                int32_t *error_index, int32_t *error_frame) {
  using crnn::dispatch::Route;
  const Route r = crnn::dispatch::route(device);
  switch (r) {
#if CRNN_HAVE_CUDA
    case Route::cuda:
      return crnn_cuda_device_error_read(workspace, stream, error_index, error_frame);
#endif
#if CRNN_HAVE_CUDA_EMU
    case Route::cuda_emu:
      return crnn_cuda_emu_device_error_read(workspace, stream, error_index, error_frame);
#endif
    default: break;
  }
  if (error_index) *error_index = -1;
  if (error_frame) *error_frame = -1;
  if (r == Route::cpu) return CRNN_STATUS_SUCCESS;
  return r == Route::unknown ? CRNN_STATUS_INVALID_VALUE : CRNN_STATUS_NOT_SUPPORTED;
}
