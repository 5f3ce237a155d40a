// pybind11 binding of the fused CPU LSTM stack (validation, allocation, dispatch only).
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "../kernels/cpu/checks.h"
#include "../kernels/cpu/lstm.h"
#include "bind_util.h"

namespace crnn {
namespace bind {
namespace {

using f32_array = py::array_t<float, py::array::c_style>;

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

py::tuple lstm_forward(py::handle x_obj, const py::dict &params, int64_t hidden_size,
                       int num_layers, bool bidirectional, bool has_bias, py::handle h0_obj,
                       py::handle c0_obj, py::handle seq_obj, bool training, int num_threads) {
  auto x = checked_array<float>(x_obj, "x", 3, "(T, B, I)");
  const int64_t T = x.shape(0), B = x.shape(1), I = x.shape(2), H = hidden_size;
  require(T > 0 && B > 0 && I > 0, "x must have T, B, I >= 1, got shape " + shape_str(x));
  require(H > 0, "hidden_size must be >= 1, got " + std::to_string(H));
  require(num_layers >= 1, "num_layers must be >= 1, got " + std::to_string(num_layers));
  require_finite(x, "x");
  const int64_t D = bidirectional ? 2 : 1, LD = num_layers * D;

  std::vector<f32_array> keep;  // owns the (possibly copied) parameter arrays
  std::vector<const float *> w_ih, w_hh, b_ih, b_hh;
  for (int l = 0; l < num_layers; ++l)
    for (int64_t d = 0; d < D; ++d) {
      const std::string sfx = std::to_string(l) + (d ? "_reverse" : "");
      const int64_t in = l == 0 ? I : D * H;
      keep.push_back(param(params, "weight_ih_l" + sfx, {4 * H, in}));
      w_ih.push_back(keep.back().data());
      keep.push_back(param(params, "weight_hh_l" + sfx, {4 * H, H}));
      w_hh.push_back(keep.back().data());
      if (has_bias) {
        keep.push_back(param(params, "bias_ih_l" + sfx, {4 * H}));
        b_ih.push_back(keep.back().data());
        keep.push_back(param(params, "bias_hh_l" + sfx, {4 * H}));
        b_hh.push_back(keep.back().data());
      }
    }
  f32_array h0, c0;
  const float *h0p = nullptr, *c0p = nullptr;
  for (auto [obj, arr, ptr, name] :
       {std::make_tuple(h0_obj, &h0, &h0p, "h0"), std::make_tuple(c0_obj, &c0, &c0p, "c0")}) {
    if (obj.is_none()) continue;
    *arr = checked_array<float>(obj, name, 3, "(L*D, B, H)");
    require_dim(*arr, 0, LD, name, "num_layers * D");
    require_dim(*arr, 1, B, name, "B");
    require_dim(*arr, 2, H, name, "hidden_size");
    require_finite(*arr, name);
    *ptr = arr->data();
  }
  py::array_t<int32_t, py::array::c_style> seq;
  const int32_t *lens = nullptr;
  if (!seq_obj.is_none()) {
    seq = checked_array<int32_t>(seq_obj, "seq_length", 1, "(B,)");
    require_dim(seq, 0, B, "seq_length", "B");
    check_lengths(seq.data(), B, T, "seq_length", "T");
    lens = seq.data();
  }

  crnn_lstm_desc desc{T, B, I, H, num_layers, bidirectional, has_bias, num_threads};
  crnn_lstm_weights_f32 w{w_ih.data(), w_hh.data(), has_bias ? b_ih.data() : nullptr,
                          has_bias ? b_hh.data() : nullptr};
  f32_array y({T, B, D * H}), h_n({LD, B, H}), c_n({LD, B, H});
  std::optional<f32_array> reserve;
  if (training)
    reserve.emplace(
        std::vector<py::ssize_t>{static_cast<py::ssize_t>(crnn_lstm_reserve_size(&desc))});
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_lstm_forward_workspace_size(&desc);
    void *ws = scratch(ws_bytes);
    py::gil_scoped_release nogil;
    st = crnn_lstm_forward_f32(y.mutable_data(), h_n.mutable_data(), c_n.mutable_data(),
                               reserve ? reserve->mutable_data() : nullptr, x.data(), h0p, c0p,
                               lens, &w, &desc, ws, ws_bytes);
  }
  raise_status(st, -1, "lstm_forward");
  if (reserve) return py::make_tuple(y, h_n, c_n, *reserve);
  return py::make_tuple(y, h_n, c_n, py::none());
}

}  // namespace

void bind_lstm(py::module_ &m) {
  m.def("lstm_forward", &lstm_forward, py::arg("x"), py::arg("params"), py::arg("hidden_size"),
        py::arg("num_layers") = 1, py::arg("bidirectional") = false, py::arg("has_bias") = true,
        py::arg("h0") = py::none(), py::arg("c0") = py::none(), py::arg("seq_length") = py::none(),
        py::arg("training") = false, py::arg("num_threads") = 0,
        R"doc(Fused LSTM stack forward (CPU), MindSpore/PyTorch nn.LSTM semantics.

x (T, B, I) float32 time-major; params: dict of float32 arrays named weight_ih_l{k}[_reverse]
(4H, in), weight_hh_l{k}[_reverse] (4H, H), bias_ih_l{k}[_reverse] / bias_hh_l{k}[_reverse]
(4H); h0, c0 (L*D, B, H) or None; seq_length (B,) int32 or None. Returns (output (T, B, D*H),
h_n, c_n (L*D, B, H), reserve float32 (training) or None).)doc");
}

}  // namespace bind
}  // namespace crnn
