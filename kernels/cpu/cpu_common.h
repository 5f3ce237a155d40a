// CPU-only helpers: thread count, runtime SIMD dispatch, row reductions over C classes.
//
// SIMD policy: the library is compiled for the portable x86-64 baseline, and the hot
// per-sample functions carry CRNN_SIMD_CLONES: GCC emits AVX-512 (skylake-avx512), AVX2+FMA
// (haswell) and baseline clones and picks one at load time (ifunc), so one wheel runs
// everywhere and still uses the host's vector units. The row helpers below are
// always_inline so they are compiled into each clone.
#pragma once

#include <stdint.h>

#include <atomic>
#include <thread>

#include "../common/ctc_math.h"
#include "../common/fast_math.h"
#include "crnn/ctc_decode.h"
#include "crnn/status.h"
#include "thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(CRNN_NO_CLONES)
#define CRNN_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CRNN_SIMD_CLONES
#endif

// Inline helpers that only the host compiler sees (GCC vector extensions, BLAS calls, thread
// pool): CRNN_CPU_INLINE (common/hostdevice.h) is kept for math that also compiles under nvcc.
#define CRNN_CPU_INLINE inline __attribute__((always_inline))

namespace crnn {
namespace cpu {

inline int resolve_threads(int32_t requested, int64_t work_items) {
  int64_t n = requested > 0 ? requested : max_threads();
  if (n > max_threads()) n = max_threads();
  if (n > work_items) n = work_items;
  return n < 1 ? 1 : static_cast<int>(n);
}

// Keeps the failure of the smallest batch index (its status and frame), across threads.
// Only failures take the lock (a spin lock: std::mutex::lock may throw, and the kernels'
// entry points must not), so the hot path is untouched.
struct FirstError {
  std::atomic_flag busy = ATOMIC_FLAG_INIT;
  int64_t index = INT64_MAX, frame = -1;
  int status = 0;
  std::atomic<bool> any{false};
  void lock() noexcept {
    while (busy.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  void unlock() noexcept { busy.clear(std::memory_order_release); }
  void record(int64_t b, int st, int64_t t = -1) noexcept {
    lock();
    if (b < index) index = b, status = st, frame = t;
    any.store(true);
    unlock();
  }
  bool failed() const noexcept { return any.load(); }
  // Writes the batch index and frame (when the pointers are set) and returns the status.
  crnn_status_t report(int32_t *error_index, int32_t *error_frame) noexcept {
    lock();
    if (error_index) *error_index = static_cast<int32_t>(index);
    if (error_frame) *error_frame = static_cast<int32_t>(frame);
    const crnn_status_t st = static_cast<crnn_status_t>(status);
    unlock();
    return st;
  }
};

// Items per unit when n items are cut into units of at most `want` for nt threads under the
// pool's static contiguous schedule: every thread gets the same number of units (64 samples,
// 2 threads, want 22 -> 4 units of 16, not 22 + 22 | 20).
inline int64_t balanced_unit(int64_t n, int nt, int64_t want) {
  const int64_t per_thread = (n + nt - 1) / nt;
  const int64_t units = (per_thread + want - 1) / want;
  return (per_thread + units - 1) / units;
}

inline size_t align_up(size_t n, size_t a = 64) {
  return (n + a - 1) / a * a;
}

// Runs fn(r0, r1) over [0, M) split into nt contiguous chunks, one per pool thread.
template <typename F>
void parallel_chunks(int nt, int64_t M, F fn) {
  parallel_for(nt, nt, false, [&](int64_t c, int) { fn(M * c / nt, M * (c + 1) / nt); });
}

// Carves a workspace: take(bytes) returns the next 64-byte-aligned offset. The size query and
// the kernel call the same layout function built on it, so they cannot disagree.
struct Carver {
  size_t off = 0;
  size_t take(size_t bytes) {
    const size_t at = off;
    off = align_up(off + bytes);
    return at;
  }
};

// Row reductions use GCC vector extensions (8 float / 4 double lanes, lowered to SSE pairs in
// the baseline clone). Auto-vectorized `omp simd reduction` loops spill their lane arrays to
// the stack and stall on store forwarding: 3-5x slower on the CRNN rows (C = 37).
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int64_t kLanes = 32 / sizeof(T);
};

// float vectors of L = 8 or 16 lanes, for kernels whose SIMD clones pick the width at run time
// (GCC drops vector_size with a dependent size: one specialization per width).
template <int L>
struct Lanes;
template <>
struct Lanes<8> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct Lanes<16> {
  typedef float type __attribute__((vector_size(64)));
};

template <typename T>
CRNN_CPU_INLINE typename Vec<T>::type vload(const T *p) {
  typename Vec<T>::type v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

#if defined(__clang__)
#define CRNN_SHUFFLE8(v, a, b, c, d, e, f, g, h) \
  __builtin_shufflevector(v, v, a, b, c, d, e, f, g, h)
#else
#define CRNN_SHUFFLE8(v, a, b, c, d, e, f, g, h) \
  __builtin_shuffle(v, detail::i32x8{a, b, c, d, e, f, g, h})
#endif

// Horizontal sum / max of 8 float lanes as a shuffle tree (3 steps instead of a 7-add chain).
CRNN_CPU_INLINE float hsum8(detail::f32x8 v) {
  v += CRNN_SHUFFLE8(v, 4, 5, 6, 7, 0, 1, 2, 3);
  v += CRNN_SHUFFLE8(v, 2, 3, 0, 1, 6, 7, 4, 5);
  v += CRNN_SHUFFLE8(v, 1, 0, 3, 2, 5, 4, 7, 6);
  return v[0];
}
CRNN_CPU_INLINE float hmax8(detail::f32x8 v) {
  detail::f32x8 w = CRNN_SHUFFLE8(v, 4, 5, 6, 7, 0, 1, 2, 3);
  v = v > w ? v : w;
  w = CRNN_SHUFFLE8(v, 2, 3, 0, 1, 6, 7, 4, 5);
  v = v > w ? v : w;
  w = CRNN_SHUFFLE8(v, 1, 0, 3, 2, 5, 4, 7, 6);
  v = v > w ? v : w;
  return v[0];
}

// Classifies a row known to hold a non-finite value (the slow path of row_max/row_argmax,
// taken only by rows with -inf, NaN or +inf).
template <typename T>
CRNN_CPU_INLINE int row_classify(const T *x, int64_t n) {
  typedef typename Vec<T>::type V;
  typedef decltype(V{} < V{}) M;
  constexpr int64_t K = Vec<T>::kLanes;
  const V pinf = V{} + static_cast<T>(INFINITY), ninf = V{} + neg_inf<T>();
  M bad = M{}, some = M{};  // NaN or +inf seen; an element above -inf seen
  int64_t i = 0;
  for (; i + K <= n; i += K) {
    const V v = vload(x + i);
    bad |= ~(v < pinf);
    some |= v > ninf;
  }
  bool b = false, s = false;
  for (int64_t j = 0; j < K; ++j) b |= bad[j] != 0, s |= some[j] != 0;
  for (; i < n; ++i) b |= !(x[i] < static_cast<T>(INFINITY)), s |= x[i] > neg_inf<T>();
  return ctc_row_kind(b, s);
}

// max over x[0..n); with `kind`, also what the row holds (CtcRowKind, common/ctc_math.h). The
// finite check is vectorized in the same pass (it accumulates x * 0: NaN once any x is NaN or
// +-inf); only a row that fails it is classified again (row_classify).
template <typename T, bool kCheck>
CRNN_CPU_INLINE T row_max_impl(const T *x, int64_t n, int *kind) {
  typedef typename Vec<T>::type V;
  constexpr int64_t K = Vec<T>::kLanes;
  V m = V{} + neg_inf<T>(), chk = V{};
  int64_t i = 0;
  for (; i + K <= n; i += K) {
    const V v = vload(x + i);
    m = v > m ? v : m;
    if (kCheck) chk += v * T(0);
  }
  if (i < n && n >= K) {  // overlapping tail vector: max and the check are idempotent
    const V v = vload(x + n - K);
    m = v > m ? v : m;
    if (kCheck) chk += v * T(0);
    i = n;
  }
  T r, c = 0;
  if constexpr (K == 8) {
    r = hmax8(m);
    if (kCheck) c = hsum8(chk);
  } else {
    r = neg_inf<T>();
    for (int64_t j = 0; j < K; ++j) r = m[j] > r ? m[j] : r, c += chk[j];
  }
  for (; i < n; ++i) r = x[i] > r ? x[i] : r, c += x[i] * T(0);
  if (kCheck) *kind = c == T(0) ? CTC_ROW_FINITE : row_classify(x, n);
  return r;
}

template <typename T>
CRNN_CPU_INLINE T row_max(const T *x, int64_t n, int *kind) {
  return row_max_impl<T, true>(x, n, kind);
}

// max over x[0..n) (no check: rows that may hold -inf by design, e.g. alpha rows).
template <typename T>
CRNN_CPU_INLINE T row_max(const T *x, int64_t n) {
  return row_max_impl<T, false>(x, n, nullptr);
}

// True when every element of x[0..n) is finite (vectorized: accumulates x * 0).
template <typename T>
CRNN_CPU_INLINE bool all_finite(const T *x, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int64_t K = Vec<T>::kLanes;
  V chk = V{};
  int64_t i = 0;
  for (; i + K <= n; i += K) chk += vload(x + i) * T(0);
  T c = 0;
  for (int64_t j = 0; j < K; ++j) c += chk[j];
  for (; i < n; ++i) c += x[i] * T(0);
  return c == T(0);
}

template <typename T>
CRNN_CPU_INLINE T row_sum(const T *x, int64_t n) {
  typedef typename Vec<T>::type V;
  constexpr int64_t K = Vec<T>::kLanes;
  V acc = V{};
  int64_t i = 0;
  for (; i + K <= n; i += K) acc += vload(x + i);
  T r = 0;
  for (int64_t j = 0; j < K; ++j) r += acc[j];
  for (; i < n; ++i) r += x[i];
  return r;
}

// out[i] = exp(x[i] - m); returns their sum. Short float rows (8 <= n < 256, e.g. C = 37)
// run whole 8-lane vectors plus one tail vector ending at n that overlaps lanes already done
// (rewritten with the same values, masked out of the sum): no scalar remainder, 2x faster
// there. Long rows (C = 6625) are faster as an `omp simd` reduction (1.4x, measured).
template <typename T>
CRNN_CPU_INLINE T row_exp_sum(const T *x, int64_t n, T m, T *out) {
  if constexpr (sizeof(T) == sizeof(float)) {
    if (n >= 8 && n < 256) {
      typedef detail::f32x8 V;
      V acc = V{};
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        const V e = exp_poly<V>(vload(x + i) - m);
        __builtin_memcpy(out + i, &e, sizeof(V));
        acc += e;
      }
      if (i < n) {
        const V lane = {0, 1, 2, 3, 4, 5, 6, 7};
        const float done = static_cast<float>(8 - (n - i));  // lanes overlapping [.., i)
        const V e = exp_poly<V>(vload(x + n - 8) - m);
        __builtin_memcpy(out + n - 8, &e, sizeof(V));
        acc += lane >= done ? e : V{};
      }
      return hsum8(acc);
    }
  }
  T r = 0;
#pragma omp simd reduction(+ : r)
  for (int64_t i = 0; i < n; ++i) {
    const T e = exp_fast<T>(x[i] - m);
    out[i] = e;
    r += e;
  }
  return r;
}

// sum(x[0, n)) accumulated in double. The beam search sums row_exp_sum's exp terms with it:
// float lanes lost ~1e-6 relative at C = 6625 (score error 7e-6 over 40 frames, now ~1e-7).
CRNN_CPU_INLINE double row_sum_f64(const float *x, int64_t n) {
  typedef float f4 __attribute__((vector_size(16)));
  typedef double d4 __attribute__((vector_size(32)));
  d4 a0 = d4{}, a1 = d4{};  // two chains: the add latency, not the loads, is the limit
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f4 v0, v1;
    __builtin_memcpy(&v0, x + i, sizeof(v0));
    __builtin_memcpy(&v1, x + i + 4, sizeof(v1));
    a0 += __builtin_convertvector(v0, d4);
    a1 += __builtin_convertvector(v1, d4);
  }
  a0 += a1;
  double r = (a0[0] + a0[1]) + (a0[2] + a0[3]);
  for (; i < n; ++i) r += x[i];
  return r;
}

template <typename T>
CRNN_CPU_INLINE void row_scale(T *x, int64_t n, T a) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= a;
}

// max over x[0..n) (float), its first index (as NumPy's argmax; -inf elements are
// never chosen unless all are -inf) and what the row holds (CtcRowKind, common/ctc_math.h):
// one pass, lane-wise running max and index, then the smallest index holding the max.
CRNN_CPU_INLINE float row_argmax(const float *x, int64_t n, int64_t *arg, int *kind) {
  typedef detail::f32x8 V;
  typedef detail::i32x8 VI;
  if (n < 8) {
    float m = neg_inf<float>(), c = 0;
    *arg = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (x[i] > m) m = x[i], *arg = i;
      c += x[i] * 0.0f;
    }
    *kind = c == 0.0f ? CTC_ROW_FINITE : row_classify(x, n);
    return m;
  }
  const VI lane = {0, 1, 2, 3, 4, 5, 6, 7};
  V m = V{} + neg_inf<float>(), chk = V{};
  VI idx = VI{};
  const auto step = [&](int64_t i) __attribute__((always_inline)) {
    const V v = vload(x + i);
    const auto gt = v > m;
    m = gt ? v : m;
    idx = gt ? lane + static_cast<int32_t>(i) : idx;
    chk += v * 0.0f;
  };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) step(i);
  if (i < n) step(n - 8);  // overlapping tail: re-seen elements keep their own index
  float r = neg_inf<float>();
  float c = 0;
  for (int j = 0; j < 8; ++j) r = m[j] > r ? m[j] : r, c += chk[j];
  int32_t best = INT32_MAX;
  for (int j = 0; j < 8; ++j)
    if (m[j] == r && idx[j] < best) best = idx[j];
  *arg = r == neg_inf<float>() ? 0 : best;
  *kind = c == 0.0f ? CTC_ROW_FINITE : row_classify(x, n);
  return r;
}

}  // namespace cpu
}  // namespace crnn
