// The LSTM Ascend C kernels (kernels/ascend/op_kernel/lstm_forward.cpp, lstm_backward.cpp) on
// our host model of the API (the cube through its Matmul model) against the CPU kernels
// crnn_lstm_forward_f32 / crnn_lstm_backward_f32 (device 0, themselves tested against the
// float64 reference): H = 8, 13, 24, 50, 256 (13, 24, 50 not multiples of 8 / 16), 1-3 layers,
// uni- and bidirectional, with and without bias, h0 / c0 and dh_n / dc_n given and NULL, ragged
// seq_length with 0 and T, T = 1, B = 1, B above the cores, several UB tiles per slice; core
// counts 1, 3 and 40. Outputs are NaN-poisoned before each run.
// Error rule (fp32): the GEMMs sum in another order than OpenBLAS (the model: ascending k, see
// emu_matmul.h) and Sigmoid / Tanh are libm-based where the CPU uses lstm_math.h's fast forms,
// so the results differ by rounding only: forward outputs (y, h_n, c_n, reserve) within
// 1e-5 + 1e-5 |cpu|, gradients within 2e-5 + 2e-5 |cpu| (measured: 1.9e-7 and 5.6e-7 relative
// to 1 + |cpu|, printed; the gradients sum over up to T*B = 192 rows here: the bound leaves
// room for the growth of the rounding at larger shapes). Two runs, every core count, and
// training vs inference (y, h_n, c_n) bit-identical. A seq_length outside [0, T] comes back through
// the record (crnn_ascend_emu_device_error_read) as INVALID_VALUE with its sample; argument errors
// as the CUDA backend's statuses.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

#include "../../kernels/ascend/ascend_kernels.h"
#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

struct Case {
  int T, B, I, H, L, bi, bias, h0, c0, seq;  // seq: 0 none, 1 ragged with 0 and T
};

struct Net {
  Case c;
  int D;
  std::vector<std::vector<float>> wih, whh, bih, bhh;
  std::vector<const float *> pwih, pwhh, pbih, pbhh;
  crnn_lstm_weights_f32 w;
  std::vector<float> x, h0, c0;
  std::vector<int32_t> seq;
  crnn_lstm_desc desc;
};

std::vector<float> randv(std::mt19937 &g, size_t n, float s) {
  std::uniform_real_distribution<float> u(-s, s);
  std::vector<float> v(n);
  for (float &f : v) f = u(g);
  return v;
}

Net make_net(const Case &c, unsigned seed) {
  Net n;
  n.c = c;
  n.D = c.bi ? 2 : 1;
  std::mt19937 g(seed);
  const float s = 1.0f / sqrtf(float(c.H));
  for (int l = 0; l < c.L; ++l)
    for (int d = 0; d < n.D; ++d) {
      const int Il = l == 0 ? c.I : n.D * c.H;
      n.wih.push_back(randv(g, size_t(4) * c.H * Il, s));
      n.whh.push_back(randv(g, size_t(4) * c.H * c.H, s));
      n.bih.push_back(randv(g, size_t(4) * c.H, s));
      n.bhh.push_back(randv(g, size_t(4) * c.H, s));
    }
  for (size_t i = 0; i < n.wih.size(); ++i) {
    n.pwih.push_back(n.wih[i].data()), n.pwhh.push_back(n.whh[i].data());
    n.pbih.push_back(n.bih[i].data()), n.pbhh.push_back(n.bhh[i].data());
  }
  n.w = {n.pwih.data(), n.pwhh.data(), n.pbih.data(), n.pbhh.data()};
  n.x = randv(g, size_t(c.T) * c.B * c.I, 1.0f);
  const size_t st = size_t(c.L) * n.D * c.B * c.H;
  n.h0 = randv(g, st, 0.5f);
  n.c0 = randv(g, st, 0.5f);
  for (int b = 0; b < c.B; ++b) n.seq.push_back(b == 0 ? c.T : b == 1 ? 0 : int(g() % (c.T + 1)));
  n.desc = crnn_lstm_desc{c.T, c.B, c.I, c.H, c.L, c.bi, c.bias, 1, 0, nullptr};
  return n;
}

struct Fwd {
  std::vector<float> y, hn, cn, reserve;
  crnn_status_t st = CRNN_STATUS_SUCCESS;
};

// cores 0: the CPU kernel; else the Ascend kernel on at most `cores` vector cores.
Fwd forward(const Net &n, uint32_t cores, bool train) {
  const Case &c = n.c;
  crnn_lstm_desc d = n.desc;
  Fwd f;
  f.y.assign(size_t(c.T) * c.B * n.D * c.H, NAN);
  f.hn.assign(size_t(c.L) * n.D * c.B * c.H, NAN);
  f.cn = f.hn;
  if (train) f.reserve.assign(crnn_lstm_reserve_size(&d), NAN);
  const float *h0 = c.h0 ? n.h0.data() : nullptr, *c0 = c.c0 ? n.c0.data() : nullptr;
  const int32_t *seq = c.seq ? n.seq.data() : nullptr;
  float *res = train ? f.reserve.data() : nullptr;
  if (cores == 0) {
    std::vector<char> ws(crnn_lstm_forward_workspace_size(&d));
    f.st = crnn_lstm_forward_f32(f.y.data(), f.hn.data(), f.cn.data(), res, n.x.data(), h0, c0, seq,
                                 &n.w, &d, ws.data(), ws.size());
    return f;
  }
  std::vector<char> ws(crnn_ascend_emu_lstm_forward_workspace_size(&d));
  CHECK(!ws.empty(), "workspace size 0");
  f.st = crnn::ascend_emu_kernels::lstm_forward_f32(cores, f.y.data(), f.hn.data(), f.cn.data(),
                                                    res, n.x.data(), h0, c0, seq, &n.w, &d,
                                                    ws.data(), ws.size());
  int32_t idx = -9, frame = -9;
  const crnn_status_t rec = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &idx, &frame);
  CHECK(rec == CRNN_STATUS_SUCCESS && idx == -1, "record %d at %d", rec, idx);
  return f;
}

double worst_fwd = 0, worst_bwd = 0;

void close_to(const std::vector<float> &got, const std::vector<float> &want, double atol,
              double rtol, double *worst, const char *what, const Case &c) {
  CHECK(got.size() == want.size(), "%s size", what);
  int bad = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double e = fabs(double(got[i]) - want[i]);
    if (!(e <= atol + rtol * fabs(want[i]))) {
      if (bad++ < 3)
        CHECK(false, "%s[%zu] = %.9g, cpu %.9g (T%d B%d I%d H%d L%d bi%d)", what, i, got[i],
              want[i], c.T, c.B, c.I, c.H, c.L, c.bi);
    } else if (e / (1.0 + fabs(want[i])) > *worst) {
      *worst = e / (1.0 + fabs(want[i]));
    }
  }
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const Case kCases[] = {
    {5, 3, 7, 13, 1, 0, 1, 1, 1, 0},   {6, 4, 5, 50, 2, 1, 1, 0, 0, 1},
    {1, 1, 3, 13, 3, 1, 1, 1, 1, 0},   {4, 5, 9, 8, 3, 0, 0, 1, 0, 1},
    {7, 9, 6, 13, 2, 1, 1, 1, 1, 1},   {3, 45, 4, 24, 1, 1, 1, 0, 1, 1},
    {26, 6, 16, 24, 2, 1, 1, 0, 0, 1}, {2, 1, 5, 50, 1, 0, 1, 0, 0, 1},
    {2, 64, 8, 256, 1, 1, 1, 1, 1, 1},  // the CRNN tile (H = 256, B = 64: R = 4 on 40 cores)
};

void test_forward() {
  unsigned seed = 1;
  for (const Case &c : kCases) {
    const Net n = make_net(c, seed++);
    const Fwd cpu = forward(n, 0, true);
    CHECK(cpu.st == CRNN_STATUS_SUCCESS, "cpu status %d", cpu.st);
    Fwd first;
    for (uint32_t cores : {1u, 3u, 40u}) {
      const Fwd a = forward(n, cores, true), b = forward(n, cores, true);
      CHECK(a.st == CRNN_STATUS_SUCCESS, "status %d (cores %u)", a.st, cores);
      close_to(a.y, cpu.y, 1e-5, 1e-5, &worst_fwd, "y", c);
      close_to(a.hn, cpu.hn, 1e-5, 1e-5, &worst_fwd, "h_n", c);
      close_to(a.cn, cpu.cn, 1e-5, 1e-5, &worst_fwd, "c_n", c);
      close_to(a.reserve, cpu.reserve, 1e-5, 1e-5, &worst_fwd, "reserve", c);
      CHECK(same_bits(a.y, b.y) && same_bits(a.reserve, b.reserve) && same_bits(a.hn, b.hn) &&
                same_bits(a.cn, b.cn),
            "two runs differ (cores %u)", cores);
      if (cores == 1) {
        first = a;
      } else {
        CHECK(same_bits(a.y, first.y) && same_bits(a.reserve, first.reserve) &&
                  same_bits(a.cn, first.cn),
              "cores %u differ from 1 core (H%d)", cores, c.H);
      }
      const Fwd inf = forward(n, cores, false);
      CHECK(same_bits(inf.y, a.y) && same_bits(inf.hn, a.hn) && same_bits(inf.cn, a.cn),
            "inference differs from training (cores %u)", cores);
    }
  }
}

struct Bwd {
  std::vector<float> dx, dh0, dc0;
  std::vector<std::vector<float>> dwih, dwhh, dbih, dbhh;
  crnn_status_t st = CRNN_STATUS_SUCCESS;
};

// The upstream gradients of one case; dh_n / dc_n NULL when `no_state`.
struct Upstream {
  std::vector<float> dy, dhn, dcn;
  bool no_state;
};

// cores 0: the CPU kernel; else the Ascend kernel. Both read the CPU forward's reserve.
Bwd backward(const Net &n, const Fwd &f, const Upstream &u, uint32_t cores) {
  const Case &c = n.c;
  crnn_lstm_desc d = n.desc;
  Bwd g;
  g.dx.assign(size_t(c.T) * c.B * c.I, NAN);
  const bool states = !u.no_state;  // dh0 / dc0 requested in the same cases as dh_n / dc_n
  g.dh0.assign(size_t(c.L) * n.D * c.B * c.H, NAN);
  g.dc0 = g.dh0;
  std::vector<float *> pwih, pwhh, pbih, pbhh;
  for (int l = 0; l < c.L; ++l)
    for (int dd = 0; dd < n.D; ++dd) {
      const int Il = l == 0 ? c.I : n.D * c.H;
      g.dwih.emplace_back(size_t(4) * c.H * Il, NAN);
      g.dwhh.emplace_back(size_t(4) * c.H * c.H, NAN);
      g.dbih.emplace_back(size_t(4) * c.H, NAN);
      g.dbhh.emplace_back(size_t(4) * c.H, NAN);
    }
  for (size_t i = 0; i < g.dwih.size(); ++i) {
    pwih.push_back(g.dwih[i].data()), pwhh.push_back(g.dwhh[i].data());
    pbih.push_back(g.dbih[i].data()), pbhh.push_back(g.dbhh[i].data());
  }
  const float *h0 = c.h0 ? n.h0.data() : nullptr, *c0 = c.c0 ? n.c0.data() : nullptr;
  const int32_t *seq = c.seq ? n.seq.data() : nullptr;
  const float *dhn = states ? u.dhn.data() : nullptr, *dcn = states ? u.dcn.data() : nullptr;
  float *dh0 = states ? g.dh0.data() : nullptr, *dc0 = states ? g.dc0.data() : nullptr;
  if (cores == 0) {
    std::vector<char> ws(crnn_lstm_backward_workspace_size(&d));
    g.st = crnn_lstm_backward_f32(g.dx.data(), dh0, dc0, pwih.data(), pwhh.data(), pbih.data(),
                                  pbhh.data(), u.dy.data(), dhn, dcn, n.x.data(), f.y.data(), h0,
                                  c0, seq, f.reserve.data(), &n.w, &d, ws.data(), ws.size());
    return g;
  }
  std::vector<char> ws(crnn_ascend_emu_lstm_backward_workspace_size(&d));
  CHECK(!ws.empty(), "workspace size 0");
  g.st = crnn::ascend_emu_kernels::lstm_backward_f32(
      cores, g.dx.data(), dh0, dc0, pwih.data(), pwhh.data(), pbih.data(), pbhh.data(), u.dy.data(),
      dhn, dcn, n.x.data(), f.y.data(), h0, c0, seq, f.reserve.data(), &n.w, &d, ws.data(),
      ws.size());
  int32_t idx = -9, frame = -9;
  const crnn_status_t rec = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &idx, &frame);
  CHECK(rec == CRNN_STATUS_SUCCESS && idx == -1, "record %d at %d", rec, idx);
  return g;
}

bool same_bwd(const Bwd &a, const Bwd &b) {
  bool same = same_bits(a.dx, b.dx) && same_bits(a.dh0, b.dh0) && same_bits(a.dc0, b.dc0);
  for (size_t i = 0; i < a.dwih.size(); ++i)
    same = same && same_bits(a.dwih[i], b.dwih[i]) && same_bits(a.dwhh[i], b.dwhh[i]) &&
           same_bits(a.dbih[i], b.dbih[i]) && same_bits(a.dbhh[i], b.dbhh[i]);
  return same;
}

void test_backward() {
  unsigned seed = 100;
  for (const Case &c : kCases) {
    const Net n = make_net(c, seed);
    std::mt19937 g(seed++);
    const Fwd f = forward(n, 0, true);
    const size_t st = size_t(c.L) * n.D * c.B * c.H;
    const Upstream u{randv(g, f.y.size(), 1.0f), randv(g, st, 1.0f), randv(g, st, 1.0f),
                     c.T % 2 == 0};
    const Bwd cpu = backward(n, f, u, 0);
    CHECK(cpu.st == CRNN_STATUS_SUCCESS, "cpu status %d", cpu.st);
    Bwd first;
    for (uint32_t cores : {1u, 3u, 40u}) {
      const Bwd a = backward(n, f, u, cores), b = backward(n, f, u, cores);
      CHECK(a.st == CRNN_STATUS_SUCCESS, "status %d (cores %u)", a.st, cores);
      close_to(a.dx, cpu.dx, 2e-5, 2e-5, &worst_bwd, "dx", c);
      if (!u.no_state) {
        close_to(a.dh0, cpu.dh0, 2e-5, 2e-5, &worst_bwd, "dh0", c);
        close_to(a.dc0, cpu.dc0, 2e-5, 2e-5, &worst_bwd, "dc0", c);
      }
      for (size_t i = 0; i < a.dwih.size(); ++i) {
        close_to(a.dwih[i], cpu.dwih[i], 2e-5, 2e-5, &worst_bwd, "dw_ih", c);
        close_to(a.dwhh[i], cpu.dwhh[i], 2e-5, 2e-5, &worst_bwd, "dw_hh", c);
        if (c.bias) {
          close_to(a.dbih[i], cpu.dbih[i], 2e-5, 2e-5, &worst_bwd, "db_ih", c);
          CHECK(same_bits(a.dbih[i], a.dbhh[i]), "db_ih != db_hh");
        }
      }
      CHECK(same_bwd(a, b), "two runs differ (cores %u)", cores);
      if (cores == 1)
        first = a;
      else
        CHECK(same_bwd(a, first), "cores %u differ from 1 core (H%d)", cores, c.H);
    }
  }
}

void test_forward_errors() {
  const Case c{3, 4, 5, 13, 2, 1, 1, 0, 0, 1};
  Net n = make_net(c, 99);
  crnn_lstm_desc d = n.desc;
  std::vector<float> y(size_t(c.T) * c.B * 2 * c.H), hn(size_t(c.L) * 2 * c.B * c.H), cn = hn;
  std::vector<char> ws(crnn_ascend_emu_lstm_forward_workspace_size(&d));
  n.seq[2] = c.T + 1;
  n.seq[3] = -1;
  crnn_status_t st =
      crnn_ascend_emu_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, n.x.data(), nullptr,
                                       nullptr, n.seq.data(), &n.w, &d, ws.data(), ws.size());
  CHECK(st == CRNN_STATUS_SUCCESS, "status %d", st);
  int32_t idx = -9, frame = -9;
  st = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &idx, &frame);
  CHECK(st == CRNN_STATUS_INVALID_VALUE && idx == 2 && frame == -1, "record %d at %d, %d", st, idx,
        frame);
  st = crnn_ascend_emu_lstm_forward_f32(nullptr, hn.data(), cn.data(), nullptr, n.x.data(), nullptr,
                                        nullptr, nullptr, &n.w, &d, ws.data(), ws.size());
  CHECK(st == CRNN_STATUS_INVALID_VALUE, "null y: %d", st);
  st =
      crnn_ascend_emu_lstm_forward_f32(y.data(), hn.data(), cn.data(), nullptr, n.x.data(), nullptr,
                                       nullptr, nullptr, &n.w, &d, ws.data(), ws.size() - 1);
  CHECK(st == CRNN_STATUS_WORKSPACE_TOO_SMALL, "small workspace: %d", st);
  crnn_lstm_desc big = d;
  big.H = 2000, big.num_layers = 1, big.bidirectional = 0;
  std::vector<float> w0(size_t(8000) * 5), w1(size_t(8000) * 2000), b0(8000);
  const float *pw0 = w0.data(), *pw1 = w1.data(), *pb = b0.data();
  const crnn_lstm_weights_f32 bw{&pw0, &pw1, &pb, &pb};
  std::vector<char> bws(crnn_ascend_emu_lstm_forward_workspace_size(&big));
  std::vector<float> by(size_t(c.T) * c.B * 2000), bh(size_t(c.B) * 2000), bc = bh;
  st = crnn_ascend_emu_lstm_forward_f32(by.data(), bh.data(), bc.data(), nullptr, n.x.data(),
                                        nullptr, nullptr, nullptr, &bw, &big, bws.data(),
                                        bws.size());
  CHECK(st == CRNN_STATUS_NOT_SUPPORTED, "H = 2000: %d", st);
  crnn_lstm_desc deep = d;  // 18 (layer, direction) pairs: beyond the tiling's 16 weight offsets
  deep.num_layers = 9, deep.bidirectional = 1;
  std::vector<const float *> many(18, pb);
  const crnn_lstm_weights_f32 mw{many.data(), many.data(), many.data(), many.data()};
  CHECK(crnn_ascend_emu_lstm_forward_workspace_size(&deep) == 0, "L*D = 18: no workspace size");
  st = crnn_ascend_emu_lstm_forward_f32(by.data(), bh.data(), bc.data(), nullptr, n.x.data(),
                                        nullptr, nullptr, nullptr, &mw, &deep, bws.data(),
                                        bws.size());
  CHECK(st == CRNN_STATUS_NOT_SUPPORTED, "L*D = 18: %d", st);
}

void test_backward_errors() {
  const Case c{3, 4, 5, 13, 2, 1, 1, 0, 0, 1};
  Net n = make_net(c, 7);
  const Fwd f = forward(n, 0, true);
  crnn_lstm_desc d = n.desc;
  std::vector<float> dx(n.x.size()), dy(f.y.size(), 0.5f);
  std::vector<std::vector<float>> gw;
  std::vector<float *> p[4];
  for (int i = 0; i < c.L * 2; ++i)
    for (int k = 0; k < 4; ++k) {
      const size_t sizes[4] = {n.wih[i].size(), n.whh[i].size(), n.bih[i].size(), n.bhh[i].size()};
      gw.emplace_back(sizes[k]);
    }
  for (int i = 0; i < c.L * 2; ++i)
    for (int k = 0; k < 4; ++k) p[k].push_back(gw[i * 4 + k].data());
  std::vector<char> ws(crnn_ascend_emu_lstm_backward_workspace_size(&d));
  const auto call = [&](float *dxp, size_t bytes, const int32_t *seq) {
    return crnn_ascend_emu_lstm_backward_f32(dxp, nullptr, nullptr, p[0].data(), p[1].data(),
                                             p[2].data(), p[3].data(), dy.data(), nullptr, nullptr,
                                             n.x.data(), f.y.data(), nullptr, nullptr, seq,
                                             f.reserve.data(), &n.w, &d, ws.data(), bytes);
  };
  n.seq[1] = -3;
  crnn_status_t st = call(dx.data(), ws.size(), n.seq.data());
  CHECK(st == CRNN_STATUS_SUCCESS, "status %d", st);
  int32_t idx = -9, frame = -9;
  st = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &idx, &frame);
  CHECK(st == CRNN_STATUS_INVALID_VALUE && idx == 1, "record %d at %d", st, idx);
  CHECK(call(nullptr, ws.size(), nullptr) == CRNN_STATUS_INVALID_VALUE, "null dx");
  CHECK(call(dx.data(), ws.size() - 1, nullptr) == CRNN_STATUS_WORKSPACE_TOO_SMALL, "workspace");
  p[1][3] = nullptr;
  CHECK(call(dx.data(), ws.size(), nullptr) == CRNN_STATUS_INVALID_VALUE, "null dw_hh[3]");
}

}  // namespace

int main() {
  test_forward();
  test_forward_errors();
  test_backward();
  test_backward_errors();
  printf("test_ascend_lstm: worst error (relative to 1 + |cpu|): forward %.3g, backward %.3g\n",
         worst_fwd, worst_bwd);
  if (failures) {
    fprintf(stderr, "test_ascend_lstm: %d failures\n", failures);
    return 1;
  }
  printf("test_ascend_lstm: all passed\n");
  return 0;
}
