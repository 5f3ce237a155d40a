// Block-wide reductions and scans of the CUDA kernels (through the portability layer, so they
// also run on the SIMT executor). blockDim.x must be a multiple of 32; `red` is a shared array
// of kWarp slots of the value type; every thread of the block must call them (they contain
// __syncthreads) and every thread gets the result.
#pragma once

#include "cuda_common.cuh"

namespace crnn {
namespace CRNN_CUDA_NS {

struct OpSum {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct OpMax {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return b > a ? b : a;
  }
};
struct OpMin {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return b < a ? b : a;
  }
};
struct OpOr {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a | b;
  }
};

template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T *red) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFullMask, v, o));
  if (blockDim.x == kWarp) return v;  // one warp: every lane holds the result
  const int warp = threadIdx.x / kWarp, nw = blockDim.x / kWarp;
  if (threadIdx.x % kWarp == 0) red[warp] = v;
  __syncthreads();
  T r = red[0];
  for (int w = 1; w < nw; ++w) r = op(r, red[w]);
  __syncthreads();  // red is free again
  return r;
}

// Exclusive prefix sum of v over the block's threads; *total gets the sum.
__device__ __forceinline__ int64_t block_exclusive_scan(int64_t v, int64_t *red, int64_t *total) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, nw = blockDim.x / kWarp;
  int64_t inc = v;
  for (int o = 1; o < kWarp; o <<= 1) {
    const int64_t u = __shfl_up_sync(kFullMask, inc, o);
    if (lane >= o) inc += u;
  }
  if (lane == kWarp - 1) red[warp] = inc;
  __syncthreads();
  int64_t base = 0, sum = 0;
  for (int w = 0; w < nw; ++w) {
    if (w < warp) base += red[w];
    sum += red[w];
  }
  __syncthreads();
  *total = sum;
  return base + inc - v;
}

}  // namespace CRNN_CUDA_NS
}  // namespace crnn
