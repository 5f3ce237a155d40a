// The CUDA LSTM stack (kernels/cuda/lstm_forward.cu, lstm_backward.cu) on the SIMT executor
// (CRNN_DEVICE_CUDA_EMU) against the CPU kernels (themselves tested against a float64 LSTM):
// 1-3 layers, uni/bidirectional, with and without bias, h0/c0, seq_length (ragged, 0, T),
// H not a multiple of 32; inference and training (the reserve must equal the CPU's: one
// layout on every backend); the backward's dx, dh0, dc0, dW, db; both recurrence paths
// (persistent with grid syncs, and per-step launches: CRNN_FAST_LSTM_RECURRENCE=per_step).
// Outputs NaN-poisoned; two runs bit-identical. CI runs it under ASan+UBSan and TSan.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <vector>

#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

using Vec = std::vector<float>;

struct Case {
  const char *name;
  int64_t T, B, I, H;
  int L, D;
  bool bias, init_state, lengths;
};

struct Net {
  std::vector<Vec> w_ih, w_hh, b_ih, b_hh;
  std::vector<const float *> p_ih, p_hh, p_bih, p_bhh;
  crnn_lstm_weights_f32 w{};
};

void make_net(Net &n, const Case &c, std::mt19937 &rng) {
  std::normal_distribution<float> nd(0, 0.4f);
  for (int l = 0; l < c.L; ++l)
    for (int d = 0; d < c.D; ++d) {
      const int64_t in = l == 0 ? c.I : c.D * c.H;
      Vec a(4 * c.H * in), b(4 * c.H * c.H), bi(4 * c.H), bh(4 * c.H);
      for (Vec *v : {&a, &b, &bi, &bh})
        for (float &e : *v) e = nd(rng);
      n.w_ih.push_back(a), n.w_hh.push_back(b), n.b_ih.push_back(bi), n.b_hh.push_back(bh);
    }
  for (size_t i = 0; i < n.w_ih.size(); ++i) {
    n.p_ih.push_back(n.w_ih[i].data()), n.p_hh.push_back(n.w_hh[i].data());
    n.p_bih.push_back(n.b_ih[i].data()), n.p_bhh.push_back(n.b_hh[i].data());
  }
  n.w = {n.p_ih.data(), n.p_hh.data(), n.p_bih.data(), n.p_bhh.data()};
}

Vec randn(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> nd(0, 1);
  Vec v(n);
  for (float &e : v) e = nd(rng);
  return v;
}

struct Result {
  Vec y, hn, cn, reserve, dx, dh0, dc0;
  std::vector<Vec> dw_ih, dw_hh, db_ih, db_hh;
};

bool run(int32_t device, const Case &c, const Net &n, const Vec &x, const Vec &h0, const Vec &c0,
         const std::vector<int32_t> &len, const Vec &dy, const Vec &dhn, const Vec &dcn,
         Result &r) {
  crnn_lstm_desc d{c.T, c.B, c.I, c.H, c.L, c.D == 2, c.bias, 0, device, nullptr};
  const int64_t S = int64_t(c.L) * c.D * c.B * c.H;
  r.y.assign(c.T * c.B * c.D * c.H, NAN);
  r.hn.assign(S, NAN), r.cn.assign(S, NAN), r.dh0.assign(S, NAN), r.dc0.assign(S, NAN);
  r.reserve.assign(crnn_lstm_reserve_size(&d), NAN);
  r.dx.assign(c.T * c.B * c.I, NAN);
  std::vector<float *> pw_ih, pw_hh, pb_ih, pb_hh;
  r.dw_ih.clear(), r.dw_hh.clear(), r.db_ih.clear(), r.db_hh.clear();
  for (size_t i = 0; i < n.w_ih.size(); ++i) {
    r.dw_ih.emplace_back(n.w_ih[i].size(), NAN), r.dw_hh.emplace_back(n.w_hh[i].size(), NAN);
    r.db_ih.emplace_back(4 * c.H, NAN), r.db_hh.emplace_back(4 * c.H, NAN);
  }
  for (size_t i = 0; i < n.w_ih.size(); ++i) {
    pw_ih.push_back(r.dw_ih[i].data()), pw_hh.push_back(r.dw_hh[i].data());
    pb_ih.push_back(r.db_ih[i].data()), pb_hh.push_back(r.db_hh[i].data());
  }
  const float *ph0 = c.init_state ? h0.data() : nullptr, *pc0 = c.init_state ? c0.data() : nullptr;
  const int32_t *pl = c.lengths ? len.data() : nullptr;
  std::vector<char> ws(crnn_lstm_forward_workspace_size(&d));
  crnn_status_t st = crnn_lstm_forward_f32(r.y.data(), r.hn.data(), r.cn.data(), r.reserve.data(),
                                           x.data(), ph0, pc0, pl, &n.w, &d, ws.data(), ws.size());
  if (st == 0 && device != CRNN_DEVICE_CPU)
    st = crnn_device_error_read(ws.data(), device, nullptr, nullptr, nullptr);
  if (st != 0) return false;
  std::vector<char> wb(crnn_lstm_backward_workspace_size(&d));
  st = crnn_lstm_backward_f32(r.dx.data(), r.dh0.data(), r.dc0.data(), pw_ih.data(), pw_hh.data(),
                              pb_ih.data(), pb_hh.data(), dy.data(), dhn.data(), dcn.data(),
                              x.data(), r.y.data(), ph0, pc0, pl, r.reserve.data(), &n.w, &d,
                              wb.data(), wb.size());
  if (st == 0 && device != CRNN_DEVICE_CPU)
    st = crnn_device_error_read(wb.data(), device, nullptr, nullptr, nullptr);
  return st == 0;
}

// |a - b| <= atol + rtol |b|; NaN never passes. Returns the count of misses (first 3 printed).
int compare(const char *what, const char *name, const Vec &got, const Vec &want, double rtol,
            double atol) {
  int bad = 0;
  if (got.size() != want.size()) return fprintf(stderr, "%s %s: size\n", name, what), 1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double a = got[i], b = want[i];
    if (!(fabs(a - b) <= atol + rtol * fabs(b)) && bad++ < 3)
      fprintf(stderr, "  %s %s[%zu]: %.8g vs %.8g\n", name, what, i, a, b);
  }
  return bad;
}

bool bitwise(const Vec &a, const Vec &b) {
  return a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void check_case(const Case &c, std::mt19937 &rng) {
  Net n;
  make_net(n, c, rng);
  const int64_t S = int64_t(c.L) * c.D * c.B * c.H;
  const Vec x = randn(c.T * c.B * c.I, rng), h0 = randn(S, rng), c0 = randn(S, rng);
  const Vec dy = randn(c.T * c.B * c.D * c.H, rng), dhn = randn(S, rng), dcn = randn(S, rng);
  std::vector<int32_t> len(c.B);
  for (int64_t b = 0; b < c.B; ++b) len[b] = int32_t(rng() % (c.T + 1));
  if (c.B > 1) len[0] = int32_t(c.T);
  Result want, got, again;
  CHECK(run(CRNN_DEVICE_CPU, c, n, x, h0, c0, len, dy, dhn, dcn, want), "%s: cpu", c.name);
  CHECK(run(CRNN_DEVICE_CUDA_EMU, c, n, x, h0, c0, len, dy, dhn, dcn, got), "%s: emu", c.name);
  const double rt = 1e-4, at = 2e-5;  // float32: both sum the same terms in different orders
  int bad = compare("y", c.name, got.y, want.y, rt, at) +
            compare("h_n", c.name, got.hn, want.hn, rt, at) +
            compare("c_n", c.name, got.cn, want.cn, rt, at) +
            compare("reserve", c.name, got.reserve, want.reserve, rt, at) +
            compare("dx", c.name, got.dx, want.dx, rt, 1e-4) +
            compare("dh0", c.name, got.dh0, want.dh0, rt, 1e-4) +
            compare("dc0", c.name, got.dc0, want.dc0, rt, 1e-4);
  for (size_t i = 0; i < n.w_ih.size(); ++i) {
    bad += compare("dw_ih", c.name, got.dw_ih[i], want.dw_ih[i], 1e-4, 2e-4) +
           compare("dw_hh", c.name, got.dw_hh[i], want.dw_hh[i], 1e-4, 2e-4);
    if (c.bias)
      bad += compare("db_ih", c.name, got.db_ih[i], want.db_ih[i], 1e-4, 2e-4) +
             compare("db_hh", c.name, got.db_hh[i], want.db_hh[i], 1e-4, 2e-4);
  }
  CHECK(bad == 0, "%s: %d values differ from the CPU kernels", c.name, bad);
  CHECK(run(CRNN_DEVICE_CUDA_EMU, c, n, x, h0, c0, len, dy, dhn, dcn, again), "%s rerun", c.name);
  bool same = bitwise(again.y, got.y) && bitwise(again.reserve, got.reserve) &&
              bitwise(again.dx, got.dx) && bitwise(again.dh0, got.dh0);
  for (size_t i = 0; i < n.w_ih.size(); ++i)
    same = same && bitwise(again.dw_ih[i], got.dw_ih[i]) && bitwise(again.dw_hh[i], got.dw_hh[i]) &&
           bitwise(again.db_ih[i], got.db_ih[i]);
  CHECK(same, "%s: two runs differ", c.name);
}

void test_bad_length() {
  std::mt19937 rng(5);
  const Case c{"bad length", 4, 3, 5, 8, 1, 1, true, false, true};
  Net n;
  make_net(n, c, rng);
  const Vec x = randn(c.T * c.B * c.I, rng);
  Vec y(c.T * c.B * c.H), hn(c.B * c.H), cn(c.B * c.H);
  const int32_t len[3] = {4, 5, 2};  // 5 > T
  crnn_lstm_desc d{c.T, c.B, c.I, c.H, 1, 0, 1, 0, CRNN_DEVICE_CUDA_EMU, nullptr};
  std::vector<char> ws(crnn_lstm_forward_workspace_size(&d));
  int32_t idx = -7;
  CHECK(crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, x.data(), nullptr, nullptr,
                              len, &n.w, &d, ws.data(), ws.size()) == CRNN_STATUS_SUCCESS,
        "launch");
  CHECK(crnn_device_error_read(ws.data(), CRNN_DEVICE_CUDA_EMU, nullptr, &idx, nullptr) ==
                CRNN_STATUS_INVALID_VALUE &&
            idx == 1,
        "seq_length > T: index %d", idx);
}

}  // namespace

int main() {
  const Case cases[] = {
      {"T=1 B=1 uni", 1, 1, 3, 5, 1, 1, true, false, false},
      {"bi, h0/c0, lengths, H=20", 7, 4, 6, 20, 1, 2, true, true, true},
      {"2 layers bi, no bias", 6, 3, 5, 12, 2, 2, false, false, true},
      {"3 layers uni, h0/c0", 5, 2, 4, 9, 3, 1, true, true, false},
      {"H=33 (not a multiple of 32), 2 layers bi", 9, 5, 7, 33, 2, 2, true, true, true},
  };
  std::mt19937 rng(1);
  for (const char *path : {"", "per_step"}) {
    setenv("CRNN_FAST_LSTM_RECURRENCE", path, 1);
    for (const Case &c : cases) check_case(c, rng);
  }
  test_bad_length();
  if (failures) {
    fprintf(stderr, "test_cuda_lstm: %d failures\n", failures);
    return 1;
  }
  printf("test_cuda_lstm: OK\n");
  return 0;
}
