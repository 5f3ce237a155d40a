// pybind11 binding of the CTC prefix beam search, CPU or cuda-emu (validation, allocation,
// dispatch only).
#include <limits>

#include "bind_util.h"
#include "crnn/ctc_decode.h"

namespace crnn {
namespace bind {
namespace {

py::tuple ctc_beam_search(py::handle scores_obj, py::handle in_len_obj, py::handle blank_arg,
                          py::handle beam_width_obj, py::handle top_n_obj, py::handle top_k_obj,
                          py::handle logp_cutoff_obj, py::handle input_kind, py::handle batch_first,
                          py::handle num_threads, py::handle device) {
  const int64_t beam_width = int_arg(beam_width_obj, "beam_width");
  const int64_t top_n = int_arg(top_n_obj, "top_n"), top_k = int_arg(top_k_obj, "top_k");
  const double logp_cutoff = real_arg(logp_cutoff_obj, "logp_cutoff");
  require_ok(check::ctc_beam_options(beam_width, top_n, logp_cutoff, CRNN_CTC_BEAM_MAX_WIDTH));
  DecodeInputs d;
  parse_decode_inputs(d, scores_obj, in_len_obj, blank_arg, input_kind, batch_first, num_threads);
  const int64_t T_ = d.T, B = d.B, C = d.C;
  crnn_ctc_decode_options &opt = d.opt;
  opt.device = device_arg(device);
  opt.beam_width = static_cast<int32_t>(beam_width);
  opt.top_n = static_cast<int32_t>(top_n);
  opt.top_k = top_k <= 0 || top_k >= C ? 0 : static_cast<int32_t>(top_k);  // >= C-1: all
  opt.logp_cutoff = static_cast<float>(logp_cutoff);
  const size_t ws_bytes = crnn_ctc_beam_search_workspace_size(T_, B, C, &opt);
  require(ws_bytes > 0, "T * beam_width = " + std::to_string(T_) + " * " +
                            std::to_string(beam_width) + " is too large (prefix trie capacity)");
  const py::ssize_t N = top_n;
  auto ids = new_array<int32_t>({B, N, T_}, "ids"), lengths = new_array<int32_t>({B, N}, "lengths");
  auto out_scores = new_array<double>({B, N}, "scores (output)");
  crnn_status_t st;
  {
    const Scratch ws_buf(ws_bytes, "ctc_beam_search");
    void *ws = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_ctc_beam_search_f32(ids.mutable_data(), lengths.mutable_data(),
                                  out_scores.mutable_data(), d.scores.data(), d.lens, T_, B, C, ws,
                                  ws_bytes, &opt);
    st = with_device_errors(st, ws, opt.device, &d.err, &d.err_frame);
  }
  raise_decode_status(st, d);
  return py::make_tuple(ids, lengths, out_scores);
}

}  // namespace

void bind_ctc_beam_search(py::module_ &m) {
  m.def(
      "ctc_beam_search", &ctc_beam_search, py::arg("scores"), py::arg("input_lengths") = py::none(),
      py::arg("blank") = -1, py::arg("beam_width") = 10, py::arg("top_n") = 1, py::arg("top_k") = 0,
      py::arg("logp_cutoff") = -std::numeric_limits<double>::infinity(),
      py::arg("input_kind") = "logits", py::arg("batch_first") = false, py::arg("num_threads") = 0,
      py::kw_only(), py::arg("device") = "cpu",
      R"doc(CTC prefix beam search (CPU, or device='cuda-emu'), the semantics of crnn_fast.reference.ctc_beam.

scores (T, B, C) float32 (or (B, T, C) with batch_first), input_kind 'logits'|'probs'|
'log_probs' (-inf logits / log-probs are probability 0 and never extend a prefix; NaN, +inf, a
frame that is -inf for every class and negative probs raise ValueError), input_lengths (B,)
int32 or None, blank=-1 means C-1. beam_width in [1, 4096], top_n in [1, beam_width], top_k <= 0: extend by every non-blank
token, logp_cutoff: skip extensions with log-prob below it. Returns ids (B, top_n, T) int32
(-1 padded), lengths (B, top_n) int32, scores (B, top_n) float64 log-probabilities, best
first (-inf where fewer than top_n prefixes exist).)doc");
}

}  // namespace bind
}  // namespace crnn
