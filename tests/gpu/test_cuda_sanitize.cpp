// One small case per CUDA kernel on real device memory, for compute-sanitizer (memcheck,
// racecheck) on a GPU: benchmarks/gpu/device_check.sh builds and runs it (CMake builds it with
// the CUDA backend and the tests; CI only compiles it). Checks each call's status and error
// record, and that the outputs hold no NaN; the numerics are checked by tests/test_dlpack.py.
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>

#include <random>
#include <vector>

#include "crnn/crnn.h"

static int failures = 0;
#define EXPECT(cond, what)                                           \
  do {                                                               \
    if (!(cond)) {                                                   \
      ++failures;                                                    \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); \
    }                                                                \
  } while (0)

namespace {

template <typename T>
T *dev(const std::vector<T> &h) {
  T *p = nullptr;
  if (cudaMalloc(&p, h.size() * sizeof(T) + 1) != cudaSuccess) return nullptr;
  cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice);
  return p;
}

template <typename T>
std::vector<T> host(const T *p, size_t n) {
  std::vector<T> h(n);
  cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
  return h;
}

bool finite(const std::vector<float> &v) {
  for (float x : v)
    if (isnan(x)) return false;
  return true;
}

void ctc_cases(std::mt19937 &rng) {
  const int T = 20, B = 3, C = 11, S = 5;
  std::normal_distribution<float> n(0, 1);
  std::vector<float> x(T * B * C);
  for (float &v : x) v = n(rng);
  std::vector<int32_t> lab(B * S, 1), il = {20, 13, 7}, ll = {5, 3, 0};
  for (int i = 0; i < B * S; ++i) lab[i] = 1 + i % (C - 1);
  crnn_ctc_loss_options o{};
  o.blank = 0;
  o.device = CRNN_DEVICE_CUDA;
  const size_t wsb = crnn_ctc_loss_workspace_size(T, B, C, S, 4, &o);
  void *ws = nullptr;
  cudaMalloc(&ws, wsb);
  float *dx = dev(x), *loss = dev(std::vector<float>(B)), *grad = dev(x);
  int32_t *dl = dev(lab), *dil = dev(il), *dll = dev(ll);
  EXPECT(crnn_ctc_loss_f32(loss, grad, dx, dl, dil, dll, T, B, C, S, ws, wsb, &o) == 0, "loss");
  EXPECT(crnn_device_error_read(ws, CRNN_DEVICE_CUDA, nullptr, nullptr, nullptr) == 0, "record");
  EXPECT(finite(host(grad, x.size())) && finite(host(loss, B)), "loss/grad finite");
  // float16 logits: the same kernels reading and writing the narrow type
  std::vector<uint16_t> xh(x.size());  // float16 patterns of +-[0.125, 2)
  for (uint16_t &h : xh) h = uint16_t(0x3000 + rng() % 0x1000) | uint16_t(rng() % 2 ? 0x8000 : 0);
  uint16_t *dxh = dev(xh), *gradh = dev(xh);
  const size_t wsh = crnn_ctc_loss_workspace_size(T, B, C, S, 2, &o);
  EXPECT(wsh <= wsb, "float16 workspace");
  EXPECT(crnn_ctc_loss_f16(loss, gradh, dxh, dl, dil, dll, T, B, C, S, ws, wsh, &o) == 0, "f16");
  EXPECT(crnn_device_error_read(ws, CRNN_DEVICE_CUDA, nullptr, nullptr, nullptr) == 0, "record");
  bool grad_finite = true;
  for (uint16_t h : host(gradh, x.size())) grad_finite &= (h & 0x7c00) != 0x7c00;
  EXPECT(grad_finite && finite(host(loss, B)), "float16 loss/grad finite");

  crnn_ctc_decode_options g{};
  g.blank = 0;
  g.device = CRNN_DEVICE_CUDA;
  const size_t gwb = crnn_ctc_greedy_workspace_size(T, B, C, &g);
  void *gws = nullptr;
  cudaMalloc(&gws, gwb);
  int32_t *ids = dev(std::vector<int32_t>(B * T)), *lens = dev(std::vector<int32_t>(B));
  int32_t *frames = dev(std::vector<int32_t>(B * T));
  float *probs = dev(std::vector<float>(B * T));
  EXPECT(crnn_ctc_greedy_f32(ids, lens, probs, frames, dx, dil, T, B, C, gws, gwb, &g) == 0,
         "greedy");
  EXPECT(crnn_device_error_read(gws, CRNN_DEVICE_CUDA, nullptr, nullptr, nullptr) == 0, "record");
  for (void *p :
       {(void *)dx, (void *)loss, (void *)grad, (void *)dl, (void *)dil, (void *)dll, ws, gws,
        (void *)ids, (void *)lens, (void *)frames, (void *)probs, (void *)dxh, (void *)gradh})
    cudaFree(p);
}

void lstm_case(std::mt19937 &rng, bool per_step) {
  setenv("CRNN_FAST_LSTM_RECURRENCE", per_step ? "per_step" : "", 1);
  const int64_t T = 6, B = 3, I = 8, H = 40, L = 2, D = 2;
  std::normal_distribution<float> n(0, 0.3f);
  auto randv = [&](size_t k) {
    std::vector<float> v(k);
    for (float &e : v) e = n(rng);
    return v;
  };
  std::vector<float *> w_ih, w_hh, b_ih, b_hh, g_ih, g_hh, gb_ih, gb_hh;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t d = 0; d < D; ++d) {
      const int64_t in = l == 0 ? I : D * H;
      w_ih.push_back(dev(randv(4 * H * in))), w_hh.push_back(dev(randv(4 * H * H)));
      b_ih.push_back(dev(randv(4 * H))), b_hh.push_back(dev(randv(4 * H)));
      g_ih.push_back(dev(randv(4 * H * in))), g_hh.push_back(dev(randv(4 * H * H)));
      gb_ih.push_back(dev(randv(4 * H))), gb_hh.push_back(dev(randv(4 * H)));
    }
  std::vector<const float *> cw_ih(w_ih.begin(), w_ih.end()), cw_hh(w_hh.begin(), w_hh.end()),
      cb_ih(b_ih.begin(), b_ih.end()), cb_hh(b_hh.begin(), b_hh.end());
  const crnn_lstm_weights_f32 w{cw_ih.data(), cw_hh.data(), cb_ih.data(), cb_hh.data()};
  crnn_lstm_desc d{T, B, I, H, int(L), 1, 1, 0, CRNN_DEVICE_CUDA, nullptr};
  float *x = dev(randv(T * B * I)), *y = dev(randv(T * B * D * H));
  float *hn = dev(randv(L * D * B * H)), *cn = dev(randv(L * D * B * H));
  float *res = dev(randv(crnn_lstm_reserve_size(&d)));
  int32_t *seq = dev(std::vector<int32_t>{6, 2, 4});
  void *ws = nullptr;
  const size_t fw = crnn_lstm_forward_workspace_size(&d),
               bw = crnn_lstm_backward_workspace_size(&d);
  cudaMalloc(&ws, fw > bw ? fw : bw);
  EXPECT(crnn_lstm_forward_f32(y, hn, cn, res, x, nullptr, nullptr, seq, &w, &d, ws, fw) == 0,
         "lstm forward");
  EXPECT(crnn_device_error_read(ws, CRNN_DEVICE_CUDA, nullptr, nullptr, nullptr) == 0, "record");
  float *dy = dev(randv(T * B * D * H)), *dx = dev(randv(T * B * I));
  float *dh0 = dev(randv(L * D * B * H)), *dc0 = dev(randv(L * D * B * H));
  EXPECT(crnn_lstm_backward_f32(dx, dh0, dc0, g_ih.data(), g_hh.data(), gb_ih.data(), gb_hh.data(),
                                dy, nullptr, nullptr, x, y, nullptr, nullptr, seq, res, &w, &d, ws,
                                bw) == 0,
         "lstm backward");
  EXPECT(crnn_device_error_read(ws, CRNN_DEVICE_CUDA, nullptr, nullptr, nullptr) == 0, "record");
  EXPECT(finite(host(dx, T * B * I)) && finite(host(y, T * B * D * H)), "lstm outputs finite");
  for (auto *v : {&w_ih, &w_hh, &b_ih, &b_hh, &g_ih, &g_hh, &gb_ih, &gb_hh})
    for (float *p : *v) cudaFree(p);
  for (void *p : {(void *)x, (void *)y, (void *)hn, (void *)cn, (void *)res, (void *)seq, ws,
                  (void *)dy, (void *)dx, (void *)dh0, (void *)dc0})
    cudaFree(p);
}

}  // namespace

int main() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    fprintf(stderr, "test_cuda_sanitize: no CUDA device\n");
    return 2;
  }
  std::mt19937 rng(5);
  ctc_cases(rng);
  lstm_case(rng, false);
  lstm_case(rng, true);
  if (cudaDeviceSynchronize() != cudaSuccess) ++failures;
  printf("test_cuda_sanitize: %s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
