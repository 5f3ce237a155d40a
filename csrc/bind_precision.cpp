// The CPU matmul precision (crnn/matmul_precision.h) and the bfloat16 GEMM, exposed to Python
// (the GEMM for the tests: op(a) . op(b) on NumPy arrays).
#include <algorithm>
#include <limits>
#include <string>

#include "../kernels/cpu/gemm_bf16.h"
#include "bind_util.h"
#include "crnn/matmul_precision.h"

namespace crnn {
namespace bind {
namespace {

void set_precision(const std::string &name) {
  crnn_matmul_precision_t p;
  if (name == "float32") {
    p = CRNN_MATMUL_FLOAT32;
  } else if (name == "bfloat16") {
    p = CRNN_MATMUL_BFLOAT16;
  } else {
    throw py::value_error("precision must be 'float32' or 'bfloat16', got '" + name + "'");
  }
  crnn_cpu_set_matmul_precision(p);  // p is valid: SUCCESS
}

// A 2-D float32 operand whose rows may be strided (a view) but whose columns are contiguous.
py::array_t<float> operand(py::handle obj, const char *name) {
  py::array a = array_arg<float>(obj, name, 2, "(rows, cols)");
  if (a.strides(1) != static_cast<py::ssize_t>(sizeof(float)) || a.strides(0) < 0 ||
      a.strides(0) % static_cast<py::ssize_t>(sizeof(float)) != 0)
    a = contiguous<float>(a, name);
  return py::reinterpret_borrow<py::array_t<float>>(a);
}

int64_t ld(const py::array &a) {
  const int64_t l = a.strides(0) / static_cast<int64_t>(sizeof(float));
  return l < a.shape(1) ? a.shape(1) : l;
}

py::array_t<float> gemm_bf16(py::handle a_obj, py::handle b_obj, bool a_trans, bool b_trans,
                             py::handle c_obj, bool portable) {
  auto a = operand(a_obj, "a"), b = operand(b_obj, "b");
  const int64_t M = a_trans ? a.shape(1) : a.shape(0), K = a_trans ? a.shape(0) : a.shape(1);
  const int64_t Kb = b_trans ? b.shape(1) : b.shape(0), N = b_trans ? b.shape(0) : b.shape(1);
  if (Kb != K)
    throw py::value_error("b: op(b) must have " + std::to_string(K) +
                          " rows (op(a)'s columns), "
                          "got " +
                          std::to_string(Kb));
  auto c = new_array<float>({M, N}, "c");
  float beta = 0.0f;
  if (c_obj.is_none()) {  // NaN-poisoned: an element the kernel skips fails the tests
    std::fill(c.mutable_data(), c.mutable_data() + M * N, std::numeric_limits<float>::quiet_NaN());
  } else {
    auto c_in = checked_array<float>(c_obj, "c", 2, "(M, N)");
    require_dim(c_in, 0, M, "c", "M");
    require_dim(c_in, 1, N, "c", "N");
    std::copy(c_in.data(), c_in.data() + M * N, c.mutable_data());
    beta = 1.0f;
  }
  {
    py::gil_scoped_release nogil;
    crnn::cpu::gemm_bf16(a_trans, b_trans, M, N, K, a.data(), ld(a), b.data(), ld(b), beta,
                         c.mutable_data(), N, portable);
  }
  return c;
}

}  // namespace

void bind_precision(py::module_ &m) {
  m.def("set_cpu_matmul_precision", &set_precision, py::arg("precision"),
        "The CPU kernels' GEMM precision, process-wide: 'float32' or 'bfloat16'.");
  m.def(
      "cpu_matmul_precision",
      [] {
        return std::string(crnn_cpu_matmul_precision() == CRNN_MATMUL_BFLOAT16 ? "bfloat16"
                                                                               : "float32");
      },
      "The CPU kernels' GEMM precision: 'float32' or 'bfloat16'.");
  m.def(
      "cpu_bf16_native", [] { return crnn_cpu_bf16_native() != 0; },
      "Whether the bfloat16 GEMMs run natively (AVX512-BF16) rather than emulated.");
  m.def("gemm_bf16", &gemm_bf16, py::arg("a"), py::arg("b"), py::arg("a_trans") = false,
        py::arg("b_trans") = false, py::arg("c") = py::none(), py::arg("portable") = false,
        "op(a) . op(b) (+ c) with op(a), op(b) rounded to bfloat16 and float32 sums; a, b "
        "float32 2-D (rows may be strided views); without c the output starts NaN; portable: "
        "the sgemm emulation.");
}

}  // namespace bind
}  // namespace crnn
