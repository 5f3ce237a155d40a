// Fused CTC loss + gradient (CPU). See crnn/ctc_loss.h for the contract.
//
// Per sample, in log space:
//   pass 1   for each frame: max + value check, exp(x - max) written straight into the
//            grad row and scaled to the softmax (the row is read from memory once), and the
//            log-probabilities of the 2L+1 extended states gathered into `logy`;
//   alpha/beta  forward and backward recursions, vectorized across states and run in one
//            interleaved loop: each is a latency-bound chain (exp, log, max per step), so two
//            independent chains nearly halve the time. Rows are renormalised to max 0 with
//            their log-scale kept in double;
//   gamma    exp(alpha + beta - ll) per frame, subtracted from the softmax at each state's
//            class: grad = softmax - occupancy.
// A -inf logit is probability 0: its softmax term and its states' log-probs are exactly 0 and
// -inf, so it gets gradient 0, and a label that can only use -inf entries makes the sample
// infeasible (loss inf / 0, gradient 0), as PyTorch's ctc_loss does. log_add_exp* return -inf
// for all -inf operands (no inf - inf).
// The per-state math (band, alpha/beta steps, final likelihood, occupancy, the -inf rule) is
// common/ctc_math.h, shared with the other backends; this file adds the CPU's row layout
// (kLanes padding), vectorization and threading.
#include <string.h>

#include "../common/ctc_math.h"
#include "cpu_common.h"
#include "cpu_kernels.h"
#include "ctc_loss_narrow.h"

namespace {

using crnn::neg_inf;

// State loops run over a multiple of kLanes (pad lanes hold -inf), so the vectorized loops
// have no scalar remainder: ~1.5x faster at the CRNN shape, where 2L+1 is ~10-47.
constexpr int64_t kLanes = 8;
inline int64_t padded_states(int64_t L) {
  return (2 * L + 1 + kLanes - 1) / kLanes * kLanes;
}

struct Layout {
  int64_t P, W;  // padded extended states; row width with kLanes pad lanes
  size_t alpha, beta, acc_a, acc_b, logy, skip, gamma, ext, row, frame, bytes;  // byte offsets
};

// One thread's slice for labels up to S; buffers_of reads it back.
Layout layout_for(int64_t T, int64_t C, int64_t S, size_t eb) {
  Layout l;
  l.P = padded_states(S);
  l.W = l.P + kLanes;
  crnn::cpu::Carver c;
  const auto take = [&c](size_t bytes) { return c.take(bytes); };
  l.alpha = take(T * l.W * eb);
  l.beta = take(T * l.W * eb);
  l.acc_a = take(T * sizeof(double));
  l.acc_b = take(T * sizeof(double));
  l.logy = take(T * l.W * eb);
  l.skip = take(l.W * eb);
  l.gamma = take(l.P * eb);
  l.ext = take(l.P * sizeof(int32_t));
  l.row = take(C * eb);
  l.frame = take(2 * T * eb);
  l.bytes = c.off;
  return l;
}

// The states of frame t that can lie on a complete path (crnn::ctc_band), widened to whole
// kLanes chunks. Skipping the rest halves the recursion work at the CRNN shape (T = 25, L ~ 12).
CRNN_CPU_INLINE crnn::CtcBand band(int64_t t, int64_t Tb, int64_t Sp) {
  static_assert((kLanes & (kLanes - 1)) == 0, "kLanes: a power of two");
  const crnn::CtcBand r = crnn::ctc_band(t, Tb, Sp);  // 0 <= lo, hi <= Sp
  // Masks, not `/ kLanes * kLanes`: signed division cost 4 % of the whole loss at T = 25.
  return {r.lo & -kLanes, (r.hi + kLanes - 1) & -kLanes};
}

// Rows are kept near 0 in log space, their log-scale in double (acc_a/acc_b), so that
// gamma = exp(alpha + beta - ll) is exact to float32 rounding (without it the float32
// gradient error grew with |loss|: 1e-3 at T = 256). Row t is shifted by the maximum of row
// t - 2, not t - 1: that reduction then runs beside the recursion instead of inside its
// latency chain.
template <typename T>
CRNN_CPU_INLINE T row_scale_of(const T *row, crnn::CtcBand band) {
  const T c = crnn::cpu::row_max(row + band.lo, band.hi - band.lo);
  return c == neg_inf<T>() ? T(0) : c;
}

// One sample's problem: its frames in the (Tn, B, C) logits and grad, and its label.
template <typename T>
struct Sample {
  const T *logits;  // frame t of this sample at logits + t * BC (C classes)
  T *grad;          // same layout as logits, NULL = loss only
  const int32_t *label;
  int64_t Tb, BC, C, Sp, W;  // Sp = 2L+1 states, W = padded_states(L) + kLanes row width
};

// The sample's slice of the thread's workspace (layout_for), in log space.
template <typename T>
struct Buffers {
  T *alpha;        // (Tb, W): [-inf, -inf, states, pad] (ctc_math.h)
  T *beta;         // (Tb, W): [states, pad]
  double *acc_a;   // (Tb) log-scale of alpha rows
  double *acc_b;   // (Tb) log-scale of beta rows
  T *logy;         // (Tb, W): log y_t(l'_s), pad -inf
  T *skip;         // (W): 0 if s-2 -> s allowed, else -inf
  T *gam;          // (P) occupancy of frame t's states
  int32_t *ext;    // (Sp) class of each state
  T *row;          // (C) exp terms when grad is NULL
  T *fmax, *fsum;  // (Tb) per frame: max, then lse; sum of exp(x - max)
};

template <typename T>
CRNN_CPU_INLINE Buffers<T> buffers_of(char *ws, const Layout &lay, int64_t Tn) {
  const auto at = [ws](size_t off) { return reinterpret_cast<T *>(ws + off); };
  T *frame = at(lay.frame);
  return {at(lay.alpha),
          at(lay.beta),
          reinterpret_cast<double *>(ws + lay.acc_a),
          reinterpret_cast<double *>(ws + lay.acc_b),
          at(lay.logy),
          at(lay.skip),
          at(lay.gamma),
          reinterpret_cast<int32_t *>(ws + lay.ext),
          at(lay.row),
          frame,
          frame + Tn};
}

template <typename T>
CRNN_CPU_INLINE void zero_grad_rows(const Sample<T> &sp, int64_t t0, int64_t t1) {
  if (sp.grad)
    for (int64_t t = t0; t < t1; ++t) memset(sp.grad + t * sp.BC, 0, sp.C * sizeof(T));
}

// Pass 1: checks every frame (the value rule of ctc_math.h), and for a feasible sample turns
// each grad row (or `row`) into the softmax and gathers the band states' log-probs into logy.
// Two phases, so the per-frame chains (max -> exp-sum -> log) of different frames overlap
// and the logs run as one vector loop over frames. Returns a status; *bad_frame on failure.
template <typename T>
CRNN_CPU_INLINE int frame_log_probs(const Sample<T> &sp, const Buffers<T> &bf, bool feasible,
                                    int64_t *bad_frame) {
  const int64_t Tb = sp.Tb, W = sp.W;
  if (feasible)
    for (int64_t i = 0; i < Tb * W; ++i) bf.logy[i] = neg_inf<T>();
  for (int64_t t = 0; t < Tb; ++t) {
    const T *x = sp.logits + t * sp.BC;
    int kind;
    bf.fmax[t] = crnn::cpu::row_max(x, sp.C, &kind);
    if (__builtin_expect(kind != crnn::CTC_ROW_FINITE, 0)) {
      const int st = crnn::ctc_row_status(kind, CRNN_CTC_LOGITS);  // -inf: probability 0
      if (st != CRNN_STATUS_SUCCESS) {
        *bad_frame = t;
        return st;
      }
    }
    if (!feasible) continue;  // still checked, like feasible samples
    bf.fsum[t] =
        crnn::cpu::row_exp_sum(x, sp.C, bf.fmax[t], sp.grad ? sp.grad + t * sp.BC : bf.row);
  }
  if (!feasible) return CRNN_STATUS_SUCCESS;
#pragma omp simd
  for (int64_t t = 0; t < Tb; ++t) bf.fmax[t] += crnn::log_fast<T>(bf.fsum[t]);  // now the lse
  for (int64_t t = 0; t < Tb; ++t) {
    const T *x = sp.logits + t * sp.BC;
    if (sp.grad) crnn::cpu::row_scale(sp.grad + t * sp.BC, sp.C, T(1) / bf.fsum[t]);  // softmax
    T *ly = bf.logy + t * W;  // only band states are read; the rest stay -inf (set above)
    const crnn::CtcBand bt = band(t, Tb, sp.Sp);
    const int64_t hi = bt.hi < sp.Sp ? bt.hi : sp.Sp;
    const T lse = bf.fmax[t];
#pragma omp simd
    for (int64_t s = bt.lo; s < hi; ++s) ly[s] = x[bf.ext[s]] - lse;
  }
  return CRNN_STATUS_SUCCESS;
}

// The alpha (and, with_beta, beta) recursions of ctc_math.h over band states, vectorized
// across states and interleaved in one loop: each is a latency-bound chain (exp, log, max per
// step), so two independent chains nearly halve the time. Returns log p(label | x) (double:
// the row scales are summed there); -inf when the paths underflow.
template <typename T>
CRNN_CPU_INLINE double forward_backward(const Sample<T> &sp, const Buffers<T> &bf, bool with_beta) {
  const int64_t Tb = sp.Tb, Sp = sp.Sp, W = sp.W;
  T *alpha = bf.alpha, *beta = bf.beta;
  const T *logy = bf.logy, *skip = bf.skip;
  // Only states in the band of frame t can be on a complete path; the rest stay -inf.
  for (int64_t i = 0; i < Tb * W; ++i) alpha[i] = neg_inf<T>();
  if (with_beta)
    for (int64_t i = 0; i < Tb * W; ++i) beta[i] = neg_inf<T>();
  T *bT = beta + (Tb - 1) * W;
  for (int64_t s = 0; s < Sp; ++s) {
    if (crnn::ctc_is_start_state(s)) alpha[s + 2] = logy[s];
    if (crnn::ctc_is_final_state(s, Sp)) bT[s] = 0;
  }
  bf.acc_a[0] = 0;
  bf.acc_b[Tb - 1] = 0;
  for (int64_t k = 1; k < Tb; ++k) {
    const crnn::CtcBand ba = band(k, Tb, Sp);
    T *ac = alpha + k * W;
    const T *ap = ac - W, *lya = logy + k * W;
    const T sa = k >= 2 ? row_scale_of(ap - W + 2, band(k - 2, Tb, Sp)) : T(0);
#pragma omp simd
    for (int64_t s = ba.lo; s < ba.hi; ++s)
      ac[s + 2] = crnn::ctc_alpha_state(ap, lya, skip, s) - sa;
    bf.acc_a[k] = bf.acc_a[k - 1] + sa;
    if (with_beta) {  // the beta chain in the same iteration: both are latency-bound, they overlap
      const int64_t t = Tb - 1 - k;
      const crnn::CtcBand bb = band(t, Tb, Sp);
      T *bc = beta + t * W;
      const T *bn = bc + W, *lyb = logy + (t + 1) * W;
      const T sb = t + 2 < Tb ? row_scale_of(bn + W, band(t + 2, Tb, Sp)) : T(0);
#pragma omp simd
      for (int64_t s = bb.lo; s < bb.hi; ++s) bc[s] = crnn::ctc_beta_state(bn, lyb, skip, s) - sb;
      bf.acc_b[t] = bf.acc_b[t + 1] + sb;
    }
  }
  return bf.acc_a[Tb - 1] + crnn::ctc_final_log_likelihood(alpha + (Tb - 1) * W + 2, Sp);
}

// grad = softmax - occupancy: each state's gamma = exp(alpha + beta - ll) is subtracted at
// its class (the grad rows already hold the softmax).
template <typename T>
CRNN_CPU_INLINE void subtract_occupancy(const Sample<T> &sp, const Buffers<T> &bf, double ll,
                                        int32_t blank) {
  for (int64_t t = 0; t < sp.Tb; ++t) {
    const crnn::CtcBand bt = band(t, sp.Tb, sp.Sp);
    const T *a = bf.alpha + t * sp.W + 2, *be = bf.beta + t * sp.W;
    const T off = static_cast<T>(bf.acc_a[t] + bf.acc_b[t] - ll);  // alpha * beta / p <= 1
#pragma omp simd
    for (int64_t s = bt.lo; s < bt.hi; ++s) bf.gam[s] = crnn::ctc_occupancy(a[s], be[s], off);
    T *g = sp.grad + t * sp.BC;
    const int64_t hi = bt.hi < sp.Sp ? bt.hi : sp.Sp;
    // Blank states (even s) are summed in a register: subtracting each from g[blank] in turn
    // was a store-to-load chain through one address (11 % of the kernel).
    T blank_occ = 0;
    for (int64_t s = bt.lo; s < hi; s += 2) blank_occ += bf.gam[s];  // bt.lo is even
    g[blank] -= blank_occ;
    for (int64_t s = bt.lo + 1; s < hi; s += 2) g[bf.ext[s]] -= bf.gam[s];
  }
}

// Loss (and gradient) of sample b. An infeasible sample (too few frames, or every path of
// probability 0) gets loss inf (0 with zero_infinity) and gradient 0.
template <typename T>
CRNN_CPU_INLINE int ctc_sample(T *loss, T *grad, const T *logits, const int32_t *label, int64_t Tb,
                               int64_t L, int64_t Tn, int64_t B, int64_t C, int64_t b,
                               const crnn_ctc_loss_options &opt, char *ws, const Layout &lay,
                               int64_t *bad_frame) {
  const int64_t Sp = 2 * L + 1, W = padded_states(L) + kLanes;
  const Sample<T> sp{logits + b * C, grad ? grad + b * C : nullptr, label, Tb, B * C, C, Sp, W};
  const Buffers<T> bf = buffers_of<T>(ws, lay, Tn);
  zero_grad_rows(sp, Tb, Tn);
  const bool feasible = Tb >= crnn::ctc_min_frames(label, L);
  const T infeasible_loss = opt.zero_infinity ? T(0) : static_cast<T>(INFINITY);
  for (int64_t s = 0; s < Sp; ++s) bf.ext[s] = crnn::ctc_state_class(label, s, opt.blank);
  for (int64_t s = 0; s < W; ++s) bf.skip[s] = crnn::ctc_skip_mask<T>(label, s, Sp);

  const int st = frame_log_probs(sp, bf, feasible, bad_frame);
  if (st != CRNN_STATUS_SUCCESS) return st;
  if (Tb == 0 || !feasible) {
    *loss = feasible ? T(0) : infeasible_loss;
    if (!feasible) zero_grad_rows(sp, 0, Tb);
    return CRNN_STATUS_SUCCESS;
  }
  const double ll = forward_backward(sp, bf, grad != nullptr);
  if (!(ll > -INFINITY)) {  // underflow of a feasible path: treat as infeasible
    *loss = infeasible_loss;
    zero_grad_rows(sp, 0, Tb);
    return CRNN_STATUS_SUCCESS;
  }
  *loss = static_cast<T>(-ll);
  if (grad) subtract_occupancy(sp, bf, ll, opt.blank);
  return CRNN_STATUS_SUCCESS;
}

CRNN_SIMD_CLONES int ctc_sample_f32(float *loss, float *grad, const float *logits,
                                    const int32_t *label, int64_t Tb, int64_t L, int64_t Tn,
                                    int64_t B, int64_t C, int64_t b,
                                    const crnn_ctc_loss_options &opt, char *ws, const Layout &lay,
                                    int64_t *bad_frame) {
  return ctc_sample<float>(loss, grad, logits, label, Tb, L, Tn, B, C, b, opt, ws, lay, bad_frame);
}

int ctc_sample_f64(double *loss, double *grad, const double *logits, const int32_t *label,
                   int64_t Tb, int64_t L, int64_t Tn, int64_t B, int64_t C, int64_t b,
                   const crnn_ctc_loss_options &opt, char *ws, const Layout &lay,
                   int64_t *bad_frame) {
  return ctc_sample<double>(loss, grad, logits, label, Tb, L, Tn, B, C, b, opt, ws, lay, bad_frame);
}

inline int ctc_sample_any(float *l, float *g, const float *x, const int32_t *lab, int64_t Tb,
                          int64_t L, int64_t Tn, int64_t B, int64_t C, int64_t b,
                          const crnn_ctc_loss_options &o, char *ws, const Layout &lay,
                          int64_t *bad) {
  return ctc_sample_f32(l, g, x, lab, Tb, L, Tn, B, C, b, o, ws, lay, bad);
}
inline int ctc_sample_any(double *l, double *g, const double *x, const int32_t *lab, int64_t Tb,
                          int64_t L, int64_t Tn, int64_t B, int64_t C, int64_t b,
                          const crnn_ctc_loss_options &o, char *ws, const Layout &lay,
                          int64_t *bad) {
  return ctc_sample_f64(l, g, x, lab, Tb, L, Tn, B, C, b, o, ws, lay, bad);
}

template <typename T>
crnn_status_t ctc_loss_impl(T *loss, T *grad, const T *logits, const int32_t *labels,
                            const int32_t *input_lengths, const int32_t *label_lengths, int64_t Tn,
                            int64_t B, int64_t C, int64_t S, void *workspace,
                            size_t workspace_bytes, const crnn_ctc_loss_options *opt) {
  const crnn_status_t args = crnn::cpu::ctc_loss_check_args(loss, logits, labels, input_lengths,
                                                            label_lengths, Tn, B, C, S, opt);
  if (args != CRNN_STATUS_SUCCESS || B == 0) return args;
  // The scratch is sized by the longest label read, not the padded width S (labels padded to
  // S = 20000 with short labels used to take 223 MB).
  int64_t L_max = 0;
  for (int64_t b = 0; b < B; ++b) L_max = label_lengths[b] > L_max ? label_lengths[b] : L_max;
  if (workspace_bytes < crnn_cpu_ctc_loss_workspace_size(Tn, B, C, L_max, sizeof(T), opt) ||
      !workspace)
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;

  const Layout lay = layout_for(Tn, C, L_max, sizeof(T));
  const int nt = crnn::cpu::resolve_threads(opt->num_threads, B);
  char *ws0 = static_cast<char *>(workspace);
  crnn::cpu::FirstError err;
  // Long samples go out dynamically (static halves came out unbalanced with a fresh gradient at
  // C = 6625: 56 vs 43 ms); short ones in static blocks, so a worker that wakes late still gets
  // its half instead of finding the caller done with the batch.
  const bool dynamic = Tn * C >= (int64_t{1} << 16);
  crnn::cpu::parallel_for(nt, B, dynamic, [&](int64_t b, int tid) {
    char *ws = ws0 + tid * lay.bytes;
    int64_t bad_frame = -1;
    const int st = ctc_sample_any(loss + b, grad, logits, labels + b * S, input_lengths[b],
                                  label_lengths[b], Tn, B, C, b, *opt, ws, lay, &bad_frame);
    if (st != CRNN_STATUS_SUCCESS) {
      loss[b] = static_cast<T>(NAN);
      err.record(b, st, bad_frame);
    }
  });
  if (err.failed()) return err.report(opt->error_index, opt->error_frame);
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

namespace crnn {
namespace cpu {

crnn_status_t ctc_loss_check_args(const void *loss, const void *logits, const int32_t *labels,
                                  const int32_t *input_lengths, const int32_t *label_lengths,
                                  int64_t T, int64_t B, int64_t C, int64_t S,
                                  const crnn_ctc_loss_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!opt || !loss || (B > 0 && (!labels || !input_lengths || !label_lengths)) ||
      (T > 0 && B > 0 && !logits) || T < 0 || B < 0 || C < 2 || S < 0 || opt->blank < 0 ||
      opt->blank >= C)
    return CRNN_STATUS_INVALID_VALUE;
  const char *what = nullptr;
  const int64_t bad =
      crnn_ctc_check_targets(labels, input_lengths, label_lengths, T, B, C, S, opt->blank, &what);
  if (bad >= 0) {
    if (opt->error_index) *opt->error_index = static_cast<int32_t>(bad);
    return CRNN_STATUS_INVALID_VALUE;
  }
  return CRNN_STATUS_SUCCESS;
}

}  // namespace cpu
}  // namespace crnn

extern "C" {

size_t crnn_cpu_ctc_loss_workspace_size(int64_t T, int64_t B, int64_t C, int64_t S,
                                        size_t elem_bytes, const crnn_ctc_loss_options *opt) {
  if (T < 0 || B <= 0 || S < 0 || C < 0) return 0;
  if (elem_bytes == 2)  // float16 / bfloat16: float32 staging, then the float32 kernel's scratch
    return crnn::cpu::ctc_narrow_workspace_size(T, B, C, S, opt);
  const int nt = crnn::cpu::resolve_threads(opt ? opt->num_threads : 0, B);
  return nt * layout_for(T, C, S, elem_bytes).bytes;
}

int64_t crnn_ctc_check_targets(const int32_t *labels, const int32_t *input_lengths,
                               const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                               int64_t S, int32_t blank, const char **what) {
  for (int64_t b = 0; b < B; ++b) {
    if (input_lengths[b] < 0 || input_lengths[b] > T) {
      *what = "input_lengths";
      return b;
    }
    if (label_lengths[b] < 0 || label_lengths[b] > S) {
      *what = "label_lengths";
      return b;
    }
    for (int64_t j = 0; j < label_lengths[b]; ++j) {
      const int32_t v = labels[b * S + j];
      if (v < 0 || v >= C || v == blank) {
        *what = "labels";
        return b;
      }
    }
  }
  return -1;
}

crnn_status_t crnn_cpu_ctc_loss_f32(float *loss, float *grad, const float *logits,
                                    const int32_t *labels, const int32_t *input_lengths,
                                    const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                    int64_t S, void *workspace, size_t workspace_bytes,
                                    const crnn_ctc_loss_options *opt) {
  return ctc_loss_impl<float>(loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S,
                              workspace, workspace_bytes, opt);
}

crnn_status_t crnn_cpu_ctc_loss_f64(double *loss, double *grad, const double *logits,
                                    const int32_t *labels, const int32_t *input_lengths,
                                    const int32_t *label_lengths, int64_t T, int64_t B, int64_t C,
                                    int64_t S, void *workspace, size_t workspace_bytes,
                                    const crnn_ctc_loss_options *opt) {
  return ctc_loss_impl<double>(loss, grad, logits, labels, input_lengths, label_lengths, T, B, C, S,
                               workspace, workspace_bytes, opt);
}

}  // extern "C"
