// Fused CTC loss + gradient, CUDA (crnn/ctc_loss.h; value errors: crnn_device_error_read).
//
// Three kernels on the caller's stream, no allocation, no host sync, no atomics in the
// gradient (two runs are bit-identical):
//   frame_lse      one warp per frame (t, b): the value rule of ctc_math.h and the frame's
//                  log-sum-exp (NaN where the frame failed)
//   ctc_sample     one block per sample: checks its lengths and labels, runs alpha forward and
//                  beta backward over the extended label (ctc_math.h; every row scaled by its
//                  max, scales summed in double as on the CPU), writes the loss and, per frame,
//                  the occupancy of each distinct class of the label (summed in a fixed order)
//   frame_grad     one warp per frame: grad = softmax - occupancy, written once per element
//                  (the distinct classes are rewritten after a __syncwarp)
// The logits are read twice (frame_lse, frame_grad) and the gradient written once: the memory
// floor is one read and one write. float16 / bfloat16 logits (crnn_ctc_loss_f16 / _bf16) are
// read and their gradient written in the narrow type by the same kernels (templates on the
// storage type, float32 compute: ctc_loss_frames.cuh), with no conversion pass.
#include <math.h>

#include "../common/ctc_math.h"
#include "../common/narrow_float.h"
#include "crnn/ctc_loss.h"
#include "ctc_loss_frames.cuh"
#include "cuda_common.cuh"
#include "cuda_kernels.h"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

int sample_threads(const Dims &d) {
  const int64_t n = (d.W() + kWarp - 1) / kWarp * kWarp;
  return static_cast<int>(n < kWarp ? kWarp : (n > 256 ? 256 : n));
}

// ---- ctc_sample ----------------------------------------------------------------------------

// Max over the block of each thread's v (every thread gets it); `red` holds 32 values.
template <typename T>
__device__ T block_max(T v, T *red) {
  v = warp_max(v);
  if (threadIdx.x % kWarp == 0) red[threadIdx.x / kWarp] = v;
  __syncthreads();
  T m = neg_inf<T>();
  for (unsigned i = 0; i < blockDim.x / kWarp; ++i) m = red[i] > m ? red[i] : m;
  __syncthreads();  // `red` is free again
  return m;
}

// A row's scale: its max, or 0 for a row of -inf (kept -inf).
template <typename T>
__device__ __forceinline__ T scale_of(T m) {
  return m > neg_inf<T>() ? m : T(0);
}

template <typename T, typename X>
__device__ __forceinline__ T log_prob(const X *x, T lse, int32_t cls) {
  return widen(x[cls]) - lse;
}

template <typename X>
__global__ void ctc_sample(Compute<X> *loss, Work<Compute<X>> w, const X *logits,
                           const int32_t *labels, const int32_t *input_lengths,
                           const int32_t *label_lengths, Dims d, int32_t blank, int zero_infinity,
                           int want_grad, unsigned long long *record) {
  using T = Compute<X>;
  const int64_t b = blockIdx.x, R = d.R();
  const int tid = threadIdx.x, nt = blockDim.x;
  CRNN_SHARED_ARRAY(T, red, kWarp);
  CRNN_SHARED_ARRAY(double, ll_shared, 1);
  CRNN_SHARED_ARRAY(int, flags, 2);
  CRNN_DYNAMIC_SHARED(T, smem_rows);
  T *rows = w.rows ? w.rows + b * kRows * R : smem_rows;
  T *a_prev = rows, *a_cur = rows + R, *b_next = rows + 2 * R, *b_cur = rows + 3 * R;
  T *ly = rows + 4 * R, *gam = rows + 5 * R;
  const int32_t *label = labels + b * d.S;
  const T infeasible_loss = zero_infinity ? T(0) : T(INFINITY);

  // Arguments first (the CPU's crnn_ctc_check_targets), then the frames' value rule.
  const int64_t Tb = input_lengths[b], L = label_lengths[b];
  if (tid == 0) flags[0] = flags[1] = 0;
  __syncthreads();
  const bool bad_len = Tb < 0 || Tb > d.T || L < 0 || L > d.S;
  if (!bad_len) {
    for (int64_t j = tid; j < L; j += nt)
      if (label[j] < 0 || label[j] >= d.C || label[j] == blank) atomicMax(&flags[0], 1);
    for (int64_t t = tid; t < Tb; t += nt)
      if (!(w.lse[t * d.B + b] == w.lse[t * d.B + b])) atomicMax(&flags[1], 1);
  }
  __syncthreads();
  if (bad_len || flags[0] || flags[1]) {
    if (tid == 0) {
      if (bad_len || flags[0]) record_error(record, false, b, -1, CRNN_STATUS_INVALID_VALUE);
      loss[b] = T(NAN);  // a value error was recorded by frame_lse
      w.state[b] = 2;
    }
    return;
  }
  for (int64_t j = tid; j <= d.S; j += nt) {
    int32_t c = -1;
    if (j == 0) {
      c = blank;
    } else if (j <= L) {
      c = label[j - 1];
      for (int64_t k = 0; k < j - 1; ++k) c = label[k] == label[j - 1] ? -1 : c;
    }
    w.cls[b * (d.S + 1) + j] = c;
  }
  const int64_t Sp = 2 * L + 1;
  if (Tb == 0 || Tb < ctc_min_frames(label, L)) {
    if (tid == 0) {
      loss[b] = Tb >= ctc_min_frames(label, L) ? T(0) : infeasible_loss;
      w.state[b] = 1;
    }
    return;
  }

  // alpha: a_cur holds the unscaled row, m_prev the previous row's scale.
  for (int64_t s = tid; s < R; s += nt) a_prev[s] = a_cur[s] = neg_inf<T>();
  __syncthreads();
  T *alpha_out = w.alpha + b * d.T * d.W();
  double acc = 0;
  T m_prev = 0;
  for (int64_t t = 0; t < Tb; ++t) {
    const CtcBand band = ctc_band(t, Tb, Sp);
    const X *x = logits + (t * d.B + b) * d.C;
    const T lse = w.lse[t * d.B + b];
    T local = neg_inf<T>();
    for (int64_t s = tid; s < Sp; s += nt) {
      T v = neg_inf<T>();
      if (s >= band.lo && s < band.hi) {
        const T lp = log_prob(x, lse, ctc_state_class(label, s, blank));
        if (t == 0) {
          v = ctc_is_start_state(s) ? lp : neg_inf<T>();
        } else {
          const T skip = ctc_skip_mask<T>(label, s, Sp);
          v = lp + log_add_exp3(a_prev[s + 2], a_prev[s + 1], a_prev[s] + skip) - m_prev;
        }
      }
      a_cur[s + 2] = v;
      local = v > local ? v : local;
    }
    const T m = scale_of(block_max(local, red));  // every thread finished reading a_prev
    for (int64_t s = tid; s < Sp; s += nt) alpha_out[t * d.W() + s] = a_cur[s + 2] - m;
    acc += double(m);
    if (tid == 0) w.acc[b * d.T + t] = acc;
    m_prev = m;
    T *tmp = a_prev;
    a_prev = a_cur;
    a_cur = tmp;
  }
  if (tid == 0) {  // a_prev: the last row, unscaled, with scale m_prev
    ll_shared[0] = acc - double(m_prev) + double(ctc_final_log_likelihood(a_prev + 2, Sp));
  }
  __syncthreads();
  const double ll = ll_shared[0];
  if (!(ll > -INFINITY)) {  // every path underflowed: as infeasible
    if (tid == 0) {
      loss[b] = infeasible_loss;
      w.state[b] = 1;
    }
    return;
  }
  if (tid == 0) {
    loss[b] = T(-ll);
    w.state[b] = 0;
  }
  if (!want_grad) return;

  // beta backward; at each frame the occupancy of every state, summed per class entry.
  T *occ_out = w.occ + b * d.T * (d.S + 1);
  double acc_b = 0;
  T mb_next = 0;
  for (int64_t t = Tb - 1; t >= 0; --t) {
    const CtcBand band = ctc_band(t, Tb, Sp);
    T local = neg_inf<T>();
    if (t == Tb - 1) {
      for (int64_t s = tid; s < Sp + 2; s += nt) {
        const bool fin = s < Sp && s >= band.lo && s < band.hi && ctc_is_final_state(s, Sp);
        b_cur[s] = fin ? T(0) : neg_inf<T>();
        local = b_cur[s] > local ? b_cur[s] : local;
      }
    } else {
      const CtcBand bn = ctc_band(t + 1, Tb, Sp);
      const X *x = logits + ((t + 1) * d.B + b) * d.C;
      const T lse = w.lse[(t + 1) * d.B + b];
      for (int64_t s = tid; s < Sp + 2; s += nt)
        ly[s] = s < Sp && s >= bn.lo && s < bn.hi
                    ? log_prob(x, lse, ctc_state_class(label, s, blank))
                    : neg_inf<T>();
      __syncthreads();
      for (int64_t s = tid; s < Sp + 2; s += nt) {
        T v = neg_inf<T>();
        if (s < Sp && s >= band.lo && s < band.hi) {
          const T skip2 = ctc_skip_mask<T>(label, s + 2, Sp);
          v = log_add_exp3(b_next[s] + ly[s], b_next[s + 1] + ly[s + 1],
                           b_next[s + 2] + ly[s + 2] + skip2) -
              mb_next;
        }
        b_cur[s] = v;
        local = v > local ? v : local;
      }
    }
    const T m = scale_of(block_max(local, red));
    acc_b += double(m);
    const T off = T(w.acc[b * d.T + t] + acc_b - ll);
    for (int64_t s = tid; s < Sp; s += nt)
      gam[s] = s >= band.lo && s < band.hi
                   ? ctc_occupancy(alpha_out[t * d.W() + s], b_cur[s] - m, off)
                   : T(0);
    __syncthreads();
    for (int64_t j = tid; j <= L; j += nt) {  // one thread per class entry: a fixed order
      T sum = 0;
      if (j == 0) {
        for (int64_t s = 0; s < Sp; s += 2) sum += gam[s];
      } else if (w.cls[b * (d.S + 1) + j] >= 0) {
        for (int64_t k = j - 1; k < L; ++k)
          if (label[k] == label[j - 1]) sum += gam[2 * k + 1];
      }
      occ_out[t * (d.S + 1) + j] = sum;
    }
    mb_next = m;
    T *tmp = b_next;
    b_next = b_cur;
    b_cur = tmp;
  }
}

// ---- host ----------------------------------------------------------------------------------

bool rows_fit_shared(const Dims &d, size_t elem) {
  return kRows * d.R() * elem <= kMaxSharedRows;
}

// elem: the logits' element size; float16 / bfloat16 (2) compute in float (4).
size_t workspace_bytes(const Dims &d, size_t elem) {
  const size_t ce = elem == 8 ? 8 : 4;
  const bool in_ws = !rows_fit_shared(d, ce);
  return ce == 8 ? carve<double>(nullptr, d, in_ws).bytes : carve<float>(nullptr, d, in_ws).bytes;
}

bool dims_ok(int64_t T, int64_t B, int64_t C, int64_t S) {
  return T >= 0 && T <= kDeviceMaxFrames && B >= 0 && B <= INT32_MAX && C >= 2 && C <= INT32_MAX &&
         S >= 0 && S <= (int64_t{1} << 24);
}

template <typename X, typename T = Compute<X>>
crnn_status_t ctc_loss(T *loss, X *grad, const X *logits, const int32_t *labels,
                       const int32_t *input_lengths, const int32_t *label_lengths, int64_t T_,
                       int64_t B, int64_t C, int64_t S, void *workspace, size_t ws_bytes,
                       const crnn_ctc_loss_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || !dims_ok(T_, B, C, S) || opt->blank < 0 || opt->blank >= C ||
      (B > 0 && (!loss || !labels || !input_lengths || !label_lengths)) ||
      (T_ > 0 && B > 0 && !logits))
    return CRNN_STATUS_INVALID_VALUE;
  const Dims d{T_, B, C, S};
  if (!workspace || ws_bytes < workspace_bytes(d, sizeof(X)))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  cudaStream_t stream = static_cast<cudaStream_t>(opt->stream);
  if (clear_error_record(workspace, stream) != cudaSuccess) return CRNN_STATUS_EXECUTION_FAILED;
  if (B == 0) return CRNN_STATUS_SUCCESS;
  const bool shared = rows_fit_shared(d, sizeof(T));
  const Work<T> w = carve<T>(workspace, d, !shared);
  unsigned long long *record = error_record(workspace);
  const int64_t rows = T_ * B;
  if (rows > 0 && launch(frame_lse<X>, dim3(blocks_for(rows, kRowWarps)), dim3(kRowWarps * kWarp),
                         0, stream, w.lse, logits, input_lengths, d, record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  if (launch(ctc_sample<X>, dim3(unsigned(B)), dim3(sample_threads(d)),
             shared ? shared_rows_bytes<T>(d) : 0, stream, loss, w, logits, labels, input_lengths,
             label_lengths, d, opt->blank, opt->zero_infinity, int(grad != nullptr),
             record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  if (grad && rows > 0 &&
      launch(frame_grad<X>, dim3(blocks_for(rows, kRowWarps)), dim3(kRowWarps * kWarp), 0, stream,
             grad, w, logits, input_lengths, label_lengths, d) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn

extern "C" {

size_t CRNN_CUDA_ENTRY(ctc_loss_workspace_size)(int64_t T, int64_t B, int64_t C, int64_t S,
                                                size_t elem_bytes,
                                                const crnn_ctc_loss_options *opt) {
  (void)opt;
  if (!crnn::CRNN_CUDA_NS::dims_ok(T, B, C, S) ||
      (elem_bytes != 2 && elem_bytes != 4 && elem_bytes != 8))
    return 0;
  return crnn::CRNN_CUDA_NS::workspace_bytes({T, B, C, S}, elem_bytes);
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_loss_f32)(float *loss, float *grad, const float *logits,
                                            const int32_t *labels, const int32_t *input_lengths,
                                            const int32_t *label_lengths, int64_t T, int64_t B,
                                            int64_t C, int64_t S, void *workspace,
                                            size_t workspace_bytes,
                                            const crnn_ctc_loss_options *opt) {
  return crnn::CRNN_CUDA_NS::ctc_loss<float>(loss, grad, logits, labels, input_lengths,
                                             label_lengths, T, B, C, S, workspace, workspace_bytes,
                                             opt);
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_loss_f64)(double *loss, double *grad, const double *logits,
                                            const int32_t *labels, const int32_t *input_lengths,
                                            const int32_t *label_lengths, int64_t T, int64_t B,
                                            int64_t C, int64_t S, void *workspace,
                                            size_t workspace_bytes,
                                            const crnn_ctc_loss_options *opt) {
  return crnn::CRNN_CUDA_NS::ctc_loss<double>(loss, grad, logits, labels, input_lengths,
                                              label_lengths, T, B, C, S, workspace, workspace_bytes,
                                              opt);
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_loss_f16)(float *loss, uint16_t *grad, const uint16_t *logits,
                                            const int32_t *labels, const int32_t *input_lengths,
                                            const int32_t *label_lengths, int64_t T, int64_t B,
                                            int64_t C, int64_t S, void *workspace,
                                            size_t workspace_bytes,
                                            const crnn_ctc_loss_options *opt) {
  return crnn::CRNN_CUDA_NS::ctc_loss(
      loss, reinterpret_cast<crnn::Half *>(grad), reinterpret_cast<const crnn::Half *>(logits),
      labels, input_lengths, label_lengths, T, B, C, S, workspace, workspace_bytes, opt);
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_loss_bf16)(float *loss, uint16_t *grad, const uint16_t *logits,
                                             const int32_t *labels, const int32_t *input_lengths,
                                             const int32_t *label_lengths, int64_t T, int64_t B,
                                             int64_t C, int64_t S, void *workspace,
                                             size_t workspace_bytes,
                                             const crnn_ctc_loss_options *opt) {
  return crnn::CRNN_CUDA_NS::ctc_loss(loss, reinterpret_cast<crnn::BFloat16 *>(grad),
                                      reinterpret_cast<const crnn::BFloat16 *>(logits), labels,
                                      input_lengths, label_lengths, T, B, C, S, workspace,
                                      workspace_bytes, opt);
}

}  // extern "C"
