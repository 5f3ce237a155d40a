// C++ tests of the CPU CTC kernels, run by ctest (CI builds them under ASan + UBSan).
// Checks: fast exp/log accuracy; float32 vs float64 kernels with NaN-poisoned outputs on
// edge cases; float64 gradient vs central finite differences; status codes on bad input.
#include <math.h>
#include <stdio.h>

#include <random>
#include <vector>

#include "check.h"
#include "common/fast_math.h"
#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"

static void test_fast_math() {
  double worst_exp = 0, worst_log = 0;
  for (double x = -87.0; x < 88.3; x += 1e-4) {
    const double e = exp(x), r = fabs(crnn::exp_fast<float>(static_cast<float>(x)) -
                                      exp(static_cast<double>(static_cast<float>(x)))) /
                                 e;
    if (r > worst_exp) worst_exp = r;
  }
  for (double lx = -80; lx < 80; lx += 1e-4) {
    const float x = static_cast<float>(exp(lx));
    const double want = log(static_cast<double>(x));
    const double r = fabs(crnn::log_fast<float>(x) - want) / fmax(fabs(want), 1e-30);
    if (fabs(want) > 1e-3 && r > worst_log) worst_log = r;
  }
  double worst_sig = 0, worst_tanh = 0;  // absolute errors: what the LSTM cell update sees
  for (double x = -30; x < 30; x += 1e-4) {
    const float xf = static_cast<float>(x);
    worst_sig = fmax(worst_sig, fabs(crnn::sigmoid_fast<float>(xf) - 1 / (1 + exp(-double(xf)))));
    worst_tanh = fmax(worst_tanh, fabs(crnn::tanh_fast<float>(xf) - tanh(double(xf))));
  }
  printf(
      "exp_fast<float> max rel err %.3g, log_fast<float> max rel err %.3g, "
      "sigmoid_fast max abs err %.3g, tanh_fast max abs err %.3g\n",
      worst_exp, worst_log, worst_sig, worst_tanh);
  CHECK(worst_sig < 2e-7, "sigmoid abs err %g", worst_sig);
  CHECK(worst_tanh < 4e-7, "tanh abs err %g", worst_tanh);
  CHECK(worst_exp < 4e-7, "exp rel err %g", worst_exp);
  CHECK(worst_log < 4e-7, "log rel err %g", worst_log);
  CHECK(crnn::exp_fast<float>(-INFINITY) == 0.0f, "exp(-inf)");
  CHECK(isinf(crnn::exp_fast<float>(100.0f)), "exp overflow");
  CHECK(isnan(crnn::exp_fast<float>(NAN)), "exp(nan)");
  CHECK(crnn::log_fast<float>(0.0f) == -INFINITY, "log(0)");
  CHECK(isnan(crnn::log_fast<float>(-1.0f)), "log(-1)");
  CHECK(fabs(crnn::log_fast<float>(1e-40f) - logf(1e-40f)) < 1e-4, "log(subnormal)");
  CHECK(crnn::log_add_exp3<float>(-INFINITY, -INFINITY, -INFINITY) == -INFINITY, "lae3 -inf");
  CHECK(crnn::log_add_exp<float>(-INFINITY, -INFINITY) == -INFINITY, "lae -inf");
  CHECK(crnn::log_add_exp<double>(-INFINITY, -INFINITY) == -INFINITY, "lae -inf f64");
  CHECK(crnn::log_add_exp<float>(-INFINITY, 1.5f) == 1.5f, "lae(-inf, x)");
  CHECK(fabs(crnn::log_add_exp<float>(1.0f, 1.0f) - (1.0 + log(2.0))) < 1e-6, "lae(1, 1)");
}

struct Case {
  int T, B, C, S, blank;
};

template <typename T>
static crnn_status_t run_loss(std::vector<T> &loss, std::vector<T> *grad, const std::vector<T> &x,
                              const std::vector<int32_t> &lab, const std::vector<int32_t> &il,
                              const std::vector<int32_t> &ll, const Case &c, int threads = 0,
                              int32_t *err = nullptr) {
  crnn_ctc_loss_options o{};
  o.blank = c.blank;
  o.num_threads = threads;
  o.error_index = err;
  std::vector<char> ws(crnn_ctc_loss_workspace_size(c.T, c.B, c.C, c.S, sizeof(T), &o));
  T *g = grad ? grad->data() : nullptr;
  if constexpr (sizeof(T) == 4)
    return crnn_ctc_loss_f32(loss.data(), g, x.data(), lab.data(), il.data(), ll.data(), c.T, c.B,
                             c.C, c.S, ws.data(), ws.size(), &o);
  else
    return crnn_ctc_loss_f64(loss.data(), g, x.data(), lab.data(), il.data(), ll.data(), c.T, c.B,
                             c.C, c.S, ws.data(), ws.size(), &o);
}

static void random_case(std::mt19937 &rng, const Case &c, std::vector<double> &x,
                        std::vector<int32_t> &lab, std::vector<int32_t> &il,
                        std::vector<int32_t> &ll) {
  std::normal_distribution<double> nd(0.0, 2.0);
  x.resize(size_t(c.T) * c.B * c.C);
  for (auto &v : x) v = nd(rng);
  lab.assign(size_t(c.B) * c.S, c.blank);
  il.resize(c.B);
  ll.resize(c.B);
  for (int b = 0; b < c.B; ++b) {
    il[b] = std::uniform_int_distribution<int>(0, c.T)(rng);
    ll[b] = std::uniform_int_distribution<int>(0, c.S)(rng);
    for (int j = 0; j < ll[b]; ++j) {
      int v = std::uniform_int_distribution<int>(0, c.C - 2)(rng);
      if (v >= c.blank) ++v;
      if (j > 0 && rng() % 3 == 0) v = lab[b * c.S + j - 1];  // repeats
      lab[b * c.S + j] = v;
    }
  }
}

static void test_loss_f32_vs_f64_poisoned() {
  std::mt19937 rng(0);
  const Case cases[] = {{1, 1, 2, 1, 1},     {1, 4, 5, 1, 0},        {7, 3, 6, 3, 5},
                        {25, 8, 37, 23, 36}, {40, 2, 6625, 8, 6624}, {256, 2, 12, 40, 0},
                        {5, 6, 4, 5, 3}};
  for (const Case &c : cases) {
    std::vector<double> x;
    std::vector<int32_t> lab, il, ll;
    random_case(rng, c, x, lab, il, ll);
    std::vector<float> xf(x.begin(), x.end());
    std::vector<double> xd(xf.begin(), xf.end());
    std::vector<float> lf(c.B, NAN), gf(x.size(), NAN);
    std::vector<double> ld(c.B, NAN), gd(x.size(), NAN);
    CHECK(run_loss<float>(lf, &gf, xf, lab, il, ll, c) == CRNN_STATUS_SUCCESS, "f32 status");
    CHECK(run_loss<double>(ld, &gd, xd, lab, il, ll, c) == CRNN_STATUS_SUCCESS, "f64 status");
    for (int b = 0; b < c.B; ++b) {
      CHECK(!isnan(lf[b]) && !isnan(ld[b]), "NaN loss T=%d b=%d", c.T, b);
      CHECK(isinf(lf[b]) == isinf(ld[b]), "inf mismatch b=%d", b);
      if (!isinf(ld[b]))
        CHECK(fabs(lf[b] - ld[b]) <= 2e-6 * (1 + fabs(ld[b])), "loss T=%d b=%d %g vs %g", c.T, b,
              lf[b], ld[b]);
      const double tol = 1e-6 * (1 + (isinf(ld[b]) ? 0 : fabs(ld[b])));
      for (int t = 0; t < c.T; ++t)
        for (int k = 0; k < c.C; ++k) {
          const size_t i = (size_t(t) * c.B + b) * c.C + k;
          CHECK(!isnan(gf[i]) && !isnan(gd[i]), "NaN grad (%d,%d,%d)", t, b, k);
          CHECK(fabs(gf[i] - gd[i]) <= tol, "grad (%d,%d,%d) %g vs %g", t, b, k, gf[i], gd[i]);
        }
    }
    std::vector<float> l1(c.B, NAN), g1(x.size(), NAN);  // one thread: bitwise identical
    run_loss<float>(l1, &g1, xf, lab, il, ll, c, 1);
    CHECK(l1 == lf || c.B == 0, "threads changed the loss");
  }
}

static void test_gradient_finite_differences() {
  std::mt19937 rng(1);
  const Case c{6, 3, 5, 3, 4};
  std::vector<double> x;
  std::vector<int32_t> lab, il, ll;
  random_case(rng, c, x, lab, il, ll);
  il = {6, 5, 3};
  ll = {3, 1, 0};
  lab = {0, 0, 1, 2, 4, 4, 4, 4, 4};
  std::vector<double> loss(c.B), grad(x.size()), lp(c.B), lm(c.B);
  run_loss<double>(loss, &grad, x, lab, il, ll, c);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> xp = x, xm = x;
    xp[i] += 1e-6;
    xm[i] -= 1e-6;
    run_loss<double>(lp, nullptr, xp, lab, il, ll, c);
    run_loss<double>(lm, nullptr, xm, lab, il, ll, c);
    double fd = 0;
    for (int b = 0; b < c.B; ++b) fd += (lp[b] - lm[b]) / 2e-6;
    worst = fmax(worst, fabs(fd - grad[i]));
  }
  printf("float64 grad vs finite differences: max abs err %.3g\n", worst);
  CHECK(worst < 1e-6, "fd err %g", worst);
}

static void test_statuses() {
  const Case c{4, 2, 5, 2, 4};
  std::vector<float> x(40, 0.0f), loss(2), grad(40);
  std::vector<int32_t> lab = {0, 1, 2, 3}, il = {4, 4}, ll = {2, 2};
  int32_t err = -7;
  CHECK(run_loss<float>(loss, &grad, x, lab, il, ll, c, 0, &err) == CRNN_STATUS_SUCCESS, "ok");
  CHECK(err == -1, "error_index reset");
  Case bad = c;
  bad.blank = 5;
  CHECK(run_loss<float>(loss, &grad, x, lab, il, ll, bad) == CRNN_STATUS_INVALID_VALUE, "blank");
  std::vector<int32_t> lab_blank = {0, 4, 2, 3};
  CHECK(
      run_loss<float>(loss, &grad, x, lab_blank, il, ll, c, 0, &err) == CRNN_STATUS_INVALID_VALUE &&
          err == 0,
      "label == blank");
  std::vector<int32_t> il_bad = {4, 5};
  CHECK(run_loss<float>(loss, &grad, x, lab, il_bad, ll, c, 0, &err) == CRNN_STATUS_INVALID_VALUE &&
            err == 1,
        "input_length > T");
  std::vector<int32_t> ll_bad = {-1, 2};
  CHECK(run_loss<float>(loss, &grad, x, lab, il, ll_bad, c, 0, &err) == CRNN_STATUS_INVALID_VALUE &&
            err == 0,
        "label_length < 0");
  std::vector<float> xn = x;
  xn[(2 * 2 + 1) * 5 + 3] = NAN;  // t=2, b=1
  CHECK(run_loss<float>(loss, &grad, xn, lab, il, ll, c, 0, &err) == CRNN_STATUS_NONFINITE_INPUT &&
            err == 1,
        "NaN input");
  crnn_ctc_loss_options o{};
  o.blank = 4;
  char small[8];
  CHECK(crnn_ctc_loss_f32(loss.data(), grad.data(), x.data(), lab.data(), il.data(), ll.data(), 4,
                          2, 5, 2, small, sizeof(small), &o) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "workspace");
  CHECK(crnn_ctc_loss_f32(loss.data(), grad.data(), nullptr, lab.data(), il.data(), ll.data(), 4, 2,
                          5, 2, small, sizeof(small), &o) == CRNN_STATUS_INVALID_VALUE,
        "null logits");
  CHECK(crnn_ctc_loss_f32(loss.data(), grad.data(), x.data(), lab.data(), il.data(), ll.data(), 4,
                          2, 1, 2, small, sizeof(small), &o) == CRNN_STATUS_INVALID_VALUE,
        "C=1");
}

static void test_greedy_poisoned() {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  const int T = 9, B = 5, C = 4;
  std::vector<float> x(T * B * C);
  for (auto &v : x) v = nd(rng);
  std::vector<int32_t> ids(B * T, 77), lens(B, 77), frames(B * T, 77), il = {9, 0, 1, 5, 9};
  std::vector<float> probs(B * T, NAN);
  crnn_ctc_decode_options o{};
  o.blank = 3;
  std::vector<char> ws(crnn_ctc_greedy_workspace_size(T, B, C, &o));
  CHECK(crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), x.data(),
                            il.data(), T, B, C, ws.data(), ws.size(), &o) == CRNN_STATUS_SUCCESS,
        "greedy status");
  for (int b = 0; b < B; ++b) {
    CHECK(lens[b] >= 0 && lens[b] <= il[b], "greedy length b=%d: %d", b, lens[b]);
    for (int t = 0; t < T; ++t) {
      const int i = b * T + t;
      CHECK(!isnan(probs[i]) && ids[i] != 77 && frames[i] != 77, "greedy unwritten (%d,%d)", b, t);
      CHECK((t < lens[b]) == (ids[i] >= 0 && ids[i] < 3), "greedy id (%d,%d)", b, t);
    }
  }
  x[5] = INFINITY;
  int32_t err = -1;
  o.error_index = &err;
  CHECK(crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), x.data(), nullptr,
                            T, B, C, ws.data(), ws.size(), &o) == CRNN_STATUS_NONFINITE_INPUT &&
            err == 1,
        "greedy inf");
}

// -inf logits are probability 0 (issue 13): f32 == f64, no NaN, gradient exactly 0 there; a
// label reachable only through -inf entries is infeasible; an all--inf frame names its frame.
static void test_neg_inf() {
  std::mt19937 rng(3);
  const Case c{6, 4, 5, 3, 4};
  std::vector<double> x;
  std::vector<int32_t> lab = {0, 1, 1, 2, 3, 4, 0, 4, 4, 1, 2, 3}, il = {6, 6, 5, 6},
                       ll = {3, 2, 1, 3};
  std::vector<int32_t> unused;
  random_case(rng, c, x, unused, unused, unused);
  for (int t = 0; t < c.T; ++t) {
    x[(size_t(t) * c.B + 0) * c.C + 3] = -INFINITY;             // a class no label uses
    x[(size_t(t) * c.B + 2) * c.C + 0] = -INFINITY;             // sample 2's only label
    if (t % 2) x[(size_t(t) * c.B + 3) * c.C + 4] = -INFINITY;  // blank, every other frame
  }
  x[(size_t(5) * c.B + 1) * c.C + 2] = -INFINITY;
  std::vector<float> xf(x.begin(), x.end());
  std::vector<double> xd(xf.begin(), xf.end());
  for (int zi = 0; zi < 2; ++zi) {
    std::vector<float> lf(c.B, NAN), gf(x.size(), NAN);
    std::vector<double> ld(c.B, NAN), gd(x.size(), NAN);
    crnn_ctc_loss_options o{};
    o.blank = c.blank;
    o.zero_infinity = zi;
    std::vector<char> ws(crnn_ctc_loss_workspace_size(c.T, c.B, c.C, c.S, 8, &o));
    CHECK(crnn_ctc_loss_f32(lf.data(), gf.data(), xf.data(), lab.data(), il.data(), ll.data(), c.T,
                            c.B, c.C, c.S, ws.data(), ws.size(), &o) == CRNN_STATUS_SUCCESS,
          "-inf f32 status");
    CHECK(crnn_ctc_loss_f64(ld.data(), gd.data(), xd.data(), lab.data(), il.data(), ll.data(), c.T,
                            c.B, c.C, c.S, ws.data(), ws.size(), &o) == CRNN_STATUS_SUCCESS,
          "-inf f64 status");
    CHECK(zi ? lf[2] == 0 && ld[2] == 0 : isinf(lf[2]) && isinf(ld[2]), "-inf label: %g", lf[2]);
    for (int b = 0; b < c.B; ++b) {
      CHECK(!isnan(lf[b]) && (b == 2 || isfinite(lf[b])), "-inf loss b=%d %g", b, lf[b]);
      if (b != 2) CHECK(fabs(lf[b] - ld[b]) <= 2e-6 * (1 + fabs(ld[b])), "-inf loss b=%d", b);
    }
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t b = (i / c.C) % c.B;
      CHECK(!isnan(gf[i]) && !isnan(gd[i]), "-inf NaN grad %zu", i);
      const double mag = b == 2 ? 0.0 : fabs(ld[b]);  // sample 2 is infeasible: grad 0
      CHECK(fabs(gf[i] - gd[i]) <= 1e-6 * (1 + mag), "-inf grad %zu", i);
      if (isinf(xf[i]) || b == 2) CHECK(gf[i] == 0 && gd[i] == 0, "-inf grad not 0 at %zu", i);
    }
  }
  // an all--inf frame (t=3, b=1) and a NaN in a later sample (t=0, b=2): the smallest batch
  // index wins, with its own status and frame, whichever thread finds it first
  std::vector<float> xb = xf;
  for (int k = 0; k < c.C; ++k) xb[(size_t(3) * c.B + 1) * c.C + k] = -INFINITY;
  xb[(size_t(0) * c.B + 2) * c.C + 1] = NAN;
  for (int threads : {1, 4}) {
    std::vector<float> l(c.B), g(x.size());
    int32_t err = -7, frame = -7;
    crnn_ctc_loss_options o{};
    o.blank = c.blank;
    o.num_threads = threads;
    o.error_index = &err;
    o.error_frame = &frame;
    std::vector<char> ws(crnn_ctc_loss_workspace_size(c.T, c.B, c.C, c.S, 4, &o));
    CHECK(crnn_ctc_loss_f32(l.data(), g.data(), xb.data(), lab.data(), il.data(), ll.data(), c.T,
                            c.B, c.C, c.S, ws.data(), ws.size(), &o) == CRNN_STATUS_NEG_INF_FRAME &&
              err == 1 && frame == 3,
          "all -inf frame: err %d frame %d", err, frame);
  }
  // greedy: -inf classes are never the argmax; an all--inf frame names its frame
  std::vector<float> xg(size_t(c.T) * c.B * c.C, -INFINITY);
  for (int t = 0; t < c.T; ++t)
    for (int b = 0; b < c.B; ++b) xg[(size_t(t) * c.B + b) * c.C + (t + b) % c.C] = -3.0f;
  std::vector<int32_t> ids(c.B * c.T), lens(c.B), frames(c.B * c.T);
  std::vector<float> probs(c.B * c.T, NAN);
  int32_t err = -7, frame = -7;
  crnn_ctc_decode_options o{};
  o.blank = c.blank;
  o.error_index = &err;
  o.error_frame = &frame;
  std::vector<char> ws(crnn_ctc_greedy_workspace_size(c.T, c.B, c.C, &o));
  for (int kind : {CRNN_CTC_LOGITS, CRNN_CTC_LOG_PROBS}) {
    o.input_kind = kind;
    CHECK(crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), xg.data(),
                              nullptr, c.T, c.B, c.C, ws.data(), ws.size(),
                              &o) == CRNN_STATUS_SUCCESS &&
              err == -1 && frame == -1,
          "greedy -inf status");
    for (int b = 0; b < c.B; ++b)
      for (int j = 0; j < lens[b]; ++j) {
        const int t = frames[b * c.T + j];
        CHECK(ids[b * c.T + j] == (t + b) % c.C, "greedy -inf id");
        const float want = kind == CRNN_CTC_LOGITS ? 1.0f : expf(-3.0f);
        CHECK(fabsf(probs[b * c.T + j] - want) < 1e-6f, "greedy -inf prob %g", probs[b * c.T + j]);
      }
  }
  o.input_kind = CRNN_CTC_PROBS;  // -inf is a negative probability
  CHECK(
      crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), xg.data(), nullptr,
                          c.T, c.B, c.C, ws.data(), ws.size(), &o) == CRNN_STATUS_INVALID_VALUE &&
          err == 0 && frame == 0,
      "greedy -inf probs: err %d frame %d", err, frame);
  o.input_kind = CRNN_CTC_LOG_PROBS;
  xg[(size_t(4) * c.B + 2) * c.C + (4 + 2) % c.C] = -INFINITY;
  CHECK(
      crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), xg.data(), nullptr,
                          c.T, c.B, c.C, ws.data(), ws.size(), &o) == CRNN_STATUS_NEG_INF_FRAME &&
          err == 2 && frame == 4,
      "greedy all -inf frame: err %d frame %d", err, frame);
}

int main() {
  test_fast_math();
  test_neg_inf();
  test_loss_f32_vs_f64_poisoned();
  test_gradient_finite_differences();
  test_statuses();
  test_greedy_poisoned();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("test_ctc_kernels: all checks passed\n");
  return 0;
}
