// The kernels' thread pool: every task runs exactly once on a valid thread slot (static and
// dynamic schedules, n < nt, n >> nt), concurrent and nested calls fall back to serial, and a
// forked child can still use it.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "check.h"
#include "cpu/thread_pool.h"

using crnn::cpu::parallel_for;

static void check_once(int nt, int64_t n, bool dynamic) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int> bad_slot{0};
  parallel_for(nt, n, dynamic, [&](int64_t i, int t) {
    hits[static_cast<size_t>(i)].fetch_add(1);
    if (t < 0 || t >= (nt < 1 ? 1 : nt)) bad_slot.fetch_add(1);
  });
  int wrong = 0;
  for (auto &h : hits) wrong += h.load() != 1;
  CHECK(wrong == 0, "nt=%d n=%lld dynamic=%d: %d tasks not run exactly once", nt, (long long)n,
        dynamic, wrong);
  CHECK(bad_slot.load() == 0, "nt=%d: thread slot out of range", nt);
}

int main() {
  CHECK(crnn::cpu::max_threads() >= 1, "max_threads() = %d", crnn::cpu::max_threads());
  for (bool dynamic : {false, true})
    for (int nt : {0, 1, 2, 3, 8})
      for (int64_t n : {1, 2, 3, 7, 64, 1000}) check_once(nt, n, dynamic);
  parallel_for(4, 0, false, [&](int64_t, int) { CHECK(false, "ran a task with n = 0"); });

  // Nested: the inner call runs serially on the calling worker, every task still once.
  std::atomic<int> inner{0};
  parallel_for(2, 4, false, [&](int64_t, int) {
    parallel_for(2, 5, true, [&](int64_t, int) { inner.fetch_add(1); });
  });
  CHECK(inner.load() == 20, "nested: %d of 20 inner tasks", inner.load());

  // Concurrent callers (as MindSpore may run two ops at once): all work done, no deadlock.
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int r = 0; r < 200; ++r)
        parallel_for(2, 16, r % 2, [&](int64_t, int) { total.fetch_add(1); });
    });
  for (auto &th : callers) th.join();
  CHECK(total.load() == 4 * 200 * 16, "concurrent: %d of %d tasks", total.load(), 4 * 200 * 16);

  // fork(): the child must not wait for workers that did not survive.
  const pid_t pid = fork();
  if (pid == 0) {
    std::atomic<int> n{0};
    parallel_for(2, 100, false, [&](int64_t, int) { n.fetch_add(1); });
    _exit(n.load() == 100 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child failed (status %d)", status);

  if (failures) {
    fprintf(stderr, "test_thread_pool: %d failures\n", failures);
    return 1;
  }
  printf("test_thread_pool: all checks passed\n");
  return 0;
}
