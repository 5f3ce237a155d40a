// CTC prefix beam search on the CPU, matching crnn_fast/reference/ctc_beam.py exactly.
//
// Layouts (row-major):
//   x             (T, B, C) float32, or (B, T, C) when opt->batch_first; logits, probs or
//                 log-probs as opt->input_kind says
//   input_lengths (B) int32 in [0, T], or NULL for all T
//   ids           (B, N, T) out int32, N = opt->top_n: ids[(b*N + n)*T + j] is the j-th label
//                 of the n-th best prefix of sample b, padded with -1
//   lengths       (B, N)    out int32: labels in each prefix (0 where it does not exist)
//   scores        (B, N)    out float64: log-probability of each prefix (sum over all its
//                 alignments kept by the search); -inf where fewer than N prefixes exist
// Prefixes are sorted by score, best first. A sample with input length 0 has one prefix, the
// empty one, with score 0.
//
// Options (crnn_ctc_decode_options): blank in [0, C); beam_width in [1, CRNN_CTC_BEAM_MAX_WIDTH];
// top_n in [1, beam_width]; top_k <= 0 extends by every non-blank token, else by the top_k most
// probable (ties: lower class index first); logp_cutoff drops extensions whose log-prob is
// below it (-inf: off; NaN: no extensions). The scores of one frame come first as log-probs:
// logits -> log-softmax; probs -> log (0 gives -inf); log_probs as given. A token of log-prob
// -inf (probability 0: a -inf logit or log-prob, a zero prob) never extends a prefix, and a
// prefix whose score becomes -inf is dropped, so every returned prefix has a finite score.
//
// Errors: INVALID_VALUE for bad sizes, options, NULL pointers or an input length outside
// [0, T] (error_index = that batch index) and for a negative value (-inf included) in `probs`
// input among the frames read; NONFINITE_INPUT for NaN or +inf among the frames read;
// NEG_INF_FRAME for a frame read (logits, log_probs) that is -inf for every class; value errors
// set error_index to the batch index and error_frame to the frame. WORKSPACE_TOO_SMALL.
// A failed sample's outputs are set to "no prefix" (-1, 0, NaN).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "../common/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Largest beam_width accepted: bounds the per-thread candidate array (~W^2 entries).
#define CRNN_CTC_BEAM_MAX_WIDTH 4096

// Bytes of scratch the call needs (one slice per thread: the prefix trie of 1 + T*beam_width
// nodes, its hash table, beams and candidates); 0 when the sizes or options are invalid.
size_t crnn_ctc_beam_search_workspace_size(int64_t T, int64_t B, int64_t C,
                                           const crnn_ctc_decode_options *opt);

/// \param [out] ids            (B, top_n, T) labels of each prefix, -1 padded
/// \param [out] lengths        (B, top_n) labels per prefix
/// \param [out] scores         (B, top_n) log-probability per prefix, -inf if absent
/// \param [in]  x              (T, B, C) or (B, T, C) per-frame scores, see input_kind
/// \param [in]  input_lengths  (B) frames per sample, or NULL for T
/// \param [in]  workspace      at least crnn_ctc_beam_search_workspace_size(T, B, C, opt) bytes
crnn_status_t crnn_ctc_beam_search_f32(int32_t *ids, int32_t *lengths, double *scores,
                                       const float *x, const int32_t *input_lengths, int64_t T,
                                       int64_t B, int64_t C, void *workspace,
                                       size_t workspace_bytes, const crnn_ctc_decode_options *opt);

#ifdef __cplusplus
}
#endif
