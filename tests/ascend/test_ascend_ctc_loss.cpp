// The CTC loss + gradient Ascend C kernel (kernels/ascend/op_kernel/ctc_loss.cpp) on our host
// model of the API against the CPU kernel crnn_ctc_loss_f32 (device 0, itself tested against
// the float64 reference) on the shared case table: T=1, B=1, L=0, repeats, L=T, minimum
// feasible T and +-1, infeasible with and without zero_infinity, blank 0 and C-1, C = 37 and
// 6625 (and 4097, 8192, 20000: rows sliced into chunks of 4096 classes), ragged lengths, -inf
// scores, B above the 40 cores, several tiles per sample, loss only.
// Outputs are poisoned (NaN) before each run. Error rule (float32): loss within 1e-5 relative
// (+1e-6 absolute) of the CPU's, gradient within 1e-6 * (1 + |loss|) absolute (the tests'
// float32 rule, tests/test_ctc_loss.py); infeasible losses (+inf / 0) and zero gradients exact;
// two runs and every core count (1, 2, 40) bit-identical. float16 / bfloat16 logits against the
// CPU's narrow kernels (crnn_ctc_loss_f16 / _bf16, the float32 kernel on the widened logits):
// loss as float32; grad within the float32 bound plus one ulp of the narrow type (both round a
// float32 gradient that differs by the float32 bound: 2^-10 |g| for float16 (+ 2^-24, the
// subnormal spacing), 2^-7 |g| for bfloat16). Bad lengths / labels and value errors
// come back through the record (crnn_ascend_emu_device_error_read) with the CPU's status,
// error_index and error_frame; argument errors as the CPU's statuses.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

#include "../../kernels/ascend/ascend_kernels.h"
#include "../../kernels/common/narrow_float.h"
#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

struct Problem {
  int T, B, C, S, blank, zero_inf;
  std::vector<float> x;
  std::vector<int32_t> labels, il, ll;
};

struct Out {
  std::vector<float> loss, grad;
  crnn_status_t st = CRNN_STATUS_SUCCESS;
  int32_t index = -9, frame = -9;
};

// cores 0: the CPU kernel; else the Ascend kernel on at most `cores` cores.
// without_lengths: the Ascend kernel without input / label lengths (the CANN op's path for the
// aot entries' config without them: T frames, labels up to their first blank / -1).
Out run(const Problem &p, uint32_t cores, bool with_grad = true, bool without_lengths = false) {
  Out o;
  o.loss.assign(p.B, NAN);
  if (with_grad) o.grad.assign(size_t(p.T) * p.B * p.C, NAN);
  crnn_ctc_loss_options opt{};
  opt.blank = p.blank, opt.zero_infinity = p.zero_inf;
  opt.error_index = &o.index, opt.error_frame = &o.frame;
  float *g = with_grad ? o.grad.data() : nullptr;
  if (cores == 0) {
    std::vector<char> ws(crnn_ctc_loss_workspace_size(p.T, p.B, p.C, p.S, 4, &opt));
    o.st = crnn_ctc_loss_f32(o.loss.data(), g, p.x.data(), p.labels.data(), p.il.data(),
                             p.ll.data(), p.T, p.B, p.C, p.S, ws.data(), ws.size(), &opt);
    return o;
  }
  std::vector<char> ws(crnn_ascend_emu_ctc_loss_workspace_size(p.T, p.B, p.C, p.S, 4, &opt), 0x5A);
  o.st = crnn::ascend_emu_kernels::ctc_loss_f32(
      cores, o.loss.data(), g, p.x.data(), p.labels.data(), without_lengths ? nullptr : p.il.data(),
      without_lengths ? nullptr : p.ll.data(), p.T, p.B, p.C, p.S, ws.data(), ws.size(), &opt);
  if (o.st == CRNN_STATUS_SUCCESS)
    o.st = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &o.index, &o.frame);
  return o;
}

bool same_bits(const Out &a, const Out &b) {
  return a.loss.size() == b.loss.size() && a.grad.size() == b.grad.size() &&
         memcmp(a.loss.data(), b.loss.data(), a.loss.size() * 4) == 0 &&
         memcmp(a.grad.data(), b.grad.data(), a.grad.size() * 4) == 0;
}

double worst_loss_rel = 0, worst_grad_abs = 0;  // measured, printed at the end

void compare(const Out &got, const Out &want, const Problem &p, const char *name) {
  CHECK(got.st == CRNN_STATUS_SUCCESS && want.st == CRNN_STATUS_SUCCESS, "%s: status %d / %d", name,
        got.st, want.st);
  if (got.st || want.st) return;
  for (int b = 0; b < p.B; ++b) {
    const float g = got.loss[b], w = want.loss[b];
    const bool exact = !isfinite(w) || w == 0.0f;
    const double err = fabs(double(g) - w);
    if (!exact) worst_loss_rel = fmax(worst_loss_rel, err / fabs(w));
    CHECK(exact ? memcmp(&g, &w, 4) == 0 : err <= 1e-5 * fabs(w) + 1e-6,
          "%s b=%d: loss %.9g vs cpu %.9g", name, b, g, w);
    if (got.grad.empty()) continue;
    const double bound = 1e-6 * (1 + (isfinite(w) ? fabs(w) : 0.0));
    int bad = 0;
    for (int t = 0; t < p.T; ++t)
      for (int c = 0; c < p.C; ++c) {
        const size_t i = (size_t(t) * p.B + b) * p.C + c;
        const double e = fabs(double(got.grad[i]) - want.grad[i]);
        const bool zero = !isfinite(w) || w == 0.0f || t >= p.il[b];
        if (!zero) worst_grad_abs = fmax(worst_grad_abs, e / (1 + fabs(w)));
        const bool ok = zero ? got.grad[i] == 0.0f && want.grad[i] == 0.0f : e <= bound;
        if (!ok && bad++ < 3)
          CHECK(ok, "%s b=%d t=%d c=%d: grad %.9g vs cpu %.9g", name, b, t, c, got.grad[i],
                want.grad[i]);
      }
  }
}

// Labels of length ll[b] with repeats (prob 0.3), never the blank.
Problem make(std::mt19937 &rng, int T, int B, int C, int S, int blank, std::vector<int> lens,
             bool ragged, float scale = 2.0f) {
  Problem p{T, B, C, S, blank, 0, {}, {}, {}, {}};
  std::normal_distribution<float> n(0.0f, scale);
  p.x.resize(size_t(T) * B * C);
  for (float &v : p.x) v = n(rng);
  p.labels.assign(size_t(B) * S, -1);
  p.il.resize(B), p.ll.resize(B);
  std::uniform_int_distribution<int> cls(0, C - 2), len(0, S), fr(0, T);
  std::uniform_real_distribution<float> u(0, 1);
  for (int b = 0; b < B; ++b) {
    p.ll[b] = lens.empty() ? len(rng) : lens[b];
    for (int j = 0; j < p.ll[b]; ++j) {
      int c = cls(rng);
      c = c >= blank ? c + 1 : c;
      if (j > 0 && u(rng) < 0.3f) c = p.labels[size_t(b) * S + j - 1];
      p.labels[size_t(b) * S + j] = c;
    }
    p.il[b] = ragged ? fr(rng) : T;
  }
  return p;
}

void check_case(const Problem &p, const char *name, bool cores_too = true) {
  const Out want = run(p, 0), got = run(p, 40);
  compare(got, want, p, name);
  CHECK(same_bits(got, run(p, 40)), "%s: two runs differ", name);
  if (cores_too) {
    CHECK(same_bits(got, run(p, 1)), "%s: 1 core differs from 40", name);
    CHECK(same_bits(got, run(p, 2)), "%s: 2 cores differ from 40", name);
  }
  const Out lo = run(p, 40, false);
  CHECK(memcmp(lo.loss.data(), got.loss.data(), p.B * 4) == 0, "%s: loss-only differs", name);
}

void test_table() {
  std::mt19937 rng(16);
  check_case(make(rng, 1, 1, 5, 1, 4, {1}, false), "T1_B1");
  check_case(make(rng, 1, 3, 5, 1, 4, {0, 0, 1}, false), "T1_empty");
  check_case(make(rng, 7, 1, 6, 3, 0, {3}, false), "B1");
  check_case(make(rng, 9, 4, 6, 4, 5, {0, 0, 0, 0}, true), "label_len_0");
  check_case(make(rng, 12, 6, 5, 6, 4, {}, false), "repeats");
  check_case(make(rng, 15, 5, 9, 5, 0, {}, true), "blank0");
  check_case(make(rng, 24, 16, 37, 23, 36, {}, false), "crnn_37");
  check_case(make(rng, 25, 45, 37, 10, 36, {}, true), "ragged_37_B45");
  check_case(make(rng, 8, 3, 6625, 5, 6624, {}, false), "large_alphabet");
  check_case(make(rng, 25, 2, 6625, 25, 0, {}, true), "large_alphabet_blank0", false);
  // vocabulary chunks of 4096 classes: one class in the last chunk, two full chunks, five
  check_case(make(rng, 6, 3, 4097, 4, 4096, {}, true), "chunks_4097", false);
  check_case(make(rng, 5, 2, 8192, 3, 0, {}, false), "chunks_8192", false);
  check_case(make(rng, 6, 2, 20000, 4, 19999, {}, false), "chunks_20000", false);
  check_case(make(rng, 256, 3, 12, 60, 11, {}, false), "long_T");
  check_case(make(rng, 300, 2, 37, 4, 36, {}, true), "tiles");  // k = 204: two tiles
  {  // L = T, minimum feasible T and +-1 (repeats need a blank between), zero_infinity
    Problem p = make(rng, 6, 5, 7, 6, 6, {6, 5, 4, 3, 6}, false);
    const int32_t lab[5][6] = {{1, 2, 3, 4, 5, 1},
                               {1, 1, 2, 2, 3, 0},
                               {3, 3, 3, 3, 0, 0},
                               {2, 2, 2, 0, 0, 0},
                               {1, 1, 1, 1, 1, 1}};
    for (int b = 0; b < 5; ++b)
      for (int j = 0; j < 6; ++j) p.labels[b * 6 + j] = lab[b][j];
    // min frames: 6 (=T), 7 (T-1 short), 7, 5 (T+1), 11
    check_case(p, "min_T");
    p.il = {6, 6, 6, 4, 6};  // b=3: 4 < 5 infeasible
    check_case(p, "min_T_ragged");
    p.zero_inf = 1;
    check_case(p, "min_T_zero_infinity");
  }
  {  // -inf scores: probability 0 (a state only reachable through them: infeasible)
    Problem p = make(rng, 10, 4, 8, 3, 7, {3, 3, 3, 2}, false);
    for (int t = 0; t < 10; ++t) {
      p.x[(size_t(t) * 4 + 0) * 8 + 1] = -INFINITY;  // class 1 never possible for b=0
      p.x[(size_t(t) * 4 + 1) * 8 + 7] = -INFINITY;  // blank impossible for b=1
      if (t % 2) p.x[(size_t(t) * 4 + 2) * 8 + 3] = -INFINITY;
    }
    p.labels[0] = 1;  // b=0 needs class 1: infeasible
    check_case(p, "neg_inf");
  }
}

void test_errors() {
  std::mt19937 rng(7);
  struct E {
    const char *name;
    int b, t, c;   // where a value goes (t < 0: none)
    float v;       // its value; NEG_INF_FRAME: the whole row -inf
    int il_b, il;  // an input length to change (il_b < 0: none)
    int lb_b, lb;  // a label to change
  };
  const E cases[] = {
      {"nan", 2, 3, 1, NAN, -1, 0, -1, 0},
      {"pos_inf", 1, 0, 4, INFINITY, -1, 0, -1, 0},
      {"all_neg_inf", 3, 5, -1, -INFINITY, -1, 0, -1, 0},
      {"nan_past_length", 2, 9, 1, NAN, 2, 5, -1, 0},  // not read: no error
      {"input_length_big", -1, -1, 0, 0, 1, 11, -1, 0},
      {"input_length_neg", -1, -1, 0, 0, 3, -1, -1, 0},
      {"label_blank", -1, -1, 0, 0, -1, 0, 2, 9},
      {"label_big", -1, -1, 0, 0, -1, 0, 1, 10},
      {"arg_after_value", 0, 2, 2, NAN, -1, 0, 3, -1},  // the argument error wins
  };
  for (const E &e : cases) {
    Problem p = make(rng, 10, 4, 10, 3, 9, {3, 3, 3, 3}, false);
    if (e.t >= 0) {
      float *row = p.x.data() + (size_t(e.t) * 4 + e.b) * 10;
      if (e.c < 0)
        for (int c = 0; c < 10; ++c) row[c] = e.v;
      else
        row[e.c] = e.v;
    }
    if (e.il_b >= 0) p.il[e.il_b] = e.il;
    if (e.lb_b >= 0) p.labels[e.lb_b * 3] = e.lb;
    const Out want = run(p, 0), got = run(p, 40);
    CHECK(got.st == want.st && got.index == want.index && got.frame == want.frame,
          "%s: ascend status %d index %d frame %d, cpu %d %d %d", e.name, got.st, got.index,
          got.frame, want.st, want.index, want.frame);
    if (want.st == CRNN_STATUS_SUCCESS) compare(got, want, p, e.name);
    if (want.st != CRNN_STATUS_SUCCESS && want.st != CRNN_STATUS_INVALID_VALUE) {
      for (int b = 0; b < 4; ++b)  // the failed sample: NaN, the others as the CPU's
        CHECK(b == e.b ? isnan(got.loss[b])
                       : fabs(got.loss[b] - want.loss[b]) <= 1e-5 * fabs(want.loss[b]),
              "%s b=%d: loss %g vs %g", e.name, b, got.loss[b], want.loss[b]);
    }
  }
  // argument errors: statuses as the CPU's (CUDA's for a missing workspace)
  Problem p = make(rng, 4, 2, 5, 2, 4, {2, 1}, false);
  std::vector<float> loss(2), grad(p.x.size());
  std::vector<char> ws(4096);
  crnn_ctc_loss_options opt{};
  opt.blank = 4;
  auto call = [&](int64_t T, int64_t C, int32_t blank, const float *x, void *w, size_t bytes) {
    crnn_ctc_loss_options o = opt;
    o.blank = blank;
    return crnn_ascend_emu_ctc_loss_f32(loss.data(), grad.data(), x, p.labels.data(), p.il.data(),
                                        p.ll.data(), T, 2, C, 2, w, bytes, &o);
  };
  CHECK(call(4, 5, 5, p.x.data(), ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE, "blank=C");
  CHECK(call(4, 1, 0, p.x.data(), ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE, "C=1");
  CHECK(call(4, 5, 4, nullptr, ws.data(), ws.size()) == CRNN_STATUS_INVALID_VALUE, "no logits");
  CHECK(call(4, 5, 4, p.x.data(), nullptr, ws.size()) == CRNN_STATUS_WORKSPACE_TOO_SMALL, "no ws");
  CHECK(call(4, 5, 4, p.x.data(), ws.data(), 100) == CRNN_STATUS_WORKSPACE_TOO_SMALL, "small ws");
  CHECK(crnn_ascend_emu_ctc_loss_workspace_size(4, 2, 5, 2, 8, &opt) == 0, "float64: 0 bytes");
  {  // beyond the UB budget (the CPU takes it): NOT_SUPPORTED -- T x S of the alpha rows
    const int64_t T = 1000, S = 100;
    std::vector<float> xb(T * 5, 0.0f);
    std::vector<int32_t> lab(S, 1), il{int32_t(T)}, ll{int32_t(S)};
    const size_t need = crnn_ascend_emu_ctc_loss_workspace_size(T, 1, 5, S, 4, &opt);
    std::vector<char> w(need);
    crnn_ctc_loss_options o{};
    CHECK(crnn_ascend_emu_ctc_loss_f32(loss.data(), xb.data(), xb.data(), lab.data(), il.data(),
                                       ll.data(), T, 1, 5, S, w.data(), need,
                                       &o) == CRNN_STATUS_NOT_SUPPORTED,
          "T=1000, S=100: NOT_SUPPORTED");
  }
}

// float16 (bf16 = false) or bfloat16 logits: the Ascend kernel vs the CPU's narrow kernel.
struct NarrowOut {
  std::vector<float> loss;
  std::vector<uint16_t> grad;
  crnn_status_t st = CRNN_STATUS_SUCCESS;
  int32_t index = -9, frame = -9;
};

NarrowOut run_narrow(const Problem &p, const std::vector<uint16_t> &x, bool bf16, uint32_t cores) {
  NarrowOut o;
  o.loss.assign(p.B, NAN);
  o.grad.assign(x.size(), 0x7e00);  // NaN in both types
  crnn_ctc_loss_options opt{};
  opt.blank = p.blank, opt.zero_infinity = p.zero_inf;
  opt.error_index = &o.index, opt.error_frame = &o.frame;
  const auto &lab = p.labels;
  if (cores == 0) {
    std::vector<char> ws(crnn_ctc_loss_workspace_size(p.T, p.B, p.C, p.S, 2, &opt));
    o.st = (bf16 ? crnn_ctc_loss_bf16 : crnn_ctc_loss_f16)(
        o.loss.data(), o.grad.data(), x.data(), lab.data(), p.il.data(), p.ll.data(), p.T, p.B, p.C,
        p.S, ws.data(), ws.size(), &opt);
    return o;
  }
  std::vector<char> ws(crnn_ascend_emu_ctc_loss_workspace_size(p.T, p.B, p.C, p.S, 2, &opt), 0x5A);
  o.st = (bf16 ? crnn::ascend_emu_kernels::ctc_loss_bf16 : crnn::ascend_emu_kernels::ctc_loss_f16)(
      cores, o.loss.data(), o.grad.data(), x.data(), lab.data(), p.il.data(), p.ll.data(), p.T, p.B,
      p.C, p.S, ws.data(), ws.size(), &opt);
  if (o.st == CRNN_STATUS_SUCCESS)
    o.st = crnn_ascend_emu_device_error_read(ws.data(), nullptr, &o.index, &o.frame);
  return o;
}

double worst_narrow_excess = -1;  // max of (error - bound) / bound, printed

void check_narrow(const Problem &p, bool bf16, const char *name) {
  std::vector<uint16_t> x(p.x.size());
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = bf16 ? crnn::float_to_bf16_bits(p.x[i]) : crnn::float_to_half_bits(p.x[i]);
  const auto widen = [bf16](uint16_t h) {
    return bf16 ? crnn::bf16_bits_to_float(h) : crnn::half_bits_to_float(h);
  };
  const NarrowOut want = run_narrow(p, x, bf16, 0), got = run_narrow(p, x, bf16, 40);
  CHECK(got.st == CRNN_STATUS_SUCCESS && want.st == CRNN_STATUS_SUCCESS, "%s: status %d / %d", name,
        got.st, want.st);
  if (got.st || want.st) return;
  const double ulp = bf16 ? 0x1p-7 : 0x1p-10, tiny = bf16 ? 0.0 : 0x1p-24;
  for (int b = 0; b < p.B; ++b) {
    const float g = got.loss[b], w = want.loss[b];
    const bool exact = !isfinite(w) || w == 0.0f;
    CHECK(exact ? memcmp(&g, &w, 4) == 0 : fabs(double(g) - w) <= 1e-5 * fabs(w) + 1e-6,
          "%s b=%d: loss %.9g vs cpu %.9g", name, b, g, w);
    const double f32 = 1e-6 * (1 + (isfinite(w) ? fabs(w) : 0.0));
    int bad = 0;
    for (int t = 0; t < p.T; ++t)
      for (int c = 0; c < p.C; ++c) {
        const size_t i = (size_t(t) * p.B + b) * p.C + c;
        const double gv = widen(got.grad[i]), wv = widen(want.grad[i]);
        const double bound = f32 + ulp * fabs(wv) + tiny;
        worst_narrow_excess = fmax(worst_narrow_excess, (fabs(gv - wv) - bound) / bound);
        if (!(fabs(gv - wv) <= bound) && bad++ < 3)
          CHECK(false, "%s b=%d t=%d c=%d: grad %.9g vs cpu %.9g", name, b, t, c, gv, wv);
      }
  }
  const NarrowOut again = run_narrow(p, x, bf16, 1);
  CHECK(again.loss == got.loss && again.grad == got.grad, "%s: 1 core differs from 40", name);
}

void test_narrow() {
  std::mt19937 rng(61);
  for (int bf = 0; bf < 2; ++bf) {
    check_narrow(make(rng, 24, 16, 37, 23, 36, {}, false), bf, bf ? "bf16 crnn_37" : "f16 crnn_37");
    check_narrow(make(rng, 25, 9, 37, 10, 0, {}, true), bf, bf ? "bf16 ragged" : "f16 ragged");
    check_narrow(make(rng, 8, 3, 6625, 5, 6624, {}, false), bf, bf ? "bf16 6625" : "f16 6625");
    check_narrow(make(rng, 300, 2, 37, 4, 36, {}, true), bf, bf ? "bf16 tiles" : "f16 tiles");
    Problem p = make(rng, 10, 4, 9, 3, 8, {3, 3, 0, 2}, false);
    for (int t = 0; t < 10; ++t) p.x[(size_t(t) * 4 + 1) * 9 + 2] = -INFINITY;
    check_narrow(p, bf, bf ? "bf16 neg_inf" : "f16 neg_inf");
    // a value error: NaN in frame 4 of sample 2 -> the record, as the CPU reports it
    std::vector<uint16_t> x(p.x.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = crnn::float_to_half_bits(p.x[i]);
    x[(size_t(4) * 4 + 2) * 9 + 5] = 0x7e00;
    if (!bf) {
      const NarrowOut want = run_narrow(p, x, false, 0), got = run_narrow(p, x, false, 40);
      CHECK(got.st == want.st && got.index == want.index && got.frame == want.frame,
            "f16 nan: ascend %d %d %d, cpu %d %d %d", got.st, got.index, got.frame, want.st,
            want.index, want.frame);
    }
  }
}

}  // namespace

// Without lengths: every sample T frames, each label up to its first padding value (blank or
// -1): the results of the call with those lengths, bit for bit; a class after the padding or
// outside [0, C) is the argument error of its sample.
void test_absent_lengths() {
  std::mt19937 rng(7);
  Problem p = make(rng, 20, 6, 11, 6, 10, {}, false);
  for (int b = 0; b < p.B; b += 2)  // half the rows padded with the blank, half with -1
    for (int j = p.ll[b]; j < p.S; ++j) p.labels[size_t(b) * p.S + j] = p.blank;
  const Out with = run(p, 3), without = run(p, 3, true, true);
  compare(without, run(p, 0), p, "absent_lengths");
  CHECK(same_bits(with, without), "absent lengths: the results with the lengths");
  int tested = 0;
  for (int b = 0; b < p.B && !tested; ++b)
    if (p.ll[b] < p.S) {
      ++tested;
      Problem q = p;
      q.labels[size_t(b) * q.S + q.S - 1] = 3;  // a class after the padding
      const Out o = run(q, 3, true, true);
      CHECK(o.st == CRNN_STATUS_INVALID_VALUE && o.index == b && o.frame == -1,
            "label after padding: status %d index %d frame %d (b=%d)", o.st, o.index, o.frame, b);
      q.labels[size_t(b) * q.S + q.S - 1] = 11;  // C
      const Out o2 = run(q, 3, true, true);
      CHECK(o2.st == CRNN_STATUS_INVALID_VALUE && o2.index == b, "label = C: %d %d", o2.st,
            o2.index);
    }
  CHECK(tested == 1, "a padded label row exists");
}

int main() {
  test_table();
  test_absent_lengths();
  test_errors();
  test_narrow();
  printf("test_ascend_ctc_loss: narrow grad: worst (error - bound) / bound %.3g\n",
         worst_narrow_excess);
  printf("test_ascend_ctc_loss: worst loss rel %.3g, worst grad abs / (1 + |loss|) %.3g\n",
         worst_loss_rel, worst_grad_abs);
  if (failures) {
    fprintf(stderr, "test_ascend_ctc_loss: %d failures\n", failures);
    return 1;
  }
  printf("test_ascend_ctc_loss: all passed\n");
  return 0;
}
