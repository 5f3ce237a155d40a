// The multi-tensor AdamW step (crnn/adamw.h): the same bits for every thread count (the ranges
// split inside tensors), a scalar transcription of the contract's formula bit for bit, a
// float64 update within float32 rounding, empty tensors and bad arguments. Run by ctest (CI:
// also under ASan + UBSan and TSan).
#include <math.h>
#include <string.h>

#include <vector>

#include "check.h"
#include "crnn/adamw.h"
#include "crnn/device_memory.h"

namespace {

struct State {
  std::vector<float> p, m, v, g;
};

State make(size_t n, unsigned seed) {
  State s{std::vector<float>(n), std::vector<float>(n), std::vector<float>(n),
          std::vector<float>(n)};
  unsigned x = seed;
  auto next = [&x] {  // a small LCG in [-1, 1)
    x = x * 1664525u + 1013904223u;
    return static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
  };
  for (size_t i = 0; i < n; ++i) {
    s.p[i] = next(), s.m[i] = 0.1f * next(), s.v[i] = 0.01f * fabsf(next()), s.g[i] = next();
  }
  return s;
}

// sizes of the tensors: an empty one, odd sizes, one larger than a thread's share
const int64_t kSizes[] = {37, 0, 1, 100003, 5, 70001};
const int kCount = sizeof(kSizes) / sizeof(kSizes[0]);

std::vector<crnn_adamw_tensor> tensors(State &s) {
  std::vector<crnn_adamw_tensor> ts;
  int64_t off = 0;
  for (int k = 0; k < kCount; ++k) {
    const float lr = 1e-3f * static_cast<float>(k + 1), wd = k % 2 ? 0.0f : 0.05f;
    ts.push_back({s.p.data() + off, s.m.data() + off, s.v.data() + off, s.g.data() + off, kSizes[k],
                  lr, wd});
    off += kSizes[k];
  }
  return ts;
}

size_t total() {
  size_t n = 0;
  for (int64_t s : kSizes) n += static_cast<size_t>(s);
  return n;
}

crnn_adamw_options options(int threads) {
  crnn_adamw_options o{};
  o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f, o.num_threads = threads;
  return o;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void thread_counts_agree_with_the_formula() {
  State ref = make(total(), 7);
  {  // the contract's formula, one element at a time
    const auto ts = tensors(ref);
    const float b1m = 1.0f - 0.9f, b2m = 1.0f - 0.999f;
    for (const crnn_adamw_tensor &t : ts)
      for (int64_t i = 0; i < t.n; ++i) {
        const float m = fmaf(t.grad[i] - t.m[i], b1m, t.m[i]);
        const float v = fmaf(fmaf(t.grad[i], t.grad[i], -t.v[i]), b2m, t.v[i]);
        const float decay = t.weight_decay * t.param[i];
        const double step = static_cast<double>(m) / (sqrt(static_cast<double>(v)) + 1e-8f);
        const double lr_step = static_cast<double>(t.lr) * (step + static_cast<double>(decay));
        t.param[i] = static_cast<float>(static_cast<double>(t.param[i]) - lr_step);
        t.m[i] = m, t.v[i] = v;
      }
  }
  for (int threads : {1, 2, 3, 0}) {
    State s = make(total(), 7);
    const crnn_adamw_options o = options(threads);
    CHECK(crnn_adamw_f32(tensors(s).data(), kCount, &o) == CRNN_STATUS_SUCCESS, "status");
    CHECK(same_bits(s.p, ref.p) && same_bits(s.m, ref.m) && same_bits(s.v, ref.v),
          "threads=%d: not the formula's bits", threads);
  }
}

void close_to_float64() {
  State s = make(total(), 11);
  const State before = s;
  const crnn_adamw_options o = options(2);
  CHECK(crnn_adamw_f32(tensors(s).data(), kCount, &o) == CRNN_STATUS_SUCCESS, "status");
  State b = before;
  const auto ts = tensors(b);
  int bad = 0;
  for (int k = 0; k < kCount; ++k) {
    const crnn_adamw_tensor &t = ts[k];
    const int64_t off = t.param - b.p.data();
    for (int64_t i = 0; i < t.n; ++i) {
      const double g = t.grad[i], b1 = 0.9f, b2 = 0.999f;
      const double m = b1 * t.m[i] + (1 - b1) * g, v = b2 * t.v[i] + (1 - b2) * g * g;
      const double p = t.param[i] - static_cast<double>(t.lr) *
                                        (m / (sqrt(v) + 1e-8f) + t.weight_decay * t.param[i]);
      const double got = s.p[off + i];
      bad += fabs(got - p) > 1e-6 * fabs(p) + 1e-7;  // float32 rounding of p, m and v
    }
  }
  CHECK(bad == 0, "%d elements off the float64 update", bad);
}

void bad_arguments() {
  State s = make(total(), 3);
  auto ts = tensors(s);
  const crnn_adamw_options o = options(1);
  CHECK(crnn_adamw_f32(ts.data(), 0, &o) == CRNN_STATUS_SUCCESS, "count 0");
  CHECK(crnn_adamw_f32(nullptr, 0, &o) == CRNN_STATUS_SUCCESS, "count 0, no tensors");
  CHECK(crnn_adamw_f32(ts.data(), -1, &o) == CRNN_STATUS_INVALID_VALUE, "count -1");
  CHECK(crnn_adamw_f32(nullptr, 2, &o) == CRNN_STATUS_INVALID_VALUE, "NULL tensors");
  CHECK(crnn_adamw_f32(ts.data(), kCount, nullptr) == CRNN_STATUS_INVALID_VALUE, "NULL options");
  const std::vector<float> p0 = s.p;
  ts[3].m = nullptr;
  CHECK(crnn_adamw_f32(ts.data(), kCount, &o) == CRNN_STATUS_INVALID_VALUE, "NULL m");
  CHECK(same_bits(s.p, p0), "a rejected call changed the parameters");
  ts[3] = tensors(s)[3];
  ts[1].n = -1;
  CHECK(crnn_adamw_f32(ts.data(), kCount, &o) == CRNN_STATUS_INVALID_VALUE, "n -1");
  crnn_adamw_options cuda = options(1);
  cuda.device = CRNN_DEVICE_CUDA;
  CHECK(crnn_adamw_f32(tensors(s).data(), kCount, &cuda) == CRNN_STATUS_NOT_SUPPORTED,
        "a device without the kernel");
}

}  // namespace

int main() {
  thread_counts_agree_with_the_formula();
  close_to_float64();
  bad_arguments();
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("test_adamw: all checks passed\n");
  return 0;
}
