// Shared argument checks of the CPU ops (see check_common.h).
#include "check_common.h"

namespace crnn {
namespace check {

Check num_threads(int64_t n) {
  if (n < 0 || n > kMaxNumThreads)
    return Check{"num_threads must be in [0, " + std::to_string(kMaxNumThreads) +
                 "] (0: all cores), got " + std::to_string(n)};
  return ok();
}

Check lengths(const int32_t *v, int64_t B, int64_t hi, const char *name, const char *hi_name) {
  for (int64_t b = 0; b < B; ++b)
    if (v[b] < 0 || v[b] > hi)
      return Check{std::string(name) + "[" + std::to_string(b) + "] = " + std::to_string(v[b]) +
                   " is outside [0, " + hi_name + " = " + std::to_string(hi) + "]"};
  return ok();
}

}  // namespace check
}  // namespace crnn
