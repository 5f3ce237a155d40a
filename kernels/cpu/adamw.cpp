// One AdamW step over many tensors (CPU). See crnn/adamw.h for the contract.
//
// The elements of all tensors, taken as one sequence, are split into equal contiguous ranges,
// one per thread (a memory-bound pass: p, m, v, g read, p, m, v written). m and v use fmaf
// (one rounding each); the parameter step runs in double and is rounded once, except
// weight_decay * p, a float32 product -- MindSpore 2.10's CPU AdamWeightDecay, matched bit for
// bit on its outputs (tests/train/test_adamw_fused.py; its C source's sqrt() promotes to double).
// This file is compiled with -ffp-contract=off (CMakeLists.txt) so that the double expression is
// evaluated as written in every clone (no fused multiply-add there).
#include <math.h>

#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

CRNN_SIMD_CLONES void adamw_range(const crnn_adamw_tensor &t, int64_t i0, int64_t i1, float b1m,
                                  float b2m, double eps) {
  float *__restrict p = t.param;
  float *__restrict m = t.m;
  float *__restrict v = t.v;
  const float *__restrict g = t.grad;
  const float wd = t.weight_decay;
  const double lr = t.lr;
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const float mi = fmaf(g[i] - m[i], b1m, m[i]);
    const float vi = fmaf(fmaf(g[i], g[i], -v[i]), b2m, v[i]);
    const float decay = wd * p[i];  // (a float product, then widened)
    const double step = static_cast<double>(mi) / (sqrt(static_cast<double>(vi)) + eps);
    p[i] = static_cast<float>(p[i] - lr * (step + decay));
    m[i] = mi;
    v[i] = vi;
  }
}

}  // namespace

extern "C" crnn_status_t crnn_cpu_adamw_f32(const crnn_adamw_tensor *tensors, int64_t count,
                                            const crnn_adamw_options *opt) {
  if (!opt || count < 0 || (count > 0 && !tensors)) return CRNN_STATUS_INVALID_VALUE;
  int64_t total = 0;
  for (int64_t k = 0; k < count; ++k) {
    const crnn_adamw_tensor &t = tensors[k];
    if (t.n < 0 || (t.n > 0 && (!t.param || !t.m || !t.v || !t.grad)))
      return CRNN_STATUS_INVALID_VALUE;
    total += t.n;
  }
  if (total == 0) return CRNN_STATUS_SUCCESS;
  const float b1m = 1.0f - opt->beta1, b2m = 1.0f - opt->beta2;
  const double eps = opt->eps;
  // at least 64K elements per thread: below that the wake-up costs more than the pass
  const int nt = crnn::cpu::resolve_threads(opt->num_threads, (total >> 16) + 1);
  crnn::cpu::parallel_for(nt, nt, false, [&](int64_t r, int) {
    const int64_t lo = total * r / nt, hi = total * (r + 1) / nt;
    int64_t base = 0;  // index of tensors[k]'s first element in the sequence
    for (int64_t k = 0; k < count && base < hi; base += tensors[k].n, ++k) {
      const int64_t a = lo > base ? lo - base : 0;
      const int64_t b = hi - base < tensors[k].n ? hi - base : tensors[k].n;
      if (a < b) adamw_range(tensors[k], a, b, b1m, b2m, eps);
    }
  });
  return CRNN_STATUS_SUCCESS;
}
