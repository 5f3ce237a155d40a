// C++ tests of the fused CPU LSTM forward and backward against a naive float64 LSTM written here
// from the equations (gate order i, f, g, o; both biases; seq_length; h0/c0), with NaN-poisoned
// outputs; status codes on bad input. Run by ctest (CI: also under ASan + UBSan).
#include <math.h>
#include <stdio.h>

#include <random>
#include <vector>

#include "check.h"
#include "crnn/lstm.h"

namespace {

struct Net {
  int64_t T, B, I, H, L, D;
  bool bias;
  std::vector<std::vector<float>> w_ih, w_hh, b_ih, b_hh;  // [l*D + d]
};

double sig(double x) {
  return 1 / (1 + exp(-x));
}

// Naive float64 stack: y (T, B, D*H), hn/cn (L*D, B, H).
void naive(const Net &n, const std::vector<float> &x, const float *h0, const float *c0,
           const int32_t *len, std::vector<double> &y, std::vector<double> &hn,
           std::vector<double> &cn) {
  std::vector<double> in(x.begin(), x.end());
  int64_t I = n.I;
  hn.assign(n.L * n.D * n.B * n.H, 0);
  cn = hn;
  for (int64_t l = 0; l < n.L; ++l) {
    std::vector<double> out(n.T * n.B * n.D * n.H, 0.0);
    for (int64_t d = 0; d < n.D; ++d) {
      const int64_t idx = l * n.D + d;
      for (int64_t b = 0; b < n.B; ++b) {
        std::vector<double> h(n.H), c(n.H), z(4 * n.H);
        for (int64_t j = 0; j < n.H; ++j) {
          h[j] = h0 ? h0[(idx * n.B + b) * n.H + j] : 0;
          c[j] = c0 ? c0[(idx * n.B + b) * n.H + j] : 0;
        }
        const int64_t Tb = len ? len[b] : n.T;
        for (int64_t s = 0; s < Tb; ++s) {
          const int64_t t = d ? Tb - 1 - s : s;
          for (int64_t r = 0; r < 4 * n.H; ++r) {
            double acc = n.bias ? double(n.b_ih[idx][r]) + n.b_hh[idx][r] : 0;
            for (int64_t k = 0; k < I; ++k)
              acc += n.w_ih[idx][r * I + k] * in[(t * n.B + b) * I + k];
            for (int64_t k = 0; k < n.H; ++k) acc += n.w_hh[idx][r * n.H + k] * h[k];
            z[r] = acc;
          }
          for (int64_t j = 0; j < n.H; ++j) {
            const double i = sig(z[j]), f = sig(z[n.H + j]), g = tanh(z[2 * n.H + j]),
                         o = sig(z[3 * n.H + j]);
            c[j] = f * c[j] + i * g;
            h[j] = o * tanh(c[j]);
            out[(t * n.B + b) * n.D * n.H + d * n.H + j] = h[j];
          }
        }
        for (int64_t j = 0; j < n.H; ++j) {
          hn[(idx * n.B + b) * n.H + j] = h[j];
          cn[(idx * n.B + b) * n.H + j] = c[j];
        }
      }
    }
    in = out;
    I = n.D * n.H;
  }
  y = in;
}

Net make_net(std::mt19937 &rng, int64_t T, int64_t B, int64_t I, int64_t H, int64_t L, int64_t D,
             bool bias) {
  Net n{T, B, I, H, L, D, bias, {}, {}, {}, {}};
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t in = l ? D * H : I;
      std::vector<float> a(4 * H * in), b(4 * H * H), c(4 * H), e(4 * H);
      for (auto *v : {&a, &b, &c, &e})
        for (auto &f : *v) f = u(rng);
      n.w_ih.push_back(a), n.w_hh.push_back(b), n.b_ih.push_back(c), n.b_hh.push_back(e);
    }
  return n;
}

// Backward with NaN-poisoned outputs and workspace: every gradient written and finite (the
// values are checked against the float64 reference in tests/test_lstm_tiles.py).
void backward_writes_all(const Net &n, const crnn_lstm_desc &d, const crnn_lstm_weights_f32 &w,
                         const std::vector<float> &x, const std::vector<float> &y, const float *h0,
                         const float *c0, const int32_t *len, const std::vector<float> &res,
                         std::mt19937 &rng) {
  std::normal_distribution<float> nd;
  const int64_t S = n.L * n.D * n.B * n.H;
  std::vector<float> dy(y.size()), dhn(S), dcn(S), dx(x.size(), NAN), dh0(S, NAN), dc0(S, NAN);
  for (auto *v : {&dy, &dhn, &dcn})
    for (auto &f : *v) f = nd(rng);
  std::vector<std::vector<float>> g;
  std::vector<float *> p[4];
  for (size_t i = 0; i < n.w_ih.size(); ++i)
    for (int k = 0; k < 4; ++k) {
      const size_t sz = k == 0 ? n.w_ih[i].size() : k == 1 ? n.w_hh[i].size() : n.b_ih[i].size();
      g.emplace_back(sz, NAN);
    }
  for (size_t i = 0; i < g.size(); ++i) p[i % 4].push_back(g[i].data());
  std::vector<float> ws(crnn_lstm_backward_workspace_size(&d) / 4 + 1, NAN);
  const crnn_status_t st = crnn_lstm_backward_f32(
      dx.data(), dh0.data(), dc0.data(), p[0].data(), p[1].data(), n.bias ? p[2].data() : nullptr,
      n.bias ? p[3].data() : nullptr, dy.data(), dhn.data(), dcn.data(), x.data(), y.data(), h0, c0,
      len, res.data(), &w, &d, ws.data(), ws.size() * 4);
  CHECK(st == CRNN_STATUS_SUCCESS, "backward status %d", st);
  for (auto *v : {&dx, &dh0, &dc0})
    for (float f : *v) CHECK(isfinite(f), "gradient not written (H=%ld)", long(n.H));
  for (size_t i = 0; i < g.size(); ++i)
    if (n.bias || i % 4 < 2)
      for (float f : g[i]) CHECK(isfinite(f), "weight gradient not written (H=%ld)", long(n.H));
}

void test_against_naive() {
  std::mt19937 rng(0);
  struct Cfg {
    int64_t T, B, I, H, L, D;
    bool bias, state, ragged;
  };
  const Cfg cfgs[] = {{1, 1, 3, 2, 1, 1, true, false, false},
                      {6, 3, 5, 7, 2, 2, true, true, true},
                      {4, 5, 8, 5, 3, 2, false, true, true},
                      {9, 2, 4, 17, 1, 2, true, false, true},
                      {5, 4, 16, 13, 2, 1, true, true, false},
                      // the recurrence's tiles: 6 samples x 8 (forward) / 16 (backward) units
                      {3, 7, 4, 1, 1, 2, true, true, true},
                      {2, 13, 5, 33, 2, 2, true, false, true},
                      {1, 6, 3, 9, 1, 1, true, true, false}};
  for (const Cfg &g : cfgs) {
    Net n = make_net(rng, g.T, g.B, g.I, g.H, g.L, g.D, g.bias);
    std::normal_distribution<float> nd;
    std::vector<float> x(g.T * g.B * g.I), h0(g.L * g.D * g.B * g.H), c0(h0.size());
    for (auto *v : {&x, &h0, &c0})
      for (auto &f : *v) f = nd(rng);
    std::vector<int32_t> len(g.B);
    for (int64_t b = 0; b < g.B; ++b) len[b] = b == 0 ? 0 : int32_t(rng() % (g.T + 1));
    if (g.B > 1) len[g.B - 1] = int32_t(g.T);
    const int32_t *lp = g.ragged ? len.data() : nullptr;
    const float *h0p = g.state ? h0.data() : nullptr, *c0p = g.state ? c0.data() : nullptr;
    std::vector<double> ry, rh, rc;
    naive(n, x, h0p, c0p, lp, ry, rh, rc);

    crnn_lstm_desc d{g.T,    g.B, g.I, g.H, int32_t(g.L), g.D == 2, g.bias, 0, CRNN_DEVICE_CPU,
                     nullptr};
    std::vector<const float *> wi, wh, bi, bh;
    for (size_t i = 0; i < n.w_ih.size(); ++i)
      wi.push_back(n.w_ih[i].data()), wh.push_back(n.w_hh[i].data()),
          bi.push_back(n.b_ih[i].data()), bh.push_back(n.b_hh[i].data());
    crnn_lstm_weights_f32 w{wi.data(), wh.data(), bi.data(), bh.data()};
    for (int train = 0; train < 2; ++train) {
      std::vector<float> y(ry.size(), NAN), hn(rh.size(), NAN), cn(rc.size(), NAN);
      std::vector<float> res(train ? crnn_lstm_reserve_size(&d) : 0, NAN);
      std::vector<float> ws(crnn_lstm_forward_workspace_size(&d) / 4 + 1, NAN);
      const crnn_status_t st =
          crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), train ? res.data() : nullptr,
                                x.data(), h0p, c0p, lp, &w, &d, ws.data(), ws.size() * 4);
      CHECK(st == CRNN_STATUS_SUCCESS, "status %d", st);
      double worst = 0;
      for (size_t i = 0; i < y.size(); ++i) worst = fmax(worst, fabs(y[i] - ry[i]));
      for (size_t i = 0; i < hn.size(); ++i)
        worst = fmax(worst, fmax(fabs(hn[i] - rh[i]), fabs(cn[i] - rc[i])));
      CHECK(worst < 2e-6, "T=%ld B=%ld H=%ld L=%ld D=%ld: max err %g", long(g.T), long(g.B),
            long(g.H), long(g.L), long(g.D), worst);  // NaN fails too
      for (float v : res) CHECK(!isnan(v), "reserve left unwritten");
      if (train) backward_writes_all(n, d, w, x, y, h0p, c0p, lp, res, rng);
    }
  }
}

void test_statuses() {
  std::mt19937 rng(1);
  Net n = make_net(rng, 3, 2, 4, 3, 1, 1, true);
  crnn_lstm_desc d{3, 2, 4, 3, 1, 0, 1, 0, CRNN_DEVICE_CPU, nullptr};
  const float *wi = n.w_ih[0].data(), *wh = n.w_hh[0].data(), *bi = n.b_ih[0].data(),
              *bh = n.b_hh[0].data();
  crnn_lstm_weights_f32 w{&wi, &wh, &bi, &bh};
  std::vector<float> x(24, 0.5f), y(18), hn(6), cn(6);
  std::vector<char> ws(crnn_lstm_forward_workspace_size(&d));
  const int32_t bad_len[2] = {1, 4};
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, x.data(), nullptr, nullptr,
                              bad_len, &w, &d, ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE,
        "seq_length > T");
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, x.data(), nullptr, nullptr,
                              nullptr, &w, &d, ws.data(), 8) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "workspace");
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, nullptr, nullptr, nullptr,
                              nullptr, &w, &d, ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE,
        "null x");
  crnn_lstm_desc bad = d;
  bad.H = 0;
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, x.data(), nullptr, nullptr,
                              nullptr, &w, &bad, ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE,
        "H = 0");
}

// Backward: every output written (NaN-poisoned), and d x, d h0 and d w_ih of loss =
// sum(y * R) match central finite differences of the naive float64 forward.
void test_backward_finite_differences() {
  std::mt19937 rng(2);
  const int64_t T = 4, B = 3, I = 3, H = 4, L = 2, D = 2;
  Net n = make_net(rng, T, B, I, H, L, D, true);
  std::normal_distribution<float> nd;
  std::vector<float> x(T * B * I), h0(L * D * B * H), c0(h0.size()), R(T * B * D * H);
  for (auto *v : {&x, &h0, &c0, &R})
    for (auto &f : *v) f = nd(rng);
  const int32_t len[3] = {4, 0, 2};
  crnn_lstm_desc d{T, B, I, H, int32_t(L), 1, 1, 0, CRNN_DEVICE_CPU, nullptr};
  std::vector<const float *> wi, wh, bi, bh;
  for (size_t i = 0; i < n.w_ih.size(); ++i)
    wi.push_back(n.w_ih[i].data()), wh.push_back(n.w_hh[i].data()), bi.push_back(n.b_ih[i].data()),
        bh.push_back(n.b_hh[i].data());
  crnn_lstm_weights_f32 w{wi.data(), wh.data(), bi.data(), bh.data()};
  std::vector<float> y(T * B * D * H), hn(h0.size()), cn(h0.size());
  std::vector<float> res(crnn_lstm_reserve_size(&d));
  std::vector<char> ws(crnn_lstm_forward_workspace_size(&d));
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), res.data(), x.data(), h0.data(),
                              c0.data(), len, &w, &d, ws.data(), ws.size()) == CRNN_STATUS_SUCCESS,
        "forward");
  std::vector<float> dx(x.size(), NAN), dh0(h0.size(), NAN), dc0(h0.size(), NAN);
  std::vector<std::vector<float>> gwi, gwh, gbi, gbh;
  std::vector<float *> pwi, pwh, pbi, pbh;
  for (size_t i = 0; i < n.w_ih.size(); ++i) {
    gwi.emplace_back(n.w_ih[i].size(), NAN), gwh.emplace_back(n.w_hh[i].size(), NAN);
    gbi.emplace_back(n.b_ih[i].size(), NAN), gbh.emplace_back(n.b_hh[i].size(), NAN);
  }
  for (size_t i = 0; i < gwi.size(); ++i)
    pwi.push_back(gwi[i].data()), pwh.push_back(gwh[i].data()), pbi.push_back(gbi[i].data()),
        pbh.push_back(gbh[i].data());
  std::vector<char> wsb(crnn_lstm_backward_workspace_size(&d));
  CHECK(crnn_lstm_backward_f32(dx.data(), dh0.data(), dc0.data(), pwi.data(), pwh.data(),
                               pbi.data(), pbh.data(), R.data(), nullptr, nullptr, x.data(),
                               y.data(), h0.data(), c0.data(), len, res.data(), &w, &d, wsb.data(),
                               wsb.size()) == CRNN_STATUS_SUCCESS,
        "backward");
  for (auto *v : {&dx, &dh0, &dc0})
    for (float f : *v) CHECK(!isnan(f), "gradient left unwritten");
  for (auto *g : {&gwi, &gwh, &gbi, &gbh})
    for (auto &v : *g)
      for (float f : v) CHECK(!isnan(f), "weight gradient left unwritten");

  const auto loss = [&](const Net &net, const std::vector<float> &xx,
                        const std::vector<float> &hh) {
    std::vector<double> yy, a, b;
    naive(net, xx, hh.data(), c0.data(), len, yy, a, b);
    double s = 0;
    for (size_t i = 0; i < yy.size(); ++i) s += yy[i] * R[i];
    return s;
  };
  const float eps = 1e-2f;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<float> xp = x, xm = x;
    xp[i] += eps, xm[i] -= eps;
    worst = fmax(worst, fabs((loss(n, xp, h0) - loss(n, xm, h0)) / (2 * eps) - dx[i]));
  }
  for (size_t i = 0; i < h0.size(); ++i) {
    std::vector<float> hp = h0, hm = h0;
    hp[i] += eps, hm[i] -= eps;
    worst = fmax(worst, fabs((loss(n, x, hp) - loss(n, x, hm)) / (2 * eps) - dh0[i]));
  }
  for (size_t k = 0; k < n.w_ih.size(); ++k)
    for (size_t i = 0; i < n.w_ih[k].size(); ++i) {
      Net np = n, nm = n;
      np.w_ih[k][i] += eps, nm.w_ih[k][i] -= eps;
      worst = fmax(worst, fabs((loss(np, x, h0) - loss(nm, x, h0)) / (2 * eps) - gwi[k][i]));
    }
  printf("lstm backward vs finite differences: max abs err %.3g\n", worst);
  CHECK(worst < 2e-3, "backward vs finite differences: %g", worst);  // eps^2 truncation
}

}  // namespace

int main() {
  test_against_naive();
  test_statuses();
  test_backward_finite_differences();
  if (failures) {
    fprintf(stderr, "test_lstm_kernels: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_lstm_kernels: all checks passed\n");
  return 0;
}
