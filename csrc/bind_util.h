// Validation helpers for the pybind11 bindings: every failed requirement raises a Python
// TypeError/ValueError that names the argument (flash-attn CHECK_SHAPE style).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "../kernels/common/status.h"

namespace crnn {
namespace bind {

namespace py = pybind11;

inline std::string shape_str(const py::array &a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// A C-contiguous array of dtype T and rank `ndim` (non-contiguous input is copied;
// a wrong type, dtype or rank raises). `layout` names the axes for the message.
template <typename T>
py::array_t<T, py::array::c_style> checked_array(py::handle obj, const char *name, int ndim,
                                                 const char *layout) {
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
  return py::array_t<T, py::array::c_style>::ensure(a);
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

inline int32_t resolve_blank(int64_t blank, int64_t C) {
  const int64_t b = blank < 0 && blank == -1 ? C - 1 : blank;
  if (b < 0 || b >= C)
    throw py::value_error("blank must be in [0, C) = [0, " + std::to_string(C) + "), got " +
                          std::to_string(blank));
  return static_cast<int32_t>(b);
}

inline int32_t input_kind_from(const std::string &kind) {
  if (kind == "logits") return CRNN_CTC_LOGITS;
  if (kind == "probs") return CRNN_CTC_PROBS;
  if (kind == "log_probs") return CRNN_CTC_LOG_PROBS;
  throw py::value_error("input_kind must be 'logits', 'probs' or 'log_probs', got '" + kind + "'");
}

// Per-thread scratch reused across calls, so the hot call does not allocate.
inline void *scratch(size_t bytes) {
  thread_local std::vector<char> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

// Maps a kernel status to a Python exception; `subject` names the tensor it concerns.
inline void raise_status(crnn_status_t st, int32_t index, const char *subject) {
  if (st == CRNN_STATUS_SUCCESS) return;
  std::string where = index >= 0 ? " (batch index " + std::to_string(index) + ")" : "";
  if (st == CRNN_STATUS_NONFINITE_INPUT)
    throw py::value_error(std::string(subject) + " contains NaN or Inf within the frames read" +
                          where);
  if (st == CRNN_STATUS_INVALID_VALUE)
    throw py::value_error(std::string("invalid argument for ") + subject + where);
  throw std::runtime_error(std::string("crnn_fast kernel failed: ") + crnn_status_string(st) +
                           where);
}

// Lengths (B,) in [0, hi]: raises naming `name` and the first bad index.
inline void check_lengths(const int32_t *v, int64_t B, int64_t hi, const char *name,
                          const char *hi_name) {
  for (int64_t b = 0; b < B; ++b)
    if (v[b] < 0 || v[b] > hi)
      throw py::value_error(std::string(name) + "[" + std::to_string(b) +
                            "] = " + std::to_string(v[b]) + " is outside [0, " + hi_name + " = " +
                            std::to_string(hi) + "]");
}

}  // namespace bind
}  // namespace crnn
