// The one compiled extension, crnn_fast._C: pybind11 bindings (NumPy in/out).
#include <pybind11/pybind11.h>

#include <string>

#include "../kernels/common/device_error.h"
#include "aot_util.h"
#include "crnn/lstm.h"

namespace py = pybind11;

namespace crnn {
namespace bind {
void bind_ctc_loss(py::module_ &m);
void bind_ctc_greedy(py::module_ &m);
void bind_lstm(py::module_ &m);
void bind_ctc_beam_search(py::module_ &m);
void bind_conv(py::module_ &m);
void bind_check(py::module_ &m);
void bind_dlpack(py::module_ &m);
void bind_precision(py::module_ &m);
void bind_infer(py::module_ &m);
}  // namespace bind
}  // namespace crnn

#include "../kernels/cpu/thread_pool.h"

namespace {

// Which clone CRNN_SIMD_CLONES functions resolve to on this CPU (same test as GCC's resolver).
std::string runtime_simd() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CRNN_NO_CLONES)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4 clone (AVX-512)";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3 clone (AVX2+FMA)";
  return "baseline x86-64 clone (SSE2)";
#else
  return "compiler baseline (no runtime dispatch)";
#endif
}

py::dict build_info() {
  py::dict d;
  d["compiler"] = std::string(__VERSION__);
  d["simd_runtime"] = runtime_simd();
  d["threads"] = "crnn_fast pool (CRNN_FAST_NUM_THREADS, else the CPU affinity mask)";
  d["max_threads"] = crnn::cpu::max_threads();
  // the kernel library's dispatch says which backends it links (kernels/dispatch/route.h)
  d["cuda_compiled"] = crnn_device_compiled(CRNN_DEVICE_CUDA) != 0;
  d["ascend_compiled"] = crnn_device_compiled(CRNN_DEVICE_ASCEND) != 0;
  d["cuda_emu_compiled"] = crnn_device_compiled(CRNN_DEVICE_CUDA_EMU) != 0;
  d["ascend_emu_compiled"] = crnn_device_compiled(CRNN_DEVICE_ASCEND_EMU) != 0;
  d["build_type"] = std::string(CRNN_FAST_BUILD_TYPE);
  return d;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() =
      "crnn_fast compiled kernels: bindings over the kernel library's C API (kernels/include/crnn)";
  m.def("build_info", &build_info, "What this extension was compiled with and dispatches to.");
  crnn::bind::bind_ctc_loss(m);
  crnn::bind::bind_ctc_greedy(m);
  crnn::bind::bind_lstm(m);
  crnn::bind::bind_ctc_beam_search(m);
  crnn::bind::bind_conv(m);
  crnn::bind::bind_check(m);
  crnn::bind::bind_dlpack(m);
  crnn::bind::bind_precision(m);
  crnn::bind::bind_infer(m);
  m.def("aot_last_error", &crnn::aot::last_error,
        "Message of the last failed MindSpore aot entry point ('' if none failed yet).");
  m.def(
      "lstm_reserve_size",
      [](int64_t T, int64_t B, int64_t I, int64_t H, int num_layers, bool bidirectional) {
        const crnn_lstm_desc d{T,      B, I, H, num_layers, bidirectional, 1, 0, CRNN_DEVICE_CPU,
                               nullptr};
        return crnn_lstm_reserve_size(&d);
      },
      py::arg("T"), py::arg("B"), py::arg("I"), py::arg("H"), py::arg("num_layers"),
      py::arg("bidirectional"), "Floats of the training reserve of crnn_lstm_forward_f32.");
  m.def(
      "device_error_decode",
      [](uint64_t key) {
        const crnn::DeviceError e = crnn::decode_device_error(key);
        return py::make_tuple(e.status, e.index, e.frame,
                              crnn_status_string(static_cast<crnn_status_t>(e.status)));
      },
      py::arg("key"),
      "A device error key (kernels/common/device_error.h; all ones: none) as (status, "
      "batch index, frame, status text); index and frame -1 when absent.");
}
