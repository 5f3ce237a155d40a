// The SIMT executor: a CPU test harness that runs the CUDA kernels' unchanged source
// (kernels/cuda/*.cu compiled by g++ through kernels/cuda/simt.h). It is not a CUDA
// implementation: it models only what our kernels use, so that their logic (indexing,
// barriers, shuffles, shared memory, grid syncs) is tested on machines without a GPU.
//
// Model:
// - Every thread of a block is a real std::thread, so ThreadSanitizer sees a shared-memory
//   access that no barrier orders as a data race. Blocks run `kConcurrentBlocks` at a time on
//   separate thread groups, in a random order (seed: CRNN_SIMT_SEED, default random), so an
//   inter-block race or order dependence shows up too.
// - __syncthreads is a block barrier; a thread that leaves the kernel while others wait at a
//   barrier (a divergent __syncthreads) fails the launch. Warp operations (shuffles, ballots,
//   __syncwarp) are a per-warp exchange that asserts the full mask and a full warp.
// - A cooperative launch runs every block at once; grid_sync() is a grid barrier.
// - Shared memory: every CRNN_SHARED_ARRAY / dynamic shared array of a block is its own heap
//   allocation, filled with 0xFF bytes (NaN, -1) when the block starts, so ASan catches an
//   out-of-bounds access and uninitialised reads give garbage, not zeros.
// - A watchdog fails a launch whose threads wait at a barrier longer than the timeout
//   (CRNN_SIMT_WATCHDOG_S, default 60 s): a deadlock (e.g. a divergent shuffle) is a test
//   failure, not a hang.
// A failed launch returns an error message; the CUDA portability layer turns it into
// cudaErrorLaunchFailure (crnn status EXECUTION_FAILED).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace crnn {
namespace simt {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

constexpr int kWarpSize = 32;
constexpr int kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytesPerBlock = 227 * 1024;  // H100's opt-in limit
constexpr int kConcurrentBlocks = 2;         // thread groups running blocks at the same time
constexpr int kMaxCooperativeThreads = 512;  // every block of a cooperative grid at once

class Block;

// What a kernel body sees of its thread: the CUDA built-in variables.
struct ThreadContext {
  dim3 threadIdx, blockIdx, blockDim, gridDim;
  int linear = 0;  // thread index within the block
  Block *block = nullptr;
};

ThreadContext &this_thread();

struct LaunchConfig {
  dim3 grid, block;
  size_t dynamic_shared_bytes = 0;
  bool cooperative = false;
};

// Runs body() once per thread of the grid; returns "" on success, else what went wrong.
std::string launch(const LaunchConfig &cfg, const std::function<void()> &body);

// Device-side operations (called through kernels/cuda/simt.h).
void sync_threads();
void sync_warp(unsigned mask);
void sync_grid();
// A shuffle: every lane of the warp offers `value`, receives lane `src`'s (src in [0, 32)).
uint64_t shuffle(unsigned mask, uint64_t value, int src, const char *what);
unsigned ballot(unsigned mask, bool pred);
// The i-th shared array the block declares (in declaration order: every thread declares the
// same sequence), of `bytes` bytes; the dynamic one is index -1.
void *shared_array(size_t bytes, size_t align);
void *dynamic_shared();

// Test hooks: the watchdog timeout and the block-order seed (0: random per launch).
void set_watchdog_seconds(double seconds);
void set_seed(uint64_t seed);

// Blocks a cooperative launch of this block size may have (the emulated device's co-resident
// limit: kMaxCooperativeThreads threads in all).
int max_cooperative_blocks(int threads_per_block);

}  // namespace simt
}  // namespace crnn
