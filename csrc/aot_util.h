// Shared plumbing of the MindSpore aot entry points (aot_lstm.cpp, aot_ctc.cpp).
//
// MindSpore calls `int Entry(int nparam, void **params, int *ndims, int64_t **shapes,
// const char **dtypes, void *stream, void *extra)` with the inputs first, then the outputs, all
// dense row-major, in the memory of its device target. Every entry exists three times
// (CRNN_AOT_ENTRY), over one body:
//   crnn_aot_<op>            MindSpore's CPU target: the CPU kernels on host memory;
//   crnn_aot_<op>_gpu        its GPU target: the CUDA kernels on device memory and MindSpore's
//                            cudaStream_t (NOT_SUPPORTED when _C was built without CUDA);
//   crnn_aot_<op>_cuda_emu   its CPU target again, but the CUDA kernels' source on the SIMT
//                            executor (a CPU test harness) -- through the same device path as
//                            the GPU entry (Args::on_device), so CI runs that path;
//   crnn_aot_<op>_ascend_emu likewise, the Ascend C kernels' source on our host model of the
//                            API (NOT_SUPPORTED for an op without an Ascend C kernel yet).
// On a device the entry reads its small options back to the host (Args::host: one copy and a
// stream sync), leaves lengths and labels to the kernels' device-side checks, and reads their
// error record after the call (another sync: MindSpore needs the status now). A non-zero
// return becomes a RuntimeError that carries only the number, so every entry stores a message
// (read back by `crnn_fast._C.aot_last_error()`) and prints it to stderr before returning a
// crnn_status_t code.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "check_common.h"
#include "crnn/device_memory.h"
#include "crnn/status.h"

#define CRNN_AOT_EXPORT extern "C" __attribute__((visibility("default")))

// Exports `crnn_aot_<name>` (CPU kernels), `crnn_aot_<name>_gpu` (CUDA kernels),
// `crnn_aot_<name>_cuda_emu` (CUDA kernels on the SIMT executor) and `..._ascend_emu` (Ascend C
// kernels on the API model) over one body
// `int body(int32_t device, int nparam, void **params, ...)`.
#define CRNN_AOT_ENTRY_ON(name, suffix, device, body)                                              \
  CRNN_AOT_EXPORT int crnn_aot_##name##suffix(int nparam, void **params, int *ndims,               \
                                              int64_t **shapes, const char **dtypes, void *stream, \
                                              void *) {                                            \
    return body(device, nparam, params, ndims, shapes, dtypes, stream);                            \
  }
#define CRNN_AOT_ENTRY(name, body)                               \
  CRNN_AOT_ENTRY_ON(name, , CRNN_DEVICE_CPU, body)               \
  CRNN_AOT_ENTRY_ON(name, _gpu, CRNN_DEVICE_CUDA, body)          \
  CRNN_AOT_ENTRY_ON(name, _cuda_emu, CRNN_DEVICE_CUDA_EMU, body) \
  CRNN_AOT_ENTRY_ON(name, _ascend_emu, CRNN_DEVICE_ASCEND_EMU, body)

namespace crnn {
namespace aot {

// Thrown inside an entry; `guarded` turns it into the return code and the stored message.
struct Error {
  crnn_status_t code;
  std::string msg;
};

[[noreturn]] void fail(crnn_status_t code, const std::string &msg);
void set_last_error(const std::string &msg);
std::string last_error();

// Bytes of per-thread scratch, reused across calls (the kernels never allocate); kept after
// the call only up to 64 MB (guarded() calls trim_scratch()).
void *scratch(size_t bytes);
void trim_scratch() noexcept;
// `bytes` of memory of `device` for a kernel's workspace, cached per thread and device (CPU:
// `scratch`); grown when too small, freed when the thread ends.
void *device_scratch(int32_t device, size_t bytes);

struct Args {
  int n;
  void **p;
  int *ndims;
  int64_t **shapes;
  const char **dtypes;
  void *stream;                      // MindSpore's stream for this launch
  int32_t device = CRNN_DEVICE_CPU;  // where the tensors live and the kernels run

  // Whether the tensors are device memory (every entry but the CPU's): the host reads
  // them only through host().
  bool on_device() const { return device != CRNN_DEVICE_CPU; }
  // The first n elements of tensor i where the host can read them: the tensor itself on the
  // CPU, else a copy in `copy` (after waiting for the stream).
  template <typename T>
  const T *host(int i, int64_t n, std::vector<T> &copy) const {
    if (!on_device()) return ptr<T>(i);
    copy.resize(static_cast<size_t>(n));
    copy_to_host(copy.data(), p[i], sizeof(T) * static_cast<size_t>(n));
    return copy.data();
  }
  void copy_to_host(void *dst, const void *src, size_t bytes) const;
  // Copies host values into this device's memory (ordered on the stream; `src` may be reused
  // on return).
  void copy_to_device(void *dst, const void *src, size_t bytes) const;
  // A kernel workspace of `bytes` in this device's memory (device_scratch).
  void *workspace(size_t bytes) const { return device_scratch(device, bytes); }
  // Sets where the kernel runs: the device of this entry and the stream.
  template <typename Options>
  void place(Options &o) const {
    o.device = device;
    o.stream = stream;
  }
  // A kernel's status including, on a device, the value errors it recorded in its workspace.
  crnn_status_t with_device_errors(crnn_status_t st, const void *workspace, int32_t *index,
                                   int32_t *frame) const {
    if (device == CRNN_DEVICE_CPU || st != CRNN_STATUS_SUCCESS) return st;
    return crnn_device_error_read(workspace, device, stream, index, frame);
  }
  int64_t dim(int i, int d) const { return shapes[i][d]; }
  int64_t numel(int i) const;
  std::string shape(int i) const;
  template <typename T>
  T *ptr(int i) const {
    return static_cast<T *>(p[i]);
  }
  // Requires tensor i to have `dtype` and rank `ndim`; `name` and `layout` go in the message.
  void expect(int i, const char *name, const char *dtype, int ndim, const char *layout) const;
  // Requires tensor i to have exactly the given dims.
  void expect_dims(int i, const char *name, std::initializer_list<int64_t> dims) const;
};

// Stores "crnn_fast aot <entry>: <msg>" as the last error and prints it; never throws (when
// the message cannot be stored, it is still printed).
void record_error(const char *entry, const char *msg) noexcept;

// Runs `body` and maps failures to a return code (0 = success) and the last-error message;
// nothing escapes the extern "C" entry.
template <typename F>
int guarded(const char *entry, F &&body) noexcept {
  int rc = 0;
  try {
    body();
  } catch (const Error &e) {
    rc = static_cast<int>(e.code);
    record_error(entry, e.msg.c_str());
  } catch (const std::exception &e) {
    rc = static_cast<int>(CRNN_STATUS_EXECUTION_FAILED);
    record_error(entry, e.what());
  } catch (...) {
    rc = static_cast<int>(CRNN_STATUS_EXECUTION_FAILED);
    record_error(entry, "unknown exception");
  }
  trim_scratch();
  return rc;
}

// INVALID_VALUE with `msg` unless ok; NONFINITE_INPUT naming tensor i unless all finite.
void require(bool ok, const std::string &msg);
// INVALID_VALUE with the message of a failed shared check (check_common.h).
void require_ok(const check::Check &c);
void require_finite(const Args &a, int i, const std::string &name);

// Raises (via fail) with `what` when a kernel status is not success; `index` and `frame` are the
// kernel's error_index and error_frame (-1: unknown).
void check_status(crnn_status_t st, int32_t index, const std::string &what, int32_t frame = -1);

}  // namespace aot
}  // namespace crnn
