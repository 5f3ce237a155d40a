// DLPack entries of the kernel library: the kernels on tensors of any framework, on the device
// that holds them (CUDA memory: the CUDA kernels on `stream`; host memory: the CPU kernels, or
// the CUDA kernels' source on the SIMT executor with device='cuda-emu'). Nothing is allocated
// here and nothing waits for the stream: the caller (crnn_fast/dlpack.py) provides every output
// and the workspace, and reads value errors with dlpack_error_read (which waits).
#include <pybind11/stl.h>

#include "bind_util.h"
#include "check_lstm.h"
#include "crnn/crnn.h"
#include "dlpack_tensor.h"

namespace crnn {
namespace bind {

DlView dl_view(py::handle obj, const char *name, const char *dtype, int ndim) {
  if (!py::hasattr(obj, "__dlpack__"))
    throw py::type_error(std::string(name) + " must be a DLPack tensor (have __dlpack__), got " +
                         type_name(obj));
  DlView v;
  v.capsule = obj.attr("__dlpack__")();
  auto *m = static_cast<dl::ManagedTensor *>(PyCapsule_GetPointer(v.capsule.ptr(), "dltensor"));
  if (!m) throw py::error_already_set();
  const dl::Tensor &t = m->dl_tensor;
  const std::string wanted(dtype);  // one dtype, or alternatives separated by '|'
  std::string alternatives;
  for (size_t at = 0; at <= wanted.size();) {
    const size_t end = std::min(wanted.find('|', at), wanted.size());
    const std::string want = wanted.substr(at, end - at);
    at = end + 1;
    const int code = want == "int32" ? dl::kInt : want == "bfloat16" ? dl::kBfloat : dl::kFloat;
    const int bits = want == "float64" ? 64 : want == "float16" || want == "bfloat16" ? 16 : 32;
    if (t.dtype.code == code && t.dtype.bits == bits && t.dtype.lanes == 1) v.dtype = want;
    alternatives += (alternatives.empty() ? "" : at > wanted.size() ? " or " : ", ") + want;
  }
  if (v.dtype.empty()) throw py::type_error(std::string(name) + " must be " + alternatives);
  if (t.ndim != ndim)
    throw py::value_error(std::string(name) + " must have " + std::to_string(ndim) +
                          " dimensions, got " + std::to_string(t.ndim));
  v.shape.assign(t.shape, t.shape + t.ndim);
  int64_t expect = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (t.strides && t.shape[i] > 1 && t.strides[i] != expect)
      throw py::value_error(std::string(name) + " must be C-contiguous");
    expect *= t.shape[i];
  }
  v.data = static_cast<char *>(t.data) + t.byte_offset;
  v.device_type = t.device.device_type;
  v.device_id = t.device.device_id;
  return v;
}

DlView dl_view_or_none(py::handle obj, const char *name, const char *dtype, int ndim) {
  return obj.is_none() ? DlView{} : dl_view(obj, name, dtype, ndim);
}

int32_t dl_device(std::initializer_list<const DlView *> views, int32_t host_device) {
  const DlView *first = *views.begin();
  for (const DlView *v : views)
    if (v->data && (v->device_type != first->device_type || v->device_id != first->device_id))
      throw py::value_error("every tensor of the call must be on the same device");
  if (first->device_type == dl::kCUDA || first->device_type == dl::kCUDAManaged) {
    if (!crnn_device_compiled(CRNN_DEVICE_CUDA))
      throw py::value_error("CUDA tensors, but crnn_fast._C was built without the CUDA backend");
    return CRNN_DEVICE_CUDA;
  }
  if (first->device_type != dl::kCPU && first->device_type != dl::kCUDAHost)
    throw py::value_error("unsupported DLPack device type " + std::to_string(first->device_type));
  return host_device;
}

namespace {

void *stream_ptr(int64_t stream) {
  return reinterpret_cast<void *>(static_cast<intptr_t>(stream));
}

void require_ws(const DlView &ws, size_t need, const char *op) {
  if (static_cast<size_t>(ws.dim(0)) * 4 < need)
    throw py::value_error(std::string("workspace of ") + op + " needs " + std::to_string(need) +
                          " bytes");
}

// logits float32, float16 or bfloat16 (float32 compute); grad in the logits' dtype, loss float32.
void ctc_loss(py::handle logits_o, py::handle labels_o, py::handle il_o, py::handle ll_o,
              py::handle loss_o, py::handle grad_o, py::handle ws_o, int32_t blank,
              bool zero_infinity, int64_t stream, py::handle device_o) {
  const DlView x = dl_view(logits_o, "logits", "float32|float16|bfloat16", 3);
  const DlView lab = dl_view(labels_o, "labels", "int32", 2),
               il = dl_view(il_o, "input_lengths", "int32", 1),
               ll = dl_view(ll_o, "label_lengths", "int32", 1),
               loss = dl_view(loss_o, "loss", "float32", 1),
               grad = dl_view_or_none(grad_o, "grad", x.dtype.c_str(), 3),
               ws = dl_view(ws_o, "workspace", "float32", 1);
  const bool narrow = x.dtype != "float32";
  crnn_ctc_loss_options o{};
  o.device = dl_device({&x, &lab, &il, &ll, &loss, &grad, &ws}, device_arg(device_o));
  o.stream = stream_ptr(stream);
  o.blank = blank;
  o.zero_infinity = zero_infinity;
  const int64_t T = x.dim(0), B = x.dim(1), C = x.dim(2), S = lab.dim(1);
  require_ok(check::ctc_scores_dims("logits", T, B, C, "(T, B, C)"));
  if (lab.dim(0) != B || il.dim(0) != B || ll.dim(0) != B || loss.dim(0) != B ||
      (grad.data && (grad.dim(0) != T || grad.dim(1) != B || grad.dim(2) != C)))
    throw py::value_error(
        "labels (B, S), lengths (B,), loss (B,) and grad (T, B, C) must match "
        "logits (T, B, C)");
  require_ws(ws, crnn_ctc_loss_workspace_size(T, B, C, S, narrow ? 2 : 4, &o), "ctc_loss");
  int32_t err = -1, frame = -1;
  o.error_index = &err;
  o.error_frame = &frame;
  const auto call = x.dtype == "float16" ? crnn_ctc_loss_f16 : crnn_ctc_loss_bf16;
  const crnn_status_t st =
      narrow ? call(loss.ptr<float>(), grad.ptr<uint16_t>(), x.ptr<uint16_t>(), lab.ptr<int32_t>(),
                    il.ptr<int32_t>(), ll.ptr<int32_t>(), T, B, C, S, ws.data, ws.dim(0) * 4, &o)
             : crnn_ctc_loss_f32(loss.ptr<float>(), grad.ptr<float>(), x.ptr<float>(),
                                 lab.ptr<int32_t>(), il.ptr<int32_t>(), ll.ptr<int32_t>(), T, B, C,
                                 S, ws.data, ws.dim(0) * 4, &o);
  raise_status(st, err, "logits", frame);
}

void ctc_greedy(py::handle scores_o, py::handle il_o, py::handle ids_o, py::handle lengths_o,
                py::handle probs_o, py::handle frames_o, py::handle ws_o, int32_t blank,
                int32_t input_kind, bool batch_first, int64_t stream, py::handle device_o) {
  const DlView x = dl_view(scores_o, "scores", "float32", 3),
               il = dl_view_or_none(il_o, "input_lengths", "int32", 1),
               ids = dl_view(ids_o, "ids", "int32", 2),
               lengths = dl_view(lengths_o, "lengths", "int32", 1),
               probs = dl_view(probs_o, "probs", "float32", 2),
               frames = dl_view(frames_o, "frames", "int32", 2),
               ws = dl_view(ws_o, "workspace", "float32", 1);
  crnn_ctc_decode_options o{};
  o.device = dl_device({&x, &il, &ids, &lengths, &probs, &frames, &ws}, device_arg(device_o));
  o.stream = stream_ptr(stream);
  o.blank = blank;
  o.input_kind = input_kind;
  o.batch_first = batch_first;
  const int64_t T = x.dim(batch_first ? 1 : 0), B = x.dim(batch_first ? 0 : 1), C = x.dim(2);
  require_ok(check::ctc_scores_dims("scores", T, B, C, "(T, B, C)"));
  for (const DlView *v : {&ids, &probs, &frames})
    if (v->dim(0) != B || v->dim(1) != T)
      throw py::value_error("ids, probs and frames must be (B, T)");
  if (lengths.dim(0) != B || (il.data && il.dim(0) != B))
    throw py::value_error("lengths and input_lengths must be (B,)");
  require_ws(ws, crnn_ctc_greedy_workspace_size(T, B, C, &o), "ctc_greedy_decode");
  int32_t err = -1, frame = -1;
  o.error_index = &err;
  o.error_frame = &frame;
  const crnn_status_t st = crnn_ctc_greedy_f32(
      ids.ptr<int32_t>(), lengths.ptr<int32_t>(), probs.ptr<float>(), frames.ptr<int32_t>(),
      x.ptr<float>(), il.ptr<int32_t>(), T, B, C, ws.data, ws.dim(0) * 4, &o);
  raise_status(st, err, "scores", frame);
}

void ctc_beam(py::handle scores_o, py::handle il_o, py::handle ids_o, py::handle lengths_o,
              py::handle out_o, py::handle ws_o, int32_t blank, int64_t beam_width, int64_t top_n,
              int64_t top_k, double logp_cutoff, int32_t input_kind, bool batch_first,
              int64_t stream, py::handle device_o) {
  const DlView x = dl_view(scores_o, "scores", "float32", 3),
               il = dl_view_or_none(il_o, "input_lengths", "int32", 1),
               ids = dl_view(ids_o, "ids", "int32", 3),
               lengths = dl_view(lengths_o, "lengths", "int32", 2),
               out = dl_view(out_o, "beam_scores", "float64", 2),
               ws = dl_view(ws_o, "workspace", "float32", 1);
  require_ok(check::ctc_beam_options(beam_width, top_n, logp_cutoff, CRNN_CTC_BEAM_MAX_WIDTH));
  crnn_ctc_decode_options o{};
  o.device = dl_device({&x, &il, &ids, &lengths, &out, &ws}, device_arg(device_o));
  o.stream = stream_ptr(stream);
  o.blank = blank;
  o.input_kind = input_kind;
  o.batch_first = batch_first;
  const int64_t T = x.dim(batch_first ? 1 : 0), B = x.dim(batch_first ? 0 : 1), C = x.dim(2);
  require_ok(check::ctc_scores_dims("scores", T, B, C, "(T, B, C)"));
  o.beam_width = static_cast<int32_t>(beam_width);
  o.top_n = static_cast<int32_t>(top_n);
  o.top_k = top_k <= 0 || top_k >= C ? 0 : static_cast<int32_t>(top_k);
  o.logp_cutoff = static_cast<float>(logp_cutoff);
  if (ids.dim(0) != B || ids.dim(1) != top_n || ids.dim(2) != T || lengths.dim(0) != B ||
      lengths.dim(1) != top_n || out.dim(0) != B || out.dim(1) != top_n ||
      (il.data && il.dim(0) != B))
    throw py::value_error("ids (B, top_n, T), lengths and beam_scores (B, top_n) must match");
  const size_t need = crnn_ctc_beam_search_workspace_size(T, B, C, &o);
  require(need > 0, "T * beam_width is too large (prefix trie capacity)");
  require_ws(ws, need, "ctc_beam_search");
  int32_t err = -1, frame = -1;
  o.error_index = &err;
  o.error_frame = &frame;
  const crnn_status_t st = crnn_ctc_beam_search_f32(
      ids.ptr<int32_t>(), lengths.ptr<int32_t>(), out.ptr<double>(), x.ptr<float>(),
      il.ptr<int32_t>(), T, B, C, ws.data, ws.dim(0) * 4, &o);
  raise_status(st, err, "scores", frame);
}

// Per layer and direction (index l*D + d): w_ih, w_hh and, with bias, b_ih, b_hh.
struct LstmWeights {
  std::vector<DlView> views;
  std::vector<const float *> w_ih, w_hh, b_ih, b_hh;
  std::vector<float *> g_ih, g_hh, gb_ih, gb_hh;  // the same, writable (gradients)
  crnn_lstm_weights_f32 c() const {
    return {w_ih.data(), w_hh.data(), b_ih.empty() ? nullptr : b_ih.data(),
            b_hh.empty() ? nullptr : b_hh.data()};
  }
};

LstmWeights lstm_weights(const py::list &ws, const crnn_lstm_desc &d, const char *name) {
  const int64_t D = d.bidirectional ? 2 : 1, per = d.has_bias ? 4 : 2;
  if (static_cast<int64_t>(ws.size()) != d.num_layers * D * per)
    throw py::value_error(std::string(name) + " must hold " + std::to_string(per) +
                          " tensors per layer and direction (w_ih, w_hh[, b_ih, b_hh])");
  LstmWeights w;
  for (size_t i = 0; i < ws.size(); ++i) {
    const int64_t k = static_cast<int64_t>(i) % per, l = static_cast<int64_t>(i) / per / D;
    const int64_t in = l == 0 ? d.I : D * d.H;
    w.views.push_back(dl_view(ws[i], name, "float32", k < 2 ? 2 : 1));
    const DlView &v = w.views.back();
    const bool ok = v.dim(0) == 4 * d.H && (k >= 2 || v.dim(1) == (k == 0 ? in : d.H));
    if (!ok)
      throw py::value_error(std::string(name) + "[" + std::to_string(i) + "] has a wrong shape");
    (k == 0 ? w.w_ih : k == 1 ? w.w_hh : k == 2 ? w.b_ih : w.b_hh).push_back(v.ptr<float>());
    (k == 0 ? w.g_ih : k == 1 ? w.g_hh : k == 2 ? w.gb_ih : w.gb_hh).push_back(v.ptr<float>());
  }
  return w;
}

crnn_lstm_desc lstm_desc(const DlView &x, int64_t H, int L, bool bidir, bool has_bias,
                         int64_t stream) {
  crnn_lstm_desc d{};
  d.T = x.dim(0), d.B = x.dim(1), d.I = x.dim(2), d.H = H;
  d.num_layers = L, d.bidirectional = bidir, d.has_bias = has_bias;
  d.stream = stream_ptr(stream);
  require_ok(check::lstm_sizes(d.T, d.B, d.I, H, L, "(T, B, I)"));
  return d;
}

void lstm_forward(py::handle x_o, const py::list &weights, py::handle h0_o, py::handle c0_o,
                  py::handle seq_o, py::handle y_o, py::handle hn_o, py::handle cn_o,
                  py::handle reserve_o, py::handle ws_o, int64_t H, int L, bool bidir,
                  bool has_bias, int64_t stream, py::handle device_o) {
  const DlView x = dl_view(x_o, "x", "float32", 3), h0 = dl_view_or_none(h0_o, "h0", "float32", 3),
               c0 = dl_view_or_none(c0_o, "c0", "float32", 3),
               seq = dl_view_or_none(seq_o, "seq_length", "int32", 1),
               y = dl_view(y_o, "y", "float32", 3), hn = dl_view(hn_o, "h_n", "float32", 3),
               cn = dl_view(cn_o, "c_n", "float32", 3),
               res = dl_view_or_none(reserve_o, "reserve", "float32", 1),
               ws = dl_view(ws_o, "workspace", "float32", 1);
  crnn_lstm_desc d = lstm_desc(x, H, L, bidir, has_bias, stream);
  const LstmWeights w = lstm_weights(weights, d, "weights");
  d.device = dl_device({&x, &h0, &c0, &seq, &y, &hn, &cn, &res, &ws}, device_arg(device_o));
  if (res.data && static_cast<size_t>(res.dim(0)) < crnn_lstm_reserve_size(&d))
    throw py::value_error("reserve needs crnn_lstm_reserve_size floats");
  require_ws(ws, crnn_lstm_forward_workspace_size(&d), "lstm_forward");
  const crnn_lstm_weights_f32 cw = w.c();
  const crnn_status_t st = crnn_lstm_forward_f32(
      y.ptr<float>(), hn.ptr<float>(), cn.ptr<float>(), res.ptr<float>(), x.ptr<float>(),
      h0.ptr<float>(), c0.ptr<float>(), seq.ptr<int32_t>(), &cw, &d, ws.data, ws.dim(0) * 4);
  raise_status(st, -1, "lstm_forward");
}

void lstm_backward(py::handle dy_o, py::handle dhn_o, py::handle dcn_o, py::handle x_o,
                   py::handle y_o, py::handle h0_o, py::handle c0_o, py::handle seq_o,
                   py::handle reserve_o, const py::list &weights, py::handle dx_o, py::handle dh0_o,
                   py::handle dc0_o, const py::list &grads, py::handle ws_o, int64_t H, int L,
                   bool bidir, bool has_bias, int64_t stream, py::handle device_o) {
  const DlView dy = dl_view(dy_o, "d_output", "float32", 3),
               dhn = dl_view_or_none(dhn_o, "d_h_n", "float32", 3),
               dcn = dl_view_or_none(dcn_o, "d_c_n", "float32", 3),
               x = dl_view(x_o, "x", "float32", 3), y = dl_view(y_o, "output", "float32", 3),
               h0 = dl_view_or_none(h0_o, "h0", "float32", 3),
               c0 = dl_view_or_none(c0_o, "c0", "float32", 3),
               seq = dl_view_or_none(seq_o, "seq_length", "int32", 1),
               res = dl_view(reserve_o, "reserve", "float32", 1),
               dx = dl_view(dx_o, "dx", "float32", 3),
               dh0 = dl_view_or_none(dh0_o, "dh0", "float32", 3),
               dc0 = dl_view_or_none(dc0_o, "dc0", "float32", 3),
               ws = dl_view(ws_o, "workspace", "float32", 1);
  crnn_lstm_desc d = lstm_desc(x, H, L, bidir, has_bias, stream);
  const LstmWeights w = lstm_weights(weights, d, "weights"), g = lstm_weights(grads, d, "grads");
  d.device = dl_device({&dy, &dhn, &dcn, &x, &y, &h0, &c0, &seq, &res, &dx, &dh0, &dc0, &ws},
                       device_arg(device_o));
  require_ws(ws, crnn_lstm_backward_workspace_size(&d), "lstm_backward");
  const crnn_lstm_weights_f32 cw = w.c();
  const crnn_status_t st = crnn_lstm_backward_f32(
      dx.ptr<float>(), dh0.ptr<float>(), dc0.ptr<float>(), g.g_ih.data(), g.g_hh.data(),
      has_bias ? g.gb_ih.data() : nullptr, has_bias ? g.gb_hh.data() : nullptr, dy.ptr<float>(),
      dhn.ptr<float>(), dcn.ptr<float>(), x.ptr<float>(), y.ptr<float>(), h0.ptr<float>(),
      c0.ptr<float>(), seq.ptr<int32_t>(), res.ptr<float>(), &cw, &d, ws.data, ws.dim(0) * 4);
  raise_status(st, -1, "lstm_backward");
}

py::tuple error_read(py::handle ws_o, int64_t stream, py::handle device_o) {
  const DlView ws = dl_view(ws_o, "workspace", "float32", 1);
  const int32_t device = dl_device({&ws}, device_arg(device_o));
  int32_t index = -1, frame = -1;
  const crnn_status_t st =
      crnn_device_error_read(ws.data, device, stream_ptr(stream), &index, &frame);
  return py::make_tuple(static_cast<int>(st), index, frame);
}

size_t workspace_size(const std::string &op, std::vector<int64_t> dims, const std::string &dev) {
  int32_t ask = CRNN_DEVICE_CPU;
  if (dev == "cuda" || dev == "cuda-emu")  // one source, one layout: ask the build that exists
    ask = crnn_device_compiled(CRNN_DEVICE_CUDA) ? CRNN_DEVICE_CUDA : CRNN_DEVICE_CUDA_EMU;
  else if (dev != "cpu")
    throw py::value_error("device must be 'cpu', 'cuda' or 'cuda-emu', got '" + dev + "'");
  if (op == "ctc_loss" && (dims.size() == 4 || dims.size() == 5)) {  // T, B, C, S[, elem bytes]
    crnn_ctc_loss_options o{};
    o.device = ask;
    const size_t elem = dims.size() == 5 ? static_cast<size_t>(dims[4]) : 4;
    return crnn_ctc_loss_workspace_size(dims[0], dims[1], dims[2], dims[3], elem, &o);
  }
  if (op == "ctc_beam_search" && dims.size() == 7) {  // T, B, C, width, top_n, top_k, batch_first
    crnn_ctc_decode_options o{};
    o.device = ask;
    o.beam_width = int32_t(dims[3]), o.top_n = int32_t(dims[4]), o.top_k = int32_t(dims[5]);
    o.batch_first = int32_t(dims[6]);
    return crnn_ctc_beam_search_workspace_size(dims[0], dims[1], dims[2], &o);
  }
  if (op == "ctc_greedy_decode" && dims.size() == 3) {
    crnn_ctc_decode_options o{};
    o.device = ask;
    return crnn_ctc_greedy_workspace_size(dims[0], dims[1], dims[2], &o);
  }
  if ((op == "lstm_forward" || op == "lstm_backward" || op == "lstm_reserve") &&
      dims.size() == 7) {  // T, B, I, H, L, D, has_bias
    crnn_lstm_desc d{dims[0],      dims[1],          dims[2], dims[3], int32_t(dims[4]),
                     dims[5] == 2, int32_t(dims[6]), 0,       ask,     nullptr};
    if (op == "lstm_reserve") return crnn_lstm_reserve_size(&d) * 4;
    return op == "lstm_forward" ? crnn_lstm_forward_workspace_size(&d)
                                : crnn_lstm_backward_workspace_size(&d);
  }
  throw py::value_error("workspace_size: unknown op " + op + " or wrong dims");
}

}  // namespace

void bind_dlpack(py::module_ &m) {
  m.def("dlpack_ctc_loss", &ctc_loss, py::arg("logits"), py::arg("labels"),
        py::arg("input_lengths"), py::arg("label_lengths"), py::arg("loss"), py::arg("grad"),
        py::arg("workspace"), py::arg("blank"), py::arg("zero_infinity"), py::arg("stream"),
        py::arg("device"),
        "CTC loss + gradient on DLPack tensors, written into loss (float32) / grad (the logits' "
        "float32, float16 or bfloat16; see crnn_fast.dlpack).");
  m.def("dlpack_ctc_greedy", &ctc_greedy, py::arg("scores"), py::arg("input_lengths"),
        py::arg("ids"), py::arg("lengths"), py::arg("probs"), py::arg("frames"),
        py::arg("workspace"), py::arg("blank"), py::arg("input_kind"), py::arg("batch_first"),
        py::arg("stream"), py::arg("device"), "Greedy CTC decoding on DLPack tensors.");
  m.def("dlpack_ctc_beam_search", &ctc_beam, py::arg("scores"), py::arg("input_lengths"),
        py::arg("ids"), py::arg("lengths"), py::arg("beam_scores"), py::arg("workspace"),
        py::arg("blank"), py::arg("beam_width"), py::arg("top_n"), py::arg("top_k"),
        py::arg("logp_cutoff"), py::arg("input_kind"), py::arg("batch_first"), py::arg("stream"),
        py::arg("device"), "Prefix beam search on DLPack tensors.");
  m.def("dlpack_lstm_forward", &lstm_forward, py::arg("x"), py::arg("weights"), py::arg("h0"),
        py::arg("c0"), py::arg("seq_length"), py::arg("y"), py::arg("h_n"), py::arg("c_n"),
        py::arg("reserve"), py::arg("workspace"), py::arg("hidden_size"), py::arg("num_layers"),
        py::arg("bidirectional"), py::arg("has_bias"), py::arg("stream"), py::arg("device"),
        "LSTM stack forward on DLPack tensors (weights: w_ih, w_hh[, b_ih, b_hh] per layer and "
        "direction).");
  m.def("dlpack_lstm_backward", &lstm_backward, py::arg("d_output"), py::arg("d_h_n"),
        py::arg("d_c_n"), py::arg("x"), py::arg("output"), py::arg("h0"), py::arg("c0"),
        py::arg("seq_length"), py::arg("reserve"), py::arg("weights"), py::arg("dx"),
        py::arg("dh0"), py::arg("dc0"), py::arg("grads"), py::arg("workspace"),
        py::arg("hidden_size"), py::arg("num_layers"), py::arg("bidirectional"),
        py::arg("has_bias"), py::arg("stream"), py::arg("device"),
        "LSTM stack backward on DLPack tensors (grads laid out like weights).");
  m.def("dlpack_error_read", &error_read, py::arg("workspace"), py::arg("stream"),
        py::arg("device"),
        "(status, batch index, frame) recorded by the last device call on this workspace; "
        "waits for the stream.");
  m.def("dlpack_workspace_size", &workspace_size, py::arg("op"), py::arg("dims"), py::arg("device"),
        "Workspace bytes of a DLPack call: op and its (T, B, C[, S[, logits element bytes]]).");
}

}  // namespace bind
}  // namespace crnn
