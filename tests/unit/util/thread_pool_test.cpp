#include "util/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

namespace cc {
namespace {

std::set<std::string> thread_names_of_this_process() {
  std::set<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  return names;
}

TEST(ThreadPool, RunsEveryIterationExactlyOnce) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3u);
  std::vector<std::atomic<int>> hits(5000);
  pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i].fetch_add(1); });
  for (std::size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

TEST(ThreadPool, WorkersAreNamedCcVerifyN) {
  ThreadPool pool(2);
  auto names = thread_names_of_this_process();
  EXPECT_TRUE(names.count("cc-verify-0")) << "thread names seen: " << names.size();
  EXPECT_TRUE(names.count("cc-verify-1"));
  ThreadPool other(1, "cc-test");
  EXPECT_TRUE(thread_names_of_this_process().count("cc-test-0"));
}

TEST(ThreadPool, WorkActuallyRunsOnMoreThanOneThread) {
  ThreadPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.parallel_for(40, [&](std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_GE(ids.size(), 2u);
}

TEST(ThreadPool, ZeroIterationsReturnImmediately) {
  ThreadPool pool(1);
  bool called = false;
  pool.parallel_for(0, [&](std::size_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPool, ManySmallJobsBackToBack) {
  // Exercises the hand-over between jobs (late workers, generation changes).
  ThreadPool pool(2);
  std::atomic<std::size_t> sum{0};
  for (std::size_t job = 0; job < 2000; ++job) {
    pool.parallel_for(job % 5 + 1, [&](std::size_t i) { sum.fetch_add(i + 1); });
  }
  std::size_t expected = 0;
  for (std::size_t job = 0; job < 2000; ++job) {
    std::size_t n = job % 5 + 1;
    expected += n * (n + 1) / 2;
  }
  EXPECT_EQ(sum.load(), expected);
}

TEST(ThreadPool, RethrowsAfterAllIterationsRan) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(pool.parallel_for(100,
                                 [&](std::size_t i) {
                                   ran.fetch_add(1);
                                   if (i == 13) throw std::runtime_error("iteration 13");
                                 }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 100);
  // The pool stays usable.
  std::atomic<int> after{0};
  pool.parallel_for(10, [&](std::size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPool, ConcurrentCallersEachGetTheirOwnResults) {
  ThreadPool pool(2);
  std::vector<int> a(1000, 0), b(1000, 0);
  std::thread t1([&] { pool.parallel_for(a.size(), [&](std::size_t i) { a[i] = 1; }); });
  std::thread t2([&] { pool.parallel_for(b.size(), [&](std::size_t i) { b[i] = 2; }); });
  t1.join();
  t2.join();
  EXPECT_EQ(std::count(a.begin(), a.end(), 1), 1000);
  EXPECT_EQ(std::count(b.begin(), b.end(), 2), 1000);
}

}  // namespace
}  // namespace cc
