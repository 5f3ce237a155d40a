// The CPU kernels' own fork-join thread pool (replaces OpenMP's `parallel for`).
//
// Why not OpenMP: libgomp's idle workers spin for ~300k iterations after each parallel region,
// and the policy is fixed by OMP_WAIT_POLICY when libgomp loads -- which MindSpore does before
// crnn_fast is imported. Inside MindSpore (whose own threads also busy-wait) those spinning
// workers took a core from the framework and made the ops 2-4x slower on a 2-core machine.
// Here idle workers spin briefly, then sleep on a condition variable.
//
// Thread count: CRNN_FAST_NUM_THREADS, else the CPUs this process may run on (OMP_NUM_THREADS
// is ignored: MindSpore sets it to 1 for the whole process when it is imported). One job runs at a
// time; a call made while the pool is busy (another thread, or nested inside a task) runs serially
// on the calling thread. Safe across fork(): the child builds a new pool on first use.
#pragma once

#include <stdint.h>

namespace crnn {
namespace cpu {

// A non-owning reference to a callable fn(int64_t i, int thread), valid while the callable
// lives (a lambda passed to parallel_for lives until the call returns). Unlike std::function
// it never allocates, so a kernel entry point that runs a parallel_for cannot fail or throw.
class TaskRef {
 public:
  template <typename F>
  TaskRef(const F &f) noexcept  // NOLINT: implicit, so call sites pass lambdas directly
      : obj_(&f),
        call_([](const void *o, int64_t i, int t) { (*static_cast<const F *>(o))(i, t); }) {}
  void operator()(int64_t i, int t) const { call_(obj_, i, t); }

 private:
  const void *obj_;
  void (*call_)(const void *, int64_t, int);
};

// Threads the kernels use by default (>= 1).
int max_threads();

// Runs fn(i, thread) for every i in [0, n) on min(nt, max_threads()) threads, the caller being
// thread 0 and `thread` < nt the slot to index per-thread scratch with. Static schedule: thread
// t runs the contiguous block [n*t/nt, n*(t+1)/nt) (so with n == nt every task gets its own
// thread); dynamic: tasks go out in order to whichever thread is free. fn must not throw.
// Allocates nothing per call; if the pool cannot be created (first call), runs serially.
void parallel_for(int nt, int64_t n, bool dynamic, TaskRef fn) noexcept;

}  // namespace cpu
}  // namespace crnn
