// pybind11 binding of the CPU CTC greedy decoder (validation, allocation, dispatch only).
#include "bind_util.h"
#include "crnn/ctc_decode.h"

namespace crnn {
namespace bind {
namespace {

py::tuple ctc_greedy_decode(py::handle scores_obj, py::handle in_len_obj, py::handle blank_arg,
                            py::handle input_kind, py::handle batch_first, py::handle num_threads,
                            py::handle device) {
  DecodeInputs d;
  parse_decode_inputs(d, scores_obj, in_len_obj, blank_arg, input_kind, batch_first, num_threads);
  d.opt.device = device_arg(device);
  const int64_t T_ = d.T, B = d.B, C = d.C;
  auto ids = new_array<int32_t>({B, T_}, "ids"), lengths = new_array<int32_t>({B}, "lengths");
  auto frames = new_array<int32_t>({B, T_}, "frames");
  auto probs = new_array<float>({B, T_}, "probs");
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_ctc_greedy_workspace_size(T_, B, C, &d.opt);
    const Scratch ws_buf(ws_bytes, "ctc_greedy_decode");
    void *ws = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_ctc_greedy_f32(ids.mutable_data(), lengths.mutable_data(), probs.mutable_data(),
                             frames.mutable_data(), d.scores.data(), d.lens, T_, B, C, ws, ws_bytes,
                             &d.opt);
    st = with_device_errors(st, ws, d.opt.device, &d.err, &d.err_frame);
  }
  raise_decode_status(st, d);
  return py::make_tuple(ids, lengths, probs, frames);
}

}  // namespace

void bind_ctc_greedy(py::module_ &m) {
  m.def(
      "ctc_greedy_decode", &ctc_greedy_decode, py::arg("scores"),
      py::arg("input_lengths") = py::none(), py::arg("blank") = -1,
      py::arg("input_kind") = "logits", py::arg("batch_first") = false, py::arg("num_threads") = 0,
      py::kw_only(), py::arg("device") = "cpu",
      R"doc(CTC greedy decoding (CPU, or device='cuda-emu'): argmax per frame, merge repeats, drop blank.

scores (T, B, C) float32 (or (B, T, C) with batch_first), input_kind 'logits'|'probs'|
'log_probs' (-inf logits / log-probs are probability 0; NaN, +inf, a frame that is -inf for
every class and negative probs raise ValueError), input_lengths (B,) int32 or None, blank=-1
means C-1. Returns ids (B, T) int32 (-1 padded), lengths (B,) int32, probs (B, T) float32
(0 padded), frames (B, T) int32.)doc");
}

}  // namespace bind
}  // namespace crnn
