// CTC loss with float16 / bfloat16 logits on the CPU (crnn_ctc_loss_f16 / _bf16, crnn/ctc_loss.h):
// per chunk of samples, the logits are widened (exactly) into a float32 copy in the workspace,
// the float32 kernel (ctc_loss.cpp) writes its gradient into a second float32 buffer there, and
// that is rounded to the narrow type (nearest even, common/narrow_float.h). Loss and value
// errors are the float32 kernel's. Chunks keep the staging near 32 MB whatever B (staging the
// whole batch took 8 T*B*C bytes: 543 MB at T = 40, B = 256, C = 6625, page-faulted afresh by
// every call); the conversions are vectorized and run on the thread pool.
#include "ctc_loss_narrow.h"

#include <type_traits>

#include "../common/narrow_float.h"
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

constexpr int64_t kMinChunk = int64_t{1} << 16;  // elements per thread, at least

// The conversion loops (branch-free: vectorized in each SIMD clone).
CRNN_SIMD_CLONES void widen_f16(float *__restrict y, const uint16_t *__restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = crnn::half_bits_to_float(x[i]);
}
CRNN_SIMD_CLONES void widen_bf16(float *__restrict y, const uint16_t *__restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = crnn::bf16_bits_to_float(x[i]);
}
CRNN_SIMD_CLONES void narrow_f16(uint16_t *__restrict y, const float *__restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = crnn::float_to_half_bits(x[i]);
}
CRNN_SIMD_CLONES void narrow_bf16(uint16_t *__restrict y, const float *__restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = crnn::float_to_bf16_bits(x[i]);
}

// Samples per chunk: float32 staging up to about kStageBytes, at least 4 samples per thread,
// at most B, and the chunks of a batch equal but for the last.
constexpr int64_t kStageBytes = int64_t{32} << 20;

int64_t chunk_samples(int64_t T, int64_t B, int64_t C, const crnn_ctc_loss_options *opt) {
  const int nt = crnn::cpu::resolve_threads(opt ? opt->num_threads : 0, B);
  const int64_t per_sample = T * C * 2 * static_cast<int64_t>(sizeof(float));
  int64_t n = per_sample > 0 ? kStageBytes / per_sample : B;
  n = n > 4 * nt ? n : 4 * nt;
  n = n < B ? n : B;
  const int64_t chunks = (B + n - 1) / n;
  return (B + chunks - 1) / chunks;  // equal chunks: 16 samples as 8 + 8, not 15 + 1
}

size_t stage_bytes(int64_t T, int64_t Bc, int64_t C) {  // one float32 (T, Bc, C) buffer
  return crnn::cpu::align_up(static_cast<size_t>(T * Bc * C) * sizeof(float));
}

// fn(dst offset, src offset, count) over the (T, nb, C) chunk of samples [b0, b0 + nb) of the
// (T, B, C) tensor (frame t of the chunk is contiguous in both), split over the pool.
template <typename F>
void over_chunk(int32_t num_threads, int64_t T, int64_t B, int64_t C, int64_t b0, int64_t nb,
                F fn) {
  const int64_t row = nb * C, n = T * row;
  const int nt = crnn::cpu::resolve_threads(num_threads, n / kMinChunk > 0 ? n / kMinChunk : 1);
  crnn::cpu::parallel_chunks(nt, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1;) {
      const int64_t t = i / row, r = i - t * row, len = i1 - i < row - r ? i1 - i : row - r;
      fn(i, (t * B + b0) * C + r, len);
      i += len;
    }
  });
}

// The float32 kernel on chunks of samples: widen a chunk's logits, run it (loss straight into
// `loss`, grad into float32 staging), round the grad into place. Arguments are checked for the
// whole batch first (as the float32 call does); value errors report the lowest failing sample.
template <typename S>
crnn_status_t ctc_loss_narrow(float *loss, uint16_t *grad, const uint16_t *logits,
                              const int32_t *labels, const int32_t *input_lengths,
                              const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                              int64_t S_, void *workspace, size_t workspace_bytes,
                              const crnn_ctc_loss_options *opt) {
  const crnn_status_t args = crnn::cpu::ctc_loss_check_args(loss, logits, labels, input_lengths,
                                                            label_lengths, T, B, C, S_, opt);
  if (args != CRNN_STATUS_SUCCESS || B == 0) return args;
  int64_t L_max = 0;  // the scratch is sized by the longest label read, as in the float32 call
  for (int64_t b = 0; b < B; ++b) L_max = label_lengths[b] > L_max ? label_lengths[b] : L_max;
  if (!workspace || workspace_bytes < crnn::cpu::ctc_narrow_workspace_size(T, B, C, L_max, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const int64_t Bc = chunk_samples(T, B, C, opt);
  const size_t stage = stage_bytes(T, Bc, C);
  char *ws = static_cast<char *>(workspace);
  float *x32 = reinterpret_cast<float *>(ws), *g32 = reinterpret_cast<float *>(ws + stage);
  constexpr bool half = std::is_same<S, crnn::Half>::value;
  crnn_ctc_loss_options o = *opt;
  int32_t index = -1, frame = -1;
  o.error_index = &index;
  o.error_frame = &frame;
  crnn_status_t first = CRNN_STATUS_SUCCESS;
  for (int64_t b0 = 0; b0 < B; b0 += Bc) {
    const int64_t nb = B - b0 < Bc ? B - b0 : Bc;
    over_chunk(opt->num_threads, T, B, C, b0, nb, [&](int64_t dst, int64_t src, int64_t n) {
      (half ? widen_f16 : widen_bf16)(x32 + dst, logits + src, n);
    });
    const crnn_status_t st = crnn_cpu_ctc_loss_f32(
        loss + b0, grad ? g32 : nullptr, x32, labels + b0 * S_, input_lengths + b0,
        label_lengths + b0, T, nb, C, S_, ws + 2 * stage, workspace_bytes - 2 * stage, &o);
    if (st != CRNN_STATUS_SUCCESS && first == CRNN_STATUS_SUCCESS) {
      first = st;
      if (opt->error_index) *opt->error_index = index >= 0 ? static_cast<int32_t>(index + b0) : -1;
      if (opt->error_frame) *opt->error_frame = frame;
    }
    if (grad)
      over_chunk(opt->num_threads, T, B, C, b0, nb, [&](int64_t dst, int64_t src, int64_t n) {
        (half ? narrow_f16 : narrow_bf16)(grad + src, g32 + dst, n);
      });
  }
  return first;
}

}  // namespace

namespace crnn {
namespace cpu {

size_t ctc_narrow_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S,
                                 const crnn_ctc_loss_options *opt) {
  if (T < 0 || B <= 0 || S < 0 || C < 0) return 0;
  const int64_t Bc = chunk_samples(T, B, C, opt);
  return 2 * stage_bytes(T, Bc, C) + crnn_cpu_ctc_loss_workspace_size(T, Bc, C, S, 4, opt);
}

}  // namespace cpu
}  // namespace crnn

extern "C" {

crnn_status_t crnn_cpu_ctc_loss_f16(float *loss, uint16_t *grad, const uint16_t *logits,
                                    const int32_t *labels, const int32_t *input_lengths,
                                    const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                    int64_t S, void *workspace, size_t workspace_bytes,
                                    const crnn_ctc_loss_options *opt) {
  return ctc_loss_narrow<crnn::Half>(loss, grad, logits, labels, input_lengths, label_lengths, T, B,
                                     C, S, workspace, workspace_bytes, opt);
}

crnn_status_t crnn_cpu_ctc_loss_bf16(float *loss, uint16_t *grad, const uint16_t *logits,
                                     const int32_t *labels, const int32_t *input_lengths,
                                     const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                     int64_t S, void *workspace, size_t workspace_bytes,
                                     const crnn_ctc_loss_options *opt) {
  return ctc_loss_narrow<crnn::BFloat16>(loss, grad, logits, labels, input_lengths, label_lengths,
                                         T, B, C, S, workspace, workspace_bytes, opt);
}

}  // extern "C"
