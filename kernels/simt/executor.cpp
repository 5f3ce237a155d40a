// The SIMT executor (executor.h): blocks of real threads (workers.h), barriers and per-warp
// exchanges (phaser.h: ThreadSanitizer sees each as the happens-before edge it is on a GPU and
// nothing more), shared arrays as separate heap allocations, and a watchdog.
#include "executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "phaser.h"
#include "workers.h"

namespace crnn {
namespace simt {
namespace {

using Clock = std::chrono::steady_clock;

struct Abort {};  // unwinds a thread of a failed launch

double env_seconds(const char *name, double fallback) {
  const char *v = std::getenv(name);
  if (!v || !*v) return fallback;
  const double s = std::atof(v);
  return s > 0 ? s : fallback;
}

std::atomic<double> g_watchdog_s{env_seconds("CRNN_SIMT_WATCHDOG_S", 60.0)};
std::atomic<uint64_t> g_seed{[] {
  const char *v = std::getenv("CRNN_SIMT_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : 0ull;
}()};

std::string dim_str(const dim3 &d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

class Launch;

// n arrivals, each tagged with a kind; the last arrival runs `complete` and releases the
// others. A wait longer than the watchdog fails the launch.
class Barrier {
 public:
  Barrier(Launch &l, int n) : launch_(l), phaser_(n) {}
  // Returns the kind mask of the completed phase (bit k: some thread arrived with kind k).
  template <typename Complete>
  unsigned arrive(int kind, const char *what, Complete &&complete);
  unsigned arrive(int kind, const char *what) {
    return arrive(kind, what, [](unsigned) {});
  }
  void wake() { phaser_.wake(); }

 private:
  Launch &launch_;
  Phaser phaser_;
  std::atomic<unsigned> kinds_{0};
  unsigned done_kinds_ = 0;  // written by the last arrival before it releases the others
};

// A warp's exchange: each lane offers a 64-bit value; when all lanes arrived, each reads the
// others' values (double-buffered by phase, so one barrier per exchange suffices).
class Warp {
 public:
  Warp(Launch &l, int lanes) : launch_(l), lanes_(lanes), phaser_(lanes) {}
  template <typename Read>
  auto exchange(int lane, unsigned mask, uint64_t value, const char *what, Read &&read);
  void wake() { phaser_.wake(); }

 private:
  Launch &launch_;
  const int lanes_;
  Phaser phaser_;
  uint64_t slots_[2][kWarpSize] = {};
};

}  // namespace

class Block {
 public:
  Block(Launch &l, int threads, size_t dyn_bytes)
      : barrier(l, threads), threads_(threads), dyn_bytes_(dyn_bytes) {
    for (int w = 0; w < (threads + kWarpSize - 1) / kWarpSize; ++w)
      warps.emplace_back(std::make_unique<Warp>(l, std::min(kWarpSize, threads - w * kWarpSize)));
  }
  // Fresh shared memory for the next block this slot runs (called with every thread parked).
  void reset(const dim3 &idx) {
    block_idx = idx;
    arrays_.clear();
    declared_.assign(threads_, 0);
    dynamic_ = alloc(dyn_bytes_, 16);
  }
  void *shared_array(int thread, size_t bytes, size_t align);
  void *dynamic() { return dynamic_.get(); }
  size_t shared_bytes() const {
    size_t s = dyn_bytes_;
    for (auto &a : arrays_) s += a.bytes;
    return s;
  }

  Barrier barrier;
  std::vector<std::unique_ptr<Warp>> warps;
  dim3 block_idx;

 private:
  struct Deleter {
    size_t align;
    void operator()(char *p) const { ::operator delete(p, std::align_val_t(align)); }
  };
  using Mem = std::unique_ptr<char, Deleter>;
  struct Array {
    Mem mem;
    size_t bytes, align;
  };
  static Mem alloc(size_t bytes, size_t align) {
    // Exactly `bytes`: ASan's redzones then catch the first byte past the end.
    char *p = static_cast<char *>(::operator new(bytes, std::align_val_t(align)));
    std::memset(p, 0xFF, bytes);  // NaN / -1: an uninitialised read is garbage, not 0
    return Mem(p, Deleter{align});
  }
  std::mutex m_;
  std::vector<Array> arrays_;
  std::vector<int> declared_;
  const int threads_;
  const size_t dyn_bytes_;
  Mem dynamic_{nullptr, Deleter{16}};
};

namespace {

class Launch {
 public:
  explicit Launch(const LaunchConfig &c) : cfg(c) {}
  // Records the first failure and wakes every waiter (idempotent).
  void fail(const std::string &msg) {
    {
      std::lock_guard<std::mutex> g(m_);
      if (!failed.load()) message = msg;
      failed.store(true);
    }
    for (auto *b : blocks_) {
      b->barrier.wake();
      for (auto &w : b->warps) w->wake();
    }
    if (grid) grid->wake();
  }
  [[noreturn]] void fail_and_abort(const std::string &msg) {
    fail(msg);
    throw Abort{};
  }
  Clock::time_point deadline() const {
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(g_watchdog_s.load()));
  }
  std::string where(const char *what) const {
    const ThreadContext &t = this_thread();
    return std::string(what) + " in block " + dim_str(t.blockIdx) + ", thread " +
           dim_str(t.threadIdx);
  }

  const LaunchConfig cfg;
  std::atomic<bool> failed{false};
  std::string message;
  std::unique_ptr<Barrier> grid;
  std::vector<Block *> blocks_;

 private:
  std::mutex m_;
};

// The wait check of a launch's barriers: abandon the wait when the launch failed, fail it when
// the watchdog's time is up.
struct WaitCheck {
  Launch &launch;
  const char *what;
  Clock::time_point until;
  void operator()() const {
    if (launch.failed.load()) throw Abort{};
    if (Clock::now() > until)
      launch.fail_and_abort("watchdog: " + launch.where(what) +
                            " waited too long: a deadlock (a divergent __syncthreads, grid sync "
                            "or warp operation?)");
  }
};

template <typename Complete>
unsigned Barrier::arrive(int kind, const char *what, Complete &&complete) {
  if (launch_.failed.load()) throw Abort{};
  kinds_.fetch_or(1u << kind, std::memory_order_relaxed);
  phaser_.arrive(
      [&] {
        done_kinds_ = kinds_.exchange(0, std::memory_order_relaxed);
        complete(done_kinds_);
      },
      WaitCheck{launch_, what, launch_.deadline()});
  return done_kinds_;
}

template <typename Read>
auto Warp::exchange(int lane, unsigned mask, uint64_t value, const char *what, Read &&read) {
  if (mask != 0xffffffffu || lanes_ != kWarpSize)
    launch_.fail_and_abort(launch_.where(what) +
                           ": the executor supports full-warp operations only (mask 0xffffffff "
                           "on a warp of 32 threads); got mask " +
                           std::to_string(mask) + " on a warp of " + std::to_string(lanes_));
  if (launch_.failed.load()) throw Abort{};
  uint64_t *slots = slots_[phaser_.generation() & 1];  // this phase's buffer
  slots[lane] = value;
  phaser_.arrive([] {}, WaitCheck{launch_, what, launch_.deadline()});
  return read(slots);
}

std::mutex g_launch_mutex;  // launches from several host threads take turns

thread_local ThreadContext *t_ctx = nullptr;
thread_local Launch *t_launch = nullptr;

constexpr int kKindSync = 0, kKindExit = 1;

}  // namespace

void *Block::shared_array(int thread, size_t bytes, size_t align) {
  std::lock_guard<std::mutex> g(m_);
  const size_t k = static_cast<size_t>(declared_[thread]++);
  if (k < arrays_.size()) {
    if (arrays_[k].bytes != bytes || arrays_[k].align != align)
      t_launch->fail_and_abort(t_launch->where("CRNN_SHARED_ARRAY") +
                               ": threads of a block declared different shared arrays");
    return arrays_[k].mem.get();
  }
  arrays_.push_back({alloc(bytes, align), bytes, align});
  if (shared_bytes() > kMaxSharedBytesPerBlock)
    t_launch->fail_and_abort(t_launch->where("CRNN_SHARED_ARRAY") + ": " +
                             std::to_string(shared_bytes()) +
                             " bytes of shared memory exceed the block limit");
  return arrays_.back().mem.get();
}

ThreadContext &this_thread() {
  if (!t_ctx) std::abort();  // a device function called outside a kernel launch
  return *t_ctx;
}

namespace {
std::string divergent(const dim3 &block) {
  return "divergent __syncthreads in block " + dim_str(block) +
         ": some threads left the kernel while others waited at the barrier";
}
}  // namespace

void sync_threads() {
  const unsigned kinds = t_ctx->block->barrier.arrive(kKindSync, "__syncthreads");
  if (kinds != (1u << kKindSync)) t_launch->fail_and_abort(divergent(t_ctx->blockIdx));
}

namespace {
Warp &my_warp(int *lane) {
  *lane = t_ctx->linear % kWarpSize;
  return *t_ctx->block->warps[t_ctx->linear / kWarpSize];
}
}  // namespace

void sync_warp(unsigned mask) {
  int lane;
  my_warp(&lane).exchange(lane, mask, 0, "__syncwarp", [](const uint64_t *) { return 0; });
}

uint64_t shuffle(unsigned mask, uint64_t value, int src, const char *what) {
  int lane;
  Warp &w = my_warp(&lane);
  if (src < 0 || src >= kWarpSize)
    t_launch->fail_and_abort(t_launch->where(what) + ": source lane " + std::to_string(src) +
                             " outside the warp");
  return w.exchange(lane, mask, value, what, [src](const uint64_t *s) { return s[src]; });
}

unsigned ballot(unsigned mask, bool pred) {
  int lane;
  return my_warp(&lane).exchange(lane, mask, pred ? 1 : 0, "__ballot_sync", [](const uint64_t *s) {
    unsigned bits = 0;
    for (int i = 0; i < kWarpSize; ++i) bits |= unsigned(s[i]) << i;
    return bits;
  });
}

void sync_grid() {
  if (!t_launch->grid)
    t_launch->fail_and_abort(t_launch->where("grid sync") +
                             ": grid sync outside a cooperative launch");
  t_launch->grid->arrive(kKindSync, "grid sync");
}

void *shared_array(size_t bytes, size_t align) {
  return t_ctx->block->shared_array(t_ctx->linear, bytes, align);
}

void *dynamic_shared() {
  return t_ctx->block->dynamic();
}

void set_watchdog_seconds(double seconds) {
  g_watchdog_s.store(seconds > 0 ? seconds : 60.0);
}

void set_seed(uint64_t seed) {
  g_seed.store(seed);
}

int max_cooperative_blocks(int threads_per_block) {
  return threads_per_block > 0 ? std::max(1, kMaxCooperativeThreads / threads_per_block) : 0;
}

std::string launch(const LaunchConfig &cfg, const std::function<void()> &body) {
  const dim3 g = cfg.grid, b = cfg.block;
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  const uint64_t blocks = uint64_t(g.x) * g.y * g.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || b.z > 64)
    return "invalid block " + dim_str(b);
  if (blocks == 0 || g.y > 65535 || g.z > 65535) return "invalid grid " + dim_str(g);
  if (cfg.dynamic_shared_bytes > kMaxSharedBytesPerBlock)
    return "dynamic shared memory of " + std::to_string(cfg.dynamic_shared_bytes) +
           " bytes exceeds the block limit";
  if (cfg.cooperative && blocks > uint64_t(max_cooperative_blocks(int(threads))))
    return "cooperative grid of " + std::to_string(blocks) +
           " blocks exceeds the co-resident limit of " +
           std::to_string(max_cooperative_blocks(int(threads)));

  Launch launch(cfg);
  const int nthreads = static_cast<int>(threads);
  const uint64_t nslots = cfg.cooperative ? blocks : std::min<uint64_t>(kConcurrentBlocks, blocks);
  std::vector<uint64_t> order(blocks);
  std::iota(order.begin(), order.end(), uint64_t{0});
  uint64_t seed = g_seed.load();
  if (seed == 0) seed = std::random_device{}();
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  auto block_index = [&](uint64_t i) {
    const uint64_t lin = order[i];
    return dim3(unsigned(lin % g.x), unsigned(lin / g.x % g.y),
                unsigned(lin / (uint64_t(g.x) * g.y)));
  };

  std::vector<std::unique_ptr<Block>> slots;
  for (uint64_t s = 0; s < nslots; ++s) {
    slots.emplace_back(std::make_unique<Block>(launch, nthreads, cfg.dynamic_shared_bytes));
    slots.back()->reset(block_index(s));
    launch.blocks_.push_back(slots.back().get());
  }
  if (cfg.cooperative) launch.grid = std::make_unique<Barrier>(launch, int(nslots) * nthreads);

  auto run_thread = [&](uint64_t slot, int linear) {
    Block &blk = *slots[slot];
    ThreadContext ctx;
    ctx.blockDim = b;
    ctx.gridDim = g;
    ctx.linear = linear;
    ctx.threadIdx = dim3(linear % b.x, linear / b.x % b.y, linear / (b.x * b.y));
    ctx.block = &blk;
    t_ctx = &ctx;
    t_launch = &launch;
    uint64_t next = slot;
    try {
      while (next < blocks) {
        ctx.blockIdx = blk.block_idx;
        try {
          body();
        } catch (const Abort &) {
          throw;
        } catch (...) {
          launch.fail_and_abort(launch.where("kernel body") + ": threw an exception");
        }
        next += nslots;
        // The end of the block: every thread must get here, none may wait at __syncthreads.
        const unsigned kinds =
            blk.barrier.arrive(kKindExit, "the end of the kernel", [&](unsigned k) {
              if (k == (1u << kKindExit) && next < blocks) blk.reset(block_index(next));
            });
        if (kinds != (1u << kKindExit)) launch.fail_and_abort(divergent(ctx.blockIdx));
        if (launch.failed.load()) throw Abort{};
      }
    } catch (const Abort &) {
      launch.fail("aborted");  // keeps the first message; wakes every waiter
    }
    t_ctx = nullptr;
    t_launch = nullptr;
  };

  std::lock_guard<std::mutex> one_at_a_time(g_launch_mutex);
  run_on_workers(static_cast<int>(nslots) * nthreads,
                 [&](int i) { run_thread(uint64_t(i) / nthreads, i % nthreads); });
  return launch.failed.load() ? (launch.message.empty() ? "launch failed" : launch.message) : "";
}

}  // namespace simt
}  // namespace crnn
