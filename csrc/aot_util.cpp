// Plumbing of the aot entry points: last-error store, scratch, argument checks.
#include "aot_util.h"

#include <stdio.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "crnn/checks.h"

namespace crnn {
namespace aot {
namespace {
std::mutex g_error_mutex;
std::string g_last_error;  // guarded by g_error_mutex; MindSpore may call from any thread
}  // namespace

void fail(crnn_status_t code, const std::string &msg) {
  throw Error{code, msg};
}

void set_last_error(const std::string &msg) {
  {
    std::lock_guard<std::mutex> lock(g_error_mutex);
    g_last_error = msg;
  }
  fprintf(stderr, "%s\n", msg.c_str());
  fflush(stderr);
}

void record_error(const char *entry, const char *msg) noexcept {
  try {
    set_last_error(std::string("crnn_fast aot ") + entry + ": " + msg);
  } catch (...) {
    fprintf(stderr, "crnn_fast aot %s: %s\n", entry, msg);
    fflush(stderr);
  }
}

std::string last_error() {
  std::lock_guard<std::mutex> lock(g_error_mutex);
  return g_last_error;
}

namespace {
// Scratch cached per thread up to this size; a larger one is released after the call
// (trim_scratch), so one big call does not pin its scratch for the life of the thread. The
// training conv blocks of the CRNN backbones at B = 64 need up to ~130 MB (VGG7's conv1: its dz
// and the conv's backward workspace): below this size, so a train step reuses its memory instead
// of faulting fresh pages in on every call. Never zero-filled: the kernels write before reading.
constexpr size_t kScratchCacheBytes = size_t{256} << 20;
struct Scratch {
  std::unique_ptr<char[]> data;
  size_t bytes = 0;
};
thread_local Scratch t_scratch;
}  // namespace

void *scratch(size_t bytes) {
  if (t_scratch.bytes < bytes) {
    t_scratch.data.reset();
    t_scratch.bytes = 0;
    t_scratch.data.reset(new (std::nothrow) char[bytes]);
    if (!t_scratch.data)
      fail(CRNN_STATUS_EXECUTION_FAILED,
           "cannot allocate " + std::to_string(bytes) + " bytes of kernel workspace");
    t_scratch.bytes = bytes;
  }
  return t_scratch.data.get();
}

void trim_scratch() noexcept {
  if (t_scratch.bytes > kScratchCacheBytes) t_scratch.data.reset(), t_scratch.bytes = 0;
}

namespace {
// One cached buffer per device value (crnn_device_t) and thread.
struct DeviceBuffer {
  int32_t device = CRNN_DEVICE_CPU;
  void *ptr = nullptr;
  size_t bytes = 0;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer() {
    if (ptr) crnn_device_free(device, ptr);
  }
};
constexpr int kDeviceKinds = 5;  // crnn_device_t values
thread_local DeviceBuffer t_device_scratch[kDeviceKinds];

void require_device_ok(crnn_status_t st, const std::string &what) {
  if (st != CRNN_STATUS_SUCCESS) fail(st, what + ": " + crnn_status_string(st));
}
}  // namespace

void *device_scratch(int32_t device, size_t bytes) {
  if (device == CRNN_DEVICE_CPU) return scratch(bytes);
  if (device < 0 || device >= kDeviceKinds)
    fail(CRNN_STATUS_INVALID_VALUE, "unknown device " + std::to_string(device));
  DeviceBuffer &b = t_device_scratch[device];
  if (b.bytes < bytes || !b.ptr) {
    if (b.ptr) require_device_ok(crnn_device_free(device, b.ptr), "freeing the device workspace");
    b.ptr = nullptr;
    b.bytes = 0;
    b.device = device;
    const size_t want = bytes > 256 ? bytes : 256;
    require_device_ok(crnn_device_malloc(device, &b.ptr, want),
                      "allocating " + std::to_string(want) + " bytes of device workspace");
    b.bytes = want;
  }
  return b.ptr;
}

void Args::copy_to_host(void *dst, const void *src, size_t bytes) const {
  require_device_ok(crnn_device_memcpy(device, dst, src, bytes, stream), "copy to the host");
  require_device_ok(crnn_device_stream_sync(device, stream), "waiting for the stream");
}

void Args::copy_to_device(void *dst, const void *src, size_t bytes) const {
  require_device_ok(crnn_device_memcpy(device, dst, src, bytes, stream), "copy to the device");
}

int64_t Args::numel(int i) const {
  int64_t n = 1;
  for (int d = 0; d < ndims[i]; ++d) n *= shapes[i][d];
  return n;
}

std::string Args::shape(int i) const {
  std::string s = "(";
  for (int d = 0; d < ndims[i]; ++d) s += (d ? ", " : "") + std::to_string(shapes[i][d]);
  return s + (ndims[i] == 1 ? ",)" : ")");
}

void Args::expect(int i, const char *name, const char *dtype, int ndim, const char *layout) const {
  if (i >= n) fail(CRNN_STATUS_INVALID_VALUE, std::string("missing argument ") + name);
  if (std::string(dtypes[i]) != dtype)
    fail(CRNN_STATUS_INVALID_VALUE,
         std::string(name) + " must have dtype " + dtype + ", got " + dtypes[i]);
  if (ndims[i] != ndim)
    fail(CRNN_STATUS_INVALID_VALUE, std::string(name) + " must have rank " + std::to_string(ndim) +
                                        " " + layout + ", got shape " + shape(i));
}

void Args::expect_dims(int i, const char *name, std::initializer_list<int64_t> dims) const {
  int d = 0;
  bool ok = static_cast<int>(dims.size()) == ndims[i];
  for (int64_t want : dims) ok = ok && shapes[i][d++] == want;
  if (!ok) {
    std::string w = "(";
    d = 0;
    for (int64_t want : dims) w += (d++ ? ", " : "") + std::to_string(want);
    fail(CRNN_STATUS_INVALID_VALUE, std::string(name) + " must have shape " + w +
                                        (dims.size() == 1 ? ",)" : ")") + ", got " + shape(i));
  }
}

void require(bool ok, const std::string &msg) {
  if (!ok) fail(CRNN_STATUS_INVALID_VALUE, msg);
}

void require_ok(const check::Check &c) {
  if (!c.ok()) fail(CRNN_STATUS_INVALID_VALUE, c.msg);
}

void require_finite(const Args &a, int i, const std::string &name) {
  if (!crnn_all_finite_f32(a.ptr<float>(i), a.numel(i)))
    fail(CRNN_STATUS_NONFINITE_INPUT, name + " contains NaN or Inf");
}

void check_status(crnn_status_t st, int32_t index, const std::string &what, int32_t frame) {
  if (st == CRNN_STATUS_SUCCESS) return;
  if (st == CRNN_STATUS_NEG_INF_FRAME)
    fail(st, what + "[t=" + std::to_string(frame) + ", b=" + std::to_string(index) +
                 "] is -inf for every class (no class has non-zero probability)");
  const std::string where = index >= 0 ? " (batch index " + std::to_string(index) + ")" : "";
  fail(st, what + ": " + crnn_status_string(st) + where);
}

}  // namespace aot
}  // namespace crnn
