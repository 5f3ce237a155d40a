// Self-tests of the SIMT executor (kernels/simt/executor.h) through the CUDA portability layer
// (kernels/cuda/simt.h): kernels written as CUDA, run on the CPU.
//   test_simt_executor            barriers, shuffles, ballots, atomics, shared arrays,
//                                 cooperative grid sync, random block order; a divergent
//                                 __syncthreads, a divergent shuffle and a partial-mask shuffle
//                                 fail their launch (no hang)
//   test_simt_executor race       a planted shared-memory race: ThreadSanitizer must report it
//   test_simt_executor oob        a planted out-of-bounds shared access: ASan must report it
// (the last two are ctest cases of the sanitizer builds, which expect the sanitizer's report)
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "../../kernels/cuda/simt.h"

namespace emu = crnn::cuda_emu;

static int failures = 0;
#define EXPECT(cond)                                                       \
  do {                                                                     \
    if (!(cond)) {                                                         \
      ++failures;                                                          \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

namespace {

__global__ void block_sum(const float *x, float *out, int n) {
  CRNN_SHARED_ARRAY(float, part, 32);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < n ? x[i] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    float w = threadIdx.x < blockDim.x / 32 ? part[threadIdx.x] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) w += __shfl_down_sync(0xffffffffu, w, o);
    if (threadIdx.x == 0) out[blockIdx.x] = w;
  }
}

__global__ void ballot_and_atomics(const int *x, unsigned *ballots, int *total, float *ftotal,
                                   unsigned long long *lowest) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned b = __ballot_sync(0xffffffffu, x[i] > 0);
  if (threadIdx.x % 32 == 0) ballots[i / 32] = b;
  atomicAdd(total, x[i]);
  atomicAdd(ftotal, 0.5f);
  if (x[i] > 0) atomicMin(lowest, static_cast<unsigned long long>(i));
}

__global__ void block_order(int *order, int *counter) {
  if (threadIdx.x == 0) order[atomicAdd(counter, 1)] = blockIdx.x + gridDim.x * blockIdx.y;
}

__global__ void grid_exchange(int *slot, int *seen) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x, n = gridDim.x * blockDim.x;
  slot[i] = i * 3;
  crnn::simt::grid_sync();
  seen[i] = slot[(i + blockDim.x) % n];  // another block's value, written before the sync
}

__global__ void dynamic_shared_roundtrip(float *out) {
  CRNN_DYNAMIC_SHARED(float, buf);
  buf[threadIdx.x] = float(threadIdx.x);
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = buf[blockDim.x - 1 - threadIdx.x];
}

__global__ void divergent_barrier(int *x) {
  if (threadIdx.x < 16) __syncthreads();
  x[threadIdx.x] = 1;
}

__global__ void divergent_shuffle(int *x) {
  int v = threadIdx.x;
  if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  x[threadIdx.x] = v;
}

__global__ void partial_mask_shuffle(int *x) {
  x[threadIdx.x] = __shfl_sync(0x0000ffffu, int(threadIdx.x), 0);
}

__global__ void planted_race(float *out) {
  CRNN_SHARED_ARRAY(float, s, 64);
  s[threadIdx.x] = float(threadIdx.x);
  // no __syncthreads: thread t reads what thread t+1 writes
  out[threadIdx.x] = s[(threadIdx.x + 1) % blockDim.x];
}

__global__ void planted_oob(float *out) {
  CRNN_SHARED_ARRAY(float, s, 64);
  s[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x + 1];  // thread 63 reads s[64]
}

void test_block_sum() {
  const int n = 1000, threads = 128, blocks = (n + threads - 1) / threads;
  std::vector<float> x(n), out(blocks, NAN);
  for (int i = 0; i < n; ++i) x[i] = float(i % 7);
  EXPECT(emu::launch(block_sum, dim3(blocks), dim3(threads), 0, nullptr, x.data(), out.data(), n) ==
         cudaSuccess);
  for (int b = 0; b < blocks; ++b) {
    float want = 0;
    for (int i = b * threads; i < std::min(n, (b + 1) * threads); ++i) want += x[i];
    EXPECT(out[b] == want);
  }
}

void test_ballot_atomics() {
  const int threads = 64, blocks = 4, n = threads * blocks;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i % 3 == 1) ? 1 : 0;
  std::vector<unsigned> ballots(n / 32, 0);
  int total = 0;
  float ftotal = 0;
  unsigned long long lowest = ~0ull;
  EXPECT(emu::launch(ballot_and_atomics, dim3(blocks), dim3(threads), 0, nullptr, x.data(),
                     ballots.data(), &total, &ftotal, &lowest) == cudaSuccess);
  for (int w = 0; w < n / 32; ++w) {
    unsigned want = 0;
    for (int l = 0; l < 32; ++l) want |= unsigned(x[w * 32 + l] > 0) << l;
    EXPECT(ballots[w] == want);
  }
  int want_total = 0;
  for (int v : x) want_total += v;
  EXPECT(total == want_total);
  EXPECT(ftotal == 0.5f * n);
  EXPECT(lowest == 1ull);
}

void test_random_block_order() {
  const int blocks = 24;
  std::set<std::vector<int>> orders;
  for (int rep = 0; rep < 4; ++rep) {
    std::vector<int> order(blocks, -1);
    int counter = 0;
    EXPECT(emu::launch(block_order, dim3(6, 4), dim3(32), 0, nullptr, order.data(), &counter) ==
           cudaSuccess);
    EXPECT(counter == blocks);
    std::set<int> ids(order.begin(), order.end());
    EXPECT(int(ids.size()) == blocks && *ids.begin() == 0 && *ids.rbegin() == blocks - 1);
    orders.insert(order);
  }
  EXPECT(orders.size() > 1);  // 4 random orders of 24 blocks: equal with probability ~0
}

void test_cooperative() {
  const int threads = 64, blocks = 4, n = threads * blocks;
  std::vector<int> slot(n, -1), seen(n, -1);
  EXPECT(emu::launch_cooperative(grid_exchange, dim3(blocks), dim3(threads), 0, nullptr,
                                 slot.data(), seen.data()) == cudaSuccess);
  for (int i = 0; i < n; ++i) EXPECT(seen[i] == ((i + threads) % n) * 3);
  // without a cooperative launch the grid sync is an error, not a hang
  EXPECT(emu::launch(grid_exchange, dim3(blocks), dim3(threads), 0, nullptr, slot.data(),
                     seen.data()) == cudaErrorLaunchFailure);
  // more blocks than can be co-resident: refused
  const int too_many = crnn::simt::max_cooperative_blocks(threads) + 1;
  std::vector<int> big(too_many * threads);
  EXPECT(emu::launch_cooperative(grid_exchange, dim3(too_many), dim3(threads), 0, nullptr,
                                 big.data(), big.data()) == cudaErrorLaunchFailure);
}

void test_dynamic_shared() {
  std::vector<float> out(3 * 96, NAN);
  EXPECT(emu::launch(dynamic_shared_roundtrip, dim3(3), dim3(96), 96 * sizeof(float), nullptr,
                     out.data()) == cudaSuccess);
  for (int i = 0; i < 3 * 96; ++i) EXPECT(out[i] == float(95 - i % 96));
}

void test_failures_are_caught() {
  std::vector<int> x(64, 0);
  EXPECT(emu::launch(divergent_barrier, dim3(1), dim3(64), 0, nullptr, x.data()) ==
         cudaErrorLaunchFailure);
  EXPECT(emu::launch(partial_mask_shuffle, dim3(1), dim3(32), 0, nullptr, x.data()) ==
         cudaErrorLaunchFailure);
  crnn::simt::set_watchdog_seconds(0.5);
  EXPECT(emu::launch(divergent_shuffle, dim3(1), dim3(32), 0, nullptr, x.data()) ==
         cudaErrorLaunchFailure);
  crnn::simt::set_watchdog_seconds(0);
  // the executor is usable again after failed launches
  test_block_sum();
}

}  // namespace

int main(int argc, char **argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "race" || mode == "oob") {
    std::vector<float> out(64, 0);
    const cudaError_t e = emu::launch(mode == "race" ? planted_race : planted_oob, dim3(1),
                                      dim3(64), 0, nullptr, out.data());
    std::printf("planted %s kernel ran (status %d): the sanitizer should have reported it\n",
                mode.c_str(), int(e));
    return 0;
  }
  test_block_sum();
  test_ballot_atomics();
  test_random_block_order();
  test_cooperative();
  test_dynamic_shared();
  test_failures_are_caught();
  if (failures)
    std::fprintf(stderr, "test_simt_executor: %d failures\n", failures);
  else
    std::printf("test_simt_executor: OK\n");
  return failures ? 1 : 0;
}
