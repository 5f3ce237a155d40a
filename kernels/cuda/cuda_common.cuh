// Helpers shared by the CUDA kernels (through the portability layer simt.h, so they also run
// on the SIMT executor): warp reductions, the error record (common/device_error.h), the
// workspace carve-up and the mapping of CUDA errors to crnn_status_t.
#pragma once

#include "../common/device_error.h"
#include "crnn/status.h"
#include "simt.h"

namespace crnn {
namespace CRNN_CUDA_NS {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarp = 32;

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) {
    const T w = __shfl_xor_sync(kFullMask, v, o);
    v = w > v ? w : v;
  }
  return v;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

// Records a failure of sample b (device_error.h); the lowest key wins.
__device__ __forceinline__ void record_error(unsigned long long *record, bool value_error,
                                             int64_t b, int64_t frame, int status,
                                             bool deferred = false) {
  atomicMin(record, static_cast<unsigned long long>(
                        device_error_key(value_error, b, frame, status, deferred)));
}

// Carves aligned buffers out of a workspace, after the error record.
struct Carve {
  char *base;
  size_t used = kDeviceErrorBytes;
  template <typename T>
  T *take(size_t count) {
    T *p = base ? reinterpret_cast<T *>(base + used) : nullptr;
    used += (count * sizeof(T) + 255) / 256 * 256;
    return p;
  }
};

inline unsigned long long *error_record(void *workspace) {
  return static_cast<unsigned long long *>(workspace);
}

// Clears the record on the stream, before the kernels that may write it.
inline cudaError_t clear_error_record(void *workspace, cudaStream_t stream) {
  return cudaMemsetAsync(workspace, 0xFF, sizeof(unsigned long long), stream);
}

inline crnn_status_t launched(cudaError_t e) {
  return e == cudaSuccess ? CRNN_STATUS_SUCCESS : CRNN_STATUS_EXECUTION_FAILED;
}

inline unsigned blocks_for(int64_t n, int per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

}  // namespace CRNN_CUDA_NS
}  // namespace crnn
