// One validation of the CTC ops' arguments (see check_ctc.h).
#include "check_ctc.h"

#include <cmath>

#include "../kernels/common/ctc_math.h"

namespace crnn {
namespace check {
namespace {

Check fail(std::string msg) {
  return Check{std::move(msg)};
}

std::string str(int64_t v) {
  return std::to_string(v);
}

}  // namespace

Check ctc_scores_dims(const char *name, int64_t T, int64_t B, int64_t C, const std::string &shape) {
  const std::string n(name);
  if (B <= 0) return fail(n + " has an empty batch (B = 0), shape " + shape);
  if (T <= 0) return fail(n + " has no frames (T = 0), shape " + shape);
  if (C < 2) return fail(n + " needs C >= 2 classes (blank + 1), shape " + shape);
  return ok();
}

Check ctc_blank(int64_t blank, int64_t C, int32_t *out) {
  const int64_t b = blank == -1 ? C - 1 : blank;
  if (b < 0 || b >= C)
    return fail("blank must be in [0, C) = [0, " + str(C) + "), got " + str(blank));
  *out = static_cast<int32_t>(b);
  return ok();
}

Check ctc_blank_from_end(int64_t blank, int64_t C, int32_t *out) {
  const int64_t b = blank < 0 ? C + blank : blank;
  if (b < 0 || b >= C)
    return fail("blank must be in [0, C = " + str(C) + ") or -C..-1, got " + str(blank));
  *out = static_cast<int32_t>(b);
  return ok();
}

Check ctc_labels(const int32_t *labels, const int32_t *label_lengths, int64_t B, int64_t S,
                 int64_t C, int32_t blank) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < label_lengths[b]; ++j) {
      const int32_t v = labels[b * S + j];
      if (v >= 0 && v < C && v != blank) continue;
      return fail("labels[" + str(b) + ", " + str(j) + "] = " + str(v) +
                  (v == blank ? " equals blank" : " is outside [0, C)") + " (C = " + str(C) +
                  ", blank = " + str(blank) + "); only labels[b, :label_lengths[b]] are read");
    }
  return ok();
}

Check ctc_label_lengths_from_padding(int32_t *lens, const int32_t *labels, int64_t B, int64_t S,
                                     int64_t C, int32_t blank) {
  for (int64_t b = 0; b < B; ++b) {
    const int32_t *row = labels + b * S;
    int64_t j = -1;
    const int64_t n = ctc_label_length_from_padding(row, S, C, blank, &j);
    if (j >= 0) {
      const int32_t v = row[j];
      const std::string at = "labels[" + str(b) + ", " + str(j) + "] = " + str(v);
      if (v < 0 || v >= C)
        return fail(at + " is outside [0, C) (C = " + str(C) + ", blank = " + str(blank) +
                    "); pad labels at the end with blank = " + str(blank) + " (or -1)");
      return fail(at + " follows padding at position " + str(n) +
                  " (pad with blank = " + str(blank) + " only at the end)");
    }
    lens[b] = static_cast<int32_t>(n);
  }
  return ok();
}

Check ctc_targets(const int32_t *labels, const int32_t *input_lengths, const int32_t *label_lengths,
                  int64_t T, int64_t B, int64_t C, int64_t S, int32_t blank) {
  Check c = lengths(input_lengths, B, T, "input_lengths", "T");
  if (c.ok()) c = lengths(label_lengths, B, S, "label_lengths", "S");
  if (c.ok()) c = ctc_labels(labels, label_lengths, B, S, C, blank);
  return c;
}

Check ctc_input_kind(const std::string &kind, int32_t *out) {
  static const char *const kNames[] = {"logits", "probs", "log_probs"};  // CRNN_CTC_* order
  for (int32_t i = 0; i < 3; ++i)
    if (kind == kNames[i]) {
      *out = i;
      return ok();
    }
  return fail("input_kind must be 'logits', 'probs' or 'log_probs', got '" + kind + "'");
}

Check ctc_input_kind_code(int64_t code) {
  if (code < 0 || code > 2) return fail("input_kind must be 0, 1 or 2");
  return ok();
}

Check ctc_beam_options(int64_t beam_width, int64_t top_n, double logp_cutoff, int64_t max_width) {
  if (beam_width < 1) return fail("beam_width must be >= 1, got " + str(beam_width));
  if (beam_width > max_width)
    return fail("beam_width must be <= " + str(max_width) + ", got " + str(beam_width));
  if (top_n < 1 || top_n > beam_width)
    return fail("top_n must be in [1, beam_width = " + str(beam_width) + "], got " + str(top_n));
  if (std::isnan(logp_cutoff)) return fail("logp_cutoff must not be NaN");
  return ok();
}

}  // namespace check
}  // namespace crnn
