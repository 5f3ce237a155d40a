// The per-frame half of the CUDA prefix beam search (ctc_beam_search.cu): frame_tokens, one
// block per frame (b, t), independent of the search, so all T*B frames run at once. It applies
// the value rule (ctc_math.h), computes the log-sum-exp of a logits frame (float exps summed in
// double in the CPU kernel's order: 8 strided chains, then the tail) and the frame's candidate
// tokens: the S = min(n_top, 2W) best non-blank tokens by (score desc, index asc) as unique
// 64-bit keys (score, index) -- S rounds of a block min for S <= kExtractMax, else a bitwise
// radix select (<= 64 passes) and a rank sort of the S selected -- with their log-probs, the
// count above logp_cutoff and the top_k-th token (for the membership tests of child beams).
#pragma once

#include "../common/ctc_math.h"
#include "block_ops.cuh"
#include "crnn/ctc_decode.h"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

constexpr int kChunk = 1024;         // exps of one chunk of a frame, in shared memory
constexpr int64_t kExtractMax = 24;  // frame tokens found one by one up to this many

struct Shape {
  int64_t T, B, C, frame_stride, sample_stride;  // x[b * sample_stride + t * frame_stride + c]
};

struct Opts {
  int32_t blank, kind, W, top_n;
  int64_t n_top, S;  // tokens in the top_k set; sorted candidate tokens kept per frame
  double cutoff;     // extensions need lp >= cutoff (>= -DBL_MAX: -inf never extends)
};

// Per frame row r = b * T + t: lse (logits), ntok[r] candidate tokens above the cutoff (-1:
// the frame failed), kth[r] the top_k-th token, tok / slp (S each) the sorted tokens and lps.
struct Rows {
  double *lse;
  int32_t *ntok, *kth, *tok;
  double *slp;
};

__device__ __forceinline__ int64_t frames_of(const int32_t *input_lengths, int64_t b, int64_t T) {
  return input_lengths ? input_lengths[b] : T;
}

// Ascending key = (score desc, class index asc): the order of the reference's stable argsort.
// Unique per class; -0 sorts as +0 (they compare equal).
__device__ __forceinline__ uint64_t token_key(float v, int64_t c) {
  uint32_t u = static_cast<uint32_t>(float_as_bits(v == 0.0f ? 0.0f : v));
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // ascending in v
  return (uint64_t(~u) << 32) | uint64_t(uint32_t(c));
}

// The key of rank `rank` (0-based) among the non-blank tokens' keys: bitwise radix select,
// MSB first, done as soon as a single key matches the prefix (C < 2^31: both counts of a pass
// travel in one 64-bit sum).
__device__ uint64_t select_key(const float *x, int64_t C, int32_t blank, int64_t rank, int64_t *red,
                               uint64_t *redk) {
  uint64_t prefix = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const uint64_t hi = bit == 63 ? 0 : ~0ull << (bit + 1);
    int64_t n = 0;  // (keys matching the prefix) << 32 | (those with a 0 at `bit`)
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const uint64_t k = token_key(x[c], c);
      if (c != blank && (k & hi) == prefix) n += (int64_t(1) << 32) + !((k >> bit) & 1);
    }
    n = block_reduce(n, OpSum(), red);
    if (n >> 32 == 1) {  // the key is the only one left
      uint64_t best = ~0ull;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        const uint64_t k = token_key(x[c], c);
        if (c != blank && (k & hi) == prefix) best = k;
      }
      return block_reduce(best, OpMin(), redk);
    }
    const int64_t zeros = n & 0xffffffff;
    if (rank >= zeros) prefix |= 1ull << bit, rank -= zeros;
  }
  return prefix;
}

// log-sum-exp of a finite-max logits row in the CPU's order (row_exp_sum + row_sum_f64):
// chain j < 8 sums exp(x[c] - m) for c = j mod 8 below C - C % 8, then
// ((c0 + c4) + (c1 + c5)) + ((c2 + c6) + (c3 + c7)), then the tail in order.
__device__ double row_lse(const float *x, int64_t C, float m, float *ex, double *chain) {
  const int64_t n8 = C - C % 8;
  double acc = 0.0;  // chain threadIdx.x (< 8)
  int64_t c0 = 0;
  for (;; c0 += kChunk) {
    const int64_t n = C - c0 < kChunk ? C - c0 : kChunk;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ex[i] = exp_fast<float>(x[c0 + i] - m);
    __syncthreads();
    if (threadIdx.x < 8)
      for (int64_t i = threadIdx.x; i < n && c0 + i < n8; i += 8) acc += ex[i];
    if (c0 + n == C) break;  // kChunk % 8 == 0: the tail lies in this last chunk, still in ex
    __syncthreads();
  }
  if (threadIdx.x < 8) chain[threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double r = ((chain[0] + chain[4]) + (chain[1] + chain[5])) +
               ((chain[2] + chain[6]) + (chain[3] + chain[7]));
    for (int64_t c = n8; c < C; ++c) r += ex[c - c0];
    chain[8] = double(m) + log_fast<double>(r);
  }
  __syncthreads();
  return chain[8];
}

__global__ void frame_tokens(Rows rw, const float *x, const int32_t *input_lengths, Shape z, Opts o,
                             unsigned long long *record) {
  CRNN_SHARED_ARRAY(int64_t, red, kWarp);
  CRNN_SHARED_ARRAY(float, redf, kWarp);
  CRNN_SHARED_ARRAY(uint64_t, redk, kWarp);
  CRNN_SHARED_ARRAY(float, ex, kChunk);
  CRNN_SHARED_ARRAY(double, chain, 9);
  const int64_t r = blockIdx.x, b = r / z.T, t = r % z.T;
  const int64_t Tb = frames_of(input_lengths, b, z.T);
  if (Tb < 0 || Tb > z.T || t >= Tb) return;  // a bad length fails in beam_search
  const float *xr = x + b * z.sample_stride + t * z.frame_stride;
  const int tid = threadIdx.x, nt = blockDim.x;
  float m = neg_inf<float>();
  int64_t flags = 0;  // 1: NaN or +inf, 2: some value above -inf, 4: some -inf, 8: negative
  for (int64_t c = tid; c < z.C; c += nt) {
    const float v = xr[c];
    m = v > m ? v : m;
    flags |= (!(v == v) || v == INFINITY ? 1 : 0) | (v > neg_inf<float>() ? 2 : 0) |
             (v == neg_inf<float>() ? 4 : 0) | (ctc_prob_invalid(v) ? 8 : 0);
  }
  m = block_reduce(m, OpMax(), redf);
  flags = block_reduce(flags, OpOr(), red);
  int st = ctc_row_status(ctc_row_kind(flags & 1, flags & 2, flags & 4), o.kind);
  if (st == CRNN_STATUS_SUCCESS && o.kind == CRNN_CTC_PROBS && (flags & 8))
    st = CRNN_STATUS_INVALID_VALUE;
  if (st != CRNN_STATUS_SUCCESS) {
    if (tid == 0) {
      rw.ntok[r] = -1;
      record_error(record, true, b, t, st);
    }
    return;
  }
  const double lse = o.kind == CRNN_CTC_LOGITS ? row_lse(xr, z.C, m, ex, chain) : 0.0;

  int32_t *tok = rw.tok + r * o.S;
  double *slp = rw.slp + r * o.S;
  if (o.S <= kExtractMax) {  // S rounds, each the best key after the previous one
    uint64_t prev = 0;       // below every key (the high half of a key is never 0)
    for (int64_t i = 0; i < o.S; ++i) {
      uint64_t best = ~0ull;
      for (int64_t c = tid; c < z.C; c += nt) {
        const uint64_t k = token_key(xr[c], c);
        if (c != o.blank && k > prev && k < best) best = k;
      }
      prev = block_reduce(best, OpMin(), redk);
      if (tid == 0) tok[i] = static_cast<int32_t>(prev & 0xffffffffu);
    }
  } else {  // the S best keys, compacted in class order, then sorted by rank among themselves
    const uint64_t kS = select_key(xr, z.C, o.blank, o.S - 1, red, redk);
    int64_t mine = 0;
    for (int64_t c = tid; c < z.C; c += nt) mine += c != o.blank && token_key(xr[c], c) <= kS;
    int64_t total;
    int64_t pos = block_exclusive_scan(mine, red, &total);
    uint64_t *keys = reinterpret_cast<uint64_t *>(slp);  // scratch until the lps are written
    for (int64_t c = tid; c < z.C; c += nt) {
      const uint64_t k = token_key(xr[c], c);
      if (c != o.blank && k <= kS) keys[pos++] = k;
    }
    __syncthreads();
    for (int64_t i = tid; i < o.S; i += nt) {
      int64_t rank = 0;
      for (int64_t j = 0; j < o.S; ++j) rank += keys[j] < keys[i];
      tok[rank] = static_cast<int32_t>(keys[i] & 0xffffffffu);
    }
  }
  __syncthreads();
  int64_t first_below = o.S;  // the lps are sorted: the first below the cutoff ends the set
  for (int64_t i = tid; i < o.S; i += nt) {
    slp[i] = ctc_score_log_prob(xr[tok[i]], lse, o.kind);
    if (!(slp[i] >= o.cutoff) && i < first_below) first_below = i;
  }
  first_below = block_reduce(first_below, OpMin(), red);
  int32_t kth = tok[o.S - 1];
  if (o.n_top > o.S && o.n_top < z.C - 1)
    kth = static_cast<int32_t>(select_key(xr, z.C, o.blank, o.n_top - 1, red, redk) & 0xffffffffu);
  if (tid == 0) {
    rw.lse[r] = lse;
    rw.ntok[r] = static_cast<int32_t>(first_below);
    rw.kth[r] = kth;
  }
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn
