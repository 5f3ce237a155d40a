// The extern "C" kernel entry points allocate nothing (no operator new: std::vector,
// std::function, ...): they use only the caller's workspace and return a status. Counts
// operator new calls during a second call of each entry (the first creates the thread pool,
// once per process). Run by ctest (CI: also under ASan + UBSan).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <atomic>
#include <new>
#include <vector>

#include "check.h"
#include "crnn/adamw.h"
#include "crnn/conv2d.h"
#include "crnn/conv_block.h"
#include "crnn/ctc_decode.h"
#include "crnn/ctc_loss.h"
#include "crnn/lstm.h"

static std::atomic<long> g_news{0};

void *operator new(size_t n) {
  g_news.fetch_add(1);
  if (void *p = malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void *p) noexcept {
  free(p);
}
void operator delete(void *p, size_t) noexcept {
  free(p);
}

namespace {

// Calls fn twice (the first may create the thread pool) and checks the second call's status
// and that it made no allocation.
template <typename F>
void check_no_alloc(const char *name, F fn) {
  CHECK(fn() == CRNN_STATUS_SUCCESS, "%s: first call", name);
  const long before = g_news.load();
  const int st = fn();
  const long n = g_news.load() - before;
  CHECK(st == CRNN_STATUS_SUCCESS, "%s: status %d", name, st);
  CHECK(n == 0, "%s: %ld allocations in the call", name, n);
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 7919) % 23) - 1.0f;
  return v;
}

void ctc() {
  const int64_t T = 12, B = 4, C = 9, S = 3;
  const std::vector<float> x = ramp(T * B * C, 0.1f);
  const std::vector<double> xd(x.begin(), x.end());
  const std::vector<int32_t> lab = {1, 2, 3, 4, 4, 0, 5, 0, 0, 6, 7, 8};
  const std::vector<int32_t> il = {12, 10, 7, 12}, ll = {3, 2, 1, 3};
  std::vector<float> loss(B), grad(T * B * C);
  std::vector<double> lossd(B), gradd(T * B * C);
  crnn_ctc_loss_options o{};
  o.num_threads = 2;
  std::vector<char> ws(crnn_ctc_loss_workspace_size(T, B, C, S, sizeof(double), &o));
  check_no_alloc("crnn_ctc_loss_f32", [&] {
    return crnn_ctc_loss_f32(loss.data(), grad.data(), x.data(), lab.data(), il.data(), ll.data(),
                             T, B, C, S, ws.data(), ws.size(), &o);
  });
  check_no_alloc("crnn_ctc_loss_f64", [&] {
    return crnn_ctc_loss_f64(lossd.data(), gradd.data(), xd.data(), lab.data(), il.data(),
                             ll.data(), T, B, C, S, ws.data(), ws.size(), &o);
  });
  // float16 / bfloat16: the float32 staging lives in the workspace too
  const std::vector<uint16_t> xh(x.size(), 0x3c00);  // 1.0 in float16; 2^-7 + 1 in bfloat16
  std::vector<uint16_t> gradh(x.size());
  std::vector<char> wsh(crnn_ctc_loss_workspace_size(T, B, C, S, 2, &o));
  check_no_alloc("crnn_ctc_loss_f16", [&] {
    return crnn_ctc_loss_f16(loss.data(), gradh.data(), xh.data(), lab.data(), il.data(), ll.data(),
                             T, B, C, S, wsh.data(), wsh.size(), &o);
  });
  check_no_alloc("crnn_ctc_loss_bf16", [&] {
    return crnn_ctc_loss_bf16(loss.data(), gradh.data(), xh.data(), lab.data(), il.data(),
                              ll.data(), T, B, C, S, wsh.data(), wsh.size(), &o);
  });

  crnn_ctc_decode_options d{};
  d.num_threads = 2;
  d.beam_width = 3;
  d.top_n = 2;
  d.logp_cutoff = -INFINITY;
  std::vector<int32_t> ids(B * 2 * T), lens(B * 2), frames(B * T);
  std::vector<float> probs(B * T);
  std::vector<double> scores(B * 2);
  std::vector<char> wg(crnn_ctc_greedy_workspace_size(T, B, C, &d));
  check_no_alloc("crnn_ctc_greedy_f32", [&] {
    return crnn_ctc_greedy_f32(ids.data(), lens.data(), probs.data(), frames.data(), x.data(),
                               il.data(), T, B, C, wg.data(), wg.size(), &d);
  });
  std::vector<char> wb(crnn_ctc_beam_search_workspace_size(T, B, C, &d));
  check_no_alloc("crnn_ctc_beam_search_f32", [&] {
    return crnn_ctc_beam_search_f32(ids.data(), lens.data(), scores.data(), x.data(), il.data(), T,
                                    B, C, wb.data(), wb.size(), &d);
  });
}

void lstm() {
  crnn_lstm_desc d{};
  d.T = 5, d.B = 3, d.I = 4, d.H = 3, d.num_layers = 2, d.bidirectional = 1, d.has_bias = 1;
  d.num_threads = 2;
  const int64_t D = 2, G = 4 * d.H, LD = 2 * D;
  std::vector<std::vector<float>> w_ih, w_hh, b_ih, b_hh, dw_ih, dw_hh, db_ih, db_hh;
  for (int64_t i = 0; i < LD; ++i) {
    const int64_t in = i < D ? d.I : D * d.H;
    w_ih.push_back(ramp(G * in, 0.02f)), w_hh.push_back(ramp(G * d.H, 0.03f));
    b_ih.push_back(ramp(G, 0.01f)), b_hh.push_back(ramp(G, 0.01f));
    dw_ih.emplace_back(G * in), dw_hh.emplace_back(G * d.H), db_ih.emplace_back(G),
        db_hh.emplace_back(G);
  }
  const auto ptrs = [](std::vector<std::vector<float>> &v) {
    std::vector<float *> p;
    for (auto &e : v) p.push_back(e.data());
    return p;
  };
  std::vector<float *> pw_ih = ptrs(w_ih), pw_hh = ptrs(w_hh), pb_ih = ptrs(b_ih),
                       pb_hh = ptrs(b_hh), pdw_ih = ptrs(dw_ih), pdw_hh = ptrs(dw_hh),
                       pdb_ih = ptrs(db_ih), pdb_hh = ptrs(db_hh);
  const crnn_lstm_weights_f32 w{pw_ih.data(), pw_hh.data(), pb_ih.data(), pb_hh.data()};
  const std::vector<float> x = ramp(d.T * d.B * d.I, 0.1f), dy = ramp(d.T * d.B * D * d.H, 0.05f);
  const std::vector<int32_t> len = {5, 2, 4};
  std::vector<float> y(d.T * d.B * D * d.H), hn(LD * d.B * d.H), cn(hn.size()), dh0(hn.size()),
      dc0(hn.size()), dx(x.size()), res(crnn_lstm_reserve_size(&d));
  std::vector<char> wf(crnn_lstm_forward_workspace_size(&d));
  std::vector<char> wb(crnn_lstm_backward_workspace_size(&d));
  check_no_alloc("crnn_lstm_forward_f32", [&] {
    return crnn_lstm_forward_f32(y.data(), hn.data(), cn.data(), res.data(), x.data(), nullptr,
                                 nullptr, len.data(), &w, &d, wf.data(), wf.size());
  });
  check_no_alloc("crnn_lstm_backward_f32", [&] {
    return crnn_lstm_backward_f32(dx.data(), dh0.data(), dc0.data(), pdw_ih.data(), pdw_hh.data(),
                                  pdb_ih.data(), pdb_hh.data(), dy.data(), nullptr, nullptr,
                                  x.data(), y.data(), nullptr, nullptr, len.data(), res.data(), &w,
                                  &d, wb.data(), wb.size());
  });
}

void conv() {
  for (const int64_t ch : {3, 16}) {  // im2col, then a Winograd layer
    crnn_conv2d_desc d{};
    d.B = 2, d.C_in = ch, d.H = 6, d.W = 7, d.C_out = ch, d.kh = 3, d.kw = 3;
    d.stride_h = d.stride_w = d.dil_h = d.dil_w = d.groups = 1;
    d.pad_t = d.pad_b = d.pad_l = d.pad_r = 1;
    d.num_threads = 2;
    const int64_t Ho = crnn_conv2d_out_h(&d), Wo = crnn_conv2d_out_w(&d);
    const std::vector<float> x = ramp(d.B * ch * d.H * d.W, 0.1f), w = ramp(ch * ch * 9, 0.01f),
                             b = ramp(ch, 0.1f), dy = ramp(d.B * ch * Ho * Wo, 0.05f);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size()), db(b.size());
    std::vector<char> wf(crnn_conv2d_forward_workspace_size(&d));
    std::vector<char> wb(crnn_conv2d_backward_workspace_size(&d));
    check_no_alloc("crnn_conv2d_forward_f32", [&] {
      return crnn_conv2d_forward_f32(y.data(), x.data(), w.data(), b.data(), &d, wf.data(),
                                     wf.size());
    });
    check_no_alloc("crnn_conv2d_backward_f32", [&] {
      return crnn_conv2d_backward_f32(dx.data(), dw.data(), db.data(), dy.data(), x.data(),
                                      w.data(), &d, wb.data(), wb.size());
    });
  }
}

void adamw() {
  std::vector<float> p = ramp(300001, 0.01f), m = ramp(p.size(), 0.001f), v(p.size(), 0.01f),
                     g = ramp(p.size(), 0.02f);
  const crnn_adamw_tensor ts[2] = {
      {p.data(), m.data(), v.data(), g.data(), 1000, 1e-3f, 1e-4f},
      {p.data() + 1000, m.data() + 1000, v.data() + 1000, g.data() + 1000,
       static_cast<int64_t>(p.size()) - 1000, 1e-3f, 0.0f}};
  crnn_adamw_options o{};
  o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f, o.num_threads = 2;
  check_no_alloc("crnn_adamw_f32", [&] { return crnn_adamw_f32(ts, 2, &o); });
}

// The training conv block: BatchNorm + ReLU + a 'same' max-pool, then BatchNorm + shortcut + ReLU.
void conv_block() {
  for (const bool residual : {false, true}) {
    crnn_conv_block_desc d{};
    crnn_conv2d_desc &c = d.conv;
    c.B = 2, c.C_in = 16, c.H = 6, c.W = 7, c.C_out = 16, c.kh = 3, c.kw = 3;
    c.stride_h = c.stride_w = c.dil_h = c.dil_w = c.groups = 1;
    c.pad_t = c.pad_b = c.pad_l = c.pad_r = 1;
    c.num_threads = 2;
    d.batch_norm = 1, d.relu = 1, d.residual = residual, d.eps = 1e-5f, d.momentum = 0.9f;
    if (!residual) d.pool_kh = d.pool_kw = d.pool_sh = d.pool_sw = 2, d.pool_same = 1;
    const int64_t N = c.B * c.C_out * c.H * c.W;
    const int64_t P = c.B * c.C_out * crnn_conv_block_out_h(&d) * crnn_conv_block_out_w(&d);
    const std::vector<float> x = ramp(N, 0.1f), w = ramp(16 * 16 * 9, 0.01f), b = ramp(16, 0.1f),
                             gamma = ramp(16, 0.05f), beta = ramp(16, 0.02f), r = ramp(N, 0.03f),
                             dy = ramp(P, 0.05f);
    std::vector<float> y(P), z(N), mean(16), invstd(16), mm(16), mv(16, 1.0f), dx(N), dw(w.size()),
        db(16), dg(16), dbeta(16), dr(N);
    std::vector<char> wf(crnn_conv_block_forward_workspace_size(&d));
    std::vector<char> wb(crnn_conv_block_backward_workspace_size(&d));
    const float *rp = residual ? r.data() : nullptr;
    check_no_alloc("crnn_conv_block_forward_f32", [&] {
      return crnn_conv_block_forward_f32(y.data(), z.data(), mean.data(), invstd.data(), mm.data(),
                                         mv.data(), x.data(), w.data(), b.data(), gamma.data(),
                                         beta.data(), rp, &d, wf.data(), wf.size());
    });
    check_no_alloc("crnn_conv_block_backward_f32", [&] {
      return crnn_conv_block_backward_f32(dx.data(), dw.data(), db.data(), dg.data(), dbeta.data(),
                                          residual ? dr.data() : nullptr, dy.data(), x.data(),
                                          w.data(), z.data(), mean.data(), invstd.data(),
                                          gamma.data(), beta.data(), rp, &d, wb.data(), wb.size());
    });
  }
}

}  // namespace

int main() {
  ctc();
  lstm();
  conv();
  conv_block();
  adamw();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_kernel_no_alloc: all passed\n");
  return 0;
}
