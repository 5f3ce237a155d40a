// crnn/device_memory.h for the CUDA backend (the CUDA runtime; on the SIMT executor, host
// memory through the portability layer's stand-ins).
#include "cuda_common.cuh"
#include "cuda_kernels.h"

namespace {

crnn_status_t status_of(cudaError_t e) {
  return e == cudaSuccess ? CRNN_STATUS_SUCCESS : CRNN_STATUS_EXECUTION_FAILED;
}

}  // namespace

extern "C" crnn_status_t CRNN_CUDA_ENTRY(device_malloc)(void **ptr, size_t bytes) {
  if (!ptr) return CRNN_STATUS_INVALID_VALUE;
  *ptr = nullptr;
  if (bytes == 0) return CRNN_STATUS_SUCCESS;
  const cudaError_t e = cudaMalloc(ptr, bytes);
  if (e != cudaSuccess) *ptr = nullptr;
  return status_of(e);
}

extern "C" crnn_status_t CRNN_CUDA_ENTRY(device_free)(void *ptr) {
  return ptr ? status_of(cudaFree(ptr)) : CRNN_STATUS_SUCCESS;
}

extern "C" crnn_status_t CRNN_CUDA_ENTRY(device_memcpy)(void *dst, const void *src, size_t bytes,
                                                        void *stream) {
  if (bytes == 0) return CRNN_STATUS_SUCCESS;
  if (!dst || !src) return CRNN_STATUS_INVALID_VALUE;
  return status_of(
      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream)));
}

extern "C" crnn_status_t CRNN_CUDA_ENTRY(device_stream_sync)(void *stream) {
  return status_of(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}
