// Host/device qualifiers shared by the CPU (g++), CUDA (nvcc) and Ascend C (bisheng) builds.
// On the host CRNN_HD expands to nothing, so the same scalar math compiles in both.
// Tag only code that nvcc compiles (tests/cuda/common_headers_check.cu checks it): host-only
// inline helpers (GCC vector extensions, BLAS, the thread pool) use CRNN_CPU_INLINE
// (cpu/cpu_common.h).
#pragma once

#if defined(__CUDACC__)
#define CRNN_HD __host__ __device__
#define CRNN_HD_INLINE __host__ __device__ __forceinline__
#elif defined(__CCE_AICORE__)  // bisheng compiling an Ascend C kernel (never built here)
#define CRNN_HD __aicore__
#define CRNN_HD_INLINE __aicore__ inline
#else
#define CRNN_HD
#define CRNN_HD_INLINE inline __attribute__((always_inline))
#endif
