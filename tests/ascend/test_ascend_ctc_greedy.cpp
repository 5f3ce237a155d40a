// The CTC greedy decoder's Ascend C kernels (kernels/ascend/op_kernel/ctc_greedy.cpp) on our
// host model of the API against the CPU kernel crnn_ctc_greedy_f32 (device 0, itself tested
// against the float64 reference) on the shared case table: T=1, B=1, ragged input lengths with
// 0 and T, blank 0 and C-1, C = 5, 11, 37 and 6625, both layouts, logits / probs / log-probs,
// ties, -inf scores, repeats, several input tiles and output chunks per sample, B above the 40
// cores. Outputs are poisoned (NaN / -7) before each run. Error rule: ids, lengths and frames
// exact; probs within 2e-6 relative of the CPU's (probs input: exact), for logits within 1e-6
// of the float64 1 / sum exp(x - max) and 4e-6 of the CPU's (fp32 exp and another summation
// order than the CPU's, see check_logit_probs); two runs and every core count (1, 3, 7, 40)
// bit-identical. Value errors and bad input lengths come back through the record
// (crnn_ascend_emu_device_error_read) with the CPU's status, error_index and error_frame; argument
// errors as the CPU's statuses.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

#include "../../kernels/ascend/ascend_kernels.h"
#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

struct Out {
  std::vector<int32_t> ids, lengths, frames;
  std::vector<float> probs;
  crnn_status_t st = CRNN_STATUS_SUCCESS;
  int32_t index = -9, frame = -9;
};

struct Run {
  int T, B, C, blank, kind, bf;
  const int32_t *il;
};

// cores 0: the CPU kernel; else the Ascend kernels on at most `cores` cores.
Out decode(const Run &r, const std::vector<float> &x, uint32_t cores) {
  Out o;
  o.ids.assign(size_t(r.B) * r.T, -7);
  o.frames.assign(size_t(r.B) * r.T, -7);
  o.lengths.assign(r.B, -7);
  o.probs.assign(size_t(r.B) * r.T, NAN);
  crnn_ctc_decode_options opt{};
  opt.blank = r.blank, opt.input_kind = r.kind, opt.batch_first = r.bf;
  opt.error_index = &o.index, opt.error_frame = &o.frame;
  if (cores == 0) {
    std::vector<char> ws(crnn_ctc_greedy_workspace_size(r.T, r.B, r.C, &opt));
    o.st = crnn_ctc_greedy_f32(o.ids.data(), o.lengths.data(), o.probs.data(), o.frames.data(),
                               x.data(), r.il, r.T, r.B, r.C, ws.data(), ws.size(), &opt);
    return o;
  }
  std::vector<char> ws(crnn_ascend_emu_ctc_greedy_workspace_size(r.T, r.B, r.C, &opt), 0x5A);
  o.st = crnn::ascend_emu_kernels::ctc_greedy_f32(cores, o.ids.data(), o.lengths.data(),
                                                  o.probs.data(), o.frames.data(), x.data(), r.il,
                                                  r.T, r.B, r.C, ws.data(), ws.size(), &opt);
  if (o.st == CRNN_STATUS_SUCCESS)
    o.st = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &o.index, &o.frame);
  return o;
}

bool same_bits(const Out &a, const Out &b) {
  return a.ids == b.ids && a.lengths == b.lengths && a.frames == b.frames &&
         memcmp(a.probs.data(), b.probs.data(), a.probs.size() * sizeof(float)) == 0;
}

// Sample b of `got` equals the CPU's `want` (probs within rtol relative).
void check_sample(const Out &got, const Out &want, int b, int T, const char *name,
                  float rtol = 2e-6f) {
  const size_t at = size_t(b) * T;
  CHECK(got.lengths[b] == want.lengths[b], "%s b=%d: length %d vs %d", name, b, got.lengths[b],
        want.lengths[b]);
  int bad = 0;
  for (int t = 0; t < T; ++t) {
    const float g = got.probs[at + t], w = want.probs[at + t];
    const bool ok = got.ids[at + t] == want.ids[at + t] &&
                    got.frames[at + t] == want.frames[at + t] && fabsf(g - w) <= rtol * fabsf(w);
    if (!ok && bad++ < 3)
      CHECK(ok, "%s b=%d t=%d: id %d vs %d, frame %d vs %d, prob %.9g vs %.9g", name, b, t,
            got.ids[at + t], want.ids[at + t], got.frames[at + t], want.frames[at + t], g, w);
  }
}

// Logits: every emitted prob within 1e-6 relative of 1 / sum exp(x - max) in float64. (Against
// the CPU kernel 4e-6: its float sum over C = 6625 alone may be 2e-6 off where it is not
// vectorised, as in the sanitizer builds; cpu_common.h row_sum_f64 notes the same.)
void check_logit_probs(const Out &got, const std::vector<float> &x, const Run &r,
                       const char *name) {
  int bad = 0;
  for (int b = 0; b < r.B; ++b)
    for (int j = 0; j < got.lengths[b]; ++j) {
      const int t = got.frames[size_t(b) * r.T + j];
      const float *row =
          x.data() + (r.bf ? (size_t(b) * r.T + t) * r.C : (size_t(t) * r.B + b) * r.C);
      double m = -INFINITY, s = 0;
      for (int k = 0; k < r.C; ++k) m = fmax(m, row[k]);
      for (int k = 0; k < r.C; ++k) s += exp(double(row[k]) - m);
      const double g = got.probs[size_t(b) * r.T + j];
      if (fabs(g - 1 / s) > 1e-6 / s && bad++ < 3)
        CHECK(false, "%s b=%d j=%d: prob %.9g vs float64 %.9g", name, b, j, g, 1 / s);
    }
}

// A failed sample decodes to nothing.
void check_empty(const Out &got, int b, int T, const char *name) {
  bool ok = got.lengths[b] == 0;
  for (int t = 0; t < T; ++t) {
    const size_t i = size_t(b) * T + t;
    ok = ok && got.ids[i] == -1 && got.frames[i] == -1 && got.probs[i] == 0.0f;
  }
  CHECK(ok, "%s: failed sample %d is not empty (length %d)", name, b, got.lengths[b]);
}

struct Case {
  const char *name;
  int T, B, C, blank, kind, bf;
  bool lengths, ties, neg_inf;
};

std::vector<float> make_scores(const Case &c, std::mt19937 &rng) {
  std::vector<float> x(size_t(c.T) * c.B * c.C);
  std::uniform_int_distribution<int> small(0, 3);
  std::normal_distribution<float> n(0, 2);
  for (auto &v : x) v = c.ties ? float(small(rng)) : n(rng);
  if (c.kind == CRNN_CTC_PROBS)
    for (auto &v : x) v = c.ties ? v * 0.1f : fabsf(v) * 0.1f;
  if (c.neg_inf)
    for (size_t i = 0; i < x.size(); i += 2) x[i] = -INFINITY;  // never a whole frame (C odd)
  return x;
}

void test_table() {
  std::mt19937 rng(16);
  const Case cases[] = {
      {"T=1 B=1", 1, 1, 37, 0, CRNN_CTC_LOGITS, 0, false, false, false},
      {"C=37 ragged blank C-1 ties", 25, 8, 37, 36, CRNN_CTC_LOGITS, 0, true, true, false},
      {"C=37 probs bf ties", 25, 8, 37, 0, CRNN_CTC_PROBS, 1, true, true, false},
      {"C=37 log-probs -inf", 25, 5, 37, 0, CRNN_CTC_LOG_PROBS, 0, false, false, true},
      {"C=37 logits -inf bf", 25, 5, 37, 36, CRNN_CTC_LOGITS, 1, true, false, true},
      {"C=6625 logits bf -inf", 40, 3, 6625, 0, CRNN_CTC_LOGITS, 1, true, false, true},
      {"C=6625 probs blank C-1", 12, 4, 6625, 6624, CRNN_CTC_PROBS, 0, true, false, false},
      {"C=6625 log-probs", 12, 3, 6625, 0, CRNN_CTC_LOG_PROBS, 0, false, false, false},
      {"C=5 repeats", 30, 4, 5, 0, CRNN_CTC_LOGITS, 0, true, true, false},
      {"T=300 two tiles", 300, 2, 37, 0, CRNN_CTC_LOGITS, 0, false, false, false},
      {"T=1500 chunks probs", 1500, 2, 11, 0, CRNN_CTC_PROBS, 1, false, false, false},
      {"T=1500 chunks logits", 1500, 3, 11, 10, CRNN_CTC_LOGITS, 0, true, false, false},
      {"B=45 > 40 cores", 20, 45, 37, 0, CRNN_CTC_LOG_PROBS, 1, true, true, false},
  };
  for (const Case &c : cases) {
    const std::vector<float> x = make_scores(c, rng);
    std::vector<int32_t> il(c.B);
    for (auto &v : il) v = int(rng() % (c.T + 1));
    if (c.B >= 2) il[0] = 0, il[1] = c.T;
    const Run r{c.T, c.B, c.C, c.blank, c.kind, c.bf, c.lengths ? il.data() : nullptr};
    const Out want = decode(r, x, 0), got = decode(r, x, crnn::ascend_emu_kernels::kAivCores);
    CHECK(want.st == CRNN_STATUS_SUCCESS, "%s: cpu status %d", c.name, want.st);
    CHECK(got.st == CRNN_STATUS_SUCCESS && got.index == -1 && got.frame == -1,
          "%s: ascend status %d index %d frame %d", c.name, got.st, got.index, got.frame);
    for (int b = 0; b < c.B; ++b)
      check_sample(got, want, b, c.T, c.name, c.kind == CRNN_CTC_LOGITS ? 4e-6f : 2e-6f);
    if (c.kind == CRNN_CTC_LOGITS) check_logit_probs(got, x, r, c.name);
    CHECK(same_bits(got, decode(r, x, crnn::ascend_emu_kernels::kAivCores)), "%s: two runs differ",
          c.name);
    for (uint32_t cores : {1u, 3u, 7u})
      CHECK(same_bits(got, decode(r, x, cores)), "%s: %u cores differ from 40", c.name, cores);
  }
}

// A value error planted in (T=6, B=3, C=37) scores: status, index, frame as the CPU's; the
// other samples decode as on the CPU, the failed ones to nothing.
void test_value_errors() {
  const int T = 6, B = 3, C = 37;
  struct E {
    const char *name;
    int kind;
    std::vector<int> at;  // (b, t, c) triples
    std::vector<float> v;
    bool whole_frame;  // set every class of (b, t) to v[0]
    int32_t len_b, len;
  };
  const E errors[] = {
      {"NaN logits", CRNN_CTC_LOGITS, {1, 4, 3}, {NAN}, false, -1, 0},
      {"+inf b2 NaN b1", CRNN_CTC_LOGITS, {2, 0, 0, 1, 5, 36}, {INFINITY, NAN}, false, -1, 0},
      {"+inf log-probs", CRNN_CTC_LOG_PROBS, {0, 2, 5}, {INFINITY}, false, -1, 0},
      {"all -inf frame", CRNN_CTC_LOG_PROBS, {0, 3, 0}, {-INFINITY}, true, -1, 0},
      {"all -inf logits", CRNN_CTC_LOGITS, {2, 5, 0}, {-INFINITY}, true, -1, 0},
      {"negative prob after NaN", CRNN_CTC_PROBS, {2, 1, 4, 2, 5, 7}, {NAN, -0.5f}, false, -1, 0},
      {"NaN prob", CRNN_CTC_PROBS, {1, 2, 9}, {NAN}, false, -1, 0},
      {"-inf prob", CRNN_CTC_PROBS, {1, 2, 30}, {-INFINITY}, false, -1, 0},
      {"input length T+1", CRNN_CTC_LOGITS, {0, 1, 1}, {NAN}, false, 2, T + 1},
      {"input length -1", CRNN_CTC_PROBS, {}, {}, false, 1, -1},
  };
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (const E &e : errors) {
    for (int bf = 0; bf < 2; ++bf) {
      std::vector<float> x(size_t(T) * B * C);
      for (auto &v : x) v = u(rng);
      auto at = [&](int b, int t, int c) {
        return bf ? (size_t(b) * T + t) * C + c : (size_t(t) * B + b) * C + c;
      };
      for (size_t i = 0; i < e.v.size(); ++i) {
        const int b = e.at[3 * i], t = e.at[3 * i + 1], c = e.at[3 * i + 2];
        if (e.whole_frame)
          for (int k = 0; k < C; ++k) x[at(b, t, k)] = e.v[i];
        else
          x[at(b, t, c)] = e.v[i];
      }
      std::vector<int32_t> il(B, T);
      if (e.len_b >= 0) il[e.len_b] = e.len;
      const Run r{T, B, C, 0, e.kind, bf, il.data()};
      const Out want = decode(r, x, 0), got = decode(r, x, 3);
      CHECK(want.st != CRNN_STATUS_SUCCESS, "%s: the CPU accepted it", e.name);
      CHECK(got.st == want.st && got.index == want.index && got.frame == want.frame,
            "%s bf=%d: ascend %d (%d, %d), cpu %d (%d, %d)", e.name, bf, got.st, got.index,
            got.frame, want.st, want.index, want.frame);
      if (e.len_b >= 0) continue;  // the CPU decodes nothing after a bad length
      std::vector<bool> failed(B, false);
      for (size_t i = 0; i < e.v.size(); ++i) failed[e.at[3 * i]] = true;
      for (int b = 0; b < B; ++b) {
        if (failed[b])
          check_empty(got, b, T, e.name);
        else
          check_sample(got, want, b, T, e.name);
      }
    }
  }
}

// A sample failing after a full output chunk was written (T > 1024 emitted ids) still decodes
// to nothing; the other sample decodes.
void test_late_error() {
  const int T = 1500, B = 2, C = 11;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(size_t(T) * B * C);
  for (auto &v : x) v = u(rng);
  x[(size_t(1400) * B + 1) * C + 4] = NAN;
  const Run r{T, B, C, 0, CRNN_CTC_PROBS, 0, nullptr};
  const Out want = decode(r, x, 0), got = decode(r, x, 2);
  CHECK(got.st == CRNN_STATUS_NONFINITE_INPUT && got.index == 1 && got.frame == 1400 &&
            want.st == got.st && want.index == 1 && want.frame == 1400,
        "late NaN: ascend %d (%d, %d), cpu %d (%d, %d)", got.st, got.index, got.frame, want.st,
        want.index, want.frame);
  CHECK(want.lengths[0] > 1024, "late NaN: sample 0 emits %d ids (want > 1024)", want.lengths[0]);
  check_sample(got, want, 0, T, "late NaN");
  check_empty(got, 1, T, "late NaN");
}

// Host-side argument errors: the CPU's statuses (error_index / frame -1).
void test_argument_errors() {
  const int T = 4, B = 2, C = 5;
  std::vector<float> x(T * B * C, 0.5f), probs(T * B);
  std::vector<int32_t> ids(T * B), frames(T * B), lengths(B);
  std::vector<char> ws(4096);
  struct A {
    const char *name;
    int64_t T, B, C;
    int blank, kind;
    bool null_opt, null_lengths, null_ids, null_scores, null_ws, small_ws;
  };
  const A args[] = {
      {"null opt", T, B, C, 0, 0, true, false, false, false, false, false},
      {"C=1", T, B, 1, 0, 0, false, false, false, false, false, false},
      {"T<0", -1, B, C, 0, 0, false, false, false, false, false, false},
      {"B<0", T, -1, C, 0, 0, false, false, false, false, false, false},
      {"blank=C", T, B, C, C, 0, false, false, false, false, false, false},
      {"blank<0", T, B, C, -1, 0, false, false, false, false, false, false},
      {"kind 3", T, B, C, 0, 3, false, false, false, false, false, false},
      {"kind -1", T, B, C, 0, -1, false, false, false, false, false, false},
      {"null lengths", T, B, C, 0, 0, false, true, false, false, false, false},
      {"null ids", T, B, C, 0, 0, false, false, true, false, false, false},
      {"null scores", T, B, C, 0, 0, false, false, false, true, false, false},
      {"null workspace", T, B, C, 0, 0, false, false, false, false, true, false},
      {"small workspace", T, B, C, 0, 0, false, false, false, false, false, true},
      {"B=0", T, 0, C, 0, 0, false, false, false, false, false, false},
      {"T=0 null data", 0, B, C, 0, 0, false, false, true, true, false, false},
  };
  for (const A &a : args) {
    crnn_status_t st[2];
    int32_t index[2], frame[2];
    for (int dev = 0; dev < 2; ++dev) {
      crnn_ctc_decode_options opt{};
      opt.blank = a.blank, opt.input_kind = a.kind;
      opt.error_index = &index[dev], opt.error_frame = &frame[dev];
      index[dev] = frame[dev] = -9;
      const size_t need = dev ? crnn_ascend_emu_ctc_greedy_workspace_size(a.T, a.B, a.C, &opt)
                              : crnn_ctc_greedy_workspace_size(a.T, a.B, a.C, &opt);
      const size_t bytes = a.small_ws ? need - 1 : ws.size();
      auto *o = a.null_opt ? nullptr : &opt;
      int32_t *i = a.null_ids ? nullptr : ids.data(),
              *l = a.null_lengths ? nullptr : lengths.data();
      const float *s = a.null_scores ? nullptr : x.data();
      void *w = a.null_ws ? nullptr : ws.data();
      st[dev] = dev ? crnn_ascend_emu_ctc_greedy_f32(i, l, probs.data(), frames.data(), s, nullptr,
                                                     a.T, a.B, a.C, w, bytes, o)
                    : crnn_ctc_greedy_f32(i, l, probs.data(), frames.data(), s, nullptr, a.T, a.B,
                                          a.C, w, bytes, o);
      if (dev && st[dev] == CRNN_STATUS_SUCCESS)
        st[dev] = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &index[dev], &frame[dev]);
    }
    CHECK(st[1] == st[0], "%s: ascend status %d, cpu %d", a.name, st[1], st[0]);
    if (!a.null_opt)
      CHECK(index[1] == -1 && frame[1] == -1 && index[0] == -1,
            "%s: error index/frame %d %d (cpu index %d)", a.name, index[1], frame[1], index[0]);
  }
  {  // a row beyond the UB budget (the CPU takes it): NOT_SUPPORTED, nothing launched
    const int64_t big = 20000;
    std::vector<float> xb(big, 0.0f);
    crnn_ctc_decode_options opt{};
    const size_t need = crnn_ascend_emu_ctc_greedy_workspace_size(1, 1, big, &opt);
    CHECK(crnn_ascend_emu_ctc_greedy_f32(ids.data(), lengths.data(), probs.data(), frames.data(),
                                         xb.data(), nullptr, 1, 1, big, ws.data(), need,
                                         &opt) == CRNN_STATUS_NOT_SUPPORTED,
          "C=20000: NOT_SUPPORTED");
  }
  CHECK(crnn_ascend_emu_device_error_read(nullptr, nullptr, nullptr, nullptr) ==
            CRNN_STATUS_INVALID_VALUE,
        "device_error_read(NULL)");
}

}  // namespace

int main() {
  test_table();
  test_value_errors();
  test_late_error();
  test_argument_errors();
  if (failures) {
    fprintf(stderr, "test_ascend_ctc_greedy: %d failures\n", failures);
    return 1;
  }
  printf("test_ascend_ctc_greedy: all passed\n");
  return 0;
}
