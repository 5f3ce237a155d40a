// The CUDA CTC loss's workspace layout and its two per-frame kernels (ctc_loss.cu runs them
// around ctc_sample). One warp per frame (t, b) of the (T, B, C) logits; the logits and the
// gradient are read and written in their storage type X (float, double, or the float16 /
// bfloat16 bit patterns of common/narrow_float.h), the math runs in Compute<X> (float32 for
// the narrow types), so a narrow call makes no extra pass and no conversion copy.
#pragma once

#include <math.h>

#include "../common/ctc_math.h"
#include "../common/narrow_float.h"
#include "cuda_common.cuh"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

// float and double compute as themselves; Half / BFloat16 in float.
template <typename X>
using Compute = decltype(widen(X{}));

constexpr int kRowWarps = 4;                  // frames per block of the frame kernels
constexpr size_t kMaxSharedRows = 48 * 1024;  // recursion rows above this go to the workspace
constexpr int kRows = 6;  // alpha x2, beta x2, log-probs, occupancy (skip is recomputed)

struct Dims {
  int64_t T, B, C, S;
  CRNN_HD int64_t W() const { return 2 * S + 1; }  // states of the longest label
  CRNN_HD int64_t R() const { return 2 * S + 5; }  // a padded row: two -inf before and after
};

template <typename T>
struct Work {
  T *lse;          // (T, B) log-sum-exp per frame; NaN where the frame failed the value rule
  T *alpha;        // (B, T, W) alpha rows, each scaled by its max
  double *acc;     // (B, T) alpha_t = alpha row t + acc[t]
  T *occ;          // (B, T, S+1) occupancy per class entry: 0 blank, 1+i label i
  int32_t *cls;    // (B, S+1) class of each entry; -1 for a repeated label (its first counts)
  int32_t *state;  // (B) 0: grad = softmax - occupancy, 1: grad 0, 2: failed
  T *rows;         // (B, kRows, R) recursion rows when they do not fit in shared memory
  size_t bytes;
};

template <typename T>
Work<T> carve(void *ws, const Dims &d, bool rows_in_ws) {
  Carve c{static_cast<char *>(ws)};
  Work<T> w;
  w.lse = c.take<T>(d.T * d.B);
  w.alpha = c.take<T>(d.B * d.T * d.W());
  w.acc = c.take<double>(d.B * d.T);
  w.occ = c.take<T>(d.B * d.T * (d.S + 1));
  w.cls = c.take<int32_t>(d.B * (d.S + 1));
  w.state = c.take<int32_t>(d.B);
  w.rows = rows_in_ws ? c.take<T>(d.B * kRows * d.R()) : nullptr;
  w.bytes = c.used;
  return w;
}

template <typename T>
size_t shared_rows_bytes(const Dims &d) {
  return kRows * d.R() * sizeof(T);
}

// ---- frame_lse -----------------------------------------------------------------------------

template <typename X>
__global__ void __launch_bounds__(kRowWarps *kWarp)
    frame_lse(Compute<X> *lse, const X *logits, const int32_t *input_lengths, Dims d,
              unsigned long long *record) {
  using T = Compute<X>;
  const int64_t row = int64_t(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= d.T * d.B) return;  // whole warps: this kernel has no block barrier
  const int64_t t = row / d.B, b = row % d.B;
  if (t >= input_lengths[b]) return;  // past the sample (a bad length fails in ctc_sample)
  const X *x = logits + row * d.C;
  T m = neg_inf<T>(), s = 0;
  bool nan_or_pos_inf = false, above_neg_inf = false, some_neg_inf = false;
  for (int64_t c = lane; c < d.C; c += kWarp) {
    const T v = widen(x[c]);
    nan_or_pos_inf |= !(v == v) || v == T(INFINITY);
    some_neg_inf |= v == neg_inf<T>();
    if (!(v > neg_inf<T>()) || v == T(INFINITY)) continue;
    above_neg_inf = true;
    if (v > m) {
      s = s * exp_fast<T>(m - v) + T(1);
      m = v;
    } else {
      s += exp_fast<T>(v - m);
    }
  }
  for (int o = 16; o > 0; o >>= 1) {  // merge the lanes' (max, sum) pairs
    const T m2 = __shfl_xor_sync(kFullMask, m, o), s2 = __shfl_xor_sync(kFullMask, s, o);
    const T mm = m2 > m ? m2 : m;
    s = (m > neg_inf<T>() ? s * exp_fast<T>(m - mm) : T(0)) +
        (m2 > neg_inf<T>() ? s2 * exp_fast<T>(m2 - mm) : T(0));
    m = mm;
  }
  nan_or_pos_inf = __any_sync(kFullMask, nan_or_pos_inf);
  above_neg_inf = __any_sync(kFullMask, above_neg_inf);
  some_neg_inf = __any_sync(kFullMask, some_neg_inf);
  if (lane != 0) return;
  const int st =
      ctc_row_status(ctc_row_kind(nan_or_pos_inf, above_neg_inf, some_neg_inf), CRNN_CTC_LOGITS);
  if (st != CRNN_STATUS_SUCCESS) {
    record_error(record, true, b, t, st);
    lse[t * d.B + b] = T(NAN);
  } else {
    lse[t * d.B + b] = m + log_fast<T>(s);
  }
}

// ---- frame_grad ----------------------------------------------------------------------------

// The gradient is the memory-bound write: it goes out once, in the storage type X.
template <typename X>
__global__ void __launch_bounds__(kRowWarps *kWarp)
    frame_grad(X *grad, Work<Compute<X>> w, const X *logits, const int32_t *input_lengths,
               const int32_t *label_lengths, Dims d) {
  using T = Compute<X>;
  const int64_t row = int64_t(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= d.T * d.B) return;
  const int64_t t = row / d.B, b = row % d.B;
  X *g = grad + row * d.C;
  if (t >= input_lengths[b] || w.state[b] != 0) {
    for (int64_t c = lane; c < d.C; c += kWarp) g[c] = narrow_to<X>(T(0));
    return;
  }
  const X *x = logits + row * d.C;
  const T lse = w.lse[t * d.B + b];
  // Two loads per lane before the stores: the stores may alias the next loads for the
  // compiler, so a one-element loop keeps one load per warp in flight (64 bytes in float16).
  for (int64_t c = lane; c < d.C; c += 2 * kWarp) {
    const bool pair = c + kWarp < d.C;
    const T v0 = widen(x[c]), v1 = pair ? widen(x[c + kWarp]) : T(0);
    g[c] = narrow_to<X>(exp_fast<T>(v0 - lse));
    if (pair) g[c + kWarp] = narrow_to<X>(exp_fast<T>(v1 - lse));
  }
  __syncwarp();
  const int32_t *cls = w.cls + b * (d.S + 1);
  const T *occ = w.occ + (b * d.T + t) * (d.S + 1);
  for (int64_t j = lane; j <= label_lengths[b]; j += kWarp)
    if (cls[j] >= 0) g[cls[j]] = narrow_to<X>(exp_fast<T>(widen(x[cls[j]]) - lse) - occ[j]);
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn
