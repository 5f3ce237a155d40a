// One AdamW step over many float32 tensors in one call (crnn_fast kernel C API; backend: CPU).
//
// Per element of each tensor, with the tensor's own lr and weight_decay (MindSpore's
// AdamWeightDecay update, reproduced bit for bit on the CPU: m and v in float32 with fused
// multiply-adds, the parameter step in double but weight_decay p in float32, rounded once):
//   m = fma(g - m, 1 - beta1, m)
//   v = fma(fma(g, g, -v), 1 - beta2, v)
//   p = float(p - lr (m / (sqrt(v) + eps) + float(weight_decay p)))   (in double)
// MindOCR's bias-corrected AdamW is this update with lr, eps and weight_decay scaled by the
// caller (crnn_fast/train/optim.py). p, m and v are updated in place; the elements of all
// tensors are split evenly over the pool's threads.
// Status: INVALID_VALUE for a NULL pointer, a negative size or count.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

// One tensor of the step: n elements of param, m, v (in place) and grad.
typedef struct crnn_adamw_tensor {
  float *param;
  float *m;
  float *v;
  const float *grad;
  int64_t n;
  float lr;            // this tensor's (scaled) learning rate
  float weight_decay;  // this tensor's (scaled) decoupled weight decay
} crnn_adamw_tensor;

typedef struct crnn_adamw_options {
  float beta1, beta2, eps;
  int32_t num_threads;  // <= 0: the CPU pool default (CRNN_FAST_NUM_THREADS, cores)
  int32_t device;       // crnn_device_t (0: CPU)
  void *stream;         // device stream (NULL: default; ignored on the CPU)
} crnn_adamw_options;

crnn_status_t crnn_adamw_f32(const crnn_adamw_tensor *tensors, int64_t count,
                             const crnn_adamw_options *opt);

#ifdef __cplusplus
}
#endif
