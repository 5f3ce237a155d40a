// pybind11 binding of the CPU conv2d forward (validation, allocation, dispatch only).
#include <pybind11/stl.h>

#include <array>

#include "../kernels/cpu/checks.h"
#include "../kernels/cpu/conv2d.h"
#include "bind_util.h"

namespace crnn {
namespace bind {
namespace {

using f32_array = py::array_t<float, py::array::c_style>;

void require_finite(const f32_array &a, const char *name) {
  require(crnn_all_finite_f32(a.data(), a.size()), std::string(name) + " contains NaN or Inf");
}

f32_array conv2d_forward(py::handle x_obj, py::handle w_obj, py::handle b_obj,
                         std::array<int64_t, 2> stride, std::array<int64_t, 4> pads,
                         std::array<int64_t, 2> dilation, int64_t groups, bool relu,
                         int num_threads) {
  auto x = checked_array<float>(x_obj, "x", 4, "(B, C_in, H, W)");
  auto w = checked_array<float>(w_obj, "w", 4, "(C_out, C_in / groups, kh, kw)");
  require(groups >= 1, "groups must be >= 1, got " + std::to_string(groups));
  for (int i = 0; i < 2; ++i) {
    require(stride[i] >= 1, "stride must be >= 1, got " + std::to_string(stride[i]));
    require(dilation[i] >= 1, "dilation must be >= 1, got " + std::to_string(dilation[i]));
  }
  for (int64_t p : pads) require(p >= 0, "padding must be >= 0, got " + std::to_string(p));
  const crnn_conv2d_desc d{x.shape(0), x.shape(1), x.shape(2), x.shape(3),  w.shape(0),
                           w.shape(2), w.shape(3), stride[0],  stride[1],   pads[0],
                           pads[1],    pads[2],    pads[3],    dilation[0], dilation[1],
                           groups,     relu,       num_threads};
  require(d.B >= 1 && d.C_in >= 1 && d.H >= 1 && d.W >= 1,
          "x must have B, C_in, H, W >= 1, got shape " + shape_str(x));
  require(d.C_in % groups == 0 && d.C_out % groups == 0,
          "groups = " + std::to_string(groups) + " must divide C_in = " + std::to_string(d.C_in) +
              " and C_out = " + std::to_string(d.C_out));
  require_dim(w, 1, d.C_in / groups, "w", "C_in / groups");
  require(crnn_conv2d_out_h(&d) >= 1 && crnn_conv2d_out_w(&d) >= 1,
          "the kernel " + shape_str(w) + " does not fit the padded input " + shape_str(x));
  f32_array b;
  if (!b_obj.is_none()) {
    b = checked_array<float>(b_obj, "b", 1, "(C_out,)");
    require_dim(b, 0, d.C_out, "b", "C_out");
    require_finite(b, "b");
  }
  require_finite(x, "x");
  require_finite(w, "w");
  f32_array y({d.B, d.C_out, crnn_conv2d_out_h(&d), crnn_conv2d_out_w(&d)});
  crnn_status_t st;
  {
    const size_t ws = crnn_conv2d_forward_workspace_size(&d);
    void *buf = scratch(ws);
    py::gil_scoped_release nogil;
    st = crnn_conv2d_forward_f32(y.mutable_data(), x.data(), w.data(),
                                 b_obj.is_none() ? nullptr : b.data(), &d, buf, ws);
  }
  raise_status(st, -1, "conv2d");
  return y;
}

}  // namespace

void bind_conv(py::module_ &m) {
  m.def("conv2d_forward", &conv2d_forward, py::arg("x"), py::arg("w"), py::arg("b"),
        py::arg("stride"), py::arg("pads"), py::arg("dilation"), py::arg("groups"),
        py::arg("relu") = false, py::arg("num_threads") = 0,
        "y (B, C_out, H_out, W_out) = conv2d(x (B, C_in, H, W), w, b) [+ ReLU]; pads are "
        "(top, bottom, left, right).");
}

}  // namespace bind
}  // namespace crnn
