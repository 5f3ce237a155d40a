// Memory helpers of the pybind11 bindings: MemoryError (never a crash) when an input's
// contiguous copy, an output or the kernel scratch cannot be allocated; byte-range overlap
// checks between outputs and inputs; a per-thread scratch cache with a size cap.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace crnn {
namespace bind {

namespace py = pybind11;

inline std::string shape_of(const std::vector<py::ssize_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// "40000000000 bytes (37.3 GiB)".
inline std::string bytes_str(double bytes) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.0f bytes (%.1f GiB)", bytes, bytes / (1024.0 * 1024 * 1024));
  return buf;
}

// Raises MemoryError with `msg` (pybind11 has no memory_error class).
[[noreturn]] inline void throw_memory_error(const std::string &msg) {
  PyErr_SetString(PyExc_MemoryError, msg.c_str());
  throw py::error_already_set();
}

// The C-contiguous copy of a non-contiguous input (a broadcast view, a transpose, a slice)
// could not be allocated: py::array_t::ensure() returns null then (error cleared).
[[noreturn]] inline void raise_copy_failed(const py::array &a, const char *name) {
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  const double bytes = static_cast<double>(a.size()) * static_cast<double>(a.itemsize());
  throw_memory_error(std::string(name) + " of shape " + shape_of(shape) + " and dtype " +
                     std::string(py::str(a.dtype())) +
                     " is not C-contiguous and its contiguous copy needs " + bytes_str(bytes) +
                     ", which could not be allocated (a broadcast or strided view is copied "
                     "before the kernel reads it)");
}

// A new C-contiguous output array; MemoryError naming `name` if it cannot be allocated.
template <typename T>
py::array_t<T, py::array::c_style> new_array(std::vector<py::ssize_t> shape, const char *name) {
  try {
    return py::array_t<T, py::array::c_style>(shape);
  } catch (py::error_already_set &e) {
    if (!e.matches(PyExc_MemoryError) && !e.matches(PyExc_ValueError)) throw;
    double bytes = sizeof(T);
    for (py::ssize_t d : shape) bytes *= static_cast<double>(d);
    throw_memory_error("cannot allocate the output " + std::string(name) + " of shape " +
                       shape_of(shape) + ": " + bytes_str(bytes) + " needed");
  }
}

// The bytes [lo, hi) an array's elements span (numpy.byte_bounds); empty arrays span none.
struct ByteRange {
  uintptr_t lo = 0, hi = 0;
};

inline ByteRange byte_range(const py::array &a) {
  if (a.size() == 0) return {};
  const uintptr_t base = reinterpret_cast<uintptr_t>(a.data());
  intptr_t lo = 0, hi = 0;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    const intptr_t step = static_cast<intptr_t>(a.strides(i)) * (a.shape(i) - 1);
    (step < 0 ? lo : hi) += step;
  }
  return {base + lo, base + hi + static_cast<intptr_t>(a.itemsize())};
}

// Raises ValueError naming both arrays when output `out` overlaps input `in` in memory (the
// kernels read inputs while they write outputs: an alias gives wrong results). Same message as
// crnn_fast._validate.check_no_overlap. Non-arrays are skipped (their own checks report them).
inline void check_no_overlap(py::handle out, const char *out_name, py::handle in,
                             const char *in_name) {
  if (out.is_none() || in.is_none() || !py::isinstance<py::array>(out) ||
      !py::isinstance<py::array>(in))
    return;
  const ByteRange o = byte_range(py::reinterpret_borrow<py::array>(out));
  const ByteRange i = byte_range(py::reinterpret_borrow<py::array>(in));
  if (o.lo < o.hi && i.lo < i.hi && o.lo < i.hi && i.lo < o.hi)
    throw py::value_error(std::string(out_name) + " shares memory with " + in_name +
                          ": an output must not overlap an input or another output (pass a "
                          "separate array)");
}

// Kernel scratch: a per-thread buffer reused across calls, so the hot call does not allocate,
// but cached only up to kScratchCacheBytes. A larger request gets its own buffer, freed when
// the Scratch goes out of scope (one CTC call with S = 20000 used to pin 223 MB per thread).
constexpr size_t kScratchCacheBytes = size_t{64} << 20;
constexpr size_t kScratchAlign = 64;

struct AlignedFree {
  void operator()(char *p) const { ::operator delete[](p, std::align_val_t(kScratchAlign)); }
};
using ScratchBuf = std::unique_ptr<char[], AlignedFree>;

inline ScratchBuf scratch_alloc(size_t bytes, const char *what) {
  char *p =
      static_cast<char *>(::operator new[](bytes, std::align_val_t(kScratchAlign), std::nothrow));
  if (!p)
    throw_memory_error("cannot allocate the " + std::string(what) +
                       " workspace: " + bytes_str(static_cast<double>(bytes)) + " needed");
  return ScratchBuf(p);
}

class Scratch {
 public:
  Scratch(size_t bytes, const char *what) {
    if (bytes == 0) bytes = kScratchAlign;  // kernels reject a NULL workspace
    if (bytes > kScratchCacheBytes) {
      own_ = scratch_alloc(bytes, what);
      data_ = own_.get();
      return;
    }
    thread_local ScratchBuf cache;
    thread_local size_t cache_bytes = 0;
    if (cache_bytes < bytes) {
      cache.reset(), cache_bytes = 0;
      cache = scratch_alloc(bytes, what);
      cache_bytes = bytes;
    }
    data_ = cache.get();
  }
  void *data() const { return data_; }

 private:
  ScratchBuf own_;
  void *data_ = nullptr;
};

}  // namespace bind
}  // namespace crnn
