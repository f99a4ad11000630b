// Tests for util/process.h: log tails, pid files, liveness.
#include "util/process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/temp_dir.h"
#include "util/files.h"

namespace cc::util {
namespace {
namespace fs = std::filesystem;

TEST(Process, TailLinesReturnsTheLastLinesOfAFile) {
  cc::testing::TempDir tmp;
  const fs::path f = tmp.path() / "log";
  ASSERT_TRUE(atomic_write_file(f, std::string("a\nb\nc\n")).ok());
  EXPECT_EQ(tail_lines(f, 2), "b\nc\n");
  EXPECT_EQ(tail_lines(f, 3), "a\nb\nc\n");
  EXPECT_EQ(tail_lines(f, 10), "a\nb\nc\n");
  EXPECT_EQ(tail_lines(f, 0), "");
  ASSERT_TRUE(atomic_write_file(f, std::string("a\nb")).ok());
  EXPECT_EQ(tail_lines(f, 1), "b");
  EXPECT_EQ(tail_lines(tmp.path() / "missing", 5), "");
}

TEST(Process, PidFilesAndLivenessOfThisProcess) {
  cc::testing::TempDir tmp;
  const fs::path f = tmp.path() / "x.pid";
  EXPECT_FALSE(read_pid_file(f).has_value());
  ASSERT_TRUE(write_pid_file(f, ::getpid()).ok());
  EXPECT_EQ(read_pid_file(f), ::getpid());
  EXPECT_TRUE(process_alive(::getpid()));
  EXPECT_TRUE(process_matches(::getpid(), "unit_util"));
  EXPECT_FALSE(process_matches(::getpid(), "no-such-program-name"));
  EXPECT_FALSE(process_alive(0));
}

}  // namespace
}  // namespace cc::util
