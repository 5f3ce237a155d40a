// The CUDA backend's entry points: every function of kernels/dispatch/entry_points.h as
// `crnn_cuda_<name>` (nvcc build, CRNN_DEVICE_CUDA) and `crnn_cuda_emu_<name>` (the same
// source on the SIMT executor, CRNN_DEVICE_CUDA_EMU), called by the dispatch. Same arguments,
// layouts and statuses as the public functions (kernels/include/crnn/), except that value
// errors go to the workspace's error record (crnn_device_error_read) instead of the status.
#pragma once

#include "../dispatch/entry_points.h"

#define CRNN_DECLARE_CUDA(ret, name, options, params, args) \
  ret crnn_cuda_##name params;                              \
  ret crnn_cuda_emu_##name params;

#ifdef __cplusplus
extern "C" {
#endif

CRNN_ENTRY_POINTS(CRNN_DECLARE_CUDA)

// crnn/status.h's crnn_device_error_read and crnn/device_memory.h, without the device argument.
#define CRNN_DECLARE_CUDA_DEVICE_API(prefix)                                                   \
  crnn_status_t prefix##device_error_read(const void *workspace, void *stream,                 \
                                          int32_t *error_index, int32_t *error_frame);         \
  crnn_status_t prefix##device_malloc(void **ptr, size_t bytes);                               \
  crnn_status_t prefix##device_free(void *ptr);                                                \
  crnn_status_t prefix##device_memcpy(void *dst, const void *src, size_t bytes, void *stream); \
  crnn_status_t prefix##device_stream_sync(void *stream);

CRNN_DECLARE_CUDA_DEVICE_API(crnn_cuda_)
CRNN_DECLARE_CUDA_DEVICE_API(crnn_cuda_emu_)

#ifdef __cplusplus
}
#endif

#undef CRNN_DECLARE_CUDA
#undef CRNN_DECLARE_CUDA_DEVICE_API
