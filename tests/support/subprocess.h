// tests/support/subprocess.h — owns how tests run real processes: run a command to completion
// with captured output and a timeout, or start one in the background and stop/kill it. Every
// started process is killed when its handle goes out of scope, so a failing test leaves nothing.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace cc::testing {

// Path of a binary built next to the tests (bin/corecell, bin/fuzz_*).
inline std::string bin_path(const std::string& name) {
  return std::string(CC_BIN_DIR) + "/" + name;
}

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  int signal = 0;      // terminating signal, if any
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

namespace detail {
inline std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

inline std::string temp_name(const char* tag) {
  static int counter = 0;
  return (std::filesystem::temp_directory_path() /
          ("cc-sub-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + tag))
      .string();
}
}  // namespace detail

// Runs argv[0] (an absolute path) with argv, waits up to `timeout`, and captures its output.
inline RunResult run(const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  RunResult r;
  std::string out = detail::temp_name(".out"), err = detail::temp_name(".err");
  pid_t pid = detail::spawn(argv, out, err);
  if (pid < 0) {
    r.err = "spawn failed: " + argv.at(0);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status) && !r.timed_out) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = detail::slurp(out);
  r.err = detail::slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// A process running in the background; killed (SIGKILL) on destruction unless already reaped.
class Process {
 public:
  explicit Process(const std::vector<std::string>& argv)
      : out_(detail::temp_name(".out")), err_(detail::temp_name(".err")) {
    pid_ = detail::spawn(argv, out_, err_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    std::filesystem::remove(out_);
    std::filesystem::remove(err_);
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool started() const { return pid_ > 0; }
  void signal(int sig) const {
    if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
  }
  // Waits up to timeout for exit; returns the wait status or -1 if still running.
  int wait(std::chrono::milliseconds timeout) {
    if (reaped_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = st;
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }
  [[nodiscard]] bool running() {
    if (reaped_) return false;
    return wait(std::chrono::milliseconds(0)) == -1;
  }
  [[nodiscard]] std::string out() const { return detail::slurp(out_); }
  [[nodiscard]] std::string err() const { return detail::slurp(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// Runs this build's corecell with `args` (the integration tests' way to act as an operator).
inline RunResult run_corecell(std::vector<std::string> args,
                              std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  args.insert(args.begin(), bin_path("corecell"));
  return run(args, timeout);
}

}  // namespace cc::testing
