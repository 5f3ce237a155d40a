// The CUDA prefix beam search (kernels/cuda/ctc_beam_search.cu) on the SIMT executor
// (CRNN_DEVICE_CUDA_EMU) against the CPU kernel (itself tested against the float64 reference)
// on a case table: T=1, B=1, T=0, input length 0, repeats and ties, beam_width 1 and > 1 (also
// past the shared-memory size and the all-pairs ranking, with ties at the selection threshold),
// top_n, top_k (within and past 2W), logp_cutoff (finite, NaN, dropping every prefix), blank 0 and
// C-1, C=37 and 6625, ragged lengths, -inf scores, every input kind, batch_first. Outputs are
// NaN-poisoned before each run; ids, lengths and scores must equal the CPU's bit for bit; two runs
// must be bit-identical; option errors come back as the status, value and length errors through the
// error record with the failed sample set to "no prefix" (-1, 0, NaN). CI runs it under ASan+UBSan
// and under TSan.
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <random>
#include <vector>

#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

enum Fill { NORMAL, TIES, NEG_INF, BLANK_NEG_INF };

struct Case {
  const char *name;
  int T, B, C, blank, kind, bf, W, N, top_k;
  float cutoff;
  bool lengths;  // ragged input_lengths (0 and T included), else NULL
  Fill fill;
};

struct Out {
  std::vector<int32_t> ids, lengths;
  std::vector<double> scores;
  bool operator==(const Out &o) const {  // bitwise, NaN included
    return ids == o.ids && lengths == o.lengths && scores.size() == o.scores.size() &&
           memcmp(scores.data(), o.scores.data(), scores.size() * sizeof(double)) == 0;
  }
};

crnn_ctc_decode_options options(const Case &c, int32_t device) {
  crnn_ctc_decode_options o{};
  o.blank = c.blank;
  o.input_kind = c.kind;
  o.batch_first = c.bf;
  o.beam_width = c.W;
  o.top_n = c.N;
  o.top_k = c.top_k;
  o.logp_cutoff = c.cutoff;
  o.device = device;
  return o;
}

// Runs the search; on a device, a success status is replaced by the error record's.
crnn_status_t beam_on(int32_t device, Out &out, const std::vector<float> &x, const int32_t *il,
                      const Case &c, int32_t *idx = nullptr, int32_t *frame = nullptr) {
  out.ids.assign(size_t(c.B) * c.N * c.T, -7);
  out.lengths.assign(size_t(c.B) * c.N, -7);
  out.scores.assign(size_t(c.B) * c.N, NAN);
  crnn_ctc_decode_options o = options(c, device);
  o.error_index = idx;
  o.error_frame = frame;
  std::vector<char> ws(crnn_ctc_beam_search_workspace_size(c.T, c.B, c.C, &o) + 1);
  crnn_status_t st = crnn_ctc_beam_search_f32(out.ids.data(), out.lengths.data(), out.scores.data(),
                                              c.T ? x.data() : nullptr, il, c.T, c.B, c.C,
                                              ws.data(), ws.size(), &o);
  if (device != CRNN_DEVICE_CPU && st == CRNN_STATUS_SUCCESS)
    st = crnn_device_error_read(ws.data(), device, nullptr, idx, frame);
  return st;
}

// Scores of the case's kind: logits N(0, 2) (or small integers: ties and repeats); probs and
// log_probs their softmax / log-softmax per frame.
std::vector<float> make_scores(const Case &c, std::mt19937 &rng) {
  std::vector<float> x(size_t(c.T) * c.B * c.C);
  std::normal_distribution<float> n(0, 2);
  std::uniform_int_distribution<int> small(0, 3);
  for (auto &v : x) v = c.fill == TIES ? float(small(rng)) : n(rng);
  for (size_t f = 0; f < x.size(); f += c.C) {
    float *row = x.data() + f;
    if (c.kind != CRNN_CTC_LOGITS) {
      double s = 0;
      for (int k = 0; k < c.C; ++k) s += exp(double(row[k]));
      for (int k = 0; k < c.C; ++k)
        row[k] = c.kind == CRNN_CTC_PROBS ? float(exp(double(row[k])) / s)
                                          : float(double(row[k]) - log(s));
    }
    if (c.fill == NEG_INF && c.kind != CRNN_CTC_PROBS)
      for (int k = int(f / c.C) % 3; k < c.C; k += 3) row[k] = -INFINITY;  // never a whole frame
    if (c.fill == BLANK_NEG_INF) row[c.blank] = c.kind == CRNN_CTC_PROBS ? 0.0f : -INFINITY;
  }
  return x;
}

// Bit for bit, except for logits: there a frame's log-sum-exp adds float exp terms
// (exp_fast<float>), which the CPU kernel's AVX2 / AVX-512 clones compute with FMA contraction
// and the executor build (x86-64 baseline) without, so a term may round one float ulp apart:
// the lse moves by < 6e-8 per frame and a score by < 6e-8 * T. The TSan build (no SIMD
// clones) is bit-exact for logits too. Ids and lengths are always compared exactly.
bool same_score(double got, double want, const Case &c) {
  if (memcmp(&got, &want, sizeof(double)) == 0) return true;
  return c.kind == CRNN_CTC_LOGITS && isfinite(want) && fabs(got - want) <= 1.2e-7 * c.T;
}

const float kOff = -INFINITY;
const Case kCases[] = {
    // name                    T   B  C     blank kind                bf W   N  top_k cutoff lens
    // fill
    {"T=1 B=1 W=1", 1, 1, 5, 0, CRNN_CTC_LOGITS, 0, 1, 1, 0, kOff, false, NORMAL},
    {"greedy-like W=1", 12, 3, 37, 0, CRNN_CTC_LOGITS, 0, 1, 1, 0, kOff, true, NORMAL},
    {"W=10 top_n=3 blank C-1", 20, 4, 37, 36, CRNN_CTC_LOGITS, 0, 10, 3, 0, kOff, true, NORMAL},
    {"ties+repeats probs bf", 16, 3, 6, 2, CRNN_CTC_PROBS, 1, 8, 8, 0, kOff, true, TIES},
    {"ties logits W=4", 16, 2, 5, 0, CRNN_CTC_LOGITS, 0, 4, 4, 0, kOff, false, TIES},
    {"top_k=3 log_probs", 12, 3, 37, 0, CRNN_CTC_LOG_PROBS, 0, 5, 2, 3, kOff, true, NORMAL},
    {"top_k=12 > 2W", 12, 3, 37, 5, CRNN_CTC_LOGITS, 1, 5, 5, 12, kOff, false, NORMAL},
    {"cutoff -3", 14, 3, 37, 0, CRNN_CTC_LOGITS, 0, 6, 4, 0, -3.0f, true, NORMAL},
    {"-inf log_probs blank C-1", 12, 3, 11, 10, CRNN_CTC_LOG_PROBS, 1, 4, 4, 0, kOff, true,
     NEG_INF},
    {"-inf logits top_k", 15, 2, 11, 0, CRNN_CTC_LOGITS, 0, 3, 2, 4, -5.0f, false, NEG_INF},
    {"cutoff NaN", 6, 2, 7, 0, CRNN_CTC_LOGITS, 0, 3, 3, 0, NAN, false, NORMAL},
    {"every prefix dropped", 5, 2, 5, 0, CRNN_CTC_LOG_PROBS, 0, 3, 3, 0, 0.5f, false,
     BLANK_NEG_INF},
    {"blank prob 0", 8, 2, 6, 3, CRNN_CTC_PROBS, 0, 3, 2, 0, kOff, true, BLANK_NEG_INF},
    {"W=40 beams in workspace", 6, 2, 37, 0, CRNN_CTC_LOG_PROBS, 0, 40, 5, 0, kOff, true, NORMAL},
    {"W=40 ties probs", 6, 2, 37, 1, CRNN_CTC_PROBS, 1, 40, 40, 0, kOff, true, TIES},
    {"C=6625 W=10", 6, 2, 6625, 0, CRNN_CTC_LOGITS, 1, 10, 2, 0, kOff, true, NORMAL},
    {"C=6625 probs top_k", 4, 1, 6625, 6624, CRNN_CTC_PROBS, 0, 4, 4, 50, -12.0f, false, NORMAL},
    {"C=6625 W=16 log_probs", 3, 1, 6625, 0, CRNN_CTC_LOG_PROBS, 0, 16, 3, 0, kOff, false, NORMAL},
    {"T=0", 0, 2, 5, 0, CRNN_CTC_LOGITS, 0, 2, 2, 0, kOff, false, NORMAL},
};

void test_table() {
  std::mt19937 rng(15);
  for (const Case &c : kCases) {
    const std::vector<float> x = make_scores(c, rng);
    std::vector<int32_t> il(c.B);
    for (int b = 0; b < c.B; ++b) il[b] = b == 0 ? 0 : b == 1 ? c.T : int(rng() % (c.T + 1));
    const int32_t *lens = c.lengths ? il.data() : nullptr;
    Out want, got, again;
    CHECK(beam_on(CRNN_DEVICE_CPU, want, x, lens, c) == 0, "%s: cpu", c.name);
    CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, got, x, lens, c) == 0, "%s: emu", c.name);
    CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, again, x, lens, c) == 0, "%s: emu again", c.name);
    CHECK(got.ids == want.ids && got.lengths == want.lengths, "%s: ids/lengths differ", c.name);
    for (size_t i = 0; i < got.scores.size(); ++i)
      CHECK(same_score(got.scores[i], want.scores[i], c), "%s: scores[%zu] %.17g vs cpu %.17g",
            c.name, i, got.scores[i], want.scores[i]);
    CHECK(got == again, "%s: two runs differ", c.name);
  }
}

// Value and length errors: status and (index, frame) from the record, the failed sample set to
// "no prefix", the others decoded as on the CPU.
void test_errors() {
  const Case c{"errors", 6, 3, 5, 0, CRNN_CTC_PROBS, 0, 3, 2, 0, kOff, false, NORMAL};
  std::vector<float> x(size_t(c.T) * c.B * c.C, 0.2f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.05f + 0.1f * float(i % 7);
  int32_t idx, frame;
  Out got, want;
  struct E {
    const char *what;
    int kind, t, b;
    float v;
    crnn_status_t st;
  };
  const E errs[] = {{"NaN", CRNN_CTC_PROBS, 4, 1, NAN, CRNN_STATUS_NONFINITE_INPUT},
                    {"+inf", CRNN_CTC_LOG_PROBS, 2, 2, INFINITY, CRNN_STATUS_NONFINITE_INPUT},
                    {"negative prob", CRNN_CTC_PROBS, 3, 1, -0.5f, CRNN_STATUS_INVALID_VALUE},
                    {"-inf prob", CRNN_CTC_PROBS, 1, 0, -INFINITY, CRNN_STATUS_INVALID_VALUE}};
  for (const E &e : errs) {
    Case ce = c;
    ce.kind = e.kind;
    std::vector<float> xe = x;
    xe[(size_t(e.t) * c.B + e.b) * c.C + 2] = e.v;
    const crnn_status_t st = beam_on(CRNN_DEVICE_CUDA_EMU, got, xe, nullptr, ce, &idx, &frame);
    CHECK(st == e.st && idx == e.b && frame == e.t, "%s: status %d at %d/%d", e.what, int(st), idx,
          frame);
    CHECK(beam_on(CRNN_DEVICE_CPU, want, xe, nullptr, ce) == e.st, "%s: cpu status", e.what);
    CHECK(got == want, "%s: outputs differ from the cpu's", e.what);
    CHECK(got.lengths[e.b * c.N] == 0 && isnan(got.scores[e.b * c.N]) &&
              got.ids[size_t(e.b) * c.N * c.T] == -1,
          "%s: failed sample not 'no prefix'", e.what);
  }
  // a frame that is -inf for every class (log_probs), and a second failure later in the batch:
  // the lowest batch index wins
  Case cl = c;
  cl.kind = CRNN_CTC_LOG_PROBS;
  std::vector<float> xl = x;
  for (int k = 0; k < c.C; ++k) xl[(size_t(3) * c.B + 1) * c.C + k] = -INFINITY;
  xl[(size_t(1) * c.B + 2) * c.C] = NAN;
  CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, got, xl, nullptr, cl, &idx, &frame) ==
                CRNN_STATUS_NEG_INF_FRAME &&
            idx == 1 && frame == 3,
        "-inf frame: %d/%d", idx, frame);
  CHECK(beam_on(CRNN_DEVICE_CPU, want, xl, nullptr, cl) == CRNN_STATUS_NEG_INF_FRAME && got == want,
        "-inf frame: outputs differ from the cpu's");
  // an error past a sample's input length is not read
  const int32_t short_len[3] = {6, 3, 6};
  CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, got, xl, short_len, cl, &idx, &frame) ==
                CRNN_STATUS_NONFINITE_INPUT &&
            idx == 2 && frame == 1,
        "frames past the length: %d/%d", idx, frame);
  // input length outside [0, T]: argument error, before value errors
  const int32_t bad_len[3] = {3, 2, 7};
  CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, got, xl, bad_len, cl, &idx, &frame) ==
                CRNN_STATUS_INVALID_VALUE &&
            idx == 2 && frame == -1,
        "length > T: %d/%d", idx, frame);
  CHECK(got.lengths[2 * c.N] == 0 && isnan(got.scores[2 * c.N + 1]) &&
            got.ids[size_t(2) * c.N * c.T + 5] == -1,
        "length > T: sample not 'no prefix'");
  const int32_t neg_len[3] = {-1, 2, 2};
  CHECK(beam_on(CRNN_DEVICE_CUDA_EMU, got, x, neg_len, c, &idx, &frame) ==
                CRNN_STATUS_INVALID_VALUE &&
            idx == 0,
        "length < 0: %d", idx);

  // option errors: the status, on the host
  const auto status_with = [&](auto edit) {
    Case ce = c;
    edit(ce);
    Out o;
    return beam_on(CRNN_DEVICE_CUDA_EMU, o, x, nullptr, ce);
  };
  CHECK(status_with([](Case &e) { e.W = 0, e.N = 1; }) == CRNN_STATUS_INVALID_VALUE, "W=0");
  CHECK(
      status_with([](Case &e) { e.W = CRNN_CTC_BEAM_MAX_WIDTH + 1; }) == CRNN_STATUS_INVALID_VALUE,
      "W too large");
  CHECK(status_with([](Case &e) { e.N = e.W + 1; }) == CRNN_STATUS_INVALID_VALUE, "top_n > W");
  CHECK(status_with([](Case &e) { e.N = 0; }) == CRNN_STATUS_INVALID_VALUE, "top_n 0");
  CHECK(status_with([](Case &e) { e.blank = e.C; }) == CRNN_STATUS_INVALID_VALUE, "blank C");
  CHECK(status_with([](Case &e) { e.kind = 3; }) == CRNN_STATUS_INVALID_VALUE, "kind 3");
  crnn_ctc_decode_options o = options(c, CRNN_DEVICE_CUDA_EMU);
  std::vector<char> ws(crnn_ctc_beam_search_workspace_size(c.T, c.B, c.C, &o));
  Out s;
  s.ids.assign(size_t(c.B) * c.N * c.T, 0), s.lengths.assign(c.B * c.N, 0);
  s.scores.assign(c.B * c.N, 0);
  CHECK(crnn_ctc_beam_search_f32(s.ids.data(), s.lengths.data(), s.scores.data(), x.data(), nullptr,
                                 c.T, c.B, c.C, ws.data(), ws.size() - 1,
                                 &o) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "small workspace");
  CHECK(crnn_ctc_beam_search_f32(s.ids.data(), nullptr, s.scores.data(), x.data(), nullptr, c.T,
                                 c.B, c.C, ws.data(), ws.size(), &o) == CRNN_STATUS_INVALID_VALUE,
        "NULL lengths");
}

}  // namespace

int main() {
  test_table();
  test_errors();
  if (failures) {
    fprintf(stderr, "test_cuda_beam: %d failures\n", failures);
    return 1;
  }
  printf("test_cuda_beam: OK\n");
  return 0;
}
