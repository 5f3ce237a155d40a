// pybind11 binding of the fused CPU LSTM stack (validation, allocation, dispatch only).
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bind_util.h"
#include "check_lstm.h"
#include "crnn/checks.h"
#include "crnn/lstm.h"

namespace crnn {
namespace bind {
namespace {

using f32_array = py::array_t<float, py::array::c_style>;

// Same message as crnn_fast/lstm.py's NumPy path.
constexpr const char *kNoReserve =
    "reserve is None: lstm_backward needs the reserve of a training forward; run "
    "lstm_forward(..., training=True) (an inference forward returns no reserve)";

void require_finite(const f32_array &a, const std::string &name) {
  require(crnn_all_finite_f32(a.data(), a.size()), name + " contains NaN or Inf");
}

// A parameter by its MindSpore/PyTorch name, float32 with exactly `shape`.
f32_array param(const py::dict &params, const std::string &name, std::vector<py::ssize_t> shape) {
  if (!params.contains(name.c_str())) throw py::value_error("params is missing '" + name + "'");
  const std::string label = "params['" + name + "']";
  auto a = checked_array<float>(params[name.c_str()], label.c_str(), static_cast<int>(shape.size()),
                                shape.size() == 2 ? "(4H, in)" : "(4H,)");
  for (size_t i = 0; i < shape.size(); ++i)
    require_dim(a, static_cast<int>(i), shape[i], label.c_str(), i == 0 ? "4H" : "in");
  require_finite(a, label);
  return a;
}

struct LstmArgs;
f32_array state_array(py::handle obj, const char *name, const LstmArgs &a);

// Everything the forward and backward share: x, params, h0/c0, seq_length, the descriptor.
struct LstmArgs {
  f32_array x, h0, c0;
  const float *h0p = nullptr, *c0p = nullptr;
  py::array_t<int32_t, py::array::c_style> seq;
  const int32_t *lens = nullptr;
  std::vector<f32_array> keep;  // owns the (possibly copied) parameter arrays
  std::vector<const float *> w_ih, w_hh, b_ih, b_hh;
  std::vector<std::string> names;  // per parameter, in w_ih, w_hh, b_ih, b_hh order per idx
  crnn_lstm_desc desc{};
  int64_t T = 0, B = 0, I = 0, H = 0, D = 1, LD = 1;
  crnn_lstm_weights_f32 weights() const {
    return {w_ih.data(), w_hh.data(), desc.has_bias ? b_ih.data() : nullptr,
            desc.has_bias ? b_hh.data() : nullptr};
  }
};

void parse_lstm_args(LstmArgs &a, py::handle x_obj, py::handle params_obj, py::handle hidden_obj,
                     py::handle layers_obj, py::handle bidir_obj, py::handle has_bias_obj,
                     py::handle h0_obj, py::handle c0_obj, py::handle seq_obj,
                     py::handle threads_obj) {
  const py::dict params = dict_arg(params_obj, "params", "float32 arrays keyed by parameter name");
  const int64_t hidden_size = int_arg(hidden_obj, "hidden_size");
  const int64_t num_layers = int_arg(layers_obj, "num_layers");
  const bool bidirectional = bool_arg(bidir_obj, "bidirectional");
  const bool has_bias = bool_arg(has_bias_obj, "has_bias");
  const int num_threads = num_threads_arg(threads_obj);
  a.x = checked_array<float>(x_obj, "x", 3, "(T, B, I)");
  a.T = a.x.shape(0), a.B = a.x.shape(1), a.I = a.x.shape(2), a.H = hidden_size;
  require_ok(check::lstm_sizes(a.T, a.B, a.I, a.H, num_layers, shape_str(a.x)));
  require_finite(a.x, "x");
  a.D = bidirectional ? 2 : 1;
  a.LD = num_layers * a.D;
  const int64_t H = a.H;
  for (int l = 0; l < num_layers; ++l)
    for (int64_t d = 0; d < a.D; ++d) {
      const std::string sfx = std::to_string(l) + (d ? "_reverse" : "");
      const int64_t in = l == 0 ? a.I : a.D * H;
      a.keep.push_back(param(params, "weight_ih_l" + sfx, {4 * H, in}));
      a.w_ih.push_back(a.keep.back().data());
      a.keep.push_back(param(params, "weight_hh_l" + sfx, {4 * H, H}));
      a.w_hh.push_back(a.keep.back().data());
      if (has_bias) {
        a.keep.push_back(param(params, "bias_ih_l" + sfx, {4 * H}));
        a.b_ih.push_back(a.keep.back().data());
        a.keep.push_back(param(params, "bias_hh_l" + sfx, {4 * H}));
        a.b_hh.push_back(a.keep.back().data());
      }
    }
  for (auto [obj, arr, ptr, name] :
       {std::make_tuple(h0_obj, &a.h0, &a.h0p, "h0"), std::make_tuple(c0_obj, &a.c0, &a.c0p, "c0")})
    if (!obj.is_none()) *arr = state_array(obj, name, a), *ptr = arr->data();
  if (!seq_obj.is_none()) {
    a.seq = checked_array<int32_t>(seq_obj, "seq_length", 1, "(B,)");
    require_dim(a.seq, 0, a.B, "seq_length", "B");
    check_lengths(a.seq.data(), a.B, a.T, "seq_length", "T");
    a.lens = a.seq.data();
  }
  a.desc = {a.T,
            a.B,
            a.I,
            a.H,
            static_cast<int>(num_layers),
            bidirectional,
            has_bias,
            num_threads,
            CRNN_DEVICE_CPU,
            nullptr};
}

// A (L*D, B, H) float32 state or state gradient, finite.
f32_array state_array(py::handle obj, const char *name, const LstmArgs &a) {
  f32_array s = checked_array<float>(obj, name, 3, "(L*D, B, H)");
  require_dim(s, 0, a.LD, name, "num_layers * D");
  require_dim(s, 1, a.B, name, "B");
  require_dim(s, 2, a.H, name, "hidden_size");
  require_finite(s, name);
  return s;
}

py::tuple lstm_forward(py::handle x_obj, py::handle params, py::handle hidden_size,
                       py::handle num_layers, py::handle bidirectional, py::handle has_bias,
                       py::handle h0_obj, py::handle c0_obj, py::handle seq_obj,
                       py::handle training_obj, py::handle num_threads, py::handle device) {
  const bool training = bool_arg(training_obj, "training");
  LstmArgs a;
  parse_lstm_args(a, x_obj, params, hidden_size, num_layers, bidirectional, has_bias, h0_obj,
                  c0_obj, seq_obj, num_threads);
  a.desc.device = device_arg(device);
  const crnn_lstm_weights_f32 w = a.weights();
  f32_array y = new_array<float>({a.T, a.B, a.D * a.H}, "output");
  f32_array h_n = new_array<float>({a.LD, a.B, a.H}, "h_n");
  f32_array c_n = new_array<float>({a.LD, a.B, a.H}, "c_n");
  std::optional<f32_array> reserve;
  if (training)
    reserve.emplace(
        new_array<float>({static_cast<py::ssize_t>(crnn_lstm_reserve_size(&a.desc))}, "reserve"));
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_lstm_forward_workspace_size(&a.desc);
    const Scratch ws_buf(ws_bytes, "lstm_forward");
    void *ws = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_lstm_forward_f32(y.mutable_data(), h_n.mutable_data(), c_n.mutable_data(),
                               reserve ? reserve->mutable_data() : nullptr, a.x.data(), a.h0p,
                               a.c0p, a.lens, &w, &a.desc, ws, ws_bytes);
    int32_t err = -1, err_frame = -1;
    st = with_device_errors(st, ws, a.desc.device, &err, &err_frame);
  }
  raise_status(st, -1, "lstm_forward");
  if (reserve) return py::make_tuple(y, h_n, c_n, *reserve);
  return py::make_tuple(y, h_n, c_n, py::none());
}

py::tuple lstm_backward(py::handle dy_obj, py::handle dhn_obj, py::handle dcn_obj, py::handle x_obj,
                        py::handle y_obj, py::handle params, py::handle hidden_size,
                        py::handle num_layers, py::handle bidirectional, py::handle has_bias,
                        py::handle h0_obj, py::handle c0_obj, py::handle seq_obj,
                        py::handle reserve_obj, py::handle num_threads, py::handle device) {
  if (reserve_obj.is_none()) throw py::value_error(kNoReserve);
  LstmArgs a;
  parse_lstm_args(a, x_obj, params, hidden_size, num_layers, bidirectional, has_bias, h0_obj,
                  c0_obj, seq_obj, num_threads);
  a.desc.device = device_arg(device);
  const std::vector<py::ssize_t> out_shape{a.T, a.B, a.D * a.H};
  f32_array dy = checked_array<float>(dy_obj, "d_output", 3, "(T, B, D*H)");
  f32_array y = checked_array<float>(y_obj, "output", 3, "(T, B, D*H)");
  for (auto [arr, name] : {std::make_pair(&dy, "d_output"), std::make_pair(&y, "output")}) {
    for (int i = 0; i < 3; ++i) require_dim(*arr, i, out_shape[i], name, "(T, B, D*H)");
    require_finite(*arr, name);
  }
  f32_array dhn, dcn;
  const float *dhn_p = nullptr, *dcn_p = nullptr;
  for (auto [obj, arr, ptr, name] : {std::make_tuple(dhn_obj, &dhn, &dhn_p, "d_h_n"),
                                     std::make_tuple(dcn_obj, &dcn, &dcn_p, "d_c_n")})
    if (!obj.is_none()) *arr = state_array(obj, name, a), *ptr = arr->data();
  f32_array reserve = checked_array<float>(reserve_obj, "reserve", 1, "(n,)");
  require_dim(reserve, 0, static_cast<py::ssize_t>(crnn_lstm_reserve_size(&a.desc)), "reserve",
              "crnn_lstm_reserve_size");
  require_finite(reserve, "reserve");
  const crnn_lstm_weights_f32 w = a.weights();

  f32_array dx = new_array<float>({a.T, a.B, a.I}, "d_x");
  f32_array dh0 = new_array<float>({a.LD, a.B, a.H}, "d_h0");
  f32_array dc0 = new_array<float>({a.LD, a.B, a.H}, "d_c0");
  py::dict grads;
  std::vector<float *> dw_ih, dw_hh, db_ih, db_hh;
  for (int l = 0; l < a.desc.num_layers; ++l)
    for (int64_t d = 0; d < a.D; ++d) {
      const std::string sfx = std::to_string(l) + (d ? "_reverse" : "");
      const int64_t in = l == 0 ? a.I : a.D * a.H, G = 4 * a.H;
      f32_array wi = new_array<float>({G, in}, "d_params"),
                wh = new_array<float>({G, a.H}, "d_params");
      grads[("weight_ih_l" + sfx).c_str()] = wi, grads[("weight_hh_l" + sfx).c_str()] = wh;
      dw_ih.push_back(wi.mutable_data()), dw_hh.push_back(wh.mutable_data());
      if (a.desc.has_bias) {
        f32_array bi(G), bh(G);
        grads[("bias_ih_l" + sfx).c_str()] = bi, grads[("bias_hh_l" + sfx).c_str()] = bh;
        db_ih.push_back(bi.mutable_data()), db_hh.push_back(bh.mutable_data());
      }
    }
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_lstm_backward_workspace_size(&a.desc);
    const Scratch ws_buf(ws_bytes, "lstm_backward");
    void *ws = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_lstm_backward_f32(
        dx.mutable_data(), dh0.mutable_data(), dc0.mutable_data(), dw_ih.data(), dw_hh.data(),
        a.desc.has_bias ? db_ih.data() : nullptr, a.desc.has_bias ? db_hh.data() : nullptr,
        dy.data(), dhn_p, dcn_p, a.x.data(), y.data(), a.h0p, a.c0p, a.lens, reserve.data(), &w,
        &a.desc, ws, ws_bytes);
    int32_t err = -1, err_frame = -1;
    st = with_device_errors(st, ws, a.desc.device, &err, &err_frame);
  }
  raise_status(st, -1, "lstm_backward");
  return py::make_tuple(dx, dh0, dc0, grads);
}

}  // namespace

void bind_lstm(py::module_ &m) {
  m.def("lstm_forward", &lstm_forward, py::arg("x"), py::arg("params"), py::arg("hidden_size"),
        py::arg("num_layers") = 1, py::arg("bidirectional") = false, py::arg("has_bias") = true,
        py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::arg("seq_length") = py::none(),
        py::arg("training") = false, py::arg("num_threads") = 0, py::kw_only(),
        py::arg("device") = "cpu",
        R"doc(Fused LSTM stack forward (CPU), MindSpore/PyTorch nn.LSTM semantics.

x (T, B, I) float32 time-major; params: dict of float32 arrays named weight_ih_l{k}[_reverse]
(4H, in), weight_hh_l{k}[_reverse] (4H, H), bias_ih_l{k}[_reverse] / bias_hh_l{k}[_reverse]
(4H); h0, c0 (L*D, B, H) or None; seq_length (B,) int32 or None. Returns (output (T, B, D*H),
h_n, c_n (L*D, B, H), reserve float32 (training) or None).)doc");
  m.def("lstm_backward", &lstm_backward, py::arg("d_output"), py::arg("d_h_n"), py::arg("d_c_n"),
        py::arg("x"), py::arg("output"), py::arg("params"), py::arg("hidden_size"),
        py::arg("num_layers") = 1, py::arg("bidirectional") = false, py::arg("has_bias") = true,
        py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::arg("seq_length") = py::none(),
        py::arg("reserve") = py::none(), py::arg("num_threads") = 0, py::kw_only(),
        py::arg("device") = "cpu",
        R"doc(Backward of lstm_forward (CPU) through time.

d_output (T, B, D*H) and d_h_n, d_c_n (L*D, B, H) or None: upstream gradients; x, output,
h0, c0, seq_length and reserve: the forward's inputs, output and training reserve. Returns
(d_x (T, B, I), d_h0, d_c0 (L*D, B, H), {param name: gradient}).)doc");
}

}  // namespace bind
}  // namespace crnn
