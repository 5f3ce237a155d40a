// MindSpore aot entry points of the CTC loss (+ gradient) and the greedy decoder.
//
// crnn_aot_ctc_loss inputs:
//   0 logits (T, B, C) float32, float16 or bfloat16 (raw scores; computed in float32)
//   1 labels (B, S) int32
//   2 input_lengths (B,) int32 (read only when config[2] = 1; else every sample has T frames)
//   3 label_lengths (B,) int32 (read only when config[3] = 1; else each label ends at its
//     first padding value: blank (MindOCR pads with C-1 = blank) or -1; other values outside
//     [0, C) are an error)
//   4 config (4,) int32: blank (negative: C + blank), zero_infinity, has_input_lengths,
//   has_label_lengths
// outputs: 5 loss (B,) float32, 6 grad (T, B, C) of the logits' dtype = d loss[b] / d logits[t, b,
// :]. Value rule of the kernels (status.h): -inf logits / log-probs are probability 0; NaN, +inf or
// a frame that is -inf for every class fail with a message naming the batch index (and frame).
//
// crnn_aot_ctc_loss_reduced (CPU only; MindOCR's CTCLoss as one op forward, one backward):
//   inputs 0-3 as crnn_aot_ctc_loss, 0 logits float32 only; 4 config (5,) int32: the four of
//   crnn_aot_ctc_loss, then the reduction (0 none, 1 sum, 2 mean, 3 mean_by_length).
// outputs: 5 loss float32, () reduced or (B,) for none: sum_b w_b loss[b] (none: loss[b]),
//   summed in double; 6 grad (T, B, C) float32 = d loss[b] / d logits[t, b, :], not weighted;
//   7 weight (B,) float32: w_b = d loss / d loss[b] (none and sum 1, mean 1/B, mean_by_length
//   1 / (B max(label_length[b], 1))).
// crnn_aot_ctc_grad_scale (its bprop) inputs: 0 grad (T, B, C) float32, 1 weight (B,) float32,
//   2 dout float32: () or (1,) (a reduced loss's incoming gradient) or (B,) (none);
// output: 3 dlogits (T, B, C) float32 = grad[t, b, :] * (weight[b] * dout[0 or b]).
//
// crnn_aot_ctc_greedy inputs:
//   0 scores (T, B, C) float32, or (B, T, C) when config[2] = 1
//   1 input_lengths (B,) int32 (read only when config[3] = 1)
//   2 config (4,) int32: blank (negative: C + blank), input_kind (0 logits, 1 probs, 2 log-probs),
//   batch_first,
//     has_input_lengths
// outputs: 3 ids (B, T) int32 padded with -1, 4 lengths (B,) int32, 5 probs (B, T) float32.
#include "../kernels/cpu/thread_pool.h"
#include "aot_util.h"
#include "check_ctc.h"
#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"

namespace {

// The CTC kernel over inputs 0-4 of crnn_aot_ctc_loss(_reduced) (config: `n_cfg` int32 values,
// the first four crnn_aot_ctc_loss's) into the per-sample `loss` (B) and output 6, the gradient
// (T, B, C) of the logits' dtype `dtype` (checked by the caller). On the CPU, `lengths` (when
// not null) receives the label lengths used (given or made from the padding).
void run_ctc_loss(const crnn::aot::Args &a, const std::string &dtype, int64_t n_cfg, float *loss,
                  std::vector<int32_t> *lengths) {
  using namespace crnn::aot;
  {
    const bool narrow = dtype == "float16" || dtype == "bfloat16";
    a.expect(0, "logits", dtype.c_str(), 3, "(T, B, C)");
    a.expect(1, "labels", "int32", 2, "(B, S)");
    a.expect(4, "config", "int32", 1, n_cfg == 4 ? "(4,)" : "(5,)");
    a.expect_dims(4, "config", {n_cfg});
    const int64_t T = a.dim(0, 0), B = a.dim(0, 1), C = a.dim(0, 2), S = a.dim(1, 1);
    require_ok(crnn::check::ctc_scores_dims("logits", T, B, C, a.shape(0)));
    a.expect_dims(1, "labels", {B, S});
    std::vector<int32_t> cfg_copy, labels_copy, made_in, made_lab;
    const int32_t *cfg = a.host<int32_t>(4, 4, cfg_copy);
    int32_t blank = 0;  // negative: counted from C
    require_ok(crnn::check::ctc_blank_from_end(cfg[0], C, &blank));
    const int32_t *labels = a.ptr<int32_t>(1);
    // Lengths: the tensors given, or made here on the host (every sample T frames; each label
    // up to its padding) and copied next to the kernel's workspace below.
    const int32_t *in_len = nullptr, *lab_len = nullptr;
    if (cfg[2]) {
      a.expect(2, "input_lengths", "int32", 1, "(B,)");
      a.expect_dims(2, "input_lengths", {B});
      in_len = a.ptr<int32_t>(2);
    } else {
      made_in.assign(static_cast<size_t>(B), static_cast<int32_t>(T));
    }
    if (cfg[3]) {
      a.expect(3, "label_lengths", "int32", 1, "(B,)");
      a.expect_dims(3, "label_lengths", {B});
      lab_len = a.ptr<int32_t>(3);
    } else {
      made_lab.resize(static_cast<size_t>(B));
      require_ok(crnn::check::ctc_label_lengths_from_padding(
          made_lab.data(), a.host<int32_t>(1, B * S, labels_copy), B, S, C, blank));
    }
    a.expect(6, "grad", dtype.c_str(), 3, "(T, B, C)");
    a.expect_dims(6, "grad", {T, B, C});
    int32_t err = -1, err_frame = -1;
    crnn_ctc_loss_options opt{};
    opt.blank = blank;
    opt.zero_infinity = cfg[1];
    opt.error_index = &err;
    opt.error_frame = &err_frame;
    a.place(opt);
    // On the CPU the lengths and labels are checked here, and the scratch is sized by the
    // longest label; a device kernel checks them itself and is sized by S (it cannot read the
    // lengths from the host).
    int64_t S_ws = S;
    if (!a.on_device()) {
      const int32_t *il = cfg[2] ? in_len : made_in.data(),
                    *ll = cfg[3] ? lab_len : made_lab.data();
      require_ok(crnn::check::ctc_targets(labels, il, ll, T, B, C, S, blank));
      S_ws = 0;
      for (int64_t b = 0; b < B; ++b) S_ws = ll[b] > S_ws ? ll[b] : S_ws;
      if (lengths) lengths->assign(ll, ll + B);
    }
    const size_t ws = crnn_ctc_loss_workspace_size(T, B, C, S_ws, narrow ? 2 : 4, &opt);
    const size_t len_off = (ws + 63) / 64 * 64, len_bytes = sizeof(int32_t) * B;
    char *wsp = static_cast<char *>(a.workspace(len_off + 2 * len_bytes));
    if (!cfg[2]) {
      a.copy_to_device(wsp + len_off, made_in.data(), len_bytes);
      in_len = reinterpret_cast<const int32_t *>(wsp + len_off);
    }
    if (!cfg[3]) {
      a.copy_to_device(wsp + len_off + len_bytes, made_lab.data(), len_bytes);
      lab_len = reinterpret_cast<const int32_t *>(wsp + len_off + len_bytes);
    }
    const auto call = dtype == "float32"
                          ? crnn_ctc_loss_f32(loss, a.ptr<float>(6), a.ptr<float>(0), labels,
                                              in_len, lab_len, T, B, C, S, wsp, ws, &opt)
                      : dtype == "float16"
                          ? crnn_ctc_loss_f16(loss, a.ptr<uint16_t>(6), a.ptr<uint16_t>(0), labels,
                                              in_len, lab_len, T, B, C, S, wsp, ws, &opt)
                          : crnn_ctc_loss_bf16(loss, a.ptr<uint16_t>(6), a.ptr<uint16_t>(0), labels,
                                               in_len, lab_len, T, B, C, S, wsp, ws, &opt);
    const crnn_status_t st = a.with_device_errors(call, wsp, &err, &err_frame);
    const bool value_error = st == CRNN_STATUS_NONFINITE_INPUT || st == CRNN_STATUS_NEG_INF_FRAME;
    // (INVALID_VALUE from a device: a length or label its kernel found out of range)
    const char *what = value_error ? "logits"
                       : a.on_device() && st == CRNN_STATUS_INVALID_VALUE
                           ? "labels, input_lengths or label_lengths out of range"
                           : "CTC loss";
    check_status(st, err, what, err_frame);
  }
}

int ctc_loss_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                   const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("ctc_loss", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    require(a.n == 7, "expected 7 tensors (5 inputs, 2 outputs), got " + std::to_string(a.n));
    const std::string dtype = a.dtypes[0];  // the logits' and the gradient's
    const bool narrow = dtype == "float16" || dtype == "bfloat16";
    require(narrow || dtype == "float32",
            "logits must have dtype float32, float16 or bfloat16, got " + dtype);
    a.expect(0, "logits", dtype.c_str(), 3, "(T, B, C)");
    a.expect(5, "loss", "float32", 1, "(B,)");
    a.expect_dims(5, "loss", {a.dim(0, 1)});
    run_ctc_loss(a, dtype, 4, a.ptr<float>(5), nullptr);
  });
}

enum CtcReduction { kReduceNone = 0, kReduceSum, kReduceMean, kReduceMeanByLength };

int ctc_loss_reduced_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                           const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("ctc_loss_reduced", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    require(a.n == 8, "expected 8 tensors (5 inputs, 3 outputs), got " + std::to_string(a.n));
    require(!a.on_device(), "ctc_loss_reduced runs on the CPU only");
    a.expect(0, "logits", "float32", 3, "(T, B, C)");
    a.expect(4, "config", "int32", 1, "(5,)");
    a.expect_dims(4, "config", {5});
    const int64_t B = a.dim(0, 1);
    const int32_t reduction = a.ptr<int32_t>(4)[4];
    require(reduction >= kReduceNone && reduction <= kReduceMeanByLength,
            "config[4] (reduction) must be 0 none, 1 sum, 2 mean or 3 mean_by_length, got " +
                std::to_string(reduction));
    if (reduction == kReduceNone) {
      a.expect(5, "loss", "float32", 1, "(B,)");
      a.expect_dims(5, "loss", {B});
    } else {
      a.expect(5, "loss", "float32", 1, "(1,)");
      a.expect_dims(5, "loss", {1});
    }
    a.expect(7, "weight", "float32", 1, "(B,)");
    a.expect_dims(7, "weight", {B});
    std::vector<float> per_sample(static_cast<size_t>(B));
    std::vector<int32_t> lengths;
    float *loss = reduction == kReduceNone ? a.ptr<float>(5) : per_sample.data();
    run_ctc_loss(a, "float32", 5, loss, &lengths);
    float *w = a.ptr<float>(7);
    double total = 0;  // sum_b loss[b] (mean_by_length: / max(length, 1)), then / B
    for (int64_t b = 0; b < B; ++b) {
      const double per_length =
          reduction == kReduceMeanByLength ? (lengths[b] > 1 ? lengths[b] : 1) : 1;
      const bool by_b = reduction == kReduceMean || reduction == kReduceMeanByLength;
      w[b] = static_cast<float>(1.0 / ((by_b ? static_cast<double>(B) : 1.0) * per_length));
      total += static_cast<double>(loss[b]) / per_length;
    }
    if (reduction == kReduceMean || reduction == kReduceMeanByLength)
      total /= static_cast<double>(B);
    if (reduction != kReduceNone) *a.ptr<float>(5) = static_cast<float>(total);
  });
}

int ctc_grad_scale_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                         const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("ctc_grad_scale", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    require(a.n == 4, "expected 4 tensors (3 inputs, 1 output), got " + std::to_string(a.n));
    require(!a.on_device(), "ctc_grad_scale runs on the CPU only");
    a.expect(0, "grad", "float32", 3, "(T, B, C)");
    const int64_t T = a.dim(0, 0), B = a.dim(0, 1), C = a.dim(0, 2);
    a.expect(1, "weight", "float32", 1, "(B,)");
    a.expect_dims(1, "weight", {B});
    const int64_t nd = a.numel(2);
    require(std::string(a.dtypes[2]) == "float32" && a.ndims[2] <= 1 && (nd == 1 || nd == B),
            "dout must be a float32 scalar, (1,) or (B,), got " + a.shape(2));
    a.expect(3, "dlogits", "float32", 3, "(T, B, C)");
    a.expect_dims(3, "dlogits", {T, B, C});
    const float *g = a.ptr<float>(0), *w = a.ptr<float>(1), *dout = a.ptr<float>(2);
    float *dx = a.ptr<float>(3);
    std::vector<float> scale(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) scale[b] = w[b] * dout[nd == B ? b : 0];
    // rows (t, b) of C floats; a memory-bound pass, split over threads when large
    const int64_t rows = T * B, per_task = (int64_t{1} << 16) / (C > 0 ? C : 1) + 1;
    const int64_t tasks = (rows + per_task - 1) / per_task;
    crnn::cpu::parallel_for(
        static_cast<int>(tasks < 64 ? tasks : 64), tasks, false, [&](int64_t k, int) {
          const int64_t r1 = (k + 1) * per_task < rows ? (k + 1) * per_task : rows;
          for (int64_t r = k * per_task; r < r1; ++r) {
            const float s = scale[r % B];
            const float *src = g + r * C;
            float *dst = dx + r * C;
            for (int64_t i = 0; i < C; ++i) dst[i] = src[i] * s;
          }
        });
  });
}

int ctc_greedy_entry(int32_t device, int nparam, void **params, int *ndims, int64_t **shapes,
                     const char **dtypes, void *stream) {
  using namespace crnn::aot;
  return guarded("ctc_greedy", [&] {
    const Args a{nparam, params, ndims, shapes, dtypes, stream, device};
    require(a.n == 6, "expected 6 tensors (3 inputs, 3 outputs), got " + std::to_string(a.n));
    a.expect(2, "config", "int32", 1, "(4,)");
    a.expect_dims(2, "config", {4});
    std::vector<int32_t> cfg_copy;
    const int32_t *cfg = a.host<int32_t>(2, 4, cfg_copy);
    const bool batch_first = cfg[2] != 0;
    a.expect(0, "scores", "float32", 3, batch_first ? "(B, T, C)" : "(T, B, C)");
    const int64_t T = a.dim(0, batch_first ? 1 : 0), B = a.dim(0, batch_first ? 0 : 1),
                  C = a.dim(0, 2);
    require_ok(crnn::check::ctc_scores_dims("scores", T, B, C, a.shape(0)));
    int32_t blank = 0;  // negative: counted from C
    require_ok(crnn::check::ctc_blank_from_end(cfg[0], C, &blank));
    require_ok(crnn::check::ctc_input_kind_code(cfg[1]));
    const int32_t *in_len = nullptr;
    if (cfg[3]) {
      a.expect(1, "input_lengths", "int32", 1, "(B,)");
      a.expect_dims(1, "input_lengths", {B});
      in_len = a.ptr<int32_t>(1);
      if (!a.on_device()) require_ok(crnn::check::lengths(in_len, B, T, "input_lengths", "T"));
    }
    a.expect(3, "ids", "int32", 2, "(B, T)");
    a.expect_dims(3, "ids", {B, T});
    a.expect(4, "lengths", "int32", 1, "(B,)");
    a.expect_dims(4, "lengths", {B});
    a.expect(5, "probs", "float32", 2, "(B, T)");
    a.expect_dims(5, "probs", {B, T});
    int32_t err = -1, err_frame = -1;
    crnn_ctc_decode_options opt{};
    opt.blank = blank;
    opt.input_kind = cfg[1];
    opt.batch_first = batch_first;
    opt.error_index = &err;
    opt.error_frame = &err_frame;
    a.place(opt);
    const size_t ws = crnn_ctc_greedy_workspace_size(T, B, C, &opt);
    // frames (B, T) int32 is not returned: it lives after the kernel's scratch.
    const size_t frames_off = (ws + 63) / 64 * 64;
    char *buf = static_cast<char *>(a.workspace(frames_off + sizeof(int32_t) * B * T));
    const crnn_status_t st = a.with_device_errors(
        crnn_ctc_greedy_f32(a.ptr<int32_t>(3), a.ptr<int32_t>(4), a.ptr<float>(5),
                            reinterpret_cast<int32_t *>(buf + frames_off), a.ptr<float>(0), in_len,
                            T, B, C, buf, ws, &opt),
        buf, &err, &err_frame);
    // INVALID_VALUE at a frame is a negative probability (the CPU checked lengths above; a
    // device records a length out of range without a frame)
    if (st == CRNN_STATUS_INVALID_VALUE && a.on_device() && err_frame < 0)
      fail(st, "input_lengths out of range [0, T = " + std::to_string(T) + "] (batch index " +
                   std::to_string(err) + ")");
    if (st == CRNN_STATUS_INVALID_VALUE && opt.input_kind == CRNN_CTC_PROBS && err >= 0)
      fail(st, "scores has negative values with input_kind='probs' (batch index " +
                   std::to_string(err) + ")");
    const bool value_error = st == CRNN_STATUS_NONFINITE_INPUT || st == CRNN_STATUS_NEG_INF_FRAME;
    check_status(st, err, value_error ? "scores" : "CTC greedy decode", err_frame);
  });
}

}  // namespace

CRNN_AOT_ENTRY(ctc_loss, ctc_loss_entry)
CRNN_AOT_ENTRY(ctc_greedy, ctc_greedy_entry)
// (CPU kernels only: the accelerator backends run the per-sample op and MindSpore's reduction)
CRNN_AOT_ENTRY_ON(ctc_loss_reduced, , CRNN_DEVICE_CPU, ctc_loss_reduced_entry)
CRNN_AOT_ENTRY_ON(ctc_grad_scale, , CRNN_DEVICE_CPU, ctc_grad_scale_entry)
