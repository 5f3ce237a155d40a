// The LSTM recurrence plan shared by the CUDA forward and backward (lstm_forward.cu,
// lstm_backward.cu): the hidden units of each direction are split over blocks, each block
// keeping its slice of W_hh (every gate's rows for its units: 4 x units x H floats) in shared
// memory across time steps.
//   persistent  one cooperative launch runs every step, a grid-wide sync between steps, both
//               directions at once (blocks [0, n) forward, [n, 2n) reverse); taken when the
//               slice fits 48 KB of shared memory and every block can be co-resident
//   per-step    otherwise (or CRNN_FAST_LSTM_RECURRENCE=per_step): one launch per step (the
//               backward: two), W_hh read from global memory (L2)
// For the CRNN shapes (H = 256, bidirectional, B <= 256) on an H100 (132 SMs): 4 units per
// block, 64 blocks per direction, the persistent path.
#pragma once

#include <stdlib.h>
#include <string.h>

#include "crnn/lstm.h"
#include "cuda_common.cuh"

namespace crnn {
namespace CRNN_CUDA_NS {

constexpr int kRecThreads = 128;
constexpr size_t kRecSharedBytes = 48 * 1024;

struct RecPlan {
  int units;           // hidden units per block
  int blocks_per_dir;  // ceil(H / units)
  bool persistent;
  size_t shared_bytes;  // the W_hh slice (persistent path)
};

// Blocks of `kernel` that can be resident at once on the current device (0: unknown).
template <typename Kernel>
int coresident_blocks(Kernel kernel, int threads, size_t shared_bytes) {
#if CRNN_SIMT_EMU
  (void)kernel;
  (void)shared_bytes;
  return simt::max_cooperative_blocks(threads);
#else
  int dev = 0, sms = 0, coop = 0, per_sm = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, dev) != cudaSuccess || !coop ||
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared_bytes) !=
          cudaSuccess)
    return 0;
  return sms * per_sm;
#endif
}

inline bool per_step_forced() {
  const char *v = getenv("CRNN_FAST_LSTM_RECURRENCE");
  return v && strcmp(v, "per_step") == 0;
}

// Units per block: as few as fill the co-resident blocks (more blocks share the per-step work),
// but no more than the shared-memory slice holds.
template <typename Kernel>
RecPlan plan_recurrence(Kernel kernel, int64_t H, int64_t D) {
  const int64_t fit = kRecSharedBytes / (4 * H * sizeof(float));
  const int slots = coresident_blocks(kernel, kRecThreads, kRecSharedBytes);
  RecPlan p{};
  const int64_t per_dir = slots > 0 ? slots / D : 0;
  int64_t units = per_dir > 0 ? (H + per_dir - 1) / per_dir : H;
  if (units < 1) units = 1;
  p.persistent = !per_step_forced() && fit >= 1 && per_dir > 0 && units <= fit;
  if (!p.persistent) units = H < 32 ? H : 32;  // per-step: W from global, enough blocks
  p.units = static_cast<int>(units);
  p.blocks_per_dir = static_cast<int>((H + units - 1) / units);
  p.shared_bytes = p.persistent ? size_t(4) * units * H * sizeof(float) : 0;
  if (p.persistent && D * p.blocks_per_dir > slots) p.persistent = false, p.shared_bytes = 0;
  return p;
}

// The sizes a CUDA LSTM call takes (the pointers are checked by each entry).
inline bool lstm_desc_ok(const crnn_lstm_desc *d) {
  return d && d->T > 0 && d->B > 0 && d->I > 0 && d->H > 0 && d->num_layers > 0 &&
         d->T <= kDeviceMaxFrames && d->B <= INT32_MAX;
}

// Frames of sample b: seq_length[b] (or T), clamped to [0, T]; check_length records a
// seq_length outside it (the init kernels call it once per sample).
__device__ __forceinline__ int64_t length_of(const int32_t *seq, int64_t b, int64_t T) {
  const int64_t n = seq ? seq[b] : T;
  return n < 0 ? 0 : (n > T ? T : n);
}
__device__ __forceinline__ void check_length(unsigned long long *record, const int32_t *seq,
                                             int64_t b, int64_t T) {
  if (seq && (seq[b] < 0 || seq[b] > T))
    record_error(record, false, b, -1, CRNN_STATUS_INVALID_VALUE);
}

// Frame of the k-th step of direction d for a sample of `len` frames.
__device__ __forceinline__ int64_t step_frame(int d, int64_t k, int64_t len) {
  return d == 0 ? k : len - 1 - k;
}

}  // namespace CRNN_CUDA_NS
}  // namespace crnn
