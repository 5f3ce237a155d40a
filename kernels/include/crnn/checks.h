// Host-side input checks shared by the bindings (CPU memory; vectorized, runtime-dispatched SIMD).
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// 1 when every element of x[0..n) is finite (no NaN, no +-Inf), else 0.
int crnn_all_finite_f32(const float *x, int64_t n);

#ifdef __cplusplus
}
#endif
