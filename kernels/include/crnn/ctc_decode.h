// CTC decoders (crnn_fast kernel C API; backends: CPU): greedy (best path) and prefix beam
// search, sharing crnn_ctc_decode_options.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

// How per-frame scores are given to the decoders.
typedef enum crnn_ctc_input_kind {
  CRNN_CTC_LOGITS = 0,     // raw scores: log-softmax is applied inside
  CRNN_CTC_PROBS = 1,      // probabilities (e.g. MindOCR eval-mode softmax output)
  CRNN_CTC_LOG_PROBS = 2,  // log-probabilities
} crnn_ctc_input_kind;

// Options shared by the greedy and prefix-beam-search decoders.
typedef struct crnn_ctc_decode_options {
  int32_t blank;
  int32_t input_kind;    // crnn_ctc_input_kind
  int32_t batch_first;   // 0: scores are (T, B, C); 1: (B, T, C)
  int32_t num_threads;   // <= 0: the CPU pool default (max_threads)
  int32_t beam_width;    // beam search only: beams kept per frame (>= 1)
  int32_t top_n;         // beam search only: sequences returned per sample (1..beam_width)
  int32_t top_k;         // beam search only: extend by the k best non-blank tokens (<= 0: all)
  float logp_cutoff;     // beam search only: skip extensions with log-prob below (-inf: off)
  int32_t *error_index;  // optional out: batch index of the first failing sample, else -1
  int32_t *error_frame;  // optional out: its failing frame (value errors), else -1
  int32_t device;        // crnn_device_t (0: CPU)
  void *stream;          // device stream (NULL: default; ignored on the CPU)
} crnn_ctc_decode_options;

// Greedy: argmax per frame, merge repeats, drop blank.
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
// -inf in probs; error_index gets the batch index, error_frame the frame. With probs a sample
// is scanned for negative values first: a negative anywhere in its frames read is the error
// reported, before a NaN / +inf in an earlier frame or the same one.

// Bytes of scratch the call needs (one row of C floats per thread).
size_t crnn_ctc_greedy_workspace_size(int64_t T, int64_t B, int64_t C,
                                      const crnn_ctc_decode_options *opt);

crnn_status_t crnn_ctc_greedy_f32(int32_t *ids, int32_t *lengths, float *probs, int32_t *frames,
                                  const float *scores, const int32_t *input_lengths, int64_t T,
                                  int64_t B, int64_t C, void *workspace, size_t workspace_bytes,
                                  const crnn_ctc_decode_options *opt);

// Prefix beam search, matching crnn_fast/reference/ctc_beam.py exactly.
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
