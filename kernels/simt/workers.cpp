// The executor's worker threads (workers.h).
#include "workers.h"

#include <pthread.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace crnn {
namespace simt {
namespace {

class Pool {
 public:
  void run(int n, const std::function<void(int)> &fn) {
    std::lock_guard<std::mutex> turn(launch_);
    std::unique_lock<std::mutex> lk(m_);
    while (static_cast<int>(threads_.size()) < n) {
      const int i = static_cast<int>(threads_.size());
      threads_.emplace_back([this, i] { work(i); });
      threads_.back().detach();  // the pool lives as long as the process
    }
    job_ = &fn;
    job_n_ = n;
    pending_ = n;
    ++job_gen_;
    start_.notify_all();
    done_.wait(lk, [&] { return pending_ == 0; });
    job_ = nullptr;
  }

 private:
  void work(int i) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      start_.wait(lk, [&] { return job_gen_ != seen; });
      seen = job_gen_;
      if (i >= job_n_) continue;
      const std::function<void(int)> *fn = job_;
      lk.unlock();
      (*fn)(i);
      lk.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex launch_, m_;
  std::condition_variable start_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)> *job_ = nullptr;
  int job_n_ = 0, pending_ = 0;
  uint64_t job_gen_ = 0;
};

Pool *g_pool = nullptr;
std::once_flag g_once;

}  // namespace

void run_on_workers(int n, const std::function<void(int)> &fn) {
  std::call_once(g_once, [] {
    g_pool = new Pool;  // never destroyed: detached workers may outlive static destructors
    pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool; });
  });
  g_pool->run(n, fn);
}

}  // namespace simt
}  // namespace crnn
