// CTC greedy (best-path) decoding on the CPU: argmax per frame, merge repeats, drop blank.
//
// Layouts:
//   scores        (T, B, C), or (B, T, C) when opt->batch_first; logits, probs or
//                 log-probs as opt->input_kind says; probs must be >= 0 within the frames
//                 read (else INVALID_VALUE, error_index = the batch index)
//   input_lengths (B) int32 in [0, T], or NULL for all T
//   ids           (B, T) out int32: emitted class ids, padded with -1
//   lengths       (B)    out int32: number of emitted ids
//   probs         (B, T) out: per emitted id its frame's max probability (softmax max for
//                 logits), padded with 0; MindOCR's confidence is the mean of these
//   frames        (B, T) out int32: the frame index each id was emitted at, padded with -1
// Ties go to the lowest class index (as NumPy's argmax). Logits and log-probs may hold -inf
// (probability 0: never the argmax, 0 in the softmax). Among the frames read: NONFINITE_INPUT
// for NaN or +inf, NEG_INF_FRAME for a frame that is -inf for every class, INVALID_VALUE for
// -inf in probs; error_index gets the batch index, error_frame the frame.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Bytes of scratch the call needs (one row of C floats per thread).
size_t crnn_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                      const crnn_ctc_decode_options *opt);

crnn_status_t crnn_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs, int32_t *frames,
                                  const float *scores, const int32_t *input_lengths, int64_t T,
                                  int64_t B, int64_t C, void *workspace, size_t workspace_bytes,
                                  const crnn_ctc_decode_options *opt);

#ifdef __cplusplus
}
#endif
