// Tests for util/process.h: log tails, pid files, liveness, commands with captured output and a
// deadline, PATH lookup, and spawning a child that dies with its parent (PR_SET_PDEATHSIG).
#include "util/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

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

TEST(Process, RunCommandCapturesOutputAndExitStatusWithoutAShell) {
  auto r =
      run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(5));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_status, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_NE(r->output.find("out\n"), std::string::npos);
  EXPECT_NE(r->output.find("err\n"), std::string::npos);
  // Arguments reach the program as they are: no shell word splitting or globbing.
  auto echo = run_command({"/bin/echo", "a  b", "*"}, std::chrono::seconds(5));
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->output, "a  b *\n");
  EXPECT_EQ(echo->exit_status, 0);
}

TEST(Process, RunCommandAddsEnvironmentVariables) {
  ::setenv("CC_PROCESS_TEST_VAR", "old", 1);
  auto r =
      run_command({"/bin/sh", "-c", "echo \"$CC_PROCESS_TEST_VAR $CC_PROCESS_TEST_NEW\""},
                  std::chrono::seconds(5), {"CC_PROCESS_TEST_VAR=new", "CC_PROCESS_TEST_NEW=x y"});
  ::unsetenv("CC_PROCESS_TEST_VAR");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "new x y\n");
}

TEST(Process, RunCommandKillsTheWholeGroupAtTheDeadline) {
  cc::testing::TempDir tmp;
  const fs::path pidfile = tmp.path() / "grandchild.pid";
  const auto start = std::chrono::steady_clock::now();
  auto r = run_command(
      {"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile.string() + "; echo started; wait"},
      std::chrono::seconds(2));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_status, 128 + SIGKILL);
  EXPECT_EQ(r->output, "started\n");
  EXPECT_GE(took, std::chrono::seconds(2));
  EXPECT_LT(took, std::chrono::seconds(6));
  const auto grandchild = read_pid_file(pidfile);
  ASSERT_TRUE(grandchild.has_value());
  EXPECT_TRUE(wait_process_gone(*grandchild, std::chrono::seconds(3)));
}

TEST(Process, RunCommandReturnsWhenTheProgramExitsEvenIfABackgroundChildKeepsItsOutput) {
  cc::testing::TempDir tmp;
  const fs::path pidfile = tmp.path() / "bg.pid";
  const auto start = std::chrono::steady_clock::now();
  auto r =
      run_command({"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile.string() + "; echo done"},
                  std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_status, 0);
  EXPECT_EQ(r->output, "done\n");
  EXPECT_LT(took, std::chrono::seconds(5));
  if (const auto bg = read_pid_file(pidfile)) ::kill(*bg, SIGKILL);
}

TEST(Process, RunCommandNamesAProgramThatCannotStart) {
  auto r = run_command({"/nonexistent/prog"}, std::chrono::seconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "process.run");
  EXPECT_NE(r.error().message.find("/nonexistent/prog"), std::string::npos);
}

TEST(Process, FindProgramSearchesPathThenTheSystemDirectories) {
  const auto sh = find_program("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_TRUE(sh->is_absolute());
  EXPECT_EQ(find_program("/bin/sh"), fs::path("/bin/sh"));
  EXPECT_FALSE(find_program("cc-no-such-program-xyz").has_value());
  EXPECT_FALSE(find_program("").has_value());
  cc::testing::TempDir tmp;
  ASSERT_TRUE(
      atomic_write_file(tmp.path() / "cc-fake-tool", std::string("#!/bin/sh\n"), 0755).ok());
  const std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", (tmp.path().string() + ":" + saved).c_str(), 1);
  const auto found = find_program("cc-fake-tool");
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(found, tmp.path() / "cc-fake-tool");
}

TEST(Process, ExitStatusDescriptions) {
  EXPECT_EQ(describe_exit_status(0), "exited with code 0");
  EXPECT_EQ(describe_exit_status(3), "exited with code 3");
  EXPECT_EQ(describe_exit_status(137), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(describe_exit_status(-1), "ended in an unknown way");
}

TEST(Process, SpawnNamesAMissingProgramOrAnUnopenableLog) {
  auto missing = spawn_process({"/nonexistent/node"}, SpawnOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/node"), std::string::npos);
  SpawnOptions forked;
  forked.kill_with_parent = true;
  auto missing_forked = spawn_process({"/nonexistent/node"}, forked);
  ASSERT_FALSE(missing_forked.ok());
  EXPECT_NE(missing_forked.error().message.find("/nonexistent/node: exec: No such file"),
            std::string::npos)
      << missing_forked.error().message;
  cc::testing::TempDir tmp;
  forked.log = tmp.path() / "no-such-dir" / "log";
  auto bad_log = spawn_process({"/bin/true"}, forked);
  ASSERT_FALSE(bad_log.ok());
  EXPECT_NE(bad_log.error().message.find("opening the log " + forked.log.string()),
            std::string::npos)
      << bad_log.error().message;
}

// What PR_SET_PDEATHSIG changes: an intermediate process spawns `sleep` (with or without
// kill_with_parent) and is then killed with SIGKILL; only the child spawned with the option dies
// with it.
pid_t spawn_through_helper_then_kill_helper(bool kill_with_parent, const fs::path& log) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t helper = ::fork();
  if (helper == 0) {
    ::close(fds[0]);
    SpawnOptions opt;
    opt.log = log;
    opt.kill_with_parent = kill_with_parent;
    auto pid = spawn_process({"/bin/sleep", "30"}, opt);
    const pid_t child = pid.ok() ? *pid : -1;
    (void)!::write(fds[1], &child, sizeof child);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  pid_t child = -1;
  if (::read(fds[0], &child, sizeof child) != static_cast<ssize_t>(sizeof child)) child = -1;
  ::close(fds[0]);
  ::kill(helper, SIGKILL);
  int st = 0;
  ::waitpid(helper, &st, 0);
  return child;
}

TEST(Process, KillWithParentEndsTheChildWhenItsParentIsKilled) {
  cc::testing::TempDir tmp;
  const pid_t with = spawn_through_helper_then_kill_helper(true, tmp.path() / "with.log");
  ASSERT_GT(with, 0);
  EXPECT_TRUE(wait_process_gone(with, std::chrono::seconds(5)));

  const pid_t without = spawn_through_helper_then_kill_helper(false, tmp.path() / "without.log");
  ASSERT_GT(without, 0);
  EXPECT_FALSE(wait_process_gone(without, std::chrono::milliseconds(500)))
      << "without kill_with_parent the orphan lives on";
  ::kill(without, SIGKILL);
  EXPECT_TRUE(wait_process_gone(without, std::chrono::seconds(5)));
}

TEST(Process, KillWithParentChildGetsDefaultSignalsAndItsOwnSession) {
  cc::testing::TempDir tmp;
  const fs::path log = tmp.path() / "log";
  // A parent that ignores SIGTERM must not hand that on.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGTERM, &ign, &old);
  SpawnOptions opt;
  opt.log = log;
  opt.new_session = true;
  opt.kill_with_parent = true;
  auto pid = spawn_process(
      {"/bin/sh", "-c", "echo sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$; exec sleep 30"}, opt);
  ::sigaction(SIGTERM, &old, nullptr);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_TRUE(process_alive(*pid));
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (text.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = tail_lines(log, 1);
  }
  ::kill(*pid, SIGTERM);
  int st = 0;
  ASSERT_EQ(::waitpid(*pid, &st, 0), *pid);
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
  EXPECT_EQ(text, "sid=" + std::to_string(*pid) + " pid=" + std::to_string(*pid) + "\n");
}

}  // namespace
}  // namespace cc::util
