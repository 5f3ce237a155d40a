// CTC loss with float16 / bfloat16 logits on the CPU (crnn_ctc_loss_f16 / _bf16, crnn/ctc_loss.h):
// the logits are widened (exactly) into a float32 copy in the workspace, the float32 kernel
// (ctc_loss.cpp) writes its gradient into a second float32 buffer there, and that is rounded
// to the narrow type (nearest even, common/narrow_float.h). Loss and value errors are the
// float32 kernel's. The conversions run on the thread pool in contiguous chunks.
#include "ctc_loss_narrow.h"

#include "../common/narrow_float.h"
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

constexpr int64_t kMinChunk = int64_t{1} << 16;  // elements per thread, at least

template <typename F>
void convert_parallel(int32_t num_threads, int64_t n, F fn) {
  const int nt = crnn::cpu::resolve_threads(num_threads, n / kMinChunk > 0 ? n / kMinChunk : 1);
  crnn::cpu::parallel_chunks(nt, n, fn);
}

template <typename S>
crnn_status_t ctc_loss_narrow(float *loss, uint16_t *grad, const uint16_t *logits,
                              const int32_t *labels, const int32_t *input_lengths,
                              const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                              int64_t S_, void *workspace, size_t workspace_bytes,
                              const crnn_ctc_loss_options *opt) {
  const bool sizes_ok = opt && T >= 0 && B >= 0 && C >= 2 && S_ >= 0;
  const int64_t n = sizes_ok ? T * B * C : 0;
  if (!sizes_ok || n == 0 || (B > 0 && !label_lengths))  // nothing to stage: the f32 checks
    return crnn_cpu_ctc_loss_f32(loss, nullptr, nullptr, labels, input_lengths, label_lengths, T, B,
                                 C, S_, workspace, workspace_bytes, opt);
  if (opt->error_index) *opt->error_index = -1;
  if (opt->error_frame) *opt->error_frame = -1;
  if (!logits) return CRNN_STATUS_INVALID_VALUE;
  // Staging sized by the call's longest label, as the float32 kernel sizes its scratch.
  int64_t L_max = 0;
  for (int64_t b = 0; b < B; ++b) L_max = label_lengths[b] > L_max ? label_lengths[b] : L_max;
  const size_t stage = crnn::cpu::ctc_narrow_staging_bytes(T, B, C);
  if (!workspace ||
      workspace_bytes < crnn_cpu_ctc_loss_workspace_size(T, B, C, L_max, sizeof(uint16_t), opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  float *x32 = static_cast<float *>(workspace);
  float *g32 = reinterpret_cast<float *>(static_cast<char *>(workspace) + stage / 2);
  const S *x = reinterpret_cast<const S *>(logits);
  convert_parallel(opt->num_threads, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) x32[i] = crnn::widen(x[i]);
  });
  const crnn_status_t st = crnn_cpu_ctc_loss_f32(
      loss, grad ? g32 : nullptr, x32, labels, input_lengths, label_lengths, T, B, C, S_,
      static_cast<char *>(workspace) + stage, workspace_bytes - stage, opt);
  if (st != CRNN_STATUS_SUCCESS || !grad) return st;
  S *g = reinterpret_cast<S *>(grad);
  convert_parallel(opt->num_threads, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) g[i] = crnn::narrow_to<S>(g32[i]);
  });
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

namespace crnn {
namespace cpu {

size_t ctc_narrow_staging_bytes(int64_t T, int64_t B, int64_t C) {
  return 2 * align_up(static_cast<size_t>(T * B * C) * sizeof(float));
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
