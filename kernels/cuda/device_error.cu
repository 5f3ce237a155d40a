// crnn_device_error_read for the CUDA backend: copies the record (common/device_error.h) from
// the workspace after the stream's work.
#include "cuda_common.cuh"
#include "cuda_kernels.h"

extern "C" crnn_status_t CRNN_CUDA_ENTRY(device_error_read)(const void *workspace, void *stream,
                                                            int32_t *error_index,
                                                            int32_t *error_frame) {
  if (error_index) *error_index = -1;
  if (error_frame) *error_frame = -1;
  if (!workspace) return CRNN_STATUS_INVALID_VALUE;
  unsigned long long key = crnn::kNoDeviceError;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (cudaMemcpyAsync(&key, workspace, sizeof(key), cudaMemcpyDefault, s) != cudaSuccess ||
      cudaStreamSynchronize(s) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  const crnn::DeviceError e = crnn::decode_device_error(key);
  if (error_index) *error_index = e.index;
  if (error_frame) *error_frame = e.frame;
  return static_cast<crnn_status_t>(e.status);
}
