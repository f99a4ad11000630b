#include "util/files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace cc {
namespace {
namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cc-files-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FilesTest, AtomicWriteReplacesContentAndSetsMode) {
  auto p = dir_ / "f";
  ASSERT_TRUE(atomic_write_file(p, std::string("one"), 0600).ok());
  ASSERT_TRUE(atomic_write_file(p, std::string("two"), 0600).ok());
  EXPECT_EQ(*read_file(p), "two");
  EXPECT_EQ(*file_mode(p), 0600u);
  // no temp files left behind
  int n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir_)) ++n;
  EXPECT_EQ(n, 1);
}

TEST_F(FilesTest, ReadFileNamesMissingPathAndRefusesHugeFiles) {
  auto missing = read_file(dir_ / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "file.missing");
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  ASSERT_TRUE(atomic_write_file(dir_ / "big", std::string(100, 'x')).ok());
  EXPECT_FALSE(read_file(dir_ / "big", 10).ok());
}

TEST_F(FilesTest, SecondProcessLockFailsWithHolderPid) {
  auto lock = ProcessLock::acquire(dir_ / "LOCK");
  ASSERT_TRUE(lock.ok());
  pid_t child = ::fork();
  if (child == 0) {
    auto second = ProcessLock::acquire(dir_ / "LOCK");
    bool names_pid = !second.ok() &&
                     second.error().message.find(std::to_string(::getppid())) != std::string::npos;
    ::_exit(names_pid ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(FilesTest, LockIsReleasedWhenHolderGoesAway) {
  {
    auto lock = ProcessLock::acquire(dir_ / "LOCK");
    ASSERT_TRUE(lock.ok());
  }
  auto again = ProcessLock::acquire(dir_ / "LOCK");
  EXPECT_TRUE(again.ok());
}

TEST_F(FilesTest, LockHolderNamesALiveHolderAndNeverWritesTheFile) {
  EXPECT_FALSE(lock_holder(dir_ / "LOCK").has_value()) << "no file";
  {
    auto lock = ProcessLock::acquire(dir_ / "LOCK");
    ASSERT_TRUE(lock.ok());
    // flock locks belong to the open file description: this process's second open is another
    // one, so the check sees the lock as another process would.
    auto holder = lock_holder(dir_ / "LOCK");
    ASSERT_TRUE(holder.has_value());
    EXPECT_EQ(*holder, std::to_string(::getpid()));
  }
  ASSERT_TRUE(atomic_write_file(dir_ / "LOCK", std::string("4242\n")).ok());
  EXPECT_FALSE(lock_holder(dir_ / "LOCK").has_value()) << "a stale file: nobody holds it";
  auto text = read_file(dir_ / "LOCK");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "4242\n");
}

}  // namespace
}  // namespace cc
