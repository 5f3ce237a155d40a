// Scalar and container arguments of the pybind11 bindings, converted by hand so a wrong type
// or an out-of-range value raises TypeError/ValueError naming the argument, instead of
// pybind11's "incompatible function arguments" dump of every overload (num_threads=2**31,
// beam_width=3.0, params=[...]). Messages match crnn_fast/_validate.py.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <climits>
#include <cstdint>
#include <string>

#include "check_common.h"

namespace crnn {
namespace bind {

namespace py = pybind11;

// Largest num_threads accepted (0: all cores; larger values than the cores are clamped).
constexpr int64_t kMaxNumThreads = check::kMaxNumThreads;

inline std::string type_name(py::handle obj) {
  return py::str(py::type::of(obj).attr("__name__"));
}

// An integer (int, numpy integer, anything with __index__; not float) that fits int64.
inline int64_t int_arg(py::handle obj, const char *name) {
  PyObject *idx = PyNumber_Index(obj.ptr());
  if (!idx) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be an integer, got " + type_name(obj) + " " +
                         std::string(py::repr(obj)));
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  Py_DECREF(idx);
  if (overflow)
    throw py::value_error(std::string(name) + " is out of range, got " +
                          std::string(py::repr(obj)));
  return v;
}

// num_threads in [0, kMaxNumThreads]; 0 means every core of the pool.
inline int num_threads_arg(py::handle obj) {
  const int64_t n = int_arg(obj, "num_threads");
  const check::Check c = check::num_threads(n);
  if (!c.ok()) throw py::value_error(c.msg);
  return static_cast<int>(n);
}

// An int argument that the kernels keep as int32: in [lo, hi] or ValueError "name must be ...".
inline int int32_arg(py::handle obj, const char *name, int64_t lo = INT_MIN, int64_t hi = INT_MAX) {
  const int64_t v = int_arg(obj, name);
  if (v < lo || v > hi)
    throw py::value_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                          std::to_string(hi) + "], got " + std::to_string(v));
  return static_cast<int>(v);
}

// A real number (int, float, numpy scalar; not a string).
inline double real_arg(py::handle obj, const char *name) {
  if (!py::isinstance(obj, py::module_::import("numbers").attr("Real")))
    throw py::type_error(std::string(name) + " must be a real number, got " + type_name(obj));
  const double v = PyFloat_AsDouble(obj.ptr());
  if (v == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

// A flag: bool, numpy bool or integer (truth value); anything else is a TypeError.
inline bool bool_arg(py::handle obj, const char *name) {
  if (PyBool_Check(obj.ptr()) || PyIndex_Check(obj.ptr()) ||
      py::isinstance(obj, py::module_::import("numpy").attr("bool_")))
    return PyObject_IsTrue(obj.ptr()) == 1;
  throw py::type_error(std::string(name) + " must be a bool, got " + type_name(obj));
}

inline std::string str_arg(py::handle obj, const char *name) {
  if (!PyUnicode_Check(obj.ptr()))
    throw py::type_error(std::string(name) + " must be a str, got " + type_name(obj));
  return obj.cast<std::string>();
}

inline py::dict dict_arg(py::handle obj, const char *name, const char *what) {
  if (!PyDict_Check(obj.ptr()))
    throw py::type_error(std::string(name) + " must be a dict of " + what + ", got " +
                         type_name(obj));
  return py::reinterpret_borrow<py::dict>(obj);
}

// A sequence of exactly N integers (a tuple or list), e.g. stride (s_h, s_w).
template <size_t N>
std::array<int64_t, N> ints_arg(py::handle obj, const char *name) {
  const std::string want =
      std::string(name) + " must be a sequence of " + std::to_string(N) + " integers";
  if (!PySequence_Check(obj.ptr()) || PyUnicode_Check(obj.ptr()))
    throw py::type_error(want + ", got " + type_name(obj));
  const auto seq = py::reinterpret_borrow<py::sequence>(obj);
  if (seq.size() != N) throw py::value_error(want + ", got " + std::to_string(seq.size()));
  std::array<int64_t, N> out{};
  const std::string item = std::string(name) + "[i]";
  for (size_t i = 0; i < N; ++i) out[i] = int_arg(seq[i], item.c_str());
  return out;
}

}  // namespace bind
}  // namespace crnn
