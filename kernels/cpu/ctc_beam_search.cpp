// CTC prefix beam search (CPU). See crnn/ctc_decode.h for the contract; the semantics are
// those of crnn_fast/reference/ctc_beam.py, which the tests compare against.
//
// Per sample, everything lives in the thread's workspace slice (no allocation in the call):
//   trie   node pool (1 + Tb*W nodes: parent, token, depth, candidate slot) and an open-
//          addressing hash (parent, token) -> node: each distinct prefix gets one node id, ever;
//   beams  the W surviving prefixes (node, log pb, log pnb, total), best first;
//   cands  this frame's candidates (node, or -1 while not interned, parent, token, pb, pnb).
// Per frame:
//   1. lse of the row for logits (row_max + row_exp_sum + log); a token's log-prob is then
//      x - lse in double. The rounding of lse is common to every path of the frame, so the
//      ranking of prefixes matches the float64 reference. probs: log in double; log_probs: x;
//   2. candidate tokens: the top_k best non-blank ones in the order (x desc, index asc), the
//      reference's stable argsort, with log-prob >= logp_cutoff. Only the best 2W are ever
//      scanned (step 4): one streaming top-2W pass (top_tokens), or nth_element when
//      2W < top_k < C - 1 (the top_k-th token is then needed for membership tests);
//   3. candidate i stays on beam i's prefix (blank, or a repeat of its last label) and the
//      node's slot records i. A beam whose parent node is another beam's is that beam's child:
//      the parent's extension by the child's token is merged into the child's candidate
//      (exact prefix merging; the reference does it with a dict);
//   4. any other extension of beam i makes a prefix no other candidate has (its parent is beam
//      i), scoring total_i + lp[c] (pb_i + lp[c] for i's last label). Tokens are scanned best
//      first and the scan stops after W additions other than the last label: every later
//      extension has W better ones from the same beam, so it cannot survive (up to ties, which
//      the reference breaks arbitrarily too). A frame is O(C + W^2), not O(W*C): at C = 6625
//      and W = 10 this turns 66k candidates per frame into <= 120;
//   5. the W best candidates by logaddexp(pb, pnb) survive (nth_element, then sort
//      descending); only their new prefixes are interned (found again if seen before).
// -inf log-probs (probability 0) are never extensions (step 2: the cutoff is >= -DBL_MAX) and
// candidates of score -inf never survive (step 5), so all beams have finite scores.
// The scalar rules (frame status, a score's log-prob, NumPy's logaddexp) are common/ctc_math.h.
#include <float.h>
#include <math.h>

#include <algorithm>

#include "../common/ctc_prefix_trie.h"
#include "cpu_common.h"
#include "cpu_kernels.h"

namespace {

using crnn::hash_capacity;
using crnn::neg_inf;
using crnn::cpu::row_sum_f64;
using Node = crnn::TrieNode;
using Trie = crnn::PrefixTrie;

struct Beam {
  int32_t node, first_child, next_sibling;  // children: beams whose parent is this beam
  double pb, pnb, total;                    // log P(paths ending in blank / in last label)
};

struct Cand {
  int32_t node, parent, token;  // node -1: prefix (parent, token) not interned yet
  double pb, pnb, score;
};

// Beam i adds at most W + 1 extensions (W plus its last label) and at most C - 1.
int64_t candidate_capacity(int64_t C, int64_t W) {
  return W * (1 + std::min(C - 1, W + 1));
}

// Node ids and hash slots are int32; 1 + T*W <= 2^29 keeps the hash below 2^31 entries.
bool sizes_ok(int64_t T, int64_t C, const crnn_ctc_decode_options *opt) {
  return opt && T >= 0 && C >= 2 && C <= INT32_MAX && opt->beam_width >= 1 &&
         opt->beam_width <= CRNN_CTC_BEAM_MAX_WIDTH &&
         T <= ((int64_t(1) << 29) - 1) / opt->beam_width;
}

struct Layout {
  int64_t nodes, hcap, cands;                                         // capacities for T frames
  size_t row, tok, slp, mark, pool, hash, beams, cand, order, bytes;  // byte offsets in a slice
};

// The workspace slice of one thread (beam_sample's Search points into it).
Layout layout_for(int64_t T, int64_t C, int64_t W) {
  using crnn::cpu::align_up;
  Layout l;
  l.nodes = 1 + T * W;
  l.hcap = hash_capacity(l.nodes);
  l.cands = candidate_capacity(C, W);
  size_t off = 0;
  l.row = off;
  off = align_up(off + C * sizeof(float));
  l.tok = off;
  off = align_up(off + C * sizeof(int32_t));
  l.slp = off;
  off = align_up(off + 2 * W * sizeof(double));
  l.mark = off;
  off = align_up(off + C * sizeof(int32_t));
  l.pool = off;
  off = align_up(off + l.nodes * sizeof(Node));
  l.hash = off;
  off = align_up(off + l.hcap * sizeof(int32_t));
  l.beams = off;
  off = align_up(off + W * sizeof(Beam));
  l.cand = off;
  off = align_up(off + l.cands * sizeof(Cand));
  l.order = off;
  off = align_up(off + l.cands * sizeof(int32_t));
  l.bytes = off;
  return l;
}

// The best S non-blank tokens of row v, sorted by (v desc, index asc), in one streaming pass:
// most tokens cost one 8-wide compare against the S-th best so far. At T=40, C=6625, W=10 the
// whole call is 5x faster than with nth_element + sort over the C token indices (46.6 ms ->
// 8.9 ms for B=16 on one thread). v holds no NaN or +inf here (checked by row_max); -inf
// tokens sort last.
CRNN_CPU_INLINE void top_tokens(int32_t *buf, int64_t S, const float *v, int64_t C, int64_t blank) {
  typedef float f8 __attribute__((vector_size(32)));
  typedef int64_t i64x4 __attribute__((vector_size(32)));
  int64_t n = 0;
  float thr = 0.0f;  // v of buf[S - 1] once the buffer is full
  for (int64_t c0 = 0; c0 < C; c0 += 8) {
    if (n == S && c0 + 8 <= C) {  // skip 8 tokens at once when none beats the S-th best
      f8 x8;
      __builtin_memcpy(&x8, v + c0, sizeof(x8));
      const i64x4 gt = reinterpret_cast<i64x4>(x8 > thr);
      if (!((gt[0] | gt[1]) | (gt[2] | gt[3]))) continue;
    }
    for (int64_t c = c0; c < c0 + 8 && c < C; ++c) {
      if (c == blank || (n == S && !(v[c] > thr))) continue;  // equal: the lower index stays
      int64_t j = n < S ? n++ : S - 1;
      for (; j > 0 && v[c] > v[buf[j - 1]]; --j) buf[j] = buf[j - 1];
      buf[j] = static_cast<int32_t>(c);
      if (n == S) thr = v[buf[S - 1]];
    }
  }
}

// Class order of the reference's stable argsort: score desc, then class index asc.
struct ByScore {
  const float *v;
  bool operator()(int32_t a, int32_t b) const { return v[a] > v[b] || (v[a] == v[b] && a < b); }
};

// Frame t's scores as log-probabilities (crnn::ctc_score_log_prob).
struct FrameScores {
  const float *x;  // (C) the frame's scores
  double lse;      // log-sum-exp of x for logits, else unused
  int kind;        // crnn_ctc_input_kind
  double lp(int64_t c) const { return crnn::ctc_score_log_prob(x[c], lse, kind); }
};

// The frame's candidate tokens: tok[0, S) are the S best of the n_top best non-blank tokens
// (sorted, log-prob >= cutoff), slp[r] = lp(tok[r]); kth is the n_top-th best token.
struct TokenSet {
  int64_t S, n_top;
  int32_t kth;
};

// The sample's search state, in its slice of the thread's workspace (layout_for).
struct Search {
  float *row;      // (C) exp(x - max), logits
  int32_t *tok;    // (C - 1) non-blank tokens
  double *slp;     // (<= 2W) lp of sorted tokens
  int32_t *mark;   // (C) token -> stamp of a child
  Beam *beams;     // (W) best first
  Cand *cands;     // (lay.cands)
  int32_t *order;  // (lay.cands)
  Trie trie;
  int64_t W, C, blank;
  double cutoff;      // extensions need lp >= cutoff (>= -DBL_MAX: -inf never extends)
  int64_t nb = 1;     // beams alive
  int32_t stamp = 0;  // mark[c] == stamp: c extends a child beam of the beam being extended
};

// Step 1: the value rule (crnn::ctc_row_status; probabilities must be >= 0) and, for
// logits, the frame's log-sum-exp. Returns a status.
CRNN_CPU_INLINE int frame_scores(FrameScores *fs, const float *xt, int64_t C, int kind_in,
                                 float *row) {
  *fs = FrameScores{xt, 0.0, kind_in};
  int kind;
  const float m = crnn::cpu::row_max(xt, C, &kind);
  if (__builtin_expect(kind != crnn::CTC_ROW_FINITE, 0)) {
    const int st = crnn::ctc_row_status(kind, kind_in);
    if (st != CRNN_STATUS_SUCCESS) return st;
  }
  if (kind_in == CRNN_CTC_LOGITS) {
    crnn::cpu::row_exp_sum(xt, C, m, row);
    fs->lse = double(m) + crnn::log_fast<double>(row_sum_f64(row, C));
  } else if (kind_in == CRNN_CTC_PROBS) {
    bool neg = false;
    for (int64_t c = 0; c < C; ++c) neg |= crnn::ctc_prob_invalid(xt[c]);
    if (neg) return CRNN_STATUS_INVALID_VALUE;
  }
  return CRNN_STATUS_SUCCESS;
}

// Step 2: the candidate tokens (TokenSet). Only the best 2W are ever scanned: a beam scans
// <= W + (children <= W-1) + 1 tokens.
CRNN_CPU_INLINE TokenSet candidate_tokens(Search &sr, const FrameScores &fs, int32_t top_k) {
  const int64_t C = sr.C;
  const ByScore better{fs.x};
  TokenSet ts;
  ts.n_top = top_k > 0 && top_k < C - 1 ? top_k : C - 1;
  ts.S = std::min(ts.n_top, 2 * sr.W);
  int32_t *tok = sr.tok;
  if (ts.n_top == C - 1 || ts.n_top == ts.S) {
    top_tokens(tok, ts.S, fs.x, C, sr.blank);
    ts.kth = tok[ts.S - 1];
  } else {  // 2W < top_k < C - 1
    int64_t n = 0;
    for (int64_t c = 0; c < C; ++c)
      if (c != sr.blank) tok[n++] = static_cast<int32_t>(c);
    std::nth_element(tok, tok + ts.n_top - 1, tok + n, better);
    ts.kth = tok[ts.n_top - 1];
    std::nth_element(tok, tok + ts.S - 1, tok + ts.n_top, better);
    std::sort(tok, tok + ts.S, better);
  }
  for (int64_t r = 0; r < ts.S; ++r) {
    sr.slp[r] = fs.lp(tok[r]);
    if (!(sr.slp[r] >= sr.cutoff)) ts.S = r;  // sorted, so the rest are below the cutoff too
  }
  return ts;
}

// Whether token c extends a prefix this frame (in the top_k set, not blank, above the cutoff).
CRNN_CPU_INLINE bool is_candidate(const Search &sr, const FrameScores &fs, const TokenSet &ts,
                                  int32_t c) {
  return c != sr.blank && (ts.n_top == sr.C - 1 || c == ts.kth || ByScore{fs.x}(c, ts.kth)) &&
         fs.lp(c) >= sr.cutoff;
}

// Step 3: candidate i stays on beam i's prefix; beams whose parent node is another beam's
// are linked as that beam's children.
CRNN_CPU_INLINE void stay_candidates(Search &sr, const FrameScores &fs) {
  const double ninf = neg_inf<double>(), lp_blank = fs.lp(sr.blank);
  Node *pool = sr.trie.pool;
  for (int64_t i = 0; i < sr.nb; ++i) {
    Beam &bm = sr.beams[i];
    const Node &nd = pool[bm.node];
    pool[bm.node].slot = static_cast<int32_t>(i);
    bm.first_child = -1;
    const double pnb = bm.node ? bm.pnb + fs.lp(nd.token) : ninf;
    sr.cands[i] = Cand{bm.node, nd.parent, nd.token, bm.total + lp_blank, pnb, 0.0};
  }
  for (int64_t j = 0; j < sr.nb; ++j) {
    const int32_t p = pool[sr.beams[j].node].parent;
    if (p < 0 || pool[p].slot < 0) continue;
    Beam &par = sr.beams[pool[p].slot];
    sr.beams[j].next_sibling = par.first_child;
    par.first_child = static_cast<int32_t>(j);
  }
}

// Step 4: extensions, merged into child beams' candidates or added as new prefixes (at most
// W + 1 per beam). Returns the number of candidates.
CRNN_CPU_INLINE int64_t extend_beams(Search &sr, const FrameScores &fs, const TokenSet &ts) {
  const double ninf = neg_inf<double>();
  const Node *pool = sr.trie.pool;
  int64_t nc = sr.nb;
  for (int64_t i = 0; i < sr.nb; ++i) {
    const Beam &bm = sr.beams[i];
    const int32_t last = pool[bm.node].token;
    ++sr.stamp;
    for (int32_t j = bm.first_child; j >= 0; j = sr.beams[j].next_sibling) {
      const int32_t c = pool[sr.beams[j].node].token;
      sr.mark[c] = sr.stamp;
      if (is_candidate(sr, fs, ts, c))
        sr.cands[j].pnb =
            crnn::log_add_exp_exact(sr.cands[j].pnb, (c == last ? bm.pb : bm.total) + fs.lp(c));
    }
    int64_t added = 0;
    for (int64_t r = 0; r < ts.S && added < sr.W; ++r) {
      const int32_t c = sr.tok[r];
      if (sr.mark[c] == sr.stamp) continue;
      const double s = (c == last ? bm.pb : bm.total) + sr.slp[r];
      sr.cands[nc++] = Cand{-1, bm.node, c, ninf, s, s};
      added += c != last;
    }
  }
  for (int64_t i = 0; i < sr.nb; ++i)
    sr.cands[i].score = crnn::log_add_exp_exact(sr.cands[i].pb, sr.cands[i].pnb);
  return nc;
}

// Step 5: keep the W best of nc candidates (score desc, then candidate index: deterministic)
// as the new beams; a prefix of probability 0 (score -inf, e.g. a stay through a -inf blank)
// is dropped. Only the survivors' new prefixes are interned.
CRNN_CPU_INLINE void keep_best(Search &sr, int64_t nc) {
  const Cand *cands = sr.cands;
  int32_t *order = sr.order;
  int64_t nf = 0;
  for (int64_t k = 0; k < nc; ++k)
    if (cands[k].score > neg_inf<double>()) order[nf++] = static_cast<int32_t>(k);
  const auto cand_better = [cands](int32_t a, int32_t b) {
    return cands[a].score > cands[b].score || (cands[a].score == cands[b].score && a < b);
  };
  const int64_t keep = std::min(sr.W, nf);
  if (keep < nf) std::nth_element(order, order + keep - 1, order + nf, cand_better);
  std::sort(order, order + keep, cand_better);
  for (int64_t i = 0; i < sr.nb; ++i) sr.trie.pool[sr.beams[i].node].slot = -1;
  for (int64_t k = 0; k < keep; ++k) {
    const Cand &cd = cands[order[k]];
    const int32_t node = cd.node >= 0 ? cd.node : sr.trie.intern(cd.parent, cd.token);
    sr.beams[k] = Beam{node, -1, -1, cd.pb, cd.pnb, cd.score};
  }
  sr.nb = keep;
}

// The top_n prefixes, best first, into ids (top_n, T) (-1 padded), lengths and scores (-inf
// past the surviving beams); labels are recovered by walking up the trie.
CRNN_CPU_INLINE void write_top_n(int32_t *ids, int32_t *lengths, double *scores, int64_t T,
                                 int64_t top_n, const Search &sr) {
  const Node *pool = sr.trie.pool;
  for (int64_t k = 0; k < top_n; ++k) {
    int32_t *out = ids + k * T;
    int64_t len = 0;
    if (k < sr.nb) {
      len = pool[sr.beams[k].node].depth;
      for (int32_t id = sr.beams[k].node, j = static_cast<int32_t>(len) - 1; j >= 0; --j) {
        out[j] = pool[id].token;
        id = pool[id].parent;
      }
    }
    for (int64_t j = len; j < T; ++j) out[j] = -1;
    lengths[k] = static_cast<int32_t>(len);
    scores[k] = k < sr.nb ? sr.beams[k].total : neg_inf<double>();
  }
}

// Prefix beam search over the Tb frames of one sample (x: frame t at x + t * frame_stride).
CRNN_SIMD_CLONES int beam_sample(int32_t *ids, int32_t *lengths, double *scores, const float *x,
                                 int64_t Tb, int64_t T, int64_t frame_stride, int64_t C,
                                 const crnn_ctc_decode_options &opt, char *ws, const Layout &lay,
                                 int64_t *bad_frame) {
  const auto at = [ws](size_t off) { return ws + off; };
  // A token of log-prob -inf (probability 0) never extends a prefix: the cutoff is at least the
  // lowest finite double (a NaN cutoff stays NaN: no extensions).
  const double cutoff = opt.logp_cutoff < -DBL_MAX ? -DBL_MAX : double(opt.logp_cutoff);
  Search sr{reinterpret_cast<float *>(at(lay.row)),
            reinterpret_cast<int32_t *>(at(lay.tok)),
            reinterpret_cast<double *>(at(lay.slp)),
            reinterpret_cast<int32_t *>(at(lay.mark)),
            reinterpret_cast<Beam *>(at(lay.beams)),
            reinterpret_cast<Cand *>(at(lay.cand)),
            reinterpret_cast<int32_t *>(at(lay.order)),
            Trie{reinterpret_cast<Node *>(at(lay.pool)), reinterpret_cast<int32_t *>(at(lay.hash)),
                 static_cast<uint64_t>(C)},
            opt.beam_width,
            C,
            opt.blank,
            cutoff};
  sr.trie.reset(1 + Tb * sr.W);
  for (int64_t c = 0; c < C; ++c) sr.mark[c] = -1;
  sr.beams[0] = Beam{0, -1, -1, 0.0, neg_inf<double>(), 0.0};

  for (int64_t t = 0; t < Tb; ++t) {
    FrameScores fs;
    const int st = frame_scores(&fs, x + t * frame_stride, C, opt.input_kind, sr.row);
    if (st != CRNN_STATUS_SUCCESS) {
      *bad_frame = t;
      return st;
    }
    const TokenSet ts = candidate_tokens(sr, fs, opt.top_k);
    stay_candidates(sr, fs);
    keep_best(sr, extend_beams(sr, fs, ts));
  }
  write_top_n(ids, lengths, scores, T, opt.top_n, sr);
  return CRNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" size_t crnn_cpu_ctc_beam_search_workspace_size(int64_t T, int64_t B, int64_t C,
                                                          const crnn_ctc_decode_options *opt) {
  if (B <= 0 || !sizes_ok(T, C, opt)) return 0;
  return crnn::cpu::resolve_threads(opt->num_threads, B) * layout_for(T, C, opt->beam_width).bytes;
}

extern "C" crnn_status_t crnn_cpu_ctc_beam_search_f32(int32_t *ids, int32_t *lengths,
                                                      double *scores, const float *x,
                                                      const int32_t *input_lengths, int64_t T,
                                                      int64_t B, int64_t C, void *workspace,
                                                      size_t workspace_bytes,
                                                      const crnn_ctc_decode_options *opt) {
  if (opt && opt->error_index) *opt->error_index = -1;
  if (opt && opt->error_frame) *opt->error_frame = -1;
  if (!sizes_ok(T, C, opt) || B < 0 || opt->blank < 0 || opt->blank >= C ||
      opt->input_kind < CRNN_CTC_LOGITS || opt->input_kind > CRNN_CTC_LOG_PROBS || opt->top_n < 1 ||
      opt->top_n > opt->beam_width)
    return CRNN_STATUS_INVALID_VALUE;
  if (B == 0) return CRNN_STATUS_SUCCESS;
  if (!lengths || !scores || (T > 0 && (!ids || !x))) return CRNN_STATUS_INVALID_VALUE;
  if (input_lengths)
    for (int64_t b = 0; b < B; ++b)
      if (input_lengths[b] < 0 || input_lengths[b] > T) {
        if (opt->error_index) *opt->error_index = static_cast<int32_t>(b);
        return CRNN_STATUS_INVALID_VALUE;
      }
  if (!workspace || workspace_bytes < crnn_cpu_ctc_beam_search_workspace_size(T, B, C, opt))
    return CRNN_STATUS_WORKSPACE_TOO_SMALL;
  const Layout lay = layout_for(T, C, opt->beam_width);
  const int64_t N = opt->top_n;
  const int64_t frame_stride = opt->batch_first ? C : B * C;
  const int64_t sample_stride = opt->batch_first ? T * C : C;
  const int nt = crnn::cpu::resolve_threads(opt->num_threads, B);
  char *ws0 = static_cast<char *>(workspace);
  crnn::cpu::FirstError err;
  crnn::cpu::parallel_for(nt, B, true, [&](int64_t b, int tid) {
    const int64_t Tb = input_lengths ? input_lengths[b] : T;
    int32_t *ids_b = ids + b * N * T;
    const float *x_b = T > 0 ? x + b * sample_stride : nullptr;  // x may be NULL when T = 0
    int64_t bad_frame = -1;
    const int st = beam_sample(ids_b, lengths + b * N, scores + b * N, x_b, Tb, T, frame_stride, C,
                               *opt, ws0 + tid * lay.bytes, lay, &bad_frame);
    if (st != CRNN_STATUS_SUCCESS) {
      for (int64_t j = 0; j < N * T; ++j) ids_b[j] = -1;
      for (int64_t k = 0; k < N; ++k) lengths[b * N + k] = 0, scores[b * N + k] = NAN;
      err.record(b, st, bad_frame);
    }
  });
  if (err.failed()) return err.report(opt->error_index, opt->error_frame);
  return CRNN_STATUS_SUCCESS;
}
