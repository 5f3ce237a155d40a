// The portability layer of the CUDA kernels: the few CUDA features they use, so that the same
// .cu source compiles with nvcc (CUDA itself) and with g++ (on the SIMT executor,
// kernels/simt/executor.h: a CPU test harness, not a CUDA implementation).
//
// Kernel bodies write plain CUDA (threadIdx, blockIdx, blockDim, gridDim, __syncthreads,
// __syncwarp, full-mask __shfl*_sync / __ballot_sync, atomicAdd / atomicMin / atomicMax)
// except for three things spelled through this header:
//   CRNN_SHARED_ARRAY(T, name, n)   a static shared array   (__shared__ T name[n])
//   CRNN_DYNAMIC_SHARED(T, name)    the dynamic shared array (extern __shared__)
//   crnn::simt::grid_sync()         a grid-wide barrier of a cooperative launch
// and launches go through launch() / launch_cooperative() below (kernel<<<...>>> under nvcc).
// The entry points are named CRNN_CUDA_ENTRY(name): crnn_cuda_<name> under nvcc and
// crnn_cuda_emu_<name> on the executor, and everything else lives in namespace
// crnn::CRNN_CUDA_NS (cuda / cuda_emu), so both builds link into one library.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__CUDACC__)
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#define CRNN_SIMT_EMU 0
#define CRNN_CUDA_NS cuda
#define CRNN_CUDA_ENTRY(name) crnn_cuda_##name
#define CRNN_SHARED_ARRAY(T, name, n) __shared__ T name[n]
#define CRNN_DYNAMIC_SHARED(T, name)                             \
  extern __shared__ __align__(16) unsigned char crnn_dyn_smem[]; \
  T *name = reinterpret_cast<T *>(crnn_dyn_smem)

namespace crnn {
namespace simt {
__device__ __forceinline__ void grid_sync() {
  cooperative_groups::this_grid().sync();
}
}  // namespace simt
}  // namespace crnn

#else  // the SIMT executor

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../simt/executor.h"

#define CRNN_SIMT_EMU 1
#define CRNN_CUDA_NS cuda_emu
#define CRNN_CUDA_ENTRY(name) crnn_cuda_emu_##name
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define CRNN_SHARED_ARRAY(T, name, n) \
  T *name = static_cast<T *>(::crnn::simt::shared_array(sizeof(T) * (n), alignof(T)))
#define CRNN_DYNAMIC_SHARED(T, name) T *name = static_cast<T *>(::crnn::simt::dynamic_shared())

using dim3 = ::crnn::simt::dim3;
#define threadIdx (::crnn::simt::this_thread().threadIdx)
#define blockIdx (::crnn::simt::this_thread().blockIdx)
#define blockDim (::crnn::simt::this_thread().blockDim)
#define gridDim (::crnn::simt::this_thread().gridDim)

typedef void *cudaStream_t;
typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorMemoryAllocation = 2,
  cudaErrorLaunchFailure = 719
} cudaError_t;
enum cudaMemcpyKind { cudaMemcpyDefault = 4 };

inline cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t = nullptr) {
  if (bytes) std::memset(p, v, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind,
                                   cudaStream_t = nullptr) {
  if (bytes) std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
  return cudaSuccess;
}
inline cudaError_t cudaMalloc(void **p, size_t bytes) {
  *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void *p) {
  std::free(p);
  return cudaSuccess;
}

inline void __syncthreads() {
  ::crnn::simt::sync_threads();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::crnn::simt::sync_warp(mask);
}

namespace crnn {
namespace simt {
inline void grid_sync() {
  sync_grid();
}
inline int lane_id() {
  return this_thread().linear % kWarpSize;
}
template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a scalar");
  uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}
template <typename T>
T from_bits(uint64_t u) {
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}
template <typename T>
T shfl(unsigned mask, T v, int src, int width, const char *what) {
  if (width != kWarpSize) src = -1;  // sub-warp widths are not modelled: fail the launch
  return from_bits<T>(shuffle(mask, to_bits(v), src, what));
}
}  // namespace simt
}  // namespace crnn

template <typename T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  return ::crnn::simt::shfl(mask, v, src & 31, width, "__shfl_sync");
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return ::crnn::simt::shfl(mask, v, ::crnn::simt::lane_id() ^ lane_mask, width, "__shfl_xor_sync");
}
template <typename T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::crnn::simt::lane_id();
  const int src = lane + int(delta) < 32 ? lane + int(delta) : lane;
  return ::crnn::simt::shfl(mask, v, src, width, "__shfl_down_sync");
}
template <typename T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = ::crnn::simt::lane_id();
  const int src = lane >= int(delta) ? lane - int(delta) : lane;
  return ::crnn::simt::shfl(mask, v, src, width, "__shfl_up_sync");
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  return ::crnn::simt::ballot(mask, pred != 0);
}
inline int __any_sync(unsigned mask, int pred) {
  return __ballot_sync(mask, pred) != 0;
}
inline int __all_sync(unsigned mask, int pred) {
  return __ballot_sync(mask, pred) == 0xffffffffu;
}

template <typename T>
T atomicAdd(T *p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v);
}
template <typename T>
T atomicMin(T *p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (v < old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}
template <typename T>
T atomicMax(T *p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load();
  while (v > old && !a.compare_exchange_weak(old, v)) {
  }
  return old;
}

#endif  // __CUDACC__

namespace crnn {
namespace CRNN_CUDA_NS {

// kernel<<<grid, block, shared_bytes, stream>>>(args...), returning the launch error.
template <typename... P, typename... A>
cudaError_t launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes,
                   cudaStream_t stream, A... args) {
#if CRNN_SIMT_EMU
  (void)stream;
  const std::string err =
      simt::launch({grid, block, shared_bytes, false}, [&] { kernel(args...); });
  if (err.empty()) return cudaSuccess;
  std::fprintf(stderr, "crnn_fast SIMT executor: %s\n", err.c_str());
  return cudaErrorLaunchFailure;
#else
  // clang-format off
  kernel<<<grid, block, shared_bytes, stream>>>(args...);
  // clang-format on
  return cudaGetLastError();
#endif
}

#if !CRNN_SIMT_EMU
template <typename... P, size_t... I>
cudaError_t cooperative_impl(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes,
                             cudaStream_t stream, std::tuple<P...> &params,
                             std::index_sequence<I...>) {
  void *argv[] = {static_cast<void *>(&std::get<I>(params))...};
  return cudaLaunchCooperativeKernel(reinterpret_cast<void *>(kernel), grid, block, argv,
                                     shared_bytes, stream);
}
#endif

// A cooperative launch: every block resident at once, so crnn::simt::grid_sync() may be used.
template <typename... P, typename... A>
cudaError_t launch_cooperative(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes,
                               cudaStream_t stream, A... args) {
#if CRNN_SIMT_EMU
  (void)stream;
  const std::string err = simt::launch({grid, block, shared_bytes, true}, [&] { kernel(args...); });
  if (err.empty()) return cudaSuccess;
  std::fprintf(stderr, "crnn_fast SIMT executor: %s\n", err.c_str());
  return cudaErrorLaunchFailure;
#else
  std::tuple<P...> params(args...);
  return cooperative_impl(kernel, grid, block, shared_bytes, stream, params,
                          std::index_sequence_for<P...>{});
#endif
}

}  // namespace CRNN_CUDA_NS
}  // namespace crnn
