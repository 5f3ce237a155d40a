// The CUDA CTC kernels (kernels/cuda/ctc_loss.cu, ctc_greedy.cu) on the SIMT executor
// (CRNN_DEVICE_CUDA_EMU) against the CPU kernels (themselves tested against the float64
// reference) on the shared case table: T=1, B=1, L=0, repeats, L=T, minimum feasible T and one
// less, infeasible with and without zero_infinity, blank 0 and C-1, C=37 and 6625, ragged
// lengths, -inf scores; in float64, float32, and float16 / bfloat16 logits. Outputs are
// NaN-poisoned before each run; two runs must be bit-identical; value and argument errors come
// back through the error record. CI runs it under ASan+UBSan and under TSan.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

#include "../../kernels/common/narrow_float.h"
#include "../cpp/check.h"
#include "crnn/crnn.h"

namespace {

struct Case {
  const char *name;
  int T, B, C, S, blank;
  std::vector<int32_t> in_len, lab_len;  // empty: random
  int repeats = 0;                       // 1: labels are one class repeated
  bool neg_inf = false;                  // some -inf logits (probability 0)
  bool zero_infinity = false;
};

struct Data {
  std::vector<double> x;
  std::vector<int32_t> lab, il, ll;
};

Data make(const Case &c, std::mt19937 &rng) {
  Data d;
  std::normal_distribution<double> n(0, 2);
  d.x.resize(size_t(c.T) * c.B * c.C);
  for (auto &v : d.x) v = n(rng);
  if (c.neg_inf)
    for (size_t i = 0; i < d.x.size(); i += 3) d.x[i] = -INFINITY;  // never a whole frame
  d.lab.assign(size_t(c.B) * c.S, 0);
  d.il = c.in_len, d.ll = c.lab_len;
  for (int b = 0; b < c.B; ++b) {
    if (c.in_len.empty()) d.il.push_back(1 + int(rng() % c.T));
    if (c.lab_len.empty()) d.ll.push_back(int(rng() % (c.S + 1)));
    for (int j = 0; j < c.S; ++j) {
      int v = c.repeats ? 1 + c.blank % 2 : int(rng() % (c.C - 1));
      if (!c.repeats && v >= c.blank) ++v;  // never the blank
      d.lab[size_t(b) * c.S + j] = v;
    }
  }
  return d;
}

template <typename T>
crnn_status_t loss_on(int32_t device, std::vector<T> &loss, std::vector<T> &grad, const Data &d,
                      const Case &c, std::vector<T> &x, int32_t *err_index = nullptr,
                      int32_t *err_frame = nullptr) {
  x.assign(d.x.begin(), d.x.end());
  loss.assign(c.B, T(NAN));
  grad.assign(x.size(), T(NAN));
  crnn_ctc_loss_options o{};
  o.blank = c.blank;
  o.zero_infinity = c.zero_infinity;
  o.device = device;
  std::vector<char> ws(crnn_ctc_loss_workspace_size(c.T, c.B, c.C, c.S, sizeof(T), &o) + 1);
  crnn_status_t st;
  if constexpr (sizeof(T) == 4)
    st = crnn_ctc_loss_f32(loss.data(), grad.data(), x.data(), d.lab.data(), d.il.data(),
                           d.ll.data(), c.T, c.B, c.C, c.S, ws.data(), ws.size(), &o);
  else
    st = crnn_ctc_loss_f64(loss.data(), grad.data(), x.data(), d.lab.data(), d.il.data(),
                           d.ll.data(), c.T, c.B, c.C, c.S, ws.data(), ws.size(), &o);
  if (device != CRNN_DEVICE_CPU && st == CRNN_STATUS_SUCCESS)
    st = crnn_device_error_read(ws.data(), device, nullptr, err_index, err_frame);
  return st;
}

// |a - b| <= atol + rtol |b|, with inf == inf; NaN never passes.
bool close(double a, double b, double rtol, double atol) {
  if (isnan(a) || isnan(b)) return false;
  if (isinf(a) || isinf(b)) return a == b;
  return fabs(a - b) <= atol + rtol * fabs(b);
}

template <typename T>
void check_loss_case(const Case &c, std::mt19937 &rng, double rtol, double atol) {
  const Data d = make(c, rng);
  std::vector<double> want_loss, want_grad, x64;
  CHECK(loss_on<double>(CRNN_DEVICE_CPU, want_loss, want_grad, d, c, x64) == 0, "%s cpu", c.name);
  std::vector<T> loss, grad, x, loss2, grad2, cpu_loss, cpu_grad;
  CHECK(loss_on<T>(CRNN_DEVICE_CUDA_EMU, loss, grad, d, c, x) == 0, "%s emu", c.name);
  CHECK(loss_on<T>(CRNN_DEVICE_CPU, cpu_loss, cpu_grad, d, c, x) == 0, "%s cpu", c.name);
  // The bound: the dtype's, widened to twice the CPU kernel's own error in the same dtype
  // (long T accumulates rounding in every backend alike).
  double cpu_err = 0;
  for (size_t i = 0; i < grad.size(); ++i)
    if (std::isfinite(want_grad[i])) cpu_err = fmax(cpu_err, fabs(cpu_grad[i] - want_grad[i]));
  const double gatol = fmax(atol, 2 * cpu_err);
  for (int b = 0; b < c.B; ++b)
    CHECK(close(loss[b], want_loss[b], rtol, atol), "%s %zu-byte loss[%d] %.9g vs %.9g", c.name,
          sizeof(T), b, double(loss[b]), want_loss[b]);
  int bad = 0;
  for (size_t i = 0; i < grad.size(); ++i)
    if (!close(grad[i], want_grad[i], rtol, gatol) && bad++ < 3)
      CHECK(false, "%s %zu-byte grad[%zu] %.9g vs %.9g (cpu %.9g)", c.name, sizeof(T), i,
            double(grad[i]), want_grad[i], double(cpu_grad[i]));
  CHECK(loss_on<T>(CRNN_DEVICE_CUDA_EMU, loss2, grad2, d, c, x) == 0, "%s rerun", c.name);
  CHECK(memcmp(loss.data(), loss2.data(), loss.size() * sizeof(T)) == 0 &&
            memcmp(grad.data(), grad2.data(), grad.size() * sizeof(T)) == 0,
        "%s: two runs differ", c.name);
}

std::vector<Case> loss_cases() {
  std::vector<Case> cs;
  cs.push_back({"T=1 B=1 L=0", 1, 1, 5, 2, 4, {1}, {0}});
  cs.push_back({"T=1 B=1 L=1", 1, 1, 5, 1, 0, {1}, {1}});
  cs.push_back({"L=0", 6, 3, 7, 3, 6, {}, {0, 0, 0}});
  cs.push_back({"repeats", 12, 3, 6, 4, 0, {12, 9, 7}, {4, 4, 3}, 1});
  cs.push_back({"L=T", 5, 2, 9, 5, 8, {5, 5}, {5, 5}});
  cs.push_back({"min feasible T", 7, 1, 6, 4, 5, {7}, {4}, 1});      // 4 + 3 repeats = 7
  cs.push_back({"min feasible T - 1", 7, 1, 6, 4, 5, {6}, {4}, 1});  // infeasible: inf
  Case zi{"infeasible, zero_infinity", 7, 2, 6, 4, 5, {6, 3}, {4, 4}, 1};
  zi.zero_infinity = true;
  cs.push_back(zi);
  cs.push_back({"blank 0", 20, 4, 37, 8, 0, {}, {}});
  cs.push_back({"blank C-1", 20, 4, 37, 8, 36, {}, {}});
  cs.push_back({"C=6625", 6, 2, 6625, 4, 0, {}, {}});
  cs.push_back({"ragged", 30, 5, 11, 10, 10, {30, 1, 17, 0, 25}, {10, 0, 6, 0, 9}});
  Case ni{"-inf scores", 16, 3, 9, 5, 0, {}, {}};
  ni.neg_inf = true;
  cs.push_back(ni);
  cs.push_back({"long T", 260, 2, 8, 30, 7, {260, 200}, {30, 25}});
  cs.push_back({"rows in the workspace (S large)", 4, 2, 6, 1000, 0, {4, 3}, {2, 1}});
  return cs;
}

void test_loss_table() {
  std::mt19937 rng(7);
  for (const Case &c : loss_cases()) {
    check_loss_case<double>(c, rng, 1e-9, 1e-12);
    check_loss_case<float>(c, rng, 2e-4, 2e-5);
  }
}

void test_loss_errors() {
  std::mt19937 rng(3);
  Case c{"errors", 8, 4, 7, 3, 0, {8, 8, 8, 8}, {2, 2, 2, 2}};
  Data d = make(c, rng);
  std::vector<float> loss, grad, x;
  int32_t idx = -7, frame = -7;
  d.x[(5 * 4 + 2) * 7 + 3] = NAN;  // frame 5 of sample 2
  CHECK(loss_on<float>(CRNN_DEVICE_CUDA_EMU, loss, grad, d, c, x, &idx, &frame) ==
                CRNN_STATUS_NONFINITE_INPUT &&
            idx == 2 && frame == 5,
        "NaN: index %d frame %d", idx, frame);
  CHECK(isnan(loss[2]) && !isnan(loss[1]), "NaN sample's loss");
  for (int k = 0; k < 7; ++k) d.x[(3 * 4 + 1) * 7 + k] = -INFINITY;  // frame 3 of sample 1
  CHECK(loss_on<float>(CRNN_DEVICE_CUDA_EMU, loss, grad, d, c, x, &idx, &frame) ==
                CRNN_STATUS_NEG_INF_FRAME &&
            idx == 1 && frame == 3,
        "-inf frame: index %d frame %d", idx, frame);
  d.lab[3 * 3 + 1] = 0;  // sample 3 uses the blank: an argument error ranks first
  CHECK(loss_on<float>(CRNN_DEVICE_CUDA_EMU, loss, grad, d, c, x, &idx, &frame) ==
                CRNN_STATUS_INVALID_VALUE &&
            idx == 3 && frame == -1,
        "label == blank: index %d frame %d", idx, frame);
  d = make(c, rng);
  d.il[2] = 9;  // > T
  CHECK(loss_on<float>(CRNN_DEVICE_CUDA_EMU, loss, grad, d, c, x, &idx, &frame) ==
                CRNN_STATUS_INVALID_VALUE &&
            idx == 2,
        "input length > T: index %d", idx);
  // host-visible errors come back from the call itself
  crnn_ctc_loss_options o{};
  o.blank = 7;
  o.device = CRNN_DEVICE_CUDA_EMU;
  char ws[512];
  CHECK(crnn_ctc_loss_f32(loss.data(), nullptr, x.data(), d.lab.data(), d.il.data(), d.ll.data(), 8,
                          4, 7, 3, ws, sizeof ws, &o) == CRNN_STATUS_INVALID_VALUE,
        "blank >= C");
  o.blank = 0;
  CHECK(crnn_ctc_loss_f32(loss.data(), nullptr, x.data(), d.lab.data(), d.il.data(), d.ll.data(), 8,
                          4, 7, 3, ws, sizeof ws, &o) == CRNN_STATUS_WORKSPACE_TOO_SMALL,
        "small workspace");
}

// ---- float16 / bfloat16 logits ------------------------------------------------------------

enum class Narrow { f16, bf16 };

const char *name_of(Narrow n) {
  return n == Narrow::f16 ? "float16" : "bfloat16";
}
uint16_t to_narrow(Narrow n, float v) {
  return n == Narrow::f16 ? crnn::float_to_half_bits(v) : crnn::float_to_bf16_bits(v);
}
float from_narrow(Narrow n, uint16_t h) {
  return n == Narrow::f16 ? crnn::half_bits_to_float(h) : crnn::bf16_bits_to_float(h);
}

// Runs the narrow entry on `x` (patterns); outputs poisoned with NaN first.
crnn_status_t narrow_on(Narrow n, int32_t device, std::vector<float> &loss,
                        std::vector<uint16_t> &grad, const std::vector<uint16_t> &x, const Data &d,
                        const Case &c, int32_t *err_index = nullptr, int32_t *err_frame = nullptr) {
  loss.assign(c.B, NAN);
  grad.assign(x.size(), to_narrow(n, NAN));
  crnn_ctc_loss_options o{};
  o.blank = c.blank;
  o.zero_infinity = c.zero_infinity;
  o.device = device;
  std::vector<char> ws(crnn_ctc_loss_workspace_size(c.T, c.B, c.C, c.S, 2, &o) + 1);
  auto *f = n == Narrow::f16 ? crnn_ctc_loss_f16 : crnn_ctc_loss_bf16;
  crnn_status_t st = f(loss.data(), grad.data(), x.data(), d.lab.data(), d.il.data(), d.ll.data(),
                       c.T, c.B, c.C, c.S, ws.data(), ws.size(), &o);
  if (device != CRNN_DEVICE_CPU && st == CRNN_STATUS_SUCCESS)
    st = crnn_device_error_read(ws.data(), device, nullptr, err_index, err_frame);
  return st;
}

// The executor's narrow kernels against (1) its own float32 kernels on the widened logits:
// the same float32 operations, so the loss is bit-equal and the grad is exactly that float32
// grad rounded to nearest even; (2) the CPU's narrow path: loss within 1e-5 relative, and
// |grad_emu - grad_cpu| <= |g32_emu - g32_cpu| + one narrow ulp of the larger (each rounding
// moves a value by at most half an ulp). Two runs bit-identical.
void check_narrow_case(Narrow n, const Case &c, std::mt19937 &rng) {
  Data d = make(c, rng);
  std::vector<uint16_t> x(d.x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = to_narrow(n, float(d.x[i]));
    d.x[i] = from_narrow(n, x[i]);  // the float32 runs see exactly the narrow values
  }
  std::vector<float> loss, loss2, cpu_loss, l32, cpu_l32, g32, cpu_g32, x32;
  std::vector<uint16_t> grad, grad2, cpu_grad;
  const char *nm = name_of(n);
  CHECK(narrow_on(n, CRNN_DEVICE_CUDA_EMU, loss, grad, x, d, c) == 0, "%s %s emu", c.name, nm);
  CHECK(narrow_on(n, CRNN_DEVICE_CPU, cpu_loss, cpu_grad, x, d, c) == 0, "%s %s cpu", c.name, nm);
  CHECK(loss_on<float>(CRNN_DEVICE_CUDA_EMU, l32, g32, d, c, x32) == 0, "%s f32 emu", c.name);
  CHECK(loss_on<float>(CRNN_DEVICE_CPU, cpu_l32, cpu_g32, d, c, x32) == 0, "%s f32 cpu", c.name);
  CHECK(memcmp(loss.data(), l32.data(), loss.size() * sizeof(float)) == 0,
        "%s %s: loss differs from the float32 kernel's", c.name, nm);
  int bad = 0;
  for (size_t i = 0; i < grad.size(); ++i) {
    if (grad[i] != to_narrow(n, g32[i]) && bad++ < 3)
      CHECK(false, "%s %s grad[%zu] 0x%04x, float32 %.9g rounds to 0x%04x", c.name, nm, i, grad[i],
            double(g32[i]), to_narrow(n, g32[i]));
    const float a = from_narrow(n, grad[i]), b = from_narrow(n, cpu_grad[i]);
    const uint16_t big = uint16_t((fabsf(a) > fabsf(b) ? grad[i] : cpu_grad[i]) & 0x7fff);
    const double ulp = from_narrow(n, uint16_t(big + 1)) - from_narrow(n, big);
    if (!(fabs(double(a) - b) <= fabs(double(g32[i]) - cpu_g32[i]) + ulp) && bad++ < 3)
      CHECK(false, "%s %s grad[%zu] %.9g vs cpu %.9g", c.name, nm, i, a, b);
  }
  for (int b = 0; b < c.B; ++b)
    CHECK(close(loss[b], cpu_loss[b], 1e-5, 1e-6), "%s %s loss[%d] %.9g vs cpu %.9g", c.name, nm, b,
          loss[b], cpu_loss[b]);
  CHECK(narrow_on(n, CRNN_DEVICE_CUDA_EMU, loss2, grad2, x, d, c) == 0, "%s rerun", c.name);
  CHECK(memcmp(loss.data(), loss2.data(), loss.size() * sizeof(float)) == 0 && grad == grad2,
        "%s %s: two runs differ", c.name, nm);
}

void test_narrow() {
  std::mt19937 rng(16);
  for (const Case &c : loss_cases())
    for (Narrow n : {Narrow::f16, Narrow::bf16}) check_narrow_case(n, c, rng);
  // value errors through the record, as for float32
  Case c{"narrow errors", 8, 4, 7, 3, 0, {8, 8, 8, 8}, {2, 2, 2, 2}};
  const Data d = make(c, rng);
  for (Narrow n : {Narrow::f16, Narrow::bf16}) {
    std::vector<uint16_t> x(d.x.size()), grad;
    for (size_t i = 0; i < x.size(); ++i) x[i] = to_narrow(n, float(d.x[i]));
    std::vector<float> loss;
    int32_t idx = -7, frame = -7;
    x[(5 * 4 + 2) * 7 + 3] = to_narrow(n, NAN);  // frame 5 of sample 2
    CHECK(narrow_on(n, CRNN_DEVICE_CUDA_EMU, loss, grad, x, d, c, &idx, &frame) ==
                  CRNN_STATUS_NONFINITE_INPUT &&
              idx == 2 && frame == 5 && isnan(loss[2]),
          "%s NaN: index %d frame %d", name_of(n), idx, frame);
    x[(5 * 4 + 2) * 7 + 3] = to_narrow(n, 0.5f);
    for (int k = 0; k < 7; ++k) x[(3 * 4 + 1) * 7 + k] = to_narrow(n, -INFINITY);
    CHECK(narrow_on(n, CRNN_DEVICE_CUDA_EMU, loss, grad, x, d, c, &idx, &frame) ==
                  CRNN_STATUS_NEG_INF_FRAME &&
              idx == 1 && frame == 3,
          "%s -inf frame: index %d frame %d", name_of(n), idx, frame);
    CHECK(narrow_on(n, CRNN_DEVICE_CPU, loss, grad, x, d, c, &idx, &frame) ==
                  CRNN_STATUS_NEG_INF_FRAME &&
              idx == 1 && frame == 3,
          "%s cpu -inf frame: index %d frame %d", name_of(n), idx, frame);
  }
  crnn_ctc_loss_options o{};
  o.device = CRNN_DEVICE_CUDA_EMU;
  CHECK(crnn_ctc_loss_workspace_size(25, 64, 37, 20, 2, &o) ==
            crnn_ctc_loss_workspace_size(25, 64, 37, 20, 4, &o),
        "the device's narrow workspace is the float32 one (no staging)");
}

// ---- greedy ----------------------------------------------------------------------------------

struct Greedy {
  std::vector<int32_t> ids, lengths, frames;
  std::vector<float> probs;
};

crnn_status_t greedy_on(int32_t device, Greedy &g, const std::vector<float> &x, const int32_t *il,
                        int T, int B, int C, int blank, int kind, int bf, int32_t *idx = nullptr,
                        int32_t *frame = nullptr) {
  g.ids.assign(size_t(B) * T, -7);
  g.frames.assign(size_t(B) * T, -7);
  g.lengths.assign(B, -7);
  g.probs.assign(size_t(B) * T, NAN);
  crnn_ctc_decode_options o{};
  o.blank = blank;
  o.input_kind = kind;
  o.batch_first = bf;
  o.device = device;
  std::vector<char> ws(crnn_ctc_greedy_workspace_size(T, B, C, &o) + 1);
  crnn_status_t st =
      crnn_ctc_greedy_f32(g.ids.data(), g.lengths.data(), g.probs.data(), g.frames.data(), x.data(),
                          il, T, B, C, ws.data(), ws.size(), &o);
  if (device != CRNN_DEVICE_CPU && st == CRNN_STATUS_SUCCESS)
    st = crnn_device_error_read(ws.data(), device, nullptr, idx, frame);
  return st;
}

void test_greedy() {
  std::mt19937 rng(11);
  struct G {
    int T, B, C, blank, kind, bf;
    bool lengths, ties, neg_inf;
  };
  const G cases[] = {{1, 1, 5, 0, CRNN_CTC_LOGITS, 0, false, false, false},
                     {40, 5, 37, 36, CRNN_CTC_LOGITS, 0, true, true, false},
                     {70, 3, 11, 0, CRNN_CTC_PROBS, 1, true, true, false},
                     {25, 4, 9, 4, CRNN_CTC_LOG_PROBS, 0, false, false, true},
                     {8, 2, 6625, 0, CRNN_CTC_LOGITS, 1, true, false, true}};
  for (const G &c : cases) {
    std::vector<float> x(size_t(c.T) * c.B * c.C);
    std::uniform_int_distribution<int> small(0, 3);
    std::normal_distribution<float> n(0, 2);
    for (auto &v : x) v = c.ties ? float(small(rng)) : n(rng);  // ties: many equal maxima
    if (c.kind == CRNN_CTC_PROBS)
      for (auto &v : x) v = v * 0.1f;
    if (c.neg_inf)
      for (size_t i = 0; i < x.size(); i += 2) x[i] = -INFINITY;
    std::vector<int32_t> il(c.B);
    for (auto &v : il) v = int(rng() % (c.T + 1));
    Greedy want, got;
    const int32_t *lens = c.lengths ? il.data() : nullptr;
    CHECK(greedy_on(CRNN_DEVICE_CPU, want, x, lens, c.T, c.B, c.C, c.blank, c.kind, c.bf) == 0,
          "cpu greedy");
    CHECK(greedy_on(CRNN_DEVICE_CUDA_EMU, got, x, lens, c.T, c.B, c.C, c.blank, c.kind, c.bf) == 0,
          "emu greedy");
    CHECK(got.ids == want.ids && got.lengths == want.lengths && got.frames == want.frames,
          "greedy ids/lengths/frames differ (T=%d C=%d kind %d)", c.T, c.C, c.kind);
    for (size_t i = 0; i < got.probs.size(); ++i)
      CHECK(close(got.probs[i], want.probs[i], 2e-6, 1e-7), "probs[%zu] %g vs %g", i, got.probs[i],
            want.probs[i]);
  }
  // errors through the record
  std::vector<float> x(6 * 2 * 5, 0.2f);
  x[(4 * 2 + 1) * 5 + 2] = NAN;
  Greedy g;
  int32_t idx, frame;
  CHECK(greedy_on(CRNN_DEVICE_CUDA_EMU, g, x, nullptr, 6, 2, 5, 0, CRNN_CTC_PROBS, 0, &idx,
                  &frame) == CRNN_STATUS_NONFINITE_INPUT &&
            idx == 1 && frame == 4,
        "greedy NaN: %d %d", idx, frame);
  x[(4 * 2 + 1) * 5 + 2] = -0.5f;
  CHECK(greedy_on(CRNN_DEVICE_CUDA_EMU, g, x, nullptr, 6, 2, 5, 0, CRNN_CTC_PROBS, 0, &idx,
                  &frame) == CRNN_STATUS_INVALID_VALUE &&
            idx == 1 && frame == 4,
        "greedy negative prob: %d %d", idx, frame);
  const int32_t bad_len[2] = {3, 7};
  CHECK(greedy_on(CRNN_DEVICE_CUDA_EMU, g, x, bad_len, 6, 2, 5, 0, CRNN_CTC_LOGITS, 0, &idx,
                  &frame) == CRNN_STATUS_INVALID_VALUE &&
            idx == 1,
        "greedy length > T: %d", idx);
}

}  // namespace

int main() {
  test_loss_table();
  test_loss_errors();
  test_narrow();
  test_greedy();
  if (failures) {
    fprintf(stderr, "test_cuda_ctc: %d failures\n", failures);
    return 1;
  }
  printf("test_cuda_ctc: OK\n");
  return 0;
}
