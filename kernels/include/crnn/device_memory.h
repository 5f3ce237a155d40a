// crnn_fast kernel C API: memory of a device (crnn_device_t), for callers that hold device
// pointers but link no runtime of that device themselves (the MindSpore GPU aot entries:
// their options and lengths arrive in device memory, and their workspace is theirs to find).
//
// CPU, CUDA_EMU and ASCEND_EMU memory is host memory (malloc / memcpy; the stream is ignored). On
// CUDA, a copy is cudaMemcpyAsync (cudaMemcpyDefault: either direction, unified addressing) on
// `stream`; read host results only after crnn_device_stream_sync. A backend that was not
// compiled in gives NOT_SUPPORTED, an unknown device INVALID_VALUE, a runtime failure
// EXECUTION_FAILED. Nothing here is needed by the kernels themselves.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

// *ptr = `bytes` of memory of `device` (256-byte aligned), NULL when bytes is 0.
crnn_status_t crnn_device_malloc(int32_t device, void **ptr, size_t bytes);
// Frees memory of crnn_device_malloc (NULL: nothing). On CUDA, waits for the device first.
crnn_status_t crnn_device_free(int32_t device, void *ptr);
// Copies `bytes` from src to dst, either of them device or host memory, ordered on `stream`.
crnn_status_t crnn_device_memcpy(int32_t device, void *dst, const void *src, size_t bytes,
                                 void *stream);
// Waits until the work queued on `stream` is done.
crnn_status_t crnn_device_stream_sync(int32_t device, void *stream);

#ifdef __cplusplus
}
#endif
