// CTC per-state math shared by every backend (CPU, CUDA, Ascend): the extended label
// sequence l' = (blank, l0, blank, l1, ..., blank) of length Sp = 2L+1, the skip rule,
// feasibility, the band of reachable states, one alpha / beta recursion step, the final
// log-likelihood, and the value rule for scores (-inf is probability 0).
//
// Recursion layout (log space, one row per frame, T = float or double):
//   alpha row   a[0] = a[1] = -inf, a[s + 2] = alpha_t(s) for 0 <= s < Sp, then -inf pad:
//               the two leading -inf make s-1 and s-2 valid indices for every state;
//   beta row    b[s] = beta_t(s) (frame t's own emission excluded), then >= 2 -inf pad;
//   logy row    logy[s] = log y_t(l'_s), the log-softmax of the state's class, -inf pad;
//   skip mask   skip[s] = 0 when s-2 -> s is allowed (ctc_can_skip), else -inf, -inf pad.
// A backend may store only the band of each row (ctc_band); states outside it are -inf.
#pragma once

#include <stdint.h>

#include "crnn/ctc_decode.h"
#include "fast_math.h"
#include "hostdevice.h"

namespace crnn {

// Class of extended state s (0 <= s < 2L+1).
CRNN_HD_INLINE int32_t ctc_state_class(const int32_t *label, int64_t s, int32_t blank) {
  return (s & 1) ? label[s >> 1] : blank;
}

// True when a path may jump from state s-2 to state s (s is a label state whose label
// differs from the previous label; a blank state or a repeated label needs a blank between).
CRNN_HD_INLINE bool ctc_can_skip(const int32_t *label, int64_t s) {
  return (s & 1) && s >= 2 && label[s >> 1] != label[(s >> 1) - 1];
}

// The skip mask entry of state s (0 <= s, pad lanes s >= Sp included): 0 or -inf.
template <typename T>
CRNN_HD_INLINE T ctc_skip_mask(const int32_t *label, int64_t s, int64_t Sp) {
  return s < Sp && ctc_can_skip(label, s) ? T(0) : neg_inf<T>();
}

// Length of a label row of S entries padded at its end with blank or -1 (MindOCR pads with
// blank = C-1): the index of its first padding value (S when none). *bad is the index of the
// first entry that makes the row invalid (a class outside [0, C), or a class after the padding),
// else -1.
CRNN_HD_INLINE int64_t ctc_label_length_from_padding(const int32_t *row, int64_t S, int64_t C,
                                                     int32_t blank, int64_t *bad) {
  int64_t n = S;
  *bad = -1;
  for (int64_t j = 0; j < S; ++j) {
    const int32_t v = row[j];
    const bool pad = v == blank || v == -1;
    if (pad && n == S) n = j;
    if (pad || (v >= 0 && v < C && n == S)) continue;
    *bad = j;
    break;
  }
  return n;
}

// Fewest frames that can emit `label`: its length plus one blank per adjacent repeat.
CRNN_HD_INLINE int64_t ctc_min_frames(const int32_t *label, int64_t L) {
  int64_t n = L;
  for (int64_t i = 1; i < L; ++i) n += label[i] == label[i - 1];
  return n;
}

// States [lo, hi) that can lie on a complete path at frame t of Tb frames: reachable from
// the start (s < 2(t + 1)) and still able to reach a final state in the Tb - 1 - t frames
// left (s >= Sp - 2(Tb - t)), clamped to [0, Sp). Empty (lo >= hi) only for an infeasible
// sample.
struct CtcBand {
  int64_t lo, hi;
};
CRNN_HD_INLINE CtcBand ctc_band(int64_t t, int64_t Tb, int64_t Sp) {
  const int64_t lo = Sp - 2 * (Tb - t), hi = 2 * (t + 1);
  return {lo < 0 ? 0 : lo, hi > Sp ? Sp : hi};
}

// First frame states: alpha_0(s) = logy_0(s) for s < 2 (blank or the first label), else -inf.
CRNN_HD_INLINE bool ctc_is_start_state(int64_t s) {
  return s < 2;
}
// Last frame states: beta_{Tb-1}(s) = 0 (log 1) for s >= Sp - 2, else -inf.
CRNN_HD_INLINE bool ctc_is_final_state(int64_t s, int64_t Sp) {
  return s >= Sp - 2;
}

// alpha_t(s) = logy_t(s) + lse(alpha_{t-1}(s), alpha_{t-1}(s-1), alpha_{t-1}(s-2) if skip).
// prev is the padded alpha row of frame t-1 (prev[s + 2] is state s); ly, skip as above.
// An emission of -inf (probability 0) gives -inf, as do three -inf predecessors.
template <typename T>
CRNN_HD_INLINE T ctc_alpha_state(const T *prev, const T *ly, const T *skip, int64_t s) {
  return ly[s] + log_add_exp3(prev[s + 2], prev[s + 1], prev[s] + skip[s]);
}

// beta_t(s) = lse over s' in {s, s+1, s+2 if skip} of beta_{t+1}(s') + logy_{t+1}(s');
// next and ly are frame t+1's beta and logy rows (unpadded at the front, -inf pad at the end).
template <typename T>
CRNN_HD_INLINE T ctc_beta_state(const T *next, const T *ly, const T *skip, int64_t s) {
  return log_add_exp3(next[s] + ly[s], next[s + 1] + ly[s + 1],
                      next[s + 2] + ly[s + 2] + skip[s + 2]);
}

// log p(label | x) from the last alpha row (a = &alpha_row[2], i.e. a[s] = alpha_{Tb-1}(s)):
// the paths ending in the last label or the trailing blank. -inf when infeasible.
template <typename T>
CRNN_HD_INLINE T ctc_final_log_likelihood(const T *a, int64_t Sp) {
  return Sp > 1 ? log_add_exp(a[Sp - 1], a[Sp - 2]) : a[0];
}

// Occupancy gamma_t(s) = alpha_t(s) beta_t(s) / p, from log-space values whose row scales
// and -log p are folded into `offset`: 0 for a state of probability 0.
template <typename T>
CRNN_HD_INLINE T ctc_occupancy(T alpha, T beta, T offset) {
  return exp_fast<T>(alpha + beta + offset);
}

// log(exp(a) + exp(b)) with log1p (NumPy's logaddexp formula), exact for -inf operands: the
// decoders rank prefixes with it, so they match the float64 reference bit for bit.
CRNN_HD_INLINE double log_add_exp_exact(double a, double b) {
  if (a == neg_inf<double>()) return b;
  if (b == neg_inf<double>()) return a;
  return (a > b ? a : b) + log1p(exp(-fabs(a - b)));
}

// ---- The value rule for scores (status.h): -inf is probability 0 ------------------------
// A backend scans a frame's C scores (vectorized as it likes), summarises them as a
// CtcRowKind, then takes the decision here.
enum CtcRowKind : int {
  CTC_ROW_FINITE = 0,        // every element finite
  CTC_ROW_SOME_NEG_INF = 1,  // some -inf (probability 0), the rest finite
  CTC_ROW_ALL_NEG_INF = 2,   // every element -inf: no class has non-zero probability
  CTC_ROW_NAN_POS_INF = 3,   // a NaN or +inf
};

// Kind of a row from two scan results: a NaN or +inf was seen; an element above -inf was seen.
CRNN_HD_INLINE int ctc_row_kind(bool nan_or_pos_inf, bool some_above_neg_inf) {
  return nan_or_pos_inf       ? CTC_ROW_NAN_POS_INF
         : some_above_neg_inf ? CTC_ROW_SOME_NEG_INF
                              : CTC_ROW_ALL_NEG_INF;
}

// Kind of a row from three scan results (a backend that does not know beforehand that the row
// holds a non-finite value): also whether a -inf was seen.
CRNN_HD_INLINE int ctc_row_kind(bool nan_or_pos_inf, bool some_above_neg_inf, bool some_neg_inf) {
  return !nan_or_pos_inf && !some_neg_inf ? CTC_ROW_FINITE
                                          : ctc_row_kind(nan_or_pos_inf, some_above_neg_inf);
}

// Status of a row of kind `row` whose scores are given as `input_kind` (crnn_ctc_input_kind):
// -inf is probability 0 for logits and log-probs (a row of only -inf is NEG_INF_FRAME), a
// negative value (INVALID_VALUE) for probabilities; NaN and +inf are NONFINITE_INPUT.
CRNN_HD_INLINE int ctc_row_status(int row, int input_kind) {
  if (row == CTC_ROW_FINITE) return CRNN_STATUS_SUCCESS;
  if (row == CTC_ROW_NAN_POS_INF) return CRNN_STATUS_NONFINITE_INPUT;
  if (input_kind == CRNN_CTC_PROBS) return CRNN_STATUS_INVALID_VALUE;
  return row == CTC_ROW_ALL_NEG_INF ? CRNN_STATUS_NEG_INF_FRAME : CRNN_STATUS_SUCCESS;
}

// A probability score must be >= 0 (a finite row of probabilities may still hold negatives).
template <typename T>
CRNN_HD_INLINE bool ctc_prob_invalid(T x) {
  return x < T(0);
}

// Log-probability of a score x of a frame given as `input_kind`; lse is the frame's
// log-sum-exp for logits (unused otherwise). -inf stays -inf (probability 0).
CRNN_HD_INLINE double ctc_score_log_prob(float x, double lse, int input_kind) {
  return input_kind == CRNN_CTC_PROBS ? log_fast<double>(x)
                                      : (input_kind == CRNN_CTC_LOGITS ? double(x) - lse : x);
}

}  // namespace crnn
