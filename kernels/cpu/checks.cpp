// Input checks shared by the bindings. See crnn/checks.h.
#include "crnn/checks.h"

#include "cpu_common.h"

namespace {
CRNN_SIMD_CLONES int all_finite_f32(const float *x, int64_t n) {
  return crnn::cpu::all_finite(x, n) ? 1 : 0;
}
}  // namespace

extern "C" int crnn_all_finite_f32(const float *x, int64_t n) {
  return all_finite_f32(x, n);
}
