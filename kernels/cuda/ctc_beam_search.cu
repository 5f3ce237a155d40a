// CTC prefix beam search, CUDA (crnn/ctc_decode.h; value errors: crnn_device_error_read).
// Same results as the CPU kernel (cpu/ctc_beam_search.cpp, itself equal to the float64
// reference crnn_fast/reference/ctc_beam.py): every option of the contract (beam_width up to
// CRNN_CTC_BEAM_MAX_WIDTH, top_n, top_k, logp_cutoff, logits / probs / log_probs, batch_first,
// ragged input_lengths, -inf scores). Two kernels, no allocation, no host sync, no atomics
// outside the error record:
//   frame_tokens  (ctc_beam_frames.cuh) one block per frame (b, t), all T*B frames at once:
//                 the value rule, the log-sum-exp of logits in the CPU's summation order, the
//                 frame's sorted candidate tokens (top_k, logp_cutoff) and their log-probs;
//   beam_search   one block per sample, sequential over its frames. The beams and the
//                 frame's candidates live in shared memory when they fit (kMaxSharedHot; W <= 30
//                 at C >= W + 2), else in the sample's workspace slice; the prefix trie (node
//                 pool + hash, common/ctc_prefix_trie.h) is in the workspace. Per frame, one
//                 thread per beam builds its stay candidate, merges its parent beam's
//                 extension into it (exact prefix merging: a beam has at most one parent beam,
//                 so each merge is one log-add-exp and the order question does not arise) and
//                 counts its new extensions (scan of the sorted tokens, stopping after W: the
//                 CPU's bound); a prefix sum places them in the CPU's candidate order; the W
//                 best by (score desc, index asc) become the beams (keep_best: all-pairs ranks
//                 for nc <= kRankSelectMax candidates, nc <= W (W + 2); above, a radix select
//                 of the W-th score first); one thread interns their new prefixes in order.
//                 The sequential parts are O(W) per frame (the prefix sum, interning): the
//                 kernel is meant for OCR widths (W <= ~100) and correct up to the maximum.
// Float64 results are bit-identical to the CPU's wherever both compute the same operations in
// the same order: the log-add-exp merges always; the logits' log-sum-exp only where both
// compile exp_fast<float> alike (the CPU's AVX2 / AVX-512 clones contract it with FMA, the
// executor's x86-64 baseline build does not, nvcc does: a float exp term may round one ulp
// apart, moving the lse by < 6e-8 per frame). On a GPU, CUDA's double log / log1p / exp may
// also differ from glibc's by an ulp. Ids and lengths agree unless two prefixes tie that closely.
#include <float.h>
#include <math.h>

#include "../common/ctc_math.h"
#include "../common/ctc_prefix_trie.h"
#include "block_ops.cuh"
#include "crnn/ctc_decode.h"
#include "ctc_beam_frames.cuh"
#include "cuda_common.cuh"
#include "cuda_kernels.h"

namespace crnn {
namespace CRNN_CUDA_NS {
namespace {

constexpr size_t kMaxSharedHot = 40 * 1024;  // beams + candidates in shared memory up to this
constexpr int64_t kRankSelectMax = 1024;     // candidates ranked all-pairs up to this

struct Beam {
  int32_t node;
  double pb, pnb, total;  // log P(paths ending in blank / in the last label), their sum
};

struct Cand {
  int32_t node, parent, token;  // node -1: prefix (parent, token) not interned yet
  double pb, pnb, score;
};

// Per sample: node pool, hash, and the beams / candidates when they are not in shared memory.
struct Slices {
  TrieNode *pool;
  int32_t *hash;
  char *hot;
  int64_t pool_n, hash_n, hot_bytes;
};

struct Hot {  // carve of the beams / candidates region
  Beam *beams;
  Cand *cands;
  int32_t *order, *count;
};

// Beam i adds at most W + 1 extensions (W plus its last label) and at most C - 1.
__host__ __device__ __forceinline__ int64_t cand_capacity(int64_t C, int64_t W) {
  return W * (1 + (C - 1 < W + 1 ? C - 1 : W + 1));
}

__host__ __device__ __forceinline__ int64_t align8(int64_t n) {
  return (n + 7) / 8 * 8;
}

__host__ __device__ __forceinline__ int64_t hot_bytes(int64_t C, int64_t W) {
  return align8(W * int64_t(sizeof(Beam))) + align8(cand_capacity(C, W) * int64_t(sizeof(Cand))) +
         align8(W * 4) + align8((W + 1) * 4);
}

__device__ __forceinline__ Hot carve_hot(char *p, int64_t C, int64_t W) {
  Hot h;
  h.beams = reinterpret_cast<Beam *>(p);
  p += align8(W * int64_t(sizeof(Beam)));
  h.cands = reinterpret_cast<Cand *>(p);
  p += align8(cand_capacity(C, W) * int64_t(sizeof(Cand)));
  h.order = reinterpret_cast<int32_t *>(p);
  p += align8(W * 4);
  h.count = reinterpret_cast<int32_t *>(p);
  return h;
}

// ---- beam_search ---------------------------------------------------------------------------

// Frame t of a sample: scores, log-sum-exp, candidate tokens.
struct Frame {
  const float *x;
  double lse;
  int kind;
  int32_t kth, S;
  const int32_t *tok;
  const double *slp;
  __device__ double lp(int32_t c) const { return ctc_score_log_prob(x[c], lse, kind); }
  __device__ bool better(int32_t a, int32_t b) const {
    return x[a] > x[b] || (x[a] == x[b] && a < b);
  }
};

__device__ __forceinline__ bool is_candidate(const Frame &f, const Opts &o, int64_t C, int32_t c) {
  return c != o.blank && (o.n_top == C - 1 || c == f.kth || f.better(c, f.kth)) &&
         f.lp(c) >= o.cutoff;
}

// Whether token c extends a child beam of the beam on `node` (its prefix is a current beam).
__device__ __forceinline__ bool child_token(const PrefixTrie &trie, int32_t node, int32_t c) {
  const int32_t id = trie.find(node, c);
  return id >= 0 && trie.pool[id].slot >= 0;
}

__device__ __forceinline__ bool cand_better(const Cand *cd, int64_t a, int64_t b) {
  return cd[a].score > cd[b].score || (cd[a].score == cd[b].score && a < b);
}

__device__ __forceinline__ uint64_t double_bits(double d) {
#if CRNN_SIMT_EMU
  return __builtin_bit_cast(uint64_t, d);
#else
  return static_cast<uint64_t>(__double_as_longlong(d));
#endif
}

// Ascending key = score desc, for finite scores (-0 sorts as +0).
__device__ __forceinline__ uint64_t score_key(double s) {
  uint64_t u = double_bits(s == 0.0 ? 0.0 : s);
  u = (u >> 63) ? ~u : (u | (1ull << 63));  // ascending in s
  return ~u;
}

// The (up to) W best of the nc candidates with a finite score, by (score desc, index asc), into
// order[0, keep); returns keep. Up to kRankSelectMax candidates, each finds its rank among all
// (O(nc^2 / threads)); above, a bitwise radix select finds the W-th best score, the W
// survivors (ties at the threshold: lowest indices) are compacted into sel in index order by
// per-thread contiguous ranges and two block scans, and ranked among themselves.
__device__ int64_t keep_best(const Cand *cd, int64_t nc, int64_t W, int32_t *order, int32_t *sel,
                             int64_t *red, uint64_t *redk) {
  const int tid = threadIdx.x, nt = blockDim.x;
  const double ninf = neg_inf<double>();
  if (nc <= kRankSelectMax) {
    int64_t finite = 0;
    for (int64_t k = tid; k < nc; k += nt) {
      if (!(cd[k].score > ninf)) continue;
      ++finite;
      int64_t rank = 0;
      for (int64_t j = 0; j < nc && rank < W; ++j)
        rank += cd[j].score > ninf && cand_better(cd, j, k);
      if (rank < W) order[rank] = static_cast<int32_t>(k);
    }
    finite = block_reduce(finite, OpSum(), red);  // (its barrier publishes order)
    return finite < W ? finite : W;
  }
  const int64_t per = (nc + nt - 1) / nt;
  const int64_t lo = tid * per < nc ? tid * per : nc, hi = lo + per < nc ? lo + per : nc;
  int64_t nf = 0;
  for (int64_t k = lo; k < hi; ++k) nf += cd[k].score > ninf;
  nf = block_reduce(nf, OpSum(), red);
  uint64_t kW = 0;  // the W-th best key (unused when nf <= W: every finite one survives)
  int64_t take_eq = 0;
  if (nf > W) {
    uint64_t prefix = 0;
    int64_t rank = W - 1;
    bool found = false;
    for (int bit = 63; bit >= 0 && !found; --bit) {
      const uint64_t hi_mask = bit == 63 ? 0 : ~0ull << (bit + 1);
      int64_t n = 0;  // (finite keys matching the prefix) << 32 | (those with a 0 at `bit`)
      for (int64_t k = lo; k < hi; ++k) {
        if (!(cd[k].score > ninf)) continue;
        const uint64_t key = score_key(cd[k].score);
        if ((key & hi_mask) == prefix) n += (int64_t(1) << 32) + !((key >> bit) & 1);
      }
      n = block_reduce(n, OpSum(), red);
      if (n >> 32 == 1) {  // a single key left: it is the one
        uint64_t best = ~0ull;
        for (int64_t k = lo; k < hi; ++k)
          if (cd[k].score > ninf && (score_key(cd[k].score) & hi_mask) == prefix)
            best = score_key(cd[k].score);
        prefix = block_reduce(best, OpMin(), redk);
        found = true;
      } else {
        const int64_t zeros = n & 0xffffffff;
        if (rank >= zeros) prefix |= 1ull << bit, rank -= zeros;
      }
    }
    kW = prefix;
    int64_t better = 0;
    for (int64_t k = lo; k < hi; ++k) better += cd[k].score > ninf && score_key(cd[k].score) < kW;
    take_eq = W - block_reduce(better, OpSum(), red);
  }
  // survivors: key < kW, or key == kW among the first take_eq such (index order)
  int64_t eq = 0, total = 0;
  for (int64_t k = lo; k < hi; ++k) eq += cd[k].score > ninf && score_key(cd[k].score) == kW;
  const int64_t eq_base = block_exclusive_scan(eq, red, &total);
  const auto survives = [&](int64_t k, int64_t &eq_rank) {
    if (!(cd[k].score > ninf)) return false;
    if (nf <= W) return true;
    const uint64_t key = score_key(cd[k].score);
    return key < kW || (key == kW && eq_rank++ < take_eq);
  };
  int64_t mine = 0, er = eq_base;
  for (int64_t k = lo; k < hi; ++k) mine += survives(k, er);
  int64_t pos = block_exclusive_scan(mine, red, &total);
  er = eq_base;
  for (int64_t k = lo; k < hi; ++k)
    if (survives(k, er)) sel[pos++] = static_cast<int32_t>(k);
  __syncthreads();
  const int64_t keep = nf < W ? nf : W;
  for (int64_t i = tid; i < keep; i += nt) {
    int64_t rank = 0;
    for (int64_t j = 0; j < keep; ++j) rank += cand_better(cd, sel[j], sel[i]);
    order[rank] = sel[i];
  }
  __syncthreads();
  return keep;
}

// ids (N, T), lengths (N), scores (N) of one sample: "no prefix" for a failed sample.
__device__ void write_failed(int32_t *ids, int32_t *lengths, double *scores, int64_t N, int64_t T) {
  for (int64_t j = threadIdx.x; j < N * T; j += blockDim.x) ids[j] = -1;
  for (int64_t k = threadIdx.x; k < N; k += blockDim.x) lengths[k] = 0, scores[k] = NAN;
}

__global__ void beam_search(int32_t *ids, int32_t *lengths, double *scores, Rows rw, Slices sl,
                            const float *x, const int32_t *input_lengths, Shape z, Opts o,
                            unsigned long long *record) {
  CRNN_SHARED_ARRAY(int64_t, red, kWarp);
  CRNN_SHARED_ARRAY(uint64_t, redk, kWarp);
  CRNN_SHARED_ARRAY(int64_t, sh, 4);  // beams alive, candidates, survivors, nodes in use
  CRNN_DYNAMIC_SHARED(char, smem);
  const int64_t b = blockIdx.x, N = o.top_n, W = o.W, C = z.C;
  const int tid = threadIdx.x, nt = blockDim.x;
  int32_t *ids_b = ids + b * N * z.T, *len_b = lengths + b * N;
  double *sc_b = scores + b * N;
  const int64_t Tb = frames_of(input_lengths, b, z.T);
  if (Tb < 0 || Tb > z.T) {
    if (tid == 0) record_error(record, false, b, -1, CRNN_STATUS_INVALID_VALUE);
    write_failed(ids_b, len_b, sc_b, N, z.T);
    return;
  }
  int64_t bad = 0;
  for (int64_t t = tid; t < Tb; t += nt) bad |= rw.ntok[b * z.T + t] < 0;
  if (block_reduce(bad, OpOr(), red)) {  // frame_tokens recorded the error
    write_failed(ids_b, len_b, sc_b, N, z.T);
    return;
  }
  const Hot h = carve_hot(sl.hot_bytes ? sl.hot + b * sl.hot_bytes : smem, C, W);
  PrefixTrie trie{sl.pool + b * sl.pool_n, sl.hash + b * sl.hash_n, static_cast<uint64_t>(C)};
  const int64_t cap = hash_capacity(1 + Tb * W);
  for (int64_t i = tid; i < cap; i += nt) trie.hash[i] = -1;
  if (tid == 0) {
    trie.start(1 + Tb * W);
    h.beams[0] = Beam{0, 0.0, neg_inf<double>(), 0.0};
    sh[0] = 1, sh[3] = trie.n;
  }
  __syncthreads();
  trie.size_for(1 + Tb * W);  // every thread's copy of the hash geometry
  const double ninf = neg_inf<double>();

  for (int64_t t = 0; t < Tb; ++t) {
    const int64_t row = b * z.T + t;
    const Frame f{x + b * z.sample_stride + t * z.frame_stride,
                  rw.lse[row],
                  o.kind,
                  rw.kth[row],
                  rw.ntok[row],
                  rw.tok + row * o.S,
                  rw.slp + row * o.S};
    const int64_t nb = sh[0];
    const double lp_blank = f.lp(o.blank);
    // stay candidates (candidate i is beam i's prefix)
    for (int64_t i = tid; i < nb; i += nt) {
      const Beam &bm = h.beams[i];
      const TrieNode nd = trie.pool[bm.node];
      trie.pool[bm.node].slot = static_cast<int32_t>(i);
      const double pnb = bm.node ? bm.pnb + f.lp(nd.token) : ninf;
      h.cands[i] = Cand{bm.node, nd.parent, nd.token, bm.total + lp_blank, pnb, 0.0};
    }
    __syncthreads();
    // merge the parent beam's extension; count new extensions (at most W besides the last label)
    for (int64_t i = tid; i < nb; i += nt) {
      Cand &cd = h.cands[i];
      if (cd.parent >= 0 && trie.pool[cd.parent].slot >= 0) {
        const Beam &par = h.beams[trie.pool[cd.parent].slot];
        const int32_t c = cd.token;
        if (is_candidate(f, o, C, c))
          cd.pnb = log_add_exp_exact(
              cd.pnb, (c == trie.pool[par.node].token ? par.pb : par.total) + f.lp(c));
      }
      cd.score = log_add_exp_exact(cd.pb, cd.pnb);
      const int32_t node = h.beams[i].node, last = trie.pool[node].token;
      int32_t n = 0;
      for (int64_t r = 0, added = 0; r < f.S && added < W; ++r) {
        const int32_t c = f.tok[r];
        if (child_token(trie, node, c)) continue;
        ++n;
        added += c != last;
      }
      h.count[i] = n;
    }
    __syncthreads();
    if (tid == 0) {
      int64_t nc = nb;
      for (int64_t i = 0; i < nb; ++i) {
        const int32_t n = h.count[i];
        h.count[i] = static_cast<int32_t>(nc);
        nc += n;
      }
      sh[1] = nc;
    }
    __syncthreads();
    for (int64_t i = tid; i < nb; i += nt) {
      const Beam bm = h.beams[i];
      const int32_t last = trie.pool[bm.node].token;
      int64_t k = h.count[i];
      for (int64_t r = 0, added = 0; r < f.S && added < W; ++r) {
        const int32_t c = f.tok[r];
        if (child_token(trie, bm.node, c)) continue;
        const double s = (c == last ? bm.pb : bm.total) + f.slp[r];
        h.cands[k++] = Cand{-1, bm.node, c, ninf, s, s};
        added += c != last;
      }
    }
    __syncthreads();
    // the W best candidates by (score desc, index asc); -inf scores are dropped
    const int64_t keep = keep_best(h.cands, sh[1], W, h.order, h.count, red, redk);
    for (int64_t i = tid; i < nb; i += nt) trie.pool[h.beams[i].node].slot = -1;
    __syncthreads();
    if (tid == 0) {
      trie.n = static_cast<int32_t>(sh[3]);
      for (int64_t k = 0; k < keep; ++k) {
        const Cand &cd = h.cands[h.order[k]];
        const int32_t node = cd.node >= 0 ? cd.node : trie.intern(cd.parent, cd.token);
        h.beams[k] = Beam{node, cd.pb, cd.pnb, cd.score};
      }
      sh[0] = keep, sh[3] = trie.n;
    }
    __syncthreads();
  }

  // the top_n prefixes, best first; labels by walking up the trie
  const int64_t nb = sh[0];
  for (int64_t k = tid; k < N; k += nt) {
    int32_t *out = ids_b + k * z.T;
    int64_t len = 0;
    if (k < nb) {
      len = trie.pool[h.beams[k].node].depth;
      for (int32_t id = h.beams[k].node, j = static_cast<int32_t>(len) - 1; j >= 0; --j) {
        out[j] = trie.pool[id].token;
        id = trie.pool[id].parent;
      }
    }
    len_b[k] = static_cast<int32_t>(len);
    sc_b[k] = k < nb ? h.beams[k].total : ninf;
  }
  __syncthreads();
  for (int64_t j = tid; j < N * z.T; j += nt)
    if (j % z.T >= len_b[j / z.T]) ids_b[j] = -1;
}

// ---- host ----------------------------------------------------------------------------------

bool sizes_ok(int64_t T, int64_t B, int64_t C, const crnn_ctc_decode_options *opt) {
  return opt && T >= 0 && T <= kDeviceMaxFrames && B >= 0 && B <= INT32_MAX && C >= 2 &&
         C <= INT32_MAX && opt->beam_width >= 1 && opt->beam_width <= CRNN_CTC_BEAM_MAX_WIDTH &&
         T <= ((int64_t(1) << 29) - 1) / opt->beam_width;
}

Opts opts_for(int64_t C, const crnn_ctc_decode_options *opt) {
  Opts o;
  o.blank = opt->blank;
  o.kind = opt->input_kind;
  o.W = opt->beam_width;
  o.top_n = opt->top_n;
  o.n_top = opt->top_k > 0 && opt->top_k < C - 1 ? opt->top_k : C - 1;
  o.S = o.n_top < 2 * int64_t(o.W) ? o.n_top : 2 * int64_t(o.W);
  // -inf log-probs never extend (the cutoff is at least -DBL_MAX); a NaN cutoff stays NaN
  o.cutoff = opt->logp_cutoff < -DBL_MAX ? -DBL_MAX : double(opt->logp_cutoff);
  return o;
}

bool hot_in_shared(int64_t C, int64_t W) {
  return hot_bytes(C, W) <= int64_t(kMaxSharedHot);
}

struct Work {
  Rows rows;
  Slices slices;
  size_t bytes;
};

Work carve(void *workspace, int64_t T, int64_t B, int64_t C, const Opts &o) {
  Carve c{static_cast<char *>(workspace)};
  Work w;
  const int64_t R = T * B, W = o.W;
  w.rows.lse = c.take<double>(R);
  w.rows.ntok = c.take<int32_t>(R);
  w.rows.kth = c.take<int32_t>(R);
  w.rows.tok = c.take<int32_t>(R * o.S);
  w.rows.slp = c.take<double>(R * o.S);
  w.slices.pool_n = 1 + T * W;
  w.slices.hash_n = hash_capacity(1 + T * W);
  w.slices.hot_bytes = hot_in_shared(C, W) ? 0 : align8(hot_bytes(C, W));
  w.slices.pool = c.take<TrieNode>(B * w.slices.pool_n);
  w.slices.hash = c.take<int32_t>(B * w.slices.hash_n);
  w.slices.hot = c.take<char>(B * w.slices.hot_bytes);
  w.bytes = c.used;
  return w;
}

}  // namespace
}  // namespace CRNN_CUDA_NS
}  // namespace crnn

extern "C" {

size_t CRNN_CUDA_ENTRY(ctc_beam_search_workspace_size)(int64_t T, int64_t B, int64_t C,
                                                       const crnn_ctc_decode_options *opt) {
  using namespace crnn::CRNN_CUDA_NS;
  if (B <= 0 || !sizes_ok(T, B, C, opt)) return 0;
  return carve(nullptr, T, B, C, opts_for(C, opt)).bytes;
}

crnn_status_t CRNN_CUDA_ENTRY(ctc_beam_search_f32)(int32_t *ids, int32_t *lengths, double *scores,
                                                   const float *x, const int32_t *input_lengths,
                                                   int64_t T, int64_t B, int64_t C, void *workspace,
                                                   size_t workspace_bytes,
                                                   const crnn_ctc_decode_options *opt) {
  using namespace crnn::CRNN_CUDA_NS;
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!sizes_ok(T, B, C, opt) || opt->blank < 0 || opt->blank >= C ||
      opt->input_kind < CRNN_CTC_LOGITS || opt->input_kind > CRNN_CTC_LOG_PROBS || opt->top_n < 1 ||
      opt->top_n > opt->beam_width)
    return CRNN_STATUS_INVALID_VALUE;
  if (B > 0 && (!lengths || !scores || (T > 0 && (!ids || !x)))) return CRNN_STATUS_INVALID_VALUE;
  const Opts o = opts_for(C, opt);
  if (B > 0 && (!workspace || workspace_bytes < carve(nullptr, T, B, C, o).bytes))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  if (B == 0) return CRNN_STATUS_SUCCESS;
  cudaStream_t stream = static_cast<cudaStream_t>(opt->stream);
  if (clear_error_record(workspace, stream) != cudaSuccess) return CRNN_STATUS_EXECUTION_FAILED;
  const Work w = carve(workspace, T, B, C, o);
  const Shape z{T, B, C, opt->batch_first ? C : B * C, opt->batch_first ? T * C : C};
  unsigned long long *record = error_record(workspace);
  const int row_threads = C > 256 ? 128 : 32;
  if (T > 0 && launch(frame_tokens, dim3(static_cast<unsigned>(T * B)), dim3(row_threads), 0,
                      stream, w.rows, x, input_lengths, z, o, record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  const int beam_threads = o.W <= 32 ? 32 : 128;
  const size_t shared = w.slices.hot_bytes ? 0 : size_t(hot_bytes(C, o.W));
  if (launch(beam_search, dim3(static_cast<unsigned>(B)), dim3(beam_threads), shared, stream, ids,
             lengths, scores, w.rows, w.slices, x, input_lengths, z, o, record) != cudaSuccess)
    return CRNN_STATUS_EXECUTION_FAILED;
  return CRNN_STATUS_SUCCESS;
}

}  // extern "C"
