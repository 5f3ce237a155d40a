// Which backends this build of the kernel library holds, the error record of device calls
// (crnn/status.h) and the memory of a device (crnn/device_memory.h).
#include <stdlib.h>
#include <string.h>

#include "crnn/device_memory.h"
#include "route.h"
#if CRNN_HAVE_CUDA || CRNN_HAVE_CUDA_EMU
#include "../cuda/cuda_kernels.h"
#endif
#if CRNN_HAVE_ASCEND_EMU
#include "ascend_emu_routes.h"
#endif

using crnn::dispatch::Route;

namespace {

// Devices whose memory is host memory without a runtime of its own (the Ascend C host model).
Route host_memory(Route r) {
  return r == Route::ascend_emu ? Route::cpu : r;
}

crnn_status_t not_routed(Route r) {
  return r == Route::unknown ? CRNN_STATUS_INVALID_VALUE : CRNN_STATUS_NOT_SUPPORTED;
}

}  // namespace

// clang-format off
#if CRNN_HAVE_CUDA
#define CRNN_DEVICE_CASE_CUDA(name, args) case Route::cuda: return crnn_cuda_##name args;
#else
#define CRNN_DEVICE_CASE_CUDA(name, args)
#endif
#if CRNN_HAVE_CUDA_EMU
#define CRNN_DEVICE_CASE_CUDA_EMU(name, args) case Route::cuda_emu: return crnn_cuda_emu_##name args;
#else
#define CRNN_DEVICE_CASE_CUDA_EMU(name, args)
#endif
// The device backends' cases of a switch on the route of `device`.
#define CRNN_DEVICE_CASES(name, args) CRNN_DEVICE_CASE_CUDA(name, args) CRNN_DEVICE_CASE_CUDA_EMU(name, args)
// clang-format on

extern "C" int crnn_device_compiled(int32_t device) {
  const Route r = crnn::dispatch::route(device);
  return r == Route::cpu || r == Route::cuda || r == Route::cuda_emu || r == Route::ascend ||
         r == Route::ascend_emu;
}

extern "C" crnn_status_t crnn_device_error_read(const void *workspace, int32_t device, void *stream,
                                                int32_t *error_index, int32_t *error_frame) {
  const Route r = crnn::dispatch::route(device);
  switch (r) {
    CRNN_DEVICE_CASES(device_error_read, (workspace, stream, error_index, error_frame))
#if CRNN_HAVE_ASCEND_EMU
    case Route::ascend_emu:
      return crnn_ascend_emu_device_error_read(workspace, stream, error_index, error_frame);
#endif
    default: break;
  }
  if (error_index) *error_index = -1;
  if (error_frame) *error_frame = -1;
  return r == Route::cpu ? CRNN_STATUS_SUCCESS : not_routed(r);
}

extern "C" crnn_status_t crnn_device_malloc(int32_t device, void **ptr, size_t bytes) {
  const Route r = host_memory(crnn::dispatch::route(device));
  switch (r) {
    CRNN_DEVICE_CASES(device_malloc, (ptr, bytes))
    default: break;
  }
  if (!ptr) return CRNN_STATUS_INVALID_VALUE;
  *ptr = nullptr;
  if (r != Route::cpu) return not_routed(r);
  if (bytes == 0) return CRNN_STATUS_SUCCESS;
  *ptr = aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *ptr ? CRNN_STATUS_SUCCESS : CRNN_STATUS_EXECUTION_FAILED;
}

extern "C" crnn_status_t crnn_device_free(int32_t device, void *ptr) {
  const Route r = host_memory(crnn::dispatch::route(device));
  switch (r) {
    CRNN_DEVICE_CASES(device_free, (ptr))
    default: break;
  }
  if (r != Route::cpu) return not_routed(r);
  free(ptr);
  return CRNN_STATUS_SUCCESS;
}

extern "C" crnn_status_t crnn_device_memcpy(int32_t device, void *dst, const void *src,
                                            size_t bytes, void *stream) {
  const Route r = host_memory(crnn::dispatch::route(device));
  switch (r) {
    CRNN_DEVICE_CASES(device_memcpy, (dst, src, bytes, stream))
    default: break;
  }
  (void)stream;  // (host memory: nothing is queued)
  if (r != Route::cpu) return not_routed(r);
  if (bytes == 0) return CRNN_STATUS_SUCCESS;
  if (!dst || !src) return CRNN_STATUS_INVALID_VALUE;
  memmove(dst, src, bytes);
  return CRNN_STATUS_SUCCESS;
}

extern "C" crnn_status_t crnn_device_stream_sync(int32_t device, void *stream) {
  const Route r = host_memory(crnn::dispatch::route(device));
  switch (r) {
    CRNN_DEVICE_CASES(device_stream_sync, (stream))
    default: break;
  }
  (void)stream;
  return r == Route::cpu ? CRNN_STATUS_SUCCESS : not_routed(r);
}
