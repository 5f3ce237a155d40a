// Shared argument checks of the CPU ops (check_ctc.h, check_lstm.h, check_conv.h): framework-free
// functions over raw pointers and sizes that return a Check (status + message; no exceptions,
// no pybind11 or MindSpore types). The pybind11 bindings raise ValueError with the message
// (bind_util.h require_ok), the MindSpore aot entries fail(INVALID_VALUE, message) (aot_util.h
// require_ok), so both layers report exactly the same text.
#pragma once

#include <stdint.h>

#include <string>

namespace crnn {
namespace check {

// Result of a check: ok, or the message of the first failure (always a value error).
struct Check {
  std::string msg;  // empty: ok
  bool ok() const { return msg.empty(); }
};

inline Check ok() {
  return {};
}

// Largest num_threads accepted (0: all cores); crnn_fast._validate.MAX_NUM_THREADS.
constexpr int64_t kMaxNumThreads = 4096;

// num_threads in [0, kMaxNumThreads].
Check num_threads(int64_t n);

// Lengths v (B,) in [0, hi]: "name[b] = v is outside [0, hi_name = hi]".
Check lengths(const int32_t *v, int64_t B, int64_t hi, const char *name, const char *hi_name);

}  // namespace check
}  // namespace crnn
