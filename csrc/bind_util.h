// Validation helpers for the pybind11 bindings: every failed requirement raises a Python
// TypeError/ValueError that names the argument (flash-attn CHECK_SHAPE style).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bind_args.h"
#include "bind_memory.h"
#include "check_ctc.h"
#include "crnn/ctc_decode.h"
#include "crnn/status.h"

namespace crnn {
namespace bind {

namespace py = pybind11;

inline std::string shape_str(const py::array &a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// `obj` as an array of dtype T and rank `ndim`, as it is (no copy): a wrong type, dtype or
// rank raises naming `name`; `layout` names the axes for the message.
template <typename T>
py::array array_arg(py::handle obj, const char *name, int ndim, const char *layout) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().equal(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + " must have dtype " +
                         std::string(py::str(py::dtype::of<T>())) + ", got " +
                         std::string(py::str(a.dtype())));
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must have rank " + std::to_string(ndim) + " " +
                          layout + ", got shape " + shape_str(a));
  return a;
}

// `a` itself when C-contiguous, else its C-contiguous copy; a copy that cannot be allocated
// raises MemoryError naming `name`, its shape and the bytes (ensure() returns null then).
template <typename T>
py::array_t<T, py::array::c_style> contiguous(const py::array &a, const char *name) {
  auto c = py::array_t<T, py::array::c_style>::ensure(a);
  if (!c) raise_copy_failed(a, name);
  return c;
}

// array_arg, then contiguous: what the kernels read.
template <typename T>
py::array_t<T, py::array::c_style> checked_array(py::handle obj, const char *name, int ndim,
                                                 const char *layout) {
  return contiguous<T>(array_arg<T>(obj, name, ndim, layout), name);
}

inline void require(bool ok, const std::string &msg) {
  if (!ok) throw py::value_error(msg);
}

inline void require_dim(const py::array &a, int axis, py::ssize_t want, const char *name,
                        const char *what) {
  if (a.shape(axis) != want)
    throw py::value_error(std::string(name) + " must have shape[" + std::to_string(axis) + "] == " +
                          what + " = " + std::to_string(want) + ", got shape " + shape_str(a));
}

// Raises ValueError with the message of a failed shared check (check_common.h).
inline void require_ok(const check::Check &c) {
  if (!c.ok()) throw py::value_error(c.msg);
}

inline int32_t resolve_blank(int64_t blank, int64_t C) {
  int32_t b = 0;
  require_ok(check::ctc_blank(blank, C, &b));
  return b;
}

inline int32_t input_kind_from(const std::string &kind) {
  int32_t k = 0;
  require_ok(check::ctc_input_kind(kind, &k));
  return k;
}

// Maps a kernel status to a Python exception; `subject` names the tensor it concerns, `index`
// and `frame` are the kernel's error_index and error_frame (-1: unknown).
inline void raise_status(crnn_status_t st, int32_t index, const char *subject, int32_t frame = -1) {
  if (st == CRNN_STATUS_SUCCESS) return;
  std::string where = index >= 0 ? " (batch index " + std::to_string(index) + ")" : "";
  if (st == CRNN_STATUS_NONFINITE_INPUT)
    throw py::value_error(std::string(subject) + " contains NaN or +Inf within the frames read" +
                          where);
  if (st == CRNN_STATUS_NEG_INF_FRAME)
    throw py::value_error(std::string(subject) + "[t=" + std::to_string(frame) +
                          ", b=" + std::to_string(index) +
                          "] is -inf for every class (no class has non-zero probability)");
  if (st == CRNN_STATUS_INVALID_VALUE)
    throw py::value_error(std::string("invalid argument for ") + subject + where);
  throw std::runtime_error(std::string("crnn_fast kernel failed: ") + crnn_status_string(st) +
                           where);
}

// The device a binding runs its kernel on: "cpu", "cuda-emu" (the CUDA kernels' source on the
// SIMT executor, a CPU test harness) or "ascend-emu" (the Ascend C kernels' source on our host
// model of the API); all host memory.
inline int32_t device_arg(py::handle obj) {
  const std::string s = str_arg(obj, "device");
  if (s == "cpu") return CRNN_DEVICE_CPU;
  const int32_t dev = s == "cuda-emu"     ? CRNN_DEVICE_CUDA_EMU
                      : s == "ascend-emu" ? CRNN_DEVICE_ASCEND_EMU
                                          : -1;
  if (dev < 0)
    throw py::value_error("device must be 'cpu', 'cuda-emu' or 'ascend-emu', got '" + s + "'");
  if (!crnn_device_compiled(dev))
    throw py::value_error("device '" + s + "' is not compiled into crnn_fast._C");
  return dev;
}

// A call's status including, on a device, the value errors its kernels recorded in the
// workspace (crnn_device_error_read).
inline crnn_status_t with_device_errors(crnn_status_t st, const void *ws, int32_t device,
                                        int32_t *err, int32_t *err_frame) {
  if (device == CRNN_DEVICE_CPU || st != CRNN_STATUS_SUCCESS) return st;
  return crnn_device_error_read(ws, device, nullptr, err, err_frame);
}

// Lengths (B,) in [0, hi]: raises naming `name` and the first bad index.
inline void check_lengths(const int32_t *v, int64_t B, int64_t hi, const char *name,
                          const char *hi_name) {
  require_ok(check::lengths(v, B, hi, name, hi_name));
}

// Inputs shared by the decoder bindings: scores (T, B, C) float32 (or (B, T, C) with
// batch_first), optional input_lengths (B,), and the common decode options. Fill in place:
// opt.error_index points at err.
struct DecodeInputs {
  py::array_t<float, py::array::c_style> scores;
  py::array_t<int32_t, py::array::c_style> in_len;
  const int32_t *lens = nullptr;  // NULL: every sample has T frames
  int64_t T = 0, B = 0, C = 0;
  int32_t err = -1, err_frame = -1;
  int32_t device = CRNN_DEVICE_CPU;
  crnn_ctc_decode_options opt{};
};

// Raises for a decoder kernel status. Lengths and options were checked before the call, so an
// INVALID_VALUE with input_kind 'probs' is a negative probability (-inf included).
inline void raise_decode_status(crnn_status_t st, const DecodeInputs &d) {
  if (st == CRNN_STATUS_INVALID_VALUE && d.opt.input_kind == CRNN_CTC_PROBS && d.err >= 0)
    throw py::value_error("scores has negative values with input_kind='probs' (batch index " +
                          std::to_string(d.err) + ")");
  raise_status(st, d.err, "scores", d.err_frame);
}

inline void parse_decode_inputs(DecodeInputs &d, py::handle scores_obj, py::handle in_len_obj,
                                py::handle blank, py::handle input_kind, py::handle batch_first,
                                py::handle num_threads) {
  const bool bf = bool_arg(batch_first, "batch_first");
  d.scores = checked_array<float>(scores_obj, "scores", 3, bf ? "(B, T, C)" : "(T, B, C)");
  d.T = d.scores.shape(bf ? 1 : 0);
  d.B = d.scores.shape(bf ? 0 : 1);
  d.C = d.scores.shape(2);
  require_ok(check::ctc_scores_dims("scores", d.T, d.B, d.C, shape_str(d.scores)));
  d.opt.blank = resolve_blank(int_arg(blank, "blank"), d.C);
  d.opt.input_kind = input_kind_from(str_arg(input_kind, "input_kind"));
  d.opt.batch_first = bf;
  d.opt.num_threads = num_threads_arg(num_threads);
  d.opt.error_index = &d.err;
  d.opt.error_frame = &d.err_frame;
  if (!in_len_obj.is_none()) {
    d.in_len = checked_array<int32_t>(in_len_obj, "input_lengths", 1, "(B,)");
    require_dim(d.in_len, 0, d.B, "input_lengths", "B");
    check_lengths(d.in_len.data(), d.B, d.T, "input_lengths", "T");
    d.lens = d.in_len.data();
  }
}

}  // namespace bind
}  // namespace crnn
