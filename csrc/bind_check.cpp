// The shared CTC argument checks (check_ctc.h) exposed to Python, so the NumPy fallback and the
// MindSpore layers' host checks raise exactly what the bindings and aot entries raise.
#include <algorithm>
#include <limits>

#include "bind_util.h"
#include "crnn/ctc_decode.h"

namespace crnn {
namespace bind {
namespace {

// Returns (blank, label_lengths): the resolved blank and the label lengths, derived from the
// padding when label_lengths is None (check::ctc_label_lengths_from_padding).
py::tuple check_ctc_targets(py::handle labels_obj, py::handle in_len_obj, py::handle lab_len_obj,
                            py::handle T_obj, py::handle C_obj, py::handle blank_obj,
                            py::handle blank_from_end_obj) {
  const int64_t T_ = int_arg(T_obj, "T"), C = int_arg(C_obj, "C");
  const int64_t blank_arg = int_arg(blank_obj, "blank");
  int32_t blank = 0;
  require_ok(bool_arg(blank_from_end_obj, "blank_from_end")
                 ? check::ctc_blank_from_end(blank_arg, C, &blank)
                 : check::ctc_blank(blank_arg, C, &blank));
  py::array labels_in = array_arg<int32_t>(labels_obj, "labels", 2, "(B, S)");
  const int64_t B = labels_in.shape(0), S = labels_in.shape(1);
  if (!in_len_obj.is_none()) {
    auto in_len = checked_array<int32_t>(in_len_obj, "input_lengths", 1, "(B,)");
    require_dim(in_len, 0, B, "input_lengths", "B");
    require_ok(check::lengths(in_len.data(), B, T_, "input_lengths", "T"));
  }
  py::array_t<int32_t, py::array::c_style> lab_len;
  if (lab_len_obj.is_none()) {
    auto labels = contiguous<int32_t>(labels_in, "labels");
    lab_len = new_array<int32_t>({B}, "label_lengths");
    require_ok(check::ctc_label_lengths_from_padding(lab_len.mutable_data(), labels.data(), B, S, C,
                                                     blank));
  } else {
    lab_len = checked_array<int32_t>(lab_len_obj, "label_lengths", 1, "(B,)");
    require_dim(lab_len, 0, B, "label_lengths", "B");
    require_ok(check::lengths(lab_len.data(), B, S, "label_lengths", "S"));
    // as ctc_loss: a non-contiguous labels is copied only up to the longest label read
    int64_t L_max = 0;
    for (int64_t b = 0; b < B; ++b) L_max = std::max<int64_t>(L_max, lab_len.data()[b]);
    if (!(labels_in.flags() & py::array::c_style) && L_max < S)
      labels_in = labels_in[py::make_tuple(py::slice(0, B, 1), py::slice(0, L_max, 1))];
    auto labels = contiguous<int32_t>(labels_in, "labels");
    require_ok(check::ctc_labels(labels.data(), lab_len.data(), B, labels.shape(1), C, blank));
  }
  return py::make_tuple(blank, lab_len);
}

// Returns (blank, input_kind code) after the decoders' checks, in the bindings' order: blank,
// input_kind, then input_lengths (B,) in [0, T] (None: not checked).
py::tuple check_ctc_decode_args(py::handle in_len_obj, py::handle T_obj, py::handle C_obj,
                                py::handle blank_obj, py::handle input_kind_obj) {
  const int64_t T_ = int_arg(T_obj, "T"), C = int_arg(C_obj, "C");
  const int32_t blank = resolve_blank(int_arg(blank_obj, "blank"), C);
  const int32_t kind = input_kind_from(str_arg(input_kind_obj, "input_kind"));
  if (!in_len_obj.is_none()) {
    auto in_len = checked_array<int32_t>(in_len_obj, "input_lengths", 1, "(B,)");
    check_lengths(in_len.data(), in_len.shape(0), T_, "input_lengths", "T");
  }
  return py::make_tuple(blank, kind);
}

void check_ctc_beam_options(py::handle beam_width_obj, py::handle top_n_obj,
                            py::handle logp_cutoff_obj) {
  const int64_t beam_width = int_arg(beam_width_obj, "beam_width");
  const int64_t top_n = int_arg(top_n_obj, "top_n");
  const double logp_cutoff = real_arg(logp_cutoff_obj, "logp_cutoff");
  require_ok(check::ctc_beam_options(beam_width, top_n, logp_cutoff, CRNN_CTC_BEAM_MAX_WIDTH));
}

}  // namespace

void bind_check(py::module_ &m) {
  m.def(
      "check_ctc_targets", &check_ctc_targets, py::arg("labels"), py::arg("input_lengths"),
      py::arg("label_lengths"), py::arg("T"), py::arg("C"), py::arg("blank") = -1,
      py::arg("blank_from_end") = false,
      R"doc(The CTC loss's target checks (csrc/check_ctc.h), as the bindings and aot entries run them.

labels (B, S) int32, input_lengths (B,) int32 or None (not checked), label_lengths (B,) int32
or None (derived from the padding: blank or -1 at the end). blank: -1 means C-1, or with
blank_from_end any negative blank counts from C (the MindSpore ops' rule). Returns
(blank, label_lengths); ValueError with the shared message on the first failure.)doc");
  m.def("check_ctc_decode_args", &check_ctc_decode_args, py::arg("input_lengths"), py::arg("T"),
        py::arg("C"), py::arg("blank") = -1, py::arg("input_kind") = "logits",
        "The decoders' checks (blank: -1 means C-1; input_kind; input_lengths (B,) int32 in "
        "[0, T] or None). Returns (blank, input_kind code); ValueError/TypeError as the "
        "bindings.");
  m.def("check_ctc_beam_options", &check_ctc_beam_options, py::arg("beam_width"), py::arg("top_n"),
        py::arg("logp_cutoff") = -std::numeric_limits<double>::infinity(),
        "beam_width in [1, 4096], top_n in [1, beam_width], logp_cutoff not NaN (ValueError).");
}

}  // namespace bind
}  // namespace crnn
