// Tests of the per-op math every backend shares (kernels/common): the CTC band against the
// states that complete paths actually visit (brute force), the value rule table, the LSTM
// cell backward against central differences of the cell forward (double), and the reserve
// layout's closed forms against a walk over its regions. Run by ctest (CI: also under ASan +
// UBSan).
#include <math.h>
#include <stdio.h>

#include <vector>

#include "check.h"
#include "common/ctc_math.h"
#include "common/lstm_layout.h"
#include "common/lstm_math.h"

namespace {

// Marks every (t, s) visited by some complete path of Tb frames through the extended label
// (enumerated by depth-first search), then checks each lies in ctc_band(t, Tb, Sp), and that
// the band of a state-free frame is never empty for a feasible sample.
void ctc_band_covers_paths() {
  const std::vector<std::vector<int32_t>> labels = {{}, {1}, {1, 1}, {1, 2}, {1, 2, 1}, {3, 3, 3}};
  for (const auto &lab : labels) {
    const int64_t L = static_cast<int64_t>(lab.size()), Sp = 2 * L + 1;
    for (int64_t Tb = 1; Tb <= 7; ++Tb) {
      if (Tb < crnn::ctc_min_frames(lab.data(), L)) continue;
      std::vector<int> seen(Tb * Sp, 0);
      std::vector<int64_t> path(Tb);
      // s_t in {s_{t-1}, s_{t-1}+1, s_{t-1}+2 if skip}; start in {0, 1}; end in {Sp-2, Sp-1}.
      const auto dfs = [&](const auto &self, int64_t t, int64_t s) -> void {
        path[t] = s;
        if (t == Tb - 1) {
          if (crnn::ctc_is_final_state(s, Sp))
            for (int64_t k = 0; k < Tb; ++k) seen[k * Sp + path[k]] = 1;
          return;
        }
        for (int64_t n = s; n <= s + 2 && n < Sp; ++n)
          if (n < s + 2 || crnn::ctc_can_skip(lab.data(), n)) self(self, t + 1, n);
      };
      for (int64_t s = 0; s < Sp; ++s)
        if (crnn::ctc_is_start_state(s)) dfs(dfs, 0, s);
      for (int64_t t = 0; t < Tb; ++t) {
        const crnn::CtcBand b = crnn::ctc_band(t, Tb, Sp);
        CHECK(0 <= b.lo && b.lo < b.hi && b.hi <= Sp, "L=%lld Tb=%lld t=%lld: band [%lld, %lld)",
              (long long)L, (long long)Tb, (long long)t, (long long)b.lo, (long long)b.hi);
        for (int64_t s = 0; s < Sp; ++s)
          if (seen[t * Sp + s])
            CHECK(b.lo <= s && s < b.hi, "L=%lld Tb=%lld t=%lld: state %lld outside the band",
                  (long long)L, (long long)Tb, (long long)t, (long long)s);
      }
    }
  }
}

// One alpha step over a padded row, against the same sum written out in double.
void ctc_alpha_beta_steps() {
  const int32_t lab[2] = {4, 5};
  const int64_t Sp = 5;
  const double ninf = crnn::neg_inf<double>();
  const double prev[9] = {ninf, ninf, -1.0, -2.0, -0.5, ninf, -3.0, ninf, ninf};  // 2 lead pad
  const double ly[8] = {-0.1, -0.2, -0.3, -0.4, ninf, ninf, ninf, ninf};
  double skip[8];
  for (int64_t s = 0; s < 8; ++s) skip[s] = crnn::ctc_skip_mask<double>(lab, s, Sp);
  CHECK(skip[3] == 0.0 && skip[1] == ninf && skip[2] == ninf && skip[5] == ninf, "skip mask");
  for (int64_t s = 0; s < Sp; ++s) {
    double want = exp(prev[s + 2]) + exp(prev[s + 1]) + (skip[s] == 0.0 ? exp(prev[s]) : 0.0);
    want = ly[s] + log(want);
    const double got = crnn::ctc_alpha_state(prev, ly, skip, s);
    CHECK(got == want || fabs(got - want) < 1e-12, "alpha s=%lld: %g vs %g", (long long)s, got,
          want);
  }
  // beta of state 4 (the trailing blank) from a next row: only itself (s+1, s+2 are pad).
  const double next[7] = {-1.0, -2.0, -0.5, -0.25, -0.75, ninf, ninf};
  const double b4 = crnn::ctc_beta_state(next, ly, skip, 4);
  CHECK(b4 == ninf, "beta through a -inf emission: %g", b4);
  const double b2 = crnn::ctc_beta_state(next, ly, skip, 2);
  const double want2 = log(exp(next[2] + ly[2]) + exp(next[3] + ly[3]));  // skip[4] = -inf
  CHECK(fabs(b2 - want2) < 1e-12, "beta s=2: %g vs %g", b2, want2);
  CHECK(crnn::ctc_final_log_likelihood(prev + 2, 1) == prev[2], "final, L = 0");
  CHECK(crnn::log_add_exp_exact(ninf, ninf) == ninf && crnn::log_add_exp_exact(ninf, 1.5) == 1.5,
        "log_add_exp_exact with -inf");
}

void ctc_value_rule() {
  using crnn::ctc_row_status;
  CHECK(crnn::ctc_row_kind(false, true) == crnn::CTC_ROW_SOME_NEG_INF, "some -inf");
  CHECK(crnn::ctc_row_kind(false, false) == crnn::CTC_ROW_ALL_NEG_INF, "all -inf");
  CHECK(crnn::ctc_row_kind(true, true) == crnn::CTC_ROW_NAN_POS_INF, "nan");
  for (int kind : {CRNN_CTC_LOGITS, CRNN_CTC_LOG_PROBS}) {
    CHECK(ctc_row_status(crnn::CTC_ROW_SOME_NEG_INF, kind) == CRNN_STATUS_SUCCESS, "-inf ok");
    CHECK(ctc_row_status(crnn::CTC_ROW_ALL_NEG_INF, kind) == CRNN_STATUS_NEG_INF_FRAME, "frame");
    CHECK(ctc_row_status(crnn::CTC_ROW_NAN_POS_INF, kind) == CRNN_STATUS_NONFINITE_INPUT, "nan");
  }
  CHECK(ctc_row_status(crnn::CTC_ROW_SOME_NEG_INF, CRNN_CTC_PROBS) == CRNN_STATUS_INVALID_VALUE,
        "-inf probability");
  CHECK(ctc_row_status(crnn::CTC_ROW_FINITE, CRNN_CTC_PROBS) == CRNN_STATUS_SUCCESS, "finite");
  CHECK(crnn::ctc_score_log_prob(-INFINITY, 0.5, CRNN_CTC_LOGITS) == -INFINITY, "lp of -inf");
  CHECK(crnn::ctc_score_log_prob(0.0f, 0.5, CRNN_CTC_PROBS) == -INFINITY, "lp of prob 0");
}

// Loss = sum(a * h + b * c) of one cell; its gradients from lstm_cell_backward (dh = a,
// dc_next = b) against central differences in each pre-activation and in c_prev.
void lstm_cell_backward_matches_differences() {
  const double a = 0.7, b = -0.4, eps = 1e-6;
  const double z0[5] = {0.3, -1.2, 0.8, 1.5, -0.6};  // zi, zf, zg, zo, c_prev
  const auto loss = [&](const double *z) {
    const crnn::LstmCellForward<double> f = crnn::lstm_cell_forward(z[0], z[1], z[2], z[3], z[4]);
    return a * f.h + b * f.c;
  };
  const crnn::LstmCellForward<double> f =
      crnn::lstm_cell_forward(z0[0], z0[1], z0[2], z0[3], z0[4]);
  const crnn::LstmCellBackward<double> g =
      crnn::lstm_cell_backward(a, b, f.i, f.f, f.g, f.o, z0[4], f.c);
  const double got[5] = {g.dzi, g.dzf, g.dzg, g.dzo, g.dc_prev};
  for (int k = 0; k < 5; ++k) {
    double zp[5], zm[5];
    for (int j = 0; j < 5; ++j) zp[j] = zm[j] = z0[j];
    zp[k] += eps, zm[k] -= eps;
    const double want = (loss(zp) - loss(zm)) / (2 * eps);
    CHECK(fabs(got[k] - want) < 1e-8, "d/dz[%d]: %.12g vs %.12g", k, got[k], want);
  }
  const crnn::LstmCellForward<float> ff = crnn::lstm_cell_forward(0.3f, -1.2f, 0.8f, 1.5f, -0.6f);
  CHECK(fabsf(ff.h - static_cast<float>(f.h)) < 1e-6f, "float cell: %g vs %g", ff.h, f.h);
}

void lstm_reserve_layout_walk() {
  for (int64_t L = 1; L <= 3; ++L)
    for (int64_t D = 1; D <= 2; ++D) {
      const int64_t T = 5, B = 3, H = 7;
      int64_t off = 0;
      for (int64_t l = 0; l < L; ++l) {
        CHECK(crnn::lstm_reserve_layer_offset(T, B, H, D, l) == off, "layer %lld offset",
              (long long)l);
        for (int64_t d = 0; d < D; ++d) {
          CHECK(crnn::lstm_reserve_gates_offset(T, B, H, D, l, d) == off, "gates");
          off += T * B * 4 * H;
          CHECK(crnn::lstm_reserve_cells_offset(T, B, H, D, l, d) == off, "cells");
          off += T * B * H;
        }
        if (l < L - 1) {
          CHECK(crnn::lstm_reserve_output_offset(T, B, H, D, l) == off, "output");
          off += T * B * D * H;
        }
      }
      CHECK(crnn::lstm_reserve_size(T, B, H, L, D) == off, "L=%lld D=%lld size %lld vs %lld",
            (long long)L, (long long)D, (long long)crnn::lstm_reserve_size(T, B, H, L, D),
            (long long)off);
    }
}

}  // namespace

int main() {
  ctc_band_covers_paths();
  ctc_alpha_beta_steps();
  ctc_value_rule();
  lstm_cell_backward_matches_differences();
  lstm_reserve_layout_walk();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_common_math: all passed\n");
  return 0;
}
