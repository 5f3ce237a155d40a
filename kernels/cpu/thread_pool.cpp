// Fork-join pool: workers wait for a job generation number, spin briefly, then sleep.
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CRNN_PAUSE() _mm_pause()
#else
#define CRNN_PAUSE() std::this_thread::yield()
#endif

namespace crnn {
namespace cpu {
namespace {

// An idle worker spins (pause) for kSpinUs, then sleeps on the condition variable. Waking a
// sleeping vCPU costs ~100 us on a VM, more than a small kernel runs, so back-to-back calls must
// find the workers awake; but OpenMP's ~300k-iteration spin took a core from MindSpore's own
// (also spinning) threads. (Polling with sched_yield instead made small calls bimodal, 0.13 or
// 0.35 ms from run to run.)
constexpr int64_t kSpinUs = 300;
constexpr int64_t kCallerSpinUs = 50;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int env_threads(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) return 0;
  const long n = strtol(v, nullptr, 10);
  return n > 0 && n < 4096 ? static_cast<int>(n) : 0;
}

// The CPUs this process may use, taken when the library loads: a framework that later pins
// the thread calling the kernels (and so every thread created from it) must not shrink the pool.
struct LoadMask {
  cpu_set_t set;
  bool ok;
  LoadMask() { ok = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0; }
};
const LoadMask g_load_mask;

int detect_threads() {
  // Not OMP_NUM_THREADS: MindSpore sets it to 1 (C setenv) when it is imported.
  if (int n = env_threads("CRNN_FAST_NUM_THREADS")) return n;
  if (g_load_mask.ok) return CPU_COUNT(&g_load_mask.set);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

class Pool {
 public:
  // A thread that cannot be started leaves a smaller pool (size() counts what started).
  explicit Pool(int workers) noexcept {
    try {
      threads_.reserve(workers);
    } catch (...) {
      return;
    }
    for (int w = 1; w <= workers; ++w) {
      try {
        threads_.emplace_back([this, w] { loop(w); });
      } catch (...) {
        break;
      }
      if (g_load_mask.ok)  // not the creating thread's mask, which may have been pinned since
        pthread_setaffinity_np(threads_.back().native_handle(), sizeof(cpu_set_t),
                               &g_load_mask.set);
    }
  }
  // Never destroyed: a leaked singleton cannot race with static destruction at exit.
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  void run(int nt, int64_t n, bool dynamic, const TaskRef &fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) {  // concurrent or nested call: run it here
      for (int64_t i = 0; i < n; ++i) fn(i, 0);
      return;
    }
    fn_ = &fn, n_ = n, nt_ = nt, dynamic_ = dynamic;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
    bool wake;
    {
      std::lock_guard<std::mutex> lock(m_);
      gen_.fetch_add(1, std::memory_order_release);
      wake = sleepers_ > 0;
    }
    if (wake) cv_.notify_all();
    work(0);
    // Wait for the workers: spin briefly (a yield may hand the core to another process's or
    // MindSpore's spinning thread for a whole time slice), then yield (a worker that was woken
    // onto this core needs it).
    const int64_t spin_until = now_us() + kCallerSpinUs;
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if ((spins & 63) != 63 || now_us() < spin_until)
        CRNN_PAUSE();
      else
        std::this_thread::yield();
    }
  }

 private:
  void work(int t) {
    if (t >= nt_) return;
    const auto &fn = *fn_;
    if (dynamic_) {
      for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n_;) fn(i, t);
    } else {
      // contiguous blocks: neighbouring tasks often write neighbouring memory (false sharing)
      for (int64_t i = t; i < n_; i += nt_) fn(i, t);
    }
  }

  void loop(int w) {
    uint64_t seen = 0;
    for (;;) {
      const int64_t spin_until = now_us() + kSpinUs;
      for (int spins = 0; gen_.load(std::memory_order_acquire) == seen; ++spins) {
        if ((spins & 63) != 63 || now_us() < spin_until) {
          CRNN_PAUSE();
          continue;
        }
        std::unique_lock<std::mutex> lock(m_);
        ++sleepers_;
        cv_.wait(lock, [&] { return gen_.load(std::memory_order_acquire) != seen; });
        --sleepers_;
      }
      seen = gen_.load(std::memory_order_acquire);
      work(w);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_, m_;
  std::condition_variable cv_;
  int sleepers_ = 0;  // guarded by m_
  std::atomic<uint64_t> gen_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> pending_{0};
  const TaskRef *fn_ = nullptr;
  int64_t n_ = 0;
  int nt_ = 1;
  bool dynamic_ = false;
};

std::atomic<Pool *> g_pool{nullptr};
std::mutex g_pool_mutex;

void forget_pool_in_child() {
  g_pool.store(nullptr);
}  // its threads did not survive fork()

// The pool, created on first use; nullptr when it cannot be (out of memory).
Pool *pool() {
  Pool *p = g_pool.load(std::memory_order_acquire);
  if (p) return p;
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  p = g_pool.load(std::memory_order_relaxed);
  if (!p) {
    static bool registered = [] {
      return pthread_atfork(nullptr, nullptr, forget_pool_in_child) == 0;
    }();
    (void)registered;
    p = new (std::nothrow) Pool(max_threads() - 1);
    g_pool.store(p, std::memory_order_release);
  }
  return p;
}

}  // namespace

int max_threads() {
  static const int n = detect_threads();
  return n;
}

void parallel_for(int nt, int64_t n, bool dynamic, TaskRef fn) noexcept {
  if (n <= 0) return;
  if (nt > n) nt = static_cast<int>(n);
  Pool *p = nt <= 1 || max_threads() <= 1 ? nullptr : pool();
  if (!p || p->size() <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  p->run(nt < p->size() ? nt : p->size(), n, dynamic, fn);
}

}  // namespace cpu
}  // namespace crnn
