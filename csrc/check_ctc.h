// One validation of the CTC ops' arguments (loss, greedy decode, prefix beam search), shared by
// the pybind11 bindings (bind_ctc_*.cpp), the MindSpore aot entries (aot_ctc.cpp) and, through
// `_C.check_ctc_targets` / `_C.check_ctc_beam_options`, the NumPy fallback and the MindSpore
// layers' host checks. Framework-free: raw pointers and sizes in, a Check out (no exceptions,
// no pybind11 or MindSpore types). Each layer turns a failed Check into its own error
// (ValueError, aot fail(INVALID_VALUE, ...)) with exactly this message.
// crnn_fast/_validate.py keeps a pure-NumPy copy with the same messages for when _C is missing
// (tests/test_validation_shared.py compares the two).
#pragma once

#include <stdint.h>

#include <string>

#include "check_common.h"

namespace crnn {
namespace check {

// Scores `name` of `shape` (text) with batch B, T frames and C classes: B, T >= 1, C >= 2.
Check ctc_scores_dims(const char *name, int64_t T, int64_t B, int64_t C, const std::string &shape);

// Blank rule of the NumPy API and bindings: -1 means C-1, else in [0, C).
Check ctc_blank(int64_t blank, int64_t C, int32_t *out);
// Blank rule of the MindSpore ops (config tensors): a negative blank counts from C.
Check ctc_blank_from_end(int64_t blank, int64_t C, int32_t *out);

// labels (B, S) row-major: labels[b, :label_lengths[b]] in [0, C) and != blank.
Check ctc_labels(const int32_t *labels, const int32_t *label_lengths, int64_t B, int64_t S,
                 int64_t C, int32_t blank);

// Label lengths (B,) from padding: a label ends at its first padding value (blank, as MindOCR
// pads, or -1); only padding may follow, and any other value outside [0, C) is an error.
Check ctc_label_lengths_from_padding(int32_t *lens, const int32_t *labels, int64_t B, int64_t S,
                                     int64_t C, int32_t blank);

// The targets of a CTC loss, after the blank is resolved: input_lengths in [0, T],
// label_lengths in [0, S], then the labels they select.
Check ctc_targets(const int32_t *labels, const int32_t *input_lengths, const int32_t *label_lengths,
                  int64_t T, int64_t B, int64_t C, int64_t S, int32_t blank);

// Decoder input kind by name ('logits', 'probs', 'log_probs') or by code (0, 1, 2).
Check ctc_input_kind(const std::string &kind, int32_t *out);
Check ctc_input_kind_code(int64_t code);

// Prefix beam search options: beam_width in [1, max_width], top_n in [1, beam_width],
// logp_cutoff not NaN.
Check ctc_beam_options(int64_t beam_width, int64_t top_n, double logp_cutoff, int64_t max_width);

}  // namespace check
}  // namespace crnn
