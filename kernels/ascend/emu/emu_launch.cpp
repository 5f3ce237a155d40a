// Host model of the Ascend C API: the core launch (one std::thread per core) and SyncAll.
#include "emu_launch.h"

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "emu_pipe.h"

namespace crnn {
namespace ascend_emu {

struct LaunchState {
  int cores = 0;
  std::mutex m;
  std::condition_variable cv;
  int waiting = 0;  // cores inside SyncAll
  int exited = 0;   // cores that returned from the kernel (or failed)
  uint64_t generation = 0;
  bool aborted = false;
  std::string first_error;

  // Records the first violation and releases every waiting core. Caller holds m.
  void record(int64_t core_idx, const std::string &msg) {
    if (first_error.empty()) first_error = "core " + std::to_string(core_idx) + ": " + msg;
    aborted = true;
    cv.notify_all();
  }
};

namespace {
std::mutex g_atomic_mutex;  // GM atomic adds of every launch

template <typename T>
void add_all(void *dst, const void *src, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    T a, b;
    std::memcpy(&a, static_cast<char *>(dst) + i * sizeof(T), sizeof(T));
    std::memcpy(&b, static_cast<const char *>(src) + i * sizeof(T), sizeof(T));
    // integer atomics wrap (computed unsigned: no signed overflow on the host)
    if constexpr (std::is_integral<T>::value) {
      using U = std::make_unsigned_t<T>;
      a = static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    } else {
      a = a + b;
    }
    std::memcpy(static_cast<char *>(dst) + i * sizeof(T), &a, sizeof(T));
  }
}
}  // namespace

void atomic_add_gm(void *dst, const void *src, uint64_t count, int type_tag) {
  std::lock_guard<std::mutex> lock(g_atomic_mutex);
  switch (type_tag) {
    case TypeTag<float>::value: add_all<float>(dst, src, count); break;
    case TypeTag<int32_t>::value: add_all<int32_t>(dst, src, count); break;
    case TypeTag<int16_t>::value: add_all<int16_t>(dst, src, count); break;
    case TypeTag<int8_t>::value: add_all<int8_t>(dst, src, count); break;
    default: fail("atomic add of an unsupported type");
  }
}

void sync_all() {
  CoreContext &ctx = core();
  if (ctx.launch == nullptr) return;  // a core bound by hand: alone
  LaunchState &st = *ctx.launch;
  std::unique_lock<std::mutex> lock(st.m);
  if (st.aborted) throw Released{};
  if (st.waiting + 1 + st.exited == st.cores && st.exited > 0) {
    const int exited = st.exited;
    lock.unlock();
    fail("SyncAll: %d core(s) already returned from the kernel without it (the hardware hangs)",
         exited);
  }
  if (++st.waiting == st.cores) {
    st.waiting = 0;
    ++st.generation;
    st.cv.notify_all();
    return;
  }
  const uint64_t gen = st.generation;
  st.cv.wait(lock, [&] { return st.generation != gen || st.aborted; });
  if (st.generation == gen) throw Released{};  // aborted while waiting
}

static void run_core(LaunchState &st, CoreContext &ctx, const std::function<void()> &kernel) {
  bind_core(&ctx);
  std::string error;
  bool released = false;
  try {
    kernel();
    if (ctx.deferred.empty()) {
      for (QueueBase *q = ctx.queues; q != nullptr; q = q->next_live) {
        std::string r = q->held_report();
        if (!r.empty()) {
          ctx.deferred = r;
          break;
        }
      }
    }
    error = ctx.deferred;
  } catch (const Violation &v) {
    error = v.what();
  } catch (const Released &) {
    released = true;
  } catch (const std::exception &e) {
    error = std::string("exception in the kernel: ") + e.what();
  } catch (...) {
    error = "an unknown exception in the kernel";
  }
  // Queues that outlive the kernel (leaked) must not touch this context after the launch.
  for (QueueBase *q = ctx.queues; q != nullptr; q = q->next_live) q->ctx = nullptr;
  bind_core(nullptr);

  std::lock_guard<std::mutex> lock(st.m);
  ++st.exited;
  if (!error.empty()) {
    st.record(ctx.block_idx, error);
  } else if (!released && st.waiting > 0 && st.waiting + st.exited == st.cores) {
    st.record(ctx.block_idx, "SyncAll: the core returned from the kernel while " +
                                 std::to_string(st.waiting) +
                                 " core(s) wait in SyncAll (the hardware hangs)");
  }
}

std::string launch(uint32_t block_dim, uint32_t ub_bytes, const std::function<void()> &kernel) {
  if (block_dim == 0) return "launch: block_dim must be >= 1";
  if (ub_bytes % kBlockBytes != 0) return "launch: the UB size must be a multiple of 32 bytes";
  LaunchState st;
  st.cores = static_cast<int>(block_dim);
  struct Arena {
    void operator()(uint8_t *p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  std::vector<std::unique_ptr<uint8_t[], Arena>> arenas;
  std::vector<CoreContext> contexts(block_dim);
  for (uint32_t i = 0; i < block_dim; ++i) {
    arenas.emplace_back(static_cast<uint8_t *>(::operator new[](ub_bytes, std::align_val_t(64))));
    std::memset(arenas.back().get(), 0xFF, ub_bytes);
    CoreContext &c = contexts[i];
    c.block_idx = i;
    c.block_num = block_dim;
    c.ub = arenas.back().get();
    c.ub_bytes = ub_bytes;
    c.launch = &st;
  }
  std::vector<std::thread> threads;
  threads.reserve(block_dim);
  for (uint32_t i = 0; i < block_dim; ++i) {
    threads.emplace_back([&st, &kernel, &contexts, i] { run_core(st, contexts[i], kernel); });
  }
  for (std::thread &t : threads) t.join();
  return st.first_error;
}

}  // namespace ascend_emu
}  // namespace crnn
