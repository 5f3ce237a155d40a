// pybind11 binding of the CPU CTC greedy decoder (validation, allocation, dispatch only).
#include "../kernels/cpu/ctc_greedy.h"
#include "bind_util.h"

namespace crnn {
namespace bind {
namespace {

py::tuple ctc_greedy_decode(py::handle scores_obj, py::handle in_len_obj, int64_t blank_arg,
                            const std::string &input_kind, bool batch_first, int num_threads) {
  auto scores =
      checked_array<float>(scores_obj, "scores", 3, batch_first ? "(B, T, C)" : "(T, B, C)");
  const int64_t T_ = scores.shape(batch_first ? 1 : 0);
  const int64_t B = scores.shape(batch_first ? 0 : 1), C = scores.shape(2);
  require(B > 0, "scores has an empty batch (B = 0), shape " + shape_str(scores));
  require(T_ > 0, "scores has no frames (T = 0), shape " + shape_str(scores));
  require(C >= 2, "scores needs C >= 2 classes (blank + 1), shape " + shape_str(scores));
  crnn_ctc_decode_options opt{};
  opt.blank = resolve_blank(blank_arg, C);
  opt.input_kind = input_kind_from(input_kind);
  opt.batch_first = batch_first;
  opt.num_threads = num_threads;
  int32_t err = -1;
  opt.error_index = &err;
  const int32_t *lens = nullptr;
  py::array_t<int32_t, py::array::c_style> in_len;
  if (!in_len_obj.is_none()) {
    in_len = checked_array<int32_t>(in_len_obj, "input_lengths", 1, "(B,)");
    require_dim(in_len, 0, B, "input_lengths", "B");
    check_lengths(in_len.data(), B, T_, "input_lengths", "T");
    lens = in_len.data();
  }
  py::array_t<int32_t> ids({B, T_}), lengths(B), frames({B, T_});
  py::array_t<float> probs({B, T_});
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_ctc_greedy_workspace_size(T_, B, C, &opt);
    void *ws = scratch(ws_bytes);
    py::gil_scoped_release nogil;
    st = crnn_ctc_greedy_f32(ids.mutable_data(), lengths.mutable_data(), probs.mutable_data(),
                             frames.mutable_data(), scores.data(), lens, T_, B, C, ws, ws_bytes,
                             &opt);
  }
  raise_status(st, err, "scores");
  return py::make_tuple(ids, lengths, probs, frames);
}

}  // namespace

void bind_ctc_greedy(py::module_ &m) {
  m.def("ctc_greedy_decode", &ctc_greedy_decode, py::arg("scores"),
        py::arg("input_lengths") = py::none(), py::arg("blank") = -1,
        py::arg("input_kind") = "logits", py::arg("batch_first") = false,
        py::arg("num_threads") = 0,
        R"doc(CTC greedy decoding (CPU): argmax per frame, merge repeats, drop blank.

scores (T, B, C) float32 (or (B, T, C) with batch_first), input_kind 'logits'|'probs'|
'log_probs', input_lengths (B,) int32 or None, blank=-1 means C-1. Returns ids (B, T) int32
(-1 padded), lengths (B,) int32, probs (B, T) float32 (0 padded), frames (B, T) int32.)doc");
}

}  // namespace bind
}  // namespace crnn
