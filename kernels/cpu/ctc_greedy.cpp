// CTC greedy decoding (CPU). See crnn/ctc_decode.h for the contract.
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

CRNN_SIMD_CLONES int greedy_sample(int32_t *ids, int32_t *length, float *probs, int32_t *frames,
                                   const float *scores, int64_t Tb, int64_t T, int64_t frame_stride,
                                   int64_t C, const crnn_ctc_decode_options &opt, float *row,
                                   int64_t *bad_frame) {
  int32_t n = 0, prev = -1;
  for (int64_t t = 0; t < Tb; ++t) {
    const float *x = scores + t * frame_stride;
    int kind;
    int64_t arg;
    const float m = crnn::cpu::row_argmax(x, C, &arg, &kind);  // -inf classes are never chosen
    if (__builtin_expect(kind != crnn::CTC_ROW_FINITE, 0)) {
      const int st = crnn::ctc_row_status(kind, opt.input_kind);
      if (st != CRNN_STATUS_SUCCESS) {
        *bad_frame = t;
        return st;
      }
    }
    const int32_t id = static_cast<int32_t>(arg);
    if (id != opt.blank && id != prev) {  // not blank, not a repeat of the last frame
      float p = m;
      if (opt.input_kind == CRNN_CTC_LOGITS)
        p = 1.0f / crnn::cpu::row_exp_sum(x, C, m, row);
      else if (opt.input_kind == CRNN_CTC_LOG_PROBS)
        p = crnn::exp_fast<float>(m);
      ids[n] = id;
      probs[n] = p;
      frames[n] = static_cast<int32_t>(t);
      ++n;
    }
    prev = id;
  }
  *length = n;
  for (int64_t j = n; j < T; ++j) {
    ids[j] = -1;
    probs[j] = 0.0f;
    frames[j] = -1;
  }
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" size_t crnn_cpu_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                                     const crnn_ctc_decode_options *opt) {
  (void)T;
  if (B <= 0 || C < 0) return 0;
  return crnn::cpu::resolve_threads(opt ? opt->num_threads : 0, B) *
         crnn::cpu::align_up(C * sizeof(float));
}

extern "C" crnn_status_t crnn_cpu_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs,
                                                 int32_t *frames, const float *scores,
                                                 const int32_t *input_lengths, int64_t T, int64_t B,
                                                 int64_t C, void *workspace, size_t workspace_bytes,
                                                 const crnn_ctc_decode_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || T < 0 || B < 0 || C < 2 || opt->blank < 0 || opt->blank >= C ||
      opt->input_kind < CRNN_CTC_LOGITS || opt->input_kind > CRNN_CTC_LOG_PROBS)
    return CRNN_STATUS_INVALID_VALUE;
  if (B == 0) return CRNN_STATUS_SUCCESS;
  if (!lengths || (T > 0 && (!ids || !probs || !frames || !scores)))
    return CRNN_STATUS_INVALID_VALUE;
  if (input_lengths)
    for (int64_t b = 0; b < B; ++b)
      if (input_lengths[b] < 0 || input_lengths[b] > T) {
        if (opt->error_index) *opt->error_index = static_cast<int32_t>(b);
        return CRNN_STATUS_INVALID_VALUE;
      }
  if (!workspace || workspace_bytes < crnn_cpu_ctc_greedy_workspace_size(T, B, C, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const int64_t frame_stride = opt->batch_first ? C : B * C;
  const int64_t sample_stride = opt->batch_first ? T * C : C;
  const int nt = crnn::cpu::resolve_threads(opt->num_threads, B);
  const size_t row_bytes = crnn::cpu::align_up(C * sizeof(float));
  crnn::cpu::FirstError err;
  crnn::cpu::parallel_for(nt, B, false, [&](int64_t b, int tid) {
    const int64_t Tb = input_lengths ? input_lengths[b] : T;
    if (opt->input_kind == CRNN_CTC_PROBS)  // probabilities must be >= 0, as in the beam search
      for (int64_t t = 0; t < Tb; ++t)
        for (int64_t c = 0; c < C; ++c)
          if (crnn::ctc_prob_invalid(scores[b * sample_stride + t * frame_stride + c])) {
            err.record(b, CRNN_STATUS_INVALID_VALUE, t);
            return;
          }
    int64_t bad_frame = -1;
    const int st = greedy_sample(
        ids + b * T, lengths + b, probs + b * T, frames + b * T, scores + b * sample_stride, Tb, T,
        frame_stride, C, *opt,
        reinterpret_cast<float *>(static_cast<char *>(workspace) + tid * row_bytes), &bad_frame);
    if (st != CRNN_STATUS_SUCCESS) err.record(b, st, bad_frame);
  });
  if (err.failed()) return err.report(opt->error_index, opt->error_frame);
  return CRNN_STATUS_SUCCESS;
}
