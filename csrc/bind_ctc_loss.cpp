// pybind11 binding of the fused CPU CTC loss (validation, allocation, dispatch only).
#include <pybind11/stl.h>

#include <algorithm>
#include <optional>
#include <type_traits>
#include <utility>

#include "../kernels/common/narrow_float.h"
#include "bind_util.h"
#include "crnn/ctc_loss.h"

// numpy.float16 arrays as py::array_t<crnn::Half> (the kernels' float16 storage type).
namespace pybind11 {
namespace detail {
template <>
struct npy_format_descriptor<crnn::Half> {
  static constexpr int kNpyHalf = 23;  // NPY_HALF
  static pybind11::dtype dtype() {
    return reinterpret_steal<pybind11::dtype>(npy_api::get().PyArray_DescrFromType_(kNpyHalf));
  }
  static std::string format() { return "e"; }
  static constexpr auto name = const_name("float16");
};
}  // namespace detail
}  // namespace pybind11

namespace crnn {
namespace bind {
namespace {

// A caller-provided output: exact dtype and shape, C-contiguous and writeable (no copy).
template <typename T>
using c_array = py::array_t<T, py::array::c_style>;

template <typename T>
c_array<T> output_array(py::handle obj, const char *name, std::vector<py::ssize_t> shape) {
  if (obj.is_none()) return new_array<T>(shape, name);
  auto a = checked_array<T>(obj, name, static_cast<int>(shape.size()), "");
  for (size_t i = 0; i < shape.size(); ++i) require_dim(a, static_cast<int>(i), shape[i], name, "");
  require(a.ptr() == obj.ptr() && a.writeable(),
          std::string(name) + " must be a writeable C-contiguous array");
  return a;
}

// loss_out / grad_out must not overlap an input (or each other): the kernel reads logits
// while it writes the gradient.
void check_outputs_disjoint(py::handle loss_out, py::handle grad_out,
                            std::initializer_list<std::pair<py::handle, const char *>> inputs) {
  for (auto [out, out_name] :
       {std::make_pair(loss_out, "loss_out"), std::make_pair(grad_out, "grad_out")})
    for (auto [in, in_name] : inputs) check_no_overlap(out, out_name, in, in_name);
  check_no_overlap(grad_out, "grad_out", loss_out, "loss_out");
}

// float16 logits give a float32 loss (the kernels compute in float32); the others their own.
template <typename X>
using loss_t = std::conditional_t<std::is_same_v<X, Half>, float, X>;

template <typename T>
py::tuple ctc_loss_typed(py::handle logits_obj, py::handle labels_obj, py::handle in_len_obj,
                         py::handle lab_len_obj, py::handle blank_arg, bool zero_infinity,
                         bool compute_grad, int num_threads, py::handle loss_out,
                         py::handle grad_out, int32_t device) {
  check_outputs_disjoint(loss_out, grad_out,
                         {{logits_obj, "logits"},
                          {labels_obj, "labels"},
                          {in_len_obj, "input_lengths"},
                          {lab_len_obj, "label_lengths"}});
  auto logits = checked_array<T>(logits_obj, "logits", 3, "(T, B, C)");
  const int64_t T_ = logits.shape(0), B = logits.shape(1), C = logits.shape(2);
  require_ok(check::ctc_scores_dims("logits", T_, B, C, shape_str(logits)));
  py::array labels_in = array_arg<int32_t>(labels_obj, "labels", 2, "(B, S)");
  require_dim(labels_in, 0, B, "labels", "B");
  auto in_len = checked_array<int32_t>(in_len_obj, "input_lengths", 1, "(B,)");
  require_dim(in_len, 0, B, "input_lengths", "B");
  auto lab_len = checked_array<int32_t>(lab_len_obj, "label_lengths", 1, "(B,)");
  require_dim(lab_len, 0, B, "label_lengths", "B");
  const int32_t blank = resolve_blank(int_arg(blank_arg, "blank"), C);

  check_lengths(in_len.data(), B, T_, "input_lengths", "T");
  check_lengths(lab_len.data(), B, labels_in.shape(1), "label_lengths", "S");
  // The scratch is sized by the longest label read, not by S; a non-contiguous labels (a
  // broadcast or a slice) is copied only up to it.
  int64_t L_max = 0;
  for (int64_t b = 0; b < B; ++b) L_max = std::max<int64_t>(L_max, lab_len.data()[b]);
  // (a device call sizes its scratch by S, so it always gets the labels cut to L_max)
  if ((device != CRNN_DEVICE_CPU || !(labels_in.flags() & py::array::c_style)) &&
      L_max < labels_in.shape(1))
    labels_in = labels_in[py::make_tuple(py::slice(0, B, 1), py::slice(0, L_max, 1))];
  auto labels = contiguous<int32_t>(labels_in, "labels");
  const int64_t S = labels.shape(1);
  const int32_t *lab = labels.data();
  require_ok(check::ctc_labels(lab, lab_len.data(), B, S, C, blank));

  using L = loss_t<T>;
  c_array<L> loss = output_array<L>(loss_out, "loss_out", {B});
  std::optional<c_array<T>> grad;
  if (compute_grad) grad.emplace(output_array<T>(grad_out, "grad_out", {T_, B, C}));
  int32_t err = -1, err_frame = -1;
  crnn_ctc_loss_options opt{};
  opt.blank = blank;
  opt.zero_infinity = zero_infinity;
  opt.num_threads = num_threads;
  opt.error_index = &err;
  opt.error_frame = &err_frame;
  opt.device = device;
  crnn_status_t st;
  {
    const size_t ws_bytes = crnn_ctc_loss_workspace_size(T_, B, C, L_max, sizeof(T), &opt);
    const Scratch ws_buf(ws_bytes, "ctc_loss");
    void *ws = ws_buf.data();
    T *g = grad ? grad->mutable_data() : nullptr;
    py::gil_scoped_release nogil;
    if constexpr (std::is_same_v<T, Half>)
      st = crnn_ctc_loss_f16(loss.mutable_data(), reinterpret_cast<uint16_t *>(g),
                             reinterpret_cast<const uint16_t *>(logits.data()), lab, in_len.data(),
                             lab_len.data(), T_, B, C, S, ws, ws_bytes, &opt);
    else if constexpr (sizeof(T) == 4)
      st = crnn_ctc_loss_f32(loss.mutable_data(), g, logits.data(), lab, in_len.data(),
                             lab_len.data(), T_, B, C, S, ws, ws_bytes, &opt);
    else
      st = crnn_ctc_loss_f64(loss.mutable_data(), g, logits.data(), lab, in_len.data(),
                             lab_len.data(), T_, B, C, S, ws, ws_bytes, &opt);
    st = with_device_errors(st, ws, device, &err, &err_frame);
  }
  raise_status(st, err, "logits", err_frame);
  if (grad) return py::make_tuple(loss, *grad);
  return py::make_tuple(loss, py::none());
}

py::tuple ctc_loss(py::handle logits, py::handle labels, py::handle input_lengths,
                   py::handle label_lengths, py::handle blank, py::handle zero_infinity_obj,
                   py::handle compute_grad_obj, py::handle num_threads_obj, py::handle loss_out,
                   py::handle grad_out, py::handle device_obj) {
  const int32_t device = device_arg(device_obj);
  const bool zero_infinity = bool_arg(zero_infinity_obj, "zero_infinity");
  const bool compute_grad = bool_arg(compute_grad_obj, "compute_grad");
  const int num_threads = num_threads_arg(num_threads_obj);
  const auto has_dtype = [&logits](const py::dtype &dt) {
    return py::isinstance<py::array>(logits) &&
           py::reinterpret_borrow<py::array>(logits).dtype().equal(dt);
  };
  if (has_dtype(py::dtype::of<double>()))
    return ctc_loss_typed<double>(logits, labels, input_lengths, label_lengths, blank,
                                  zero_infinity, compute_grad, num_threads, loss_out, grad_out,
                                  device);
  if (has_dtype(py::dtype::of<Half>()))
    return ctc_loss_typed<Half>(logits, labels, input_lengths, label_lengths, blank, zero_infinity,
                                compute_grad, num_threads, loss_out, grad_out, device);
  return ctc_loss_typed<float>(logits, labels, input_lengths, label_lengths, blank, zero_infinity,
                               compute_grad, num_threads, loss_out, grad_out, device);
}

}  // namespace

void bind_ctc_loss(py::module_ &m) {
  m.def("ctc_loss", &ctc_loss, py::arg("logits"), py::arg("labels"), py::arg("input_lengths"),
        py::arg("label_lengths"), py::arg("blank") = -1, py::arg("zero_infinity") = false,
        py::arg("compute_grad") = true, py::arg("num_threads") = 0,
        py::arg("loss_out") = py::none(), py::arg("grad_out") = py::none(), py::kw_only(),
        py::arg("device") = "cpu",
        R"doc(Fused CTC loss + gradient w.r.t. the raw logits (CPU, or device='cuda-emu').

logits (T, B, C) float32|float64|float16, labels (B, S) int32 padded, input_lengths (B,) int32,
label_lengths (B,) int32; blank=-1 means C-1. Returns (loss (B,), grad (T, B, C) or None)
in the dtype of logits; float16 logits: loss float32, grad float16 (float32 compute, grad
rounded to nearest even). Infeasible samples: loss inf (0 with zero_infinity), grad 0.
-inf logits are probability 0 (gradient 0); NaN, +inf or a frame that is -inf for every class
among the frames read raise ValueError.
loss_out / grad_out: optional preallocated outputs (exact dtype and shape, C-contiguous),
e.g. reused across steps to skip page faults on a fresh (T, B, C) gradient; they must not
overlap an input or each other (ValueError naming both).)doc");
}

}  // namespace bind
}  // namespace crnn
