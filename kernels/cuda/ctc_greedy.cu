// CTC greedy decoding, CUDA (crnn/ctc_decode.h; value errors: crnn_device_error_read).
//   frame_best     one warp per frame (t, b): the value rule (ctc_math.h), the argmax (ties to
//                  the lowest class) and its probability (softmax max for logits)
//   collapse       one warp per sample: drops blanks and repeats 32 frames at a time (ballot
//                  + prefix count), writes ids / probs / frames and the -1 / 0 padding
// No allocation, no host sync, no atomics outside the error record.
#include <math.h>

#include "../common/ctc_math.h"
#include "crnn/ctc_decode.h"
#include "cuda_common.cuh"
#include "cuda_kernels.h"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

constexpr int kRowWarps = 4;

struct Shape {
  int64_t T, B, C, frame_stride, sample_stride;  // scores[b * sample_stride + t * frame_stride]
};

__device__ __forceinline__ int64_t frames_of(const int32_t *input_lengths, int64_t b, int64_t T) {
  return input_lengths ? input_lengths[b] : T;
}

// best[t * B + b]: the argmax class, or -1 where the frame failed; pbest: its probability.
__global__ void __launch_bounds__(kRowWarps *kWarp)
    frame_best(int32_t *best, float *pbest, const float *scores, const int32_t *input_lengths,
               Shape z, int input_kind, unsigned long long *record) {
  const int64_t row = int64_t(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= z.T * z.B) return;
  const int64_t t = row / z.B, b = row % z.B;
  const int64_t Tb = frames_of(input_lengths, b, z.T);
  if (t >= Tb) return;  // past the sample (a bad length fails in collapse)
  const float *x = scores + b * z.sample_stride + t * z.frame_stride;
  float m = neg_inf<float>();
  int64_t arg = z.C;
  bool nan_or_pos_inf = false, above_neg_inf = false, some_neg_inf = false, negative = false;
  for (int64_t c = lane; c < z.C; c += kWarp) {
    const float v = x[c];
    nan_or_pos_inf |= !(v == v) || v == INFINITY;
    above_neg_inf |= v > neg_inf<float>();
    some_neg_inf |= v == neg_inf<float>();
    negative |= ctc_prob_invalid(v);
    if (v > m) m = v, arg = c;  // lane-ascending classes: the first max wins
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(kFullMask, m, o);
    const int64_t a2 = __shfl_xor_sync(kFullMask, arg, o);
    if (m2 > m || (m2 == m && a2 < arg)) m = m2, arg = a2;
  }
  nan_or_pos_inf = __any_sync(kFullMask, nan_or_pos_inf);
  above_neg_inf = __any_sync(kFullMask, above_neg_inf);
  some_neg_inf = __any_sync(kFullMask, some_neg_inf);
  negative = __any_sync(kFullMask, negative);
  int st = ctc_row_status(ctc_row_kind(nan_or_pos_inf, above_neg_inf, some_neg_inf), input_kind);
  // Probabilities: the CPU scans the whole sample for negatives (-inf included) before it reads
  // a frame, so a negative wins over NaN / +inf in its row and, deferred, in earlier rows.
  const bool probs = input_kind == CRNN_CTC_PROBS;
  if (probs && negative) st = CRNN_STATUS_INVALID_VALUE;
  float p = m;
  if (st == CRNN_STATUS_SUCCESS && input_kind == CRNN_CTC_LOGITS) {
    float s = 0;
    for (int64_t c = lane; c < z.C; c += kWarp) s += exp_fast<float>(x[c] - m);
    p = 1.0f / warp_sum(s);
  } else if (input_kind == CRNN_CTC_LOG_PROBS) {
    p = exp_fast<float>(m);
  }
  if (lane != 0) return;
  if (st != CRNN_STATUS_SUCCESS) {
    record_error(record, true, b, t, st, probs && !negative);
    best[t * z.B + b] = -1;
  } else {
    best[t * z.B + b] = static_cast<int32_t>(arg);
    pbest[t * z.B + b] = p;
  }
}

__global__ void __launch_bounds__(kRowWarps *kWarp)
    collapse(int32_t *ids, int32_t *lengths, float *probs, int32_t *frames, const int32_t *best,
             const float *pbest, const int32_t *input_lengths, Shape z, int32_t blank,
             unsigned long long *record) {
  const int64_t b = int64_t(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (b >= z.B) return;
  int64_t Tb = frames_of(input_lengths, b, z.T);
  if (Tb < 0 || Tb > z.T) {
    if (lane == 0) record_error(record, false, b, -1, CRNN_STATUS_INVALID_VALUE);
    Tb = 0;
  }
  bool failed = false;
  for (int64_t t = lane; t < Tb; t += kWarp) failed |= best[t * z.B + b] < 0;
  failed = __any_sync(kFullMask, failed);
  if (failed) Tb = 0;  // a failed sample decodes to nothing (the error record says why)
  int32_t *id_out = ids + b * z.T, *fr_out = frames + b * z.T;
  float *p_out = probs + b * z.T;
  int64_t n = 0;
  for (int64_t t0 = 0; t0 < Tb; t0 += kWarp) {
    const int64_t t = t0 + lane;
    int32_t id = -1, prev = -1;
    if (t < Tb) id = best[t * z.B + b];
    if (t > 0 && t < Tb) prev = best[(t - 1) * z.B + b];
    const bool emit = t < Tb && id != blank && id != prev;
    const unsigned mask = __ballot_sync(kFullMask, emit);
    if (emit) {
      const int64_t pos = n + __popc(mask & ((1u << lane) - 1u));
      id_out[pos] = id;
      p_out[pos] = pbest[t * z.B + b];
      fr_out[pos] = static_cast<int32_t>(t);
    }
    n += __popc(mask);
  }
  for (int64_t j = n + lane; j < z.T; j += kWarp) {
    id_out[j] = -1;
    p_out[j] = 0.0f;
    fr_out[j] = -1;
  }
  if (lane == 0) lengths[b] = static_cast<int32_t>(n);
}

size_t greedy_workspace(int64_t T, int64_t B) {
  Carve c{nullptr};
  c.take<int32_t>(T * B);
  c.take<float>(T * B);
  return c.used;
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn

extern "C" {

size_t CRNN_CUDA_ENTRY(ctc_greedy_workspace_size)(int64_t T, int64_t B, int64_t C,
                                                  const crnn_ctc_decode_options *opt) {
  (void)opt;
  if (T < 0 || T > crnn::kDeviceMaxFrames || B < 0 || B > INT32_MAX || C < 0) return 0;
  return crnn::CRNN_CUDA_NS::greedy_workspace(T, B);
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_greedy_f32)(int32_t *ids, int32_t *lengths, float *probs,
                                              int32_t *frames, const float *scores,
                                              const int32_t *input_lengths, int64_t T, int64_t B,
                                              int64_t C, void *workspace, size_t workspace_bytes,
                                              const crnn_ctc_decode_options *opt) {
  using namespace crnn::CRNN_CUDA_NS;
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || T < 0 || T > crnn::kDeviceMaxFrames || B < 0 || B > INT32_MAX || C < 2 ||
      C > INT32_MAX || opt->blank < 0 || opt->blank >= C || opt->input_kind < CRNN_CTC_LOGITS ||
      opt->input_kind > CRNN_CTC_LOG_PROBS)
    return CRNN_STATUS_INVALID_VALUE;
  if (B > 0 && (!lengths || (T > 0 && (!ids || !probs || !frames || !scores))))
    return CRNN_STATUS_INVALID_VALUE;
  if (!workspace || workspace_bytes < greedy_workspace(T, B))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  cudaStream_t stream = static_cast<cudaStream_t>(opt->stream);
  if (clear_error_record(workspace, stream) != cudaSuccess) return CRNN_STATUS_EXECUTION_FAILED;
  if (B == 0) return CRNN_STATUS_SUCCESS;
  Carve c{static_cast<char *>(workspace)};
  int32_t *best = c.take<int32_t>(T * B);
  float *pbest = c.take<float>(T * B);
  const Shape z{T, B, C, opt->batch_first ? C : B * C, opt->batch_first ? T * C : C};
  unsigned long long *record = error_record(workspace);
  if (T * B > 0 &&
      launch(frame_best, dim3(blocks_for(T * B, kRowWarps)), dim3(kRowWarps * kWarp), 0, stream,
             best, pbest, scores, input_lengths, z, opt->input_kind, record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  if (launch(collapse, dim3(blocks_for(B, kRowWarps)), dim3(kRowWarps * kWarp), 0, stream, ids,
             lengths, probs, frames, best, pbest, input_lengths, z, opt->blank,
             record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
