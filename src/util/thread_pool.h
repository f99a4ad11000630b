// util/thread_pool.h — owns a small fixed-size worker pool for data-parallel CPU work (sender
// recovery during block import). Threads are named "<prefix>-N" (default "cc-verify-N") so
// they show up in top/gdb. It must never run long-lived or blocking I/O tasks: parallel_for is
// for short, CPU-bound, independent iterations.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cc {

class ThreadPool {
 public:
  // threads = 0 picks std::thread::hardware_concurrency() (at least 1).
  explicit ThreadPool(std::size_t threads = 0, const std::string& name_prefix = "cc-verify");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] std::size_t size() const { return workers_.size(); }

  // Runs fn(i) for every i in [0, n) on the workers and the calling thread, and returns when all
  // are done. Iterations must be independent. If any fn throws, the remaining iterations still
  // run and the first exception is rethrown here. Concurrent callers are serialised.
  void parallel_for(std::size_t n, const std::function<void(std::size_t)>& fn);

 private:
  void worker_loop();
  // Claims and runs iterations of the current job until none are left; lock holds mu_ on entry
  // and exit, released while an iteration runs.
  void run_chunk(std::unique_lock<std::mutex>& lock);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one parallel_for at a time

  std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t job_n_ = 0;
  std::size_t next_ = 0;        // next iteration to claim
  std::size_t finished_ = 0;    // iterations completed
  std::size_t generation_ = 0;  // bumps per job so workers notice a new one
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace cc
