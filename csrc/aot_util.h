// Shared plumbing of the MindSpore aot entry points (aot_lstm.cpp, aot_ctc.cpp).
//
// MindSpore calls `int Entry(int nparam, void **params, int *ndims, int64_t **shapes,
// const char **dtypes, void *stream, void *extra)` with the inputs first, then the outputs, all
// dense row-major on the host. MindSpore's `stream` goes into the kernel's options (Args::place):
// the entries of this library are MindSpore's CPU target, so the kernels run on CRNN_DEVICE_CPU,
// or -- the entries named `..._cuda_emu` (CRNN_AOT_ENTRY) -- on CRNN_DEVICE_CUDA_EMU: the CUDA
// kernels' source on the SIMT executor, a CPU test harness over the same host memory. A
// non-zero return becomes a RuntimeError that carries only the number, so every entry stores a
// message (read back by `crnn_fast._C.aot_last_error()`) and prints it to stderr before returning a
// crnn_status_t code.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>

#include "check_common.h"
#include "crnn/status.h"

#define CRNN_AOT_EXPORT extern "C" __attribute__((visibility("default")))

// Exports `crnn_aot_<name>` (the CPU kernels) and `crnn_aot_<name>_cuda_emu` (the CUDA kernels on
// the SIMT executor) over one body `int body(int32_t device, int nparam, void **params, ...)`.
#define CRNN_AOT_ENTRY(name, body)                                                             \
  CRNN_AOT_EXPORT int crnn_aot_##name(int nparam, void **params, int *ndims, int64_t **shapes, \
                                      const char **dtypes, void *stream, void *) {             \
    return body(CRNN_DEVICE_CPU, nparam, params, ndims, shapes, dtypes, stream);               \
  }                                                                                            \
  CRNN_AOT_EXPORT int crnn_aot_##name##_cuda_emu(int nparam, void **params, int *ndims,        \
                                                 int64_t **shapes, const char **dtypes,        \
                                                 void *stream, void *) {                       \
    return body(CRNN_DEVICE_CUDA_EMU, nparam, params, ndims, shapes, dtypes, stream);          \
  }

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
// int32 scratch of n elements, separate from `scratch`.
int32_t *int_scratch(size_t n);

struct Args {
  int n;
  void **p;
  int *ndims;
  int64_t **shapes;
  const char **dtypes;
  void *stream;                      // MindSpore's stream for this launch
  int32_t device = CRNN_DEVICE_CPU;  // CPU, or CUDA_EMU for the `_cuda_emu` entries

  // Sets where the kernel runs: the device of this entry (host memory) and the stream.
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
