// Standalone test of crnn_ctc_beam_search_f32 (no framework; exit code 0 = pass).
//   cmake -S . -B build-asan -GNinja -DCRNN_FAST_PYTHON=OFF -DCRNN_FAST_TESTS=ON
//         -DCRNN_FAST_SANITIZE=ON -DCRNN_FAST_CUDA=OFF  (one command line)
//   cmake --build build-asan && ctest --test-dir build-asan --output-on-failure
// Checks: with a beam wide enough to keep every prefix, the best prefix and its score equal the
// brute-force most probable labelling (all C^T paths collapsed and summed); input length 0;
// batch_first/thread-count invariance; and the status codes of invalid calls.
#include <math.h>
#include <stdio.h>

#include <map>
#include <random>
#include <vector>

#include "check.h"
#include "crnn/ctc_decode.h"

namespace {

struct Out {
  std::vector<int32_t> ids, lengths;
  std::vector<double> scores;
  crnn_status_t st;
  int32_t err;
};

crnn_ctc_decode_options options(int32_t blank, int32_t width, int32_t top_n) {
  crnn_ctc_decode_options opt{};
  opt.blank = blank;
  opt.beam_width = width;
  opt.top_n = top_n;
  opt.logp_cutoff = -INFINITY;
  return opt;
}

Out run(const std::vector<float> &x, const int32_t *lens, int64_t T, int64_t B, int64_t C,
        crnn_ctc_decode_options opt, int64_t ws_shrink = 0) {
  Out o;
  o.ids.assign(B * opt.top_n * T + 1, 7);  // poisoned; +1 keeps data() non-NULL at T = 0
  o.lengths.assign(B * opt.top_n, 7);
  o.scores.assign(B * opt.top_n, 7.0);
  o.err = -7;
  opt.error_index = &o.err;
  const size_t ws = crnn_ctc_beam_search_workspace_size(T, B, C, &opt);
  std::vector<char> w(ws + 1);
  o.st = crnn_ctc_beam_search_f32(o.ids.data(), o.lengths.data(), o.scores.data(), x.data(), lens,
                                  T, B, C, w.data(), ws - ws_shrink, &opt);
  return o;
}

std::vector<float> random_logits(std::mt19937 &gen, int64_t n, float scale) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> x(n);
  for (float &v : x) v = d(gen);
  return x;
}

// log P(labelling) for every labelling of one sample's (T, C) log-probs, by enumeration.
std::map<std::vector<int32_t>, double> brute_force(const std::vector<double> &lp, int64_t T,
                                                   int64_t C, int32_t blank) {
  std::map<std::vector<int32_t>, double> probs;
  std::vector<int32_t> path(T, 0);
  for (;;) {
    std::vector<int32_t> label;
    double logp = 0.0;
    for (int64_t t = 0; t < T; ++t) {
      logp += lp[t * C + path[t]];
      if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) label.push_back(path[t]);
    }
    probs[label] += exp(logp);
    int64_t t = 0;
    while (t < T && ++path[t] == C) path[t++] = 0;
    if (t == T) break;
  }
  for (auto &kv : probs) kv.second = log(kv.second);
  return probs;
}

void test_brute_force(std::mt19937 &gen) {
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t T = 1 + gen() % 4, C = 2 + gen() % 3, B = 2;
    const int32_t blank = static_cast<int32_t>(gen() % C);
    int64_t width = 0;
    for (int64_t n = 0, p = 1; n <= T; ++n, p *= C - 1) width += p;  // every prefix fits
    const std::vector<float> x = random_logits(gen, T * B * C, 1.5f);
    const Out o = run(x, nullptr, T, B, C, options(blank, static_cast<int32_t>(width), 1));
    CHECK(o.st == CRNN_STATUS_SUCCESS, "trial %d status %d", trial, o.st);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> lp(T * C);
      for (int64_t t = 0; t < T; ++t) {
        const float *row = &x[(t * B + b) * C];
        double m = row[0], s = 0.0;
        for (int64_t c = 1; c < C; ++c) m = row[c] > m ? row[c] : m;
        for (int64_t c = 0; c < C; ++c) s += exp(row[c] - m);
        for (int64_t c = 0; c < C; ++c) lp[t * C + c] = row[c] - m - log(s);
      }
      const auto probs = brute_force(lp, T, C, blank);
      auto best = probs.begin();
      for (auto it = probs.begin(); it != probs.end(); ++it)
        if (it->second > best->second) best = it;
      const std::vector<int32_t> got(o.ids.begin() + b * T, o.ids.begin() + b * T + o.lengths[b]);
      CHECK(got == best->first, "trial %d b %lld: top-1 differs from brute force", trial,
            static_cast<long long>(b));
      CHECK(fabs(o.scores[b] - best->second) < 1e-6, "trial %d b %lld: score %.9f vs %.9f", trial,
            static_cast<long long>(b), o.scores[b], best->second);
      for (int64_t j = o.lengths[b]; j < T; ++j) CHECK(o.ids[b * T + j] == -1, "padding");
    }
  }
}

void test_layouts_and_lengths(std::mt19937 &gen) {
  const int64_t T = 9, B = 5, C = 37, N = 3;
  const std::vector<float> x = random_logits(gen, T * B * C, 3.0f);
  std::vector<float> xbf(x.size());  // (B, T, C) copy
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) xbf[(b * T + t) * C + c] = x[(t * B + b) * C + c];
  const int32_t lens[B] = {9, 0, 4, 1, 9};
  crnn_ctc_decode_options opt = options(0, 6, N);
  opt.top_k = 5;
  opt.num_threads = 1;
  const Out a = run(x, lens, T, B, C, opt);
  opt.batch_first = 1;
  opt.num_threads = 3;
  const Out c = run(xbf, lens, T, B, C, opt);
  CHECK(a.st == CRNN_STATUS_SUCCESS && c.st == CRNN_STATUS_SUCCESS, "status %d %d", a.st, c.st);
  CHECK(a.ids == c.ids && a.lengths == c.lengths && a.scores == c.scores,
        "batch_first / thread count changed the result");
  CHECK(a.err == -1, "error_index %d on success", a.err);
  // input length 0: the empty prefix with score 0, then nothing
  CHECK(a.lengths[1 * N] == 0 && a.scores[1 * N] == 0.0, "empty input: %d %f", a.lengths[N],
        a.scores[N]);
  CHECK(isinf(a.scores[1 * N + 1]) && a.scores[1 * N + 1] < 0, "missing prefix score not -inf");
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t L = a.lengths[b * N + n];
      CHECK(L >= 0 && L <= lens[b], "length %lld", static_cast<long long>(L));
      CHECK(!isnan(a.scores[b * N + n]), "NaN score");
      if (n) CHECK(a.scores[b * N + n - 1] >= a.scores[b * N + n], "not sorted");
      for (int64_t j = 0; j < T; ++j) {
        const int32_t id = a.ids[(b * N + n) * T + j];
        CHECK(j < L ? id > 0 && id < C : id == -1, "ids[%lld,%lld,%lld] = %d",
              static_cast<long long>(b), static_cast<long long>(n), static_cast<long long>(j), id);
      }
    }
}

void test_invalid(std::mt19937 &gen) {
  const int64_t T = 4, B = 3, C = 5;
  std::vector<float> x = random_logits(gen, T * B * C, 1.0f);
  const crnn_ctc_decode_options ok = options(4, 3, 2);
  CHECK(run(x, nullptr, T, B, C, ok).st == CRNN_STATUS_SUCCESS, "valid call failed");

  crnn_ctc_decode_options o = ok;
  o.beam_width = 0;
  CHECK(run(x, nullptr, T, B, C, options(4, 1, 1)).st == CRNN_STATUS_SUCCESS, "width 1");
  CHECK(crnn_ctc_beam_search_workspace_size(T, B, C, &o) == 0, "workspace for width 0");
  std::vector<int32_t> ids(B * T), len(B);
  std::vector<double> sc(B);
  std::vector<char> ws(1 << 16);
  CHECK(crnn_ctc_beam_search_f32(ids.data(), len.data(), sc.data(), x.data(), nullptr, T, B, C,
                                 ws.data(), ws.size(), &o) == CRNN_STATUS_INVALID_VALUE,
        "beam_width 0");
  o = ok;
  o.beam_width = CRNN_CTC_BEAM_MAX_WIDTH + 1;
  CHECK(crnn_ctc_beam_search_workspace_size(T, B, C, &o) == 0, "workspace for width > max");
  o = ok;
  o.top_n = 4;  // > beam_width 3
  CHECK(run(x, nullptr, T, B, C, o).st == CRNN_STATUS_INVALID_VALUE, "top_n > beam_width");
  o.top_n = 0;
  CHECK(run(x, nullptr, T, B, C, o).st == CRNN_STATUS_INVALID_VALUE, "top_n 0");
  o = ok;
  o.blank = static_cast<int32_t>(C);
  CHECK(run(x, nullptr, T, B, C, o).st == CRNN_STATUS_INVALID_VALUE, "blank == C");
  o = ok;
  o.input_kind = 3;
  CHECK(run(x, nullptr, T, B, C, o).st == CRNN_STATUS_INVALID_VALUE, "input_kind 3");
  CHECK(run(x, nullptr, T, B, 1, ok).st == CRNN_STATUS_INVALID_VALUE, "C = 1");
  CHECK(crnn_ctc_beam_search_f32(ids.data(), len.data(), sc.data(), x.data(), nullptr, T, B, C,
                                 ws.data(), ws.size(), nullptr) == CRNN_STATUS_INVALID_VALUE,
        "NULL options");

  // NULL pointers
  const size_t wsz = crnn_ctc_beam_search_workspace_size(T, B, C, &ok);
  std::vector<int32_t> ids2(B * 2 * T), len2(B * 2);
  std::vector<double> sc2(B * 2);
  std::vector<char> w(wsz);
  CHECK(crnn_ctc_beam_search_f32(nullptr, len2.data(), sc2.data(), x.data(), nullptr, T, B, C,
                                 w.data(), wsz, &ok) == CRNN_STATUS_INVALID_VALUE,
        "NULL ids");
  CHECK(crnn_ctc_beam_search_f32(ids2.data(), nullptr, sc2.data(), x.data(), nullptr, T, B, C,
                                 w.data(), wsz, &ok) == CRNN_STATUS_INVALID_VALUE,
        "NULL lengths");
  CHECK(crnn_ctc_beam_search_f32(ids2.data(), len2.data(), nullptr, x.data(), nullptr, T, B, C,
                                 w.data(), wsz, &ok) == CRNN_STATUS_INVALID_VALUE,
        "NULL scores");
  CHECK(crnn_ctc_beam_search_f32(ids2.data(), len2.data(), sc2.data(), nullptr, nullptr, T, B, C,
                                 w.data(), wsz, &ok) == CRNN_STATUS_INVALID_VALUE,
        "NULL x");
  CHECK(crnn_ctc_beam_search_f32(ids2.data(), len2.data(), sc2.data(), x.data(), nullptr, T, B, C,
                                 nullptr, wsz, &ok) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "NULL workspace");
  CHECK(run(x, nullptr, T, B, C, ok, 1).st == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "workspace one byte short");
  CHECK(run(x, nullptr, T, 0, C, ok).st == CRNN_STATUS_SUCCESS, "B = 0 is a no-op");

  // bad input lengths name the batch index
  const int32_t bad_hi[B] = {4, 5, 4}, bad_lo[B] = {4, 4, -1};
  Out r = run(x, bad_hi, T, B, C, ok);
  CHECK(r.st == CRNN_STATUS_INVALID_VALUE && r.err == 1, "length > T: %d %d", r.st, r.err);
  r = run(x, bad_lo, T, B, C, ok);
  CHECK(r.st == CRNN_STATUS_INVALID_VALUE && r.err == 2, "length < 0: %d %d", r.st, r.err);

  // NaN / Inf among the frames read; frames past the input length are not read
  std::vector<float> xn = x;
  xn[(2 * B + 1) * C + 3] = NAN;  // t = 2, b = 1
  r = run(xn, nullptr, T, B, C, ok);
  CHECK(r.st == CRNN_STATUS_NONFINITE_INPUT && r.err == 1, "NaN: %d %d", r.st, r.err);
  CHECK(r.lengths[2] == 0 && isnan(r.scores[2]) && r.ids[2 * T] == -1, "failed sample outputs");
  const int32_t short_lens[B] = {4, 2, 4};
  CHECK(run(xn, short_lens, T, B, C, ok).st == CRNN_STATUS_SUCCESS, "unread NaN frame");
  xn[(2 * B + 1) * C + 3] = -INFINITY;
  xn[(3 * B + 0) * C + 0] = INFINITY;
  r = run(xn, nullptr, T, B, C, ok);
  CHECK(r.st == CRNN_STATUS_NONFINITE_INPUT && r.err == 0, "Inf: %d %d", r.st, r.err);

  // probs: negative values are invalid, zeros are allowed (log-prob -inf)
  std::vector<float> p(T * B * C, 0.2f);
  o = ok;
  o.input_kind = CRNN_CTC_PROBS;
  p[(1 * B + 2) * C + 1] = 0.0f;
  CHECK(run(p, nullptr, T, B, C, o).st == CRNN_STATUS_SUCCESS, "probs with a zero");
  p[(1 * B + 2) * C + 1] = -0.1f;
  r = run(p, nullptr, T, B, C, o);
  CHECK(r.st == CRNN_STATUS_INVALID_VALUE && r.err == 2, "negative prob: %d %d", r.st, r.err);

  // -inf (issue 13): probability 0 for logits / log-probs, a negative value for probs; a frame
  // that is -inf for every class names its batch index and frame
  std::vector<float> xi = x;
  xi[(1 * B + 2) * C + 1] = -INFINITY;
  r = run(xi, nullptr, T, B, C, ok);
  CHECK(r.st == CRNN_STATUS_SUCCESS, "-inf logit: %d", r.st);
  p[(1 * B + 2) * C + 1] = -INFINITY;
  r = run(p, nullptr, T, B, C, o);
  CHECK(r.st == CRNN_STATUS_INVALID_VALUE && r.err == 2, "-inf prob: %d %d", r.st, r.err);
  for (int64_t c = 0; c < C; ++c) xi[(3 * B + 1) * C + c] = -INFINITY;
  int32_t frame = -7;
  crnn_ctc_decode_options of = ok;
  of.error_frame = &frame;
  r = run(xi, nullptr, T, B, C, of);
  CHECK(r.st == CRNN_STATUS_NEG_INF_FRAME && r.err == 1 && frame == 3, "all -inf frame: %d %d %d",
        r.st, r.err, frame);
}

}  // namespace

int main() {
  std::mt19937 gen(0);
  test_brute_force(gen);
  test_layouts_and_lengths(gen);
  test_invalid(gen);
  if (failures) {
    fprintf(stderr, "test_ctc_beam_search: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_ctc_beam_search: all checks passed\n");
  return 0;
}
