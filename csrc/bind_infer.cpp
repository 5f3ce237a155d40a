// pybind11 binding of the native inference program (kernels/cpu/infer_net.h):
// crnn_fast._C.InferNet. crnn_fast/infer/native.py builds it from a model's folded weights; this
// checks the arrays and converts the program's exceptions (std::invalid_argument -> ValueError).
#include <pybind11/stl.h>

#include <stdexcept>

#include "../kernels/cpu/infer_net.h"
#include "bind_util.h"

namespace crnn {
namespace bind {
namespace {

using Net = crnn::cpu::infer::Net;
using F32 = py::array_t<float, py::array::c_style>;

int64_t pair_at(py::handle pair, int i, const char *name) {
  const py::tuple t = py::cast<py::tuple>(pair);
  if (t.size() != 2) throw py::value_error(std::string(name) + " must be a pair (h, w)");
  return py::cast<int64_t>(t[i]);
}

void add_conv(Net &net, int in, int out, int res, py::handle w_obj, py::handle b_obj,
              py::handle stride, py::handle pads_obj, bool relu, py::handle pool) {
  const F32 w = checked_array<float>(w_obj, "w", 4, "(C_out, C_in, kh, kw)");
  const F32 b = checked_array<float>(b_obj, "b", 1, "(C_out,)");
  if (b.shape(0) != w.shape(0)) throw py::value_error("b must have C_out = w.shape[0] entries");
  const py::tuple p = py::cast<py::tuple>(pads_obj);
  if (p.size() != 4) throw py::value_error("pads must be (top, bottom, left, right)");
  const int64_t pads[4] = {py::cast<int64_t>(p[0]), py::cast<int64_t>(p[1]),
                           py::cast<int64_t>(p[2]), py::cast<int64_t>(p[3])};
  int64_t pk[4] = {0, 0, 0, 0};
  if (!pool.is_none()) {
    const py::tuple q = py::cast<py::tuple>(pool);
    if (q.size() != 4) throw py::value_error("pool must be (kh, kw, sh, sw) or None");
    for (int i = 0; i < 4; ++i) pk[i] = py::cast<int64_t>(q[i]);
    if (pk[0] < 1) throw py::value_error("pool window must be >= 1");
  }
  net.add_conv(in, out, res, w.data(), b.data(), w.shape(0), w.shape(1), w.shape(2), w.shape(3),
               pair_at(stride, 0, "stride"), pair_at(stride, 1, "stride"), pads, relu, pk[0], pk[1],
               pk[2], pk[3]);
}

void set_lstm(Net &net, int64_t H, int32_t layers, bool bidirectional, py::list weights,
              int64_t input_size) {
  std::vector<F32> keep;
  std::vector<const float *> w_ih, w_hh, b_ih, b_hh;
  const int64_t D = bidirectional ? 2 : 1;
  if (static_cast<int64_t>(weights.size()) != layers * D)
    throw py::value_error("weights must hold layers * directions (w_ih, w_hh, b_ih, b_hh)");
  for (size_t i = 0; i < weights.size(); ++i) {
    const py::tuple t = py::cast<py::tuple>(weights[i]);
    if (t.size() != 4) throw py::value_error("each weights entry is (w_ih, w_hh, b_ih, b_hh)");
    const int64_t I = static_cast<int64_t>(i) < D ? input_size : D * H;
    const F32 a = checked_array<float>(t[0], "w_ih", 2, "(4H, I)");
    const F32 c = checked_array<float>(t[1], "w_hh", 2, "(4H, H)");
    const F32 d = checked_array<float>(t[2], "b_ih", 1, "(4H,)");
    const F32 e = checked_array<float>(t[3], "b_hh", 1, "(4H,)");
    if (a.shape(0) != 4 * H || a.shape(1) != I || c.shape(0) != 4 * H || c.shape(1) != H ||
        d.shape(0) != 4 * H || e.shape(0) != 4 * H)
      throw py::value_error("lstm weights " + std::to_string(i) + ": shapes do not match H = " +
                            std::to_string(H) + ", input size " + std::to_string(I));
    keep.insert(keep.end(), {a, c, d, e});
    w_ih.push_back(a.data()), w_hh.push_back(c.data());
    b_ih.push_back(d.data()), b_hh.push_back(e.data());
  }
  net.set_lstm(H, layers, bidirectional, w_ih, w_hh, b_ih, b_hh, input_size);
}

void set_head(Net &net, py::handle w_obj, py::handle b_obj) {
  const F32 w = checked_array<float>(w_obj, "w", 2, "(classes, features)");
  const F32 b = checked_array<float>(b_obj, "b", 1, "(classes,)");
  if (b.shape(0) != w.shape(0)) throw py::value_error("b must have w.shape[0] entries");
  net.set_head(w.data(), b.data(), w.shape(0), w.shape(1));
}

F32 images_arg(Net &net, py::handle x_obj) {
  F32 x = checked_array<float>(x_obj, "images", 4, "(B, C, H, W)");
  if (x.shape(1) != net.input_channels())
    throw py::value_error("images must have " + std::to_string(net.input_channels()) +
                          " channels (B, C, H, W), got shape " + shape_str(x));
  if (x.shape(0) < 1) throw py::value_error("images: empty batch");
  return x;
}

F32 forward(Net &net, py::handle x_obj) {
  const F32 x = images_arg(net, x_obj);
  const int64_t B = x.shape(0), H = x.shape(2), W = x.shape(3);
  auto probs = new_array<float>({B, net.frames(H, W), net.classes()}, "probs");
  {
    py::gil_scoped_release nogil;
    net.forward(probs.mutable_data(), x.data(), B, H, W);
  }
  return probs;
}

py::tuple recognize(Net &net, py::handle x_obj, int32_t blank, bool return_probs) {
  const F32 x = images_arg(net, x_obj);
  const int64_t B = x.shape(0), H = x.shape(2), W = x.shape(3), T = net.frames(H, W);
  auto ids = new_array<int32_t>({B, T}, "ids"), lengths = new_array<int32_t>({B}, "lengths");
  auto frames = new_array<int32_t>({B, T}, "frames");
  auto char_probs = new_array<float>({B, T}, "char_probs");
  F32 probs = return_probs ? new_array<float>({B, T, net.classes()}, "probs") : F32();
  {
    py::gil_scoped_release nogil;
    net.recognize(ids.mutable_data(), lengths.mutable_data(), char_probs.mutable_data(),
                  frames.mutable_data(), return_probs ? probs.mutable_data() : nullptr, x.data(), B,
                  H, W, blank);
  }
  if (return_probs) return py::make_tuple(ids, lengths, char_probs, frames, probs);
  return py::make_tuple(ids, lengths, char_probs, frames);
}

}  // namespace

void bind_infer(py::module_ &m) {
  py::class_<Net>(m, "InferNet", R"doc(The whole eval-mode CRNN as one native call (CPU).

Built once by crnn_fast.infer.native from folded weights: add_conv / add_pool (the backbone over
numbered activation slots, slot 0 the input), set_lstm, set_head. forward(images) -> probs
(B, T, classes); recognize(images, blank) -> ids, lengths, char_probs, frames (greedy CTC).
Calls release the GIL and are serialised per net.)doc")
      .def(py::init<>())
      .def("add_conv", &add_conv, py::arg("inp"), py::arg("out"), py::arg("res"), py::arg("w"),
           py::arg("b"), py::arg("stride"), py::arg("pads"), py::arg("relu"),
           py::arg("pool") = py::none(),
           "Conv (w (C_out, C_in, kh, kw), b (C_out,), stride (h, w), pads (t, b, l, r)) "
           "[+ slot res] [ReLU] [max-pool (kh, kw, sh, sw), 'same'] from slot inp to slot out.")
      .def(
          "add_pool",
          [](Net &n, int in, int out, bool average, py::handle k, py::handle s) {
            n.add_pool(in, out, average, pair_at(k, 0, "kernel"), pair_at(k, 1, "kernel"),
                       pair_at(s, 0, "stride"), pair_at(s, 1, "stride"));
          },
          py::arg("inp"), py::arg("out"), py::arg("average"), py::arg("kernel"), py::arg("stride"),
          "Max- or average-pool with MindSpore's 'same' padding.")
      .def("set_lstm", &set_lstm, py::arg("hidden_size"), py::arg("num_layers"),
           py::arg("bidirectional"), py::arg("weights"), py::arg("input_size"),
           "weights: per layer and direction (w_ih (4H, I), w_hh (4H, H), b_ih, b_hh (4H,)).")
      .def("set_head", &set_head, py::arg("w"), py::arg("b"), "Dense head w (K, F), b (K,).")
      .def("frames", &Net::frames, py::arg("height"), py::arg("width"),
           "Output frames T for inputs of this height and width.")
      .def("name_last", &Net::name_last, py::arg("name"), "Names the step added last.")
      .def("set_profiling", &Net::set_profiling, py::arg("on"),
           "While on, each call records every step's wall time (last_profile).")
      .def("last_profile", &Net::last_profile,
           "[(step name, milliseconds)] of the last call made while profiling.")
      .def_property_readonly("classes", &Net::classes)
      .def_property_readonly("input_channels", &Net::input_channels)
      .def("forward", &forward, py::arg("images"),
           "probs (B, T, classes) float32 of images (B, C, H, W) float32.")
      .def("recognize", &recognize, py::arg("images"), py::arg("blank"),
           py::arg("return_probs") = false,
           "Greedy CTC: ids (B, T) int32 -1 padded, lengths (B,), char_probs (B, T) float32, "
           "frames (B, T) int32 [, probs (B, T, classes)].");
}

}  // namespace bind
}  // namespace crnn
