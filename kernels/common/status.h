// Status codes and option structs of the crnn_fast kernel ABI (all backends).
// Kernels never throw across the C boundary: they return a crnn_status_t and, when
// an option struct carries an `error_index`, write the offending batch index there (and, for
// CTC, the offending frame into `error_frame`).
//
// Score values (CTC loss logits, decoder scores given as logits or log-probabilities): -inf is
// probability 0 and accepted; NaN and +inf are NONFINITE_INPUT; a frame that is -inf for every
// class (no class has non-zero probability) is NEG_INF_FRAME. For probabilities, -inf is a
// negative value (INVALID_VALUE).
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum crnn_status_t {
  CRNN_STATUS_SUCCESS = 0,
  CRNN_STATUS_INVALID_VALUE = 1,        // a size, length, label or option out of range
  CRNN_STATUS_NONFINITE_INPUT = 2,      // NaN or +Inf (or -Inf where not a log-probability)
  CRNN_STATUS_WORKSPACE_TOO_SMALL = 3,  // workspace_bytes < *_workspace_size(...)
  CRNN_STATUS_EXECUTION_FAILED = 4,     // backend failure (kernel launch, thread pool)
  CRNN_STATUS_NOT_SUPPORTED = 5,        // backend or configuration not compiled in
  CRNN_STATUS_NEG_INF_FRAME = 6,        // a CTC frame is -inf for every class (error_frame)
} crnn_status_t;

static inline const char *crnn_status_string(crnn_status_t s) {
  switch (s) {
    case CRNN_STATUS_SUCCESS: return "success";
    case CRNN_STATUS_INVALID_VALUE: return "invalid value";
    case CRNN_STATUS_NONFINITE_INPUT: return "non-finite input (NaN or +Inf)";
    case CRNN_STATUS_WORKSPACE_TOO_SMALL: return "workspace too small";
    case CRNN_STATUS_EXECUTION_FAILED: return "execution failed";
    case CRNN_STATUS_NOT_SUPPORTED: return "not supported";
    case CRNN_STATUS_NEG_INF_FRAME:
      return "a frame is -inf for every class (no class has non-zero probability)";
  }
  return "unknown status";
}

// How per-frame scores are given to the decoders.
typedef enum crnn_ctc_input_kind {
  CRNN_CTC_LOGITS = 0,     // raw scores: log-softmax is applied inside
  CRNN_CTC_PROBS = 1,      // probabilities (e.g. MindOCR eval-mode softmax output)
  CRNN_CTC_LOG_PROBS = 2,  // log-probabilities
} crnn_ctc_input_kind;

// Options of the CTC loss. Zero-initialise, then set `blank`.
typedef struct crnn_ctc_loss_options {
  int32_t blank;          // blank class index, 0 <= blank < C (MindOCR: C-1)
  int32_t zero_infinity;  // infeasible sample: loss 0 instead of +inf (grad is 0 either way)
  int32_t num_threads;    // <= 0: the CPU pool default (max_threads)
  int32_t *error_index;   // optional out: batch index of the first failing sample, else -1
  int32_t *error_frame;   // optional out: its failing frame (value errors), else -1
} crnn_ctc_loss_options;

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
} crnn_ctc_decode_options;

#ifdef __cplusplus
}
#endif
