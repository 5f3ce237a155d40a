// MindSpore aot entry points of the CTC loss (+ gradient) and the greedy decoder.
//
// crnn_aot_ctc_loss inputs:
//   0 logits (T, B, C) float32 (raw scores)
//   1 labels (B, S) int32
//   2 input_lengths (B,) int32 (read only when config[2] = 1; else every sample has T frames)
//   3 label_lengths (B,) int32 (read only when config[3] = 1; else each label ends at its
//     first padding value: blank (MindOCR pads with C-1 = blank) or -1; other values outside
//     [0, C) are an error)
//   4 config (4,) int32: blank (negative: C + blank), zero_infinity, has_input_lengths,
//   has_label_lengths
// outputs: 5 loss (B,) float32, 6 grad (T, B, C) float32 = d loss[b] / d logits[t, b, :].
// Value rule of the kernels (status.h): -inf logits / log-probs are probability 0; NaN, +inf or
// a frame that is -inf for every class fail with a message naming the batch index (and frame).
//
// crnn_aot_ctc_greedy inputs:
//   0 scores (T, B, C) float32, or (B, T, C) when config[2] = 1
//   1 input_lengths (B,) int32 (read only when config[3] = 1)
//   2 config (4,) int32: blank (negative: C + blank), input_kind (0 logits, 1 probs, 2 log-probs),
//   batch_first,
//     has_input_lengths
// outputs: 3 ids (B, T) int32 padded with -1, 4 lengths (B,) int32, 5 probs (B, T) float32.
#include "../kernels/cpu/ctc_greedy.h"
#include "../kernels/cpu/ctc_loss.h"
#include "aot_util.h"

namespace crnn {
namespace aot {
namespace {

// Label lengths from padding: a label ends at its first padding value (blank, as MindOCR pads,
// or -1); only padding may follow, and any other value outside [0, C) is an error. Same rules
// and messages as crnn_fast._validate.label_lengths_from_padding.
void derive_label_lengths(int32_t *lens, const int32_t *labels, int64_t B, int64_t S, int64_t C,
                          int32_t blank) {
  for (int64_t b = 0; b < B; ++b) {
    const int32_t *row = labels + b * S;
    int64_t n = S;
    for (int64_t j = 0; j < S; ++j) {
      const int32_t v = row[j];
      const bool pad = v == blank || v == -1;
      if (pad && n == S) n = j;
      if (pad) continue;
      if (v >= 0 && v < C && n == S) continue;
      const std::string at =
          "labels[" + std::to_string(b) + ", " + std::to_string(j) + "] = " + std::to_string(v);
      require(v >= 0 && v < C,
              at + " is outside [0, C) (C = " + std::to_string(C) +
                  ", blank = " + std::to_string(blank) +
                  "); pad labels at the end with blank = " + std::to_string(blank) + " (or -1)");
      require(false, at + " follows padding at position " + std::to_string(n) +
                         " (pad with blank = " + std::to_string(blank) + " only at the end)");
    }
    lens[b] = static_cast<int32_t>(n);
  }
}

}  // namespace
}  // namespace aot
}  // namespace crnn

CRNN_AOT_EXPORT int crnn_aot_ctc_loss(int nparam, void **params, int *ndims, int64_t **shapes,
                                      const char **dtypes, void *, void *) {
  using namespace crnn::aot;
  return guarded("ctc_loss", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes};
    require(a.n == 7, "expected 7 tensors (5 inputs, 2 outputs), got " + std::to_string(a.n));
    a.expect(0, "logits", "float32", 3, "(T, B, C)");
    a.expect(1, "labels", "int32", 2, "(B, S)");
    a.expect(4, "config", "int32", 1, "(4,)");
    a.expect_dims(4, "config", {4});
    const int64_t T = a.dim(0, 0), B = a.dim(0, 1), C = a.dim(0, 2), S = a.dim(1, 1);
    require(B >= 1, "logits has an empty batch (B = 0), shape " + a.shape(0));
    require(C >= 2, "logits needs C >= 2 classes (blank + 1), shape " + a.shape(0));
    a.expect_dims(1, "labels", {B, S});
    const int32_t *cfg = a.ptr<int32_t>(4);
    const int64_t blank64 = cfg[0] < 0 ? C + cfg[0] : cfg[0];  // negative: counted from C
    const int32_t blank = static_cast<int32_t>(blank64);
    require(blank64 >= 0 && blank64 < C, "blank must be in [0, C = " + std::to_string(C) +
                                             ") or -C..-1, got " + std::to_string(cfg[0]));
    const int32_t *labels = a.ptr<int32_t>(1);
    const int32_t *in_len = nullptr;
    if (cfg[2]) {
      a.expect(2, "input_lengths", "int32", 1, "(B,)");
      a.expect_dims(2, "input_lengths", {B});
      in_len = a.ptr<int32_t>(2);
    } else {
      int32_t *t = int_scratch(2 * static_cast<size_t>(B)) + B;
      for (int64_t b = 0; b < B; ++b) t[b] = static_cast<int32_t>(T);
      in_len = t;
    }
    const int32_t *lab_len = nullptr;
    if (cfg[3]) {
      a.expect(3, "label_lengths", "int32", 1, "(B,)");
      a.expect_dims(3, "label_lengths", {B});
      lab_len = a.ptr<int32_t>(3);
    } else {
      int32_t *l = int_scratch(2 * static_cast<size_t>(B));
      derive_label_lengths(l, labels, B, S, C, blank);
      lab_len = l;
    }
    const char *what = nullptr;
    const int64_t bad = crnn_ctc_check_targets(labels, in_len, lab_len, T, B, C, S, blank, &what);
    if (bad >= 0) {
      std::string msg = std::string(what) + " is invalid at batch index " + std::to_string(bad);
      if (std::string(what) == "labels")
        msg += ": labels must be in [0, C = " + std::to_string(C) +
               ") and != blank = " + std::to_string(blank);
      fail(CRNN_STATUS_INVALID_VALUE, msg);
    }
    a.expect(5, "loss", "float32", 1, "(B,)");
    a.expect_dims(5, "loss", {B});
    a.expect(6, "grad", "float32", 3, "(T, B, C)");
    a.expect_dims(6, "grad", {T, B, C});
    int32_t err = -1, err_frame = -1;
    crnn_ctc_loss_options opt{};
    opt.blank = blank;
    opt.zero_infinity = cfg[1];
    opt.error_index = &err;
    opt.error_frame = &err_frame;
    int64_t L_max = 0;  // the scratch is sized by the longest label, not the padded width S
    for (int64_t b = 0; b < B; ++b) L_max = lab_len[b] > L_max ? lab_len[b] : L_max;
    const size_t ws = crnn_ctc_loss_workspace_size(T, B, C, L_max, sizeof(float), &opt);
    const crnn_status_t st =
        crnn_ctc_loss_f32(a.ptr<float>(5), a.ptr<float>(6), a.ptr<float>(0), labels, in_len,
                          lab_len, T, B, C, S, scratch(ws), ws, &opt);
    const bool value_error = st == CRNN_STATUS_NONFINITE_INPUT || st == CRNN_STATUS_NEG_INF_FRAME;
    check_status(st, err, value_error ? "logits" : "CTC loss", err_frame);
  });
}

CRNN_AOT_EXPORT int crnn_aot_ctc_greedy(int nparam, void **params, int *ndims, int64_t **shapes,
                                        const char **dtypes, void *, void *) {
  using namespace crnn::aot;
  return guarded("ctc_greedy", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes};
    require(a.n == 6, "expected 6 tensors (3 inputs, 3 outputs), got " + std::to_string(a.n));
    a.expect(2, "config", "int32", 1, "(4,)");
    a.expect_dims(2, "config", {4});
    const int32_t *cfg = a.ptr<int32_t>(2);
    const bool batch_first = cfg[2] != 0;
    a.expect(0, "scores", "float32", 3, batch_first ? "(B, T, C)" : "(T, B, C)");
    const int64_t T = a.dim(0, batch_first ? 1 : 0), B = a.dim(0, batch_first ? 0 : 1),
                  C = a.dim(0, 2);
    require(B >= 1 && T >= 1, "scores must have B, T >= 1, got shape " + a.shape(0));
    require(C >= 2, "scores needs C >= 2 classes (blank + 1), shape " + a.shape(0));
    const int64_t blank = cfg[0] < 0 ? C + cfg[0] : cfg[0];  // negative: counted from C
    require(blank >= 0 && blank < C, "blank must be in [0, C = " + std::to_string(C) +
                                         ") or -C..-1, got " + std::to_string(cfg[0]));
    require(cfg[1] >= 0 && cfg[1] <= 2, "input_kind must be 0, 1 or 2");
    const int32_t *in_len = nullptr;
    if (cfg[3]) {
      a.expect(1, "input_lengths", "int32", 1, "(B,)");
      a.expect_dims(1, "input_lengths", {B});
      in_len = a.ptr<int32_t>(1);
      for (int64_t b = 0; b < B; ++b)
        require(in_len[b] >= 0 && in_len[b] <= T,
                "input_lengths[" + std::to_string(b) + "] = " + std::to_string(in_len[b]) +
                    " is outside [0, T = " + std::to_string(T) + "]");
    }
    a.expect(3, "ids", "int32", 2, "(B, T)");
    a.expect_dims(3, "ids", {B, T});
    a.expect(4, "lengths", "int32", 1, "(B,)");
    a.expect_dims(4, "lengths", {B});
    a.expect(5, "probs", "float32", 2, "(B, T)");
    a.expect_dims(5, "probs", {B, T});
    int32_t err = -1, err_frame = -1;
    crnn_ctc_decode_options opt{};
    opt.blank = static_cast<int32_t>(blank);
    opt.input_kind = cfg[1];
    opt.batch_first = batch_first;
    opt.error_index = &err;
    opt.error_frame = &err_frame;
    const size_t ws = crnn_ctc_greedy_workspace_size(T, B, C, &opt);
    // frames (B, T) int32 is not returned: it lives after the kernel's scratch.
    const size_t frames_off = (ws + 63) / 64 * 64;
    char *buf = static_cast<char *>(scratch(frames_off + sizeof(int32_t) * B * T));
    const crnn_status_t st =
        crnn_ctc_greedy_f32(a.ptr<int32_t>(3), a.ptr<int32_t>(4), a.ptr<float>(5),
                            reinterpret_cast<int32_t *>(buf + frames_off), a.ptr<float>(0), in_len,
                            T, B, C, buf, ws, &opt);
    // lengths and options were checked above: INVALID_VALUE with probs is a negative value
    if (st == CRNN_STATUS_INVALID_VALUE && opt.input_kind == CRNN_CTC_PROBS && err >= 0)
      fail(st, "scores has negative values with input_kind='probs' (batch index " +
                   std::to_string(err) + ")");
    const bool value_error = st == CRNN_STATUS_NONFINITE_INPUT || st == CRNN_STATUS_NEG_INF_FRAME;
    check_status(st, err, value_error ? "scores" : "CTC greedy decode", err_frame);
  });
}
