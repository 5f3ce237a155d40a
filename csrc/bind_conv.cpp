// pybind11 binding of the CPU conv2d forward (validation, allocation, dispatch only).
#include <pybind11/stl.h>

#include <array>

#include "bind_util.h"
#include "check_conv.h"
#include "crnn/checks.h"
#include "crnn/conv2d.h"

namespace crnn {
namespace bind {
namespace {

using f32_array = py::array_t<float, py::array::c_style>;

void require_finite(const f32_array &a, const char *name) {
  require(crnn_all_finite_f32(a.data(), a.size()), std::string(name) + " contains NaN or Inf");
}

// x, w, the descriptor and their checks, shared by the forward and the backward.
struct ConvArgs {
  f32_array x, w;
  crnn_conv2d_desc d{};
};

ConvArgs parse_conv(py::handle x_obj, py::handle w_obj, py::handle stride_obj, py::handle pads_obj,
                    py::handle dilation_obj, py::handle groups_obj, bool relu,
                    py::handle threads_obj) {
  const auto stride = ints_arg<2>(stride_obj, "stride");
  const auto pads = ints_arg<4>(pads_obj, "pads");
  const auto dilation = ints_arg<2>(dilation_obj, "dilation");
  const int64_t groups = int_arg(groups_obj, "groups");
  const int num_threads = num_threads_arg(threads_obj);
  ConvArgs a;
  a.x = checked_array<float>(x_obj, "x", 4, "(B, C_in, H, W)");
  a.w = checked_array<float>(w_obj, "w", 4, "(C_out, C_in / groups, kh, kw)");
  const f32_array &x = a.x, &w = a.w;
  a.d = crnn_conv2d_desc{x.shape(0), x.shape(1), x.shape(2),  x.shape(3),      w.shape(0),
                         w.shape(2), w.shape(3), stride[0],   stride[1],       pads[0],
                         pads[1],    pads[2],    pads[3],     dilation[0],     dilation[1],
                         groups,     relu,       num_threads, CRNN_DEVICE_CPU, nullptr};
  require_ok(check::conv2d(a.d, w.shape(1), shape_str(x), shape_str(w)));
  require_finite(x, "x");
  require_finite(w, "w");
  return a;
}

f32_array conv2d_forward(py::handle x_obj, py::handle w_obj, py::handle b_obj, py::handle stride,
                         py::handle pads, py::handle dilation, py::handle groups, py::handle relu,
                         py::handle num_threads) {
  const ConvArgs a =
      parse_conv(x_obj, w_obj, stride, pads, dilation, groups, bool_arg(relu, "relu"), num_threads);
  const crnn_conv2d_desc &d = a.d;
  f32_array b;
  if (!b_obj.is_none()) {
    b = checked_array<float>(b_obj, "b", 1, "(C_out,)");
    require_dim(b, 0, d.C_out, "b", "C_out");
    require_finite(b, "b");
  }
  f32_array y = new_array<float>({d.B, d.C_out, crnn_conv2d_out_h(&d), crnn_conv2d_out_w(&d)}, "y");
  crnn_status_t st;
  {
    const size_t ws = crnn_conv2d_forward_workspace_size(&d);
    const Scratch ws_buf(ws, "conv2d_forward");
    void *buf = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_conv2d_forward_f32(y.mutable_data(), a.x.data(), a.w.data(),
                                 b_obj.is_none() ? nullptr : b.data(), &d, buf, ws);
  }
  raise_status(st, -1, "conv2d");
  return y;
}

py::tuple conv2d_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj, py::handle stride,
                          py::handle pads, py::handle dilation, py::handle groups,
                          py::handle num_threads) {
  const ConvArgs a = parse_conv(x_obj, w_obj, stride, pads, dilation, groups, false, num_threads);
  const crnn_conv2d_desc &d = a.d;
  auto dy = checked_array<float>(dy_obj, "d_y", 4, "(B, C_out, H_out, W_out)");
  const py::ssize_t want[4] = {d.B, d.C_out, crnn_conv2d_out_h(&d), crnn_conv2d_out_w(&d)};
  for (int i = 0; i < 4; ++i) require_dim(dy, i, want[i], "d_y", "the forward output's");
  require_finite(dy, "d_y");
  f32_array dx = new_array<float>({d.B, d.C_in, d.H, d.W}, "d_x");
  f32_array dw = new_array<float>({d.C_out, d.C_in / d.groups, d.kh, d.kw}, "d_w");
  f32_array db = new_array<float>({d.C_out}, "d_b");
  crnn_status_t st;
  {
    const size_t ws = crnn_conv2d_backward_workspace_size(&d);
    const Scratch ws_buf(ws, "conv2d_backward");
    void *buf = ws_buf.data();
    py::gil_scoped_release nogil;
    st = crnn_conv2d_backward_f32(dx.mutable_data(), dw.mutable_data(), db.mutable_data(),
                                  dy.data(), a.x.data(), a.w.data(), &d, buf, ws);
  }
  raise_status(st, -1, "conv2d backward");
  return py::make_tuple(dx, dw, db);
}

}  // namespace

void bind_conv(py::module_ &m) {
  m.def("conv2d_forward", &conv2d_forward, py::arg("x"), py::arg("w"), py::arg("b"),
        py::arg("stride"), py::arg("pads"), py::arg("dilation"), py::arg("groups"),
        py::arg("relu") = false, py::arg("num_threads") = 0,
        "y (B, C_out, H_out, W_out) = conv2d(x (B, C_in, H, W), w, b) [+ ReLU]; pads are "
        "(top, bottom, left, right).");
  m.def("conv2d_backward", &conv2d_backward, py::arg("d_y"), py::arg("x"), py::arg("w"),
        py::arg("stride"), py::arg("pads"), py::arg("dilation"), py::arg("groups"),
        py::arg("num_threads") = 0, "(d_x, d_w, d_b) of conv2d given d_y (no ReLU: mask d_y).");
}

}  // namespace bind
}  // namespace crnn
