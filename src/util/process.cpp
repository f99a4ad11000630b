#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "util/files.h"

extern char** environ;

namespace cc::util {
namespace {
namespace fs = std::filesystem;

// A /proc file (or a pid file) read whole with read(2); an error ends the text. A process that
// exits while its /proc/PID/cmdline or stat is read fails the read with ESRCH, and libstdc++'s
// filebuf throws on a read error through istreambuf_iterator — that aborted `localnet stop`.
std::string proc_read(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(fd);
  return out;
}

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// What a forked child reports through its close-on-exec pipe when it cannot reach exec.
struct ForkFailure {
  int step = 0;  // index into kForkSteps
  int err = 0;   // errno
};
constexpr std::array<const char*, 4> kForkSteps = {"opening /dev/null", "opening the log",
                                                   "setting PR_SET_PDEATHSIG", "exec"};

// In the forked child: reports the failed step and errno to the parent, and exits.
[[noreturn]] void fork_child_fail(int report_fd, int step) {
  const ForkFailure f{step, errno};
  (void)!::write(report_fd, &f, sizeof f);
  ::_exit(127);
}

// spawn_process for kill_with_parent: fork + exec, because only the child itself can prctl.
// Between fork and exec the child runs only async-signal-safe calls (sigaction, pthread_sigmask,
// setsid, open, dup2, prctl, getppid, write, execve, _exit) on data prepared before the fork:
// another thread may have held the malloc lock at the moment of the fork.
Result<pid_t> spawn_forked(const std::vector<std::string>& argv, const SpawnOptions& options) {
  std::vector<char*> args = c_argv(argv);
  const char* log = options.log.empty() ? nullptr : options.log.c_str();
  const pid_t parent = ::getpid();
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return make_error("localnet.spawn", "cannot start " + argv[0] + ": pipe: " + errno_text(errno));
  }
  // Signals stay blocked across the fork so none of our handlers runs in the child before the
  // child has reset the dispositions.
  sigset_t all;
  sigfillset(&all);
  sigset_t saved;
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = ::fork();
  if (pid == 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) (void)::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
    if (options.new_session) (void)::setsid();
    const int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || ::dup2(in, 0) < 0) fork_child_fail(report[1], 0);
    if (in > 2) ::close(in);
    if (log != nullptr) {
      const int out = ::open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) fork_child_fail(report[1], 1);
      if (out > 2) ::close(out);
    }
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fork_child_fail(report[1], 2);
    // The parent may have died before the prctl: then nobody will send the signal.
    if (::getppid() != parent) ::_exit(127);
    ::execve(args[0], args.data(), environ);
    fork_child_fail(report[1], 3);
  }
  const int fork_err = errno;
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    return make_error("localnet.spawn",
                      "cannot start " + argv[0] + ": fork: " + errno_text(fork_err));
  }
  // EOF (the close-on-exec pipe closed by a successful exec) or the child's failure report.
  ForkFailure f;
  ssize_t n = 0;
  do {
    n = ::read(report[0], &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof f)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const auto step = static_cast<std::size_t>(f.step) < kForkSteps.size()
                          ? kForkSteps[static_cast<std::size_t>(f.step)]
                          : "starting";
    std::string what = std::string(step);
    if (f.step == 1) what += " " + options.log.string();
    return make_error("localnet.spawn",
                      "cannot start " + argv[0] + ": " + what + ": " + errno_text(f.err));
  }
  return pid;
}

// Our environment with `extra` ("KEY=VALUE") added, replacing variables of the same name.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view var(*e);
    const std::string_view name = var.substr(0, var.find('='));
    bool replaced = false;
    for (const auto& x : extra) {
      if (std::string_view(x).substr(0, x.find('=')) == name) replaced = true;
    }
    if (!replaced) env.emplace_back(var);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

constexpr std::size_t kMaxCommandOutput = std::size_t{64} * 1024;

}  // namespace

Result<fs::path> self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return make_error("localnet.self_exe", "cannot resolve /proc/self/exe: " + ec.message());
  }
  return p;
}

Result<pid_t> spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return make_error("localnet.spawn", "nothing to run");
  if (options.kill_with_parent) return spawn_forked(argv, options);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!options.log.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The supervisor blocks and handles SIGTERM/SIGCHLD itself; children start from defaults.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
#ifdef POSIX_SPAWN_SETSID
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
#endif
  posix_spawnattr_setflags(&attr, flags);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::vector<char*> args = c_argv(argv);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return make_error("localnet.spawn", "cannot start " + argv[0] + ": " + errno_text(rc));
  }
  return pid;
}

Status spawn_daemon(const std::vector<std::string>& argv, const fs::path& log) {
  // Prepared before fork: the intermediate child only calls setsid, posix_spawn and _exit.
  SpawnOptions opt;
  opt.log = log;
  const pid_t mid = ::fork();
  if (mid < 0) return make_error("localnet.spawn", "fork: " + errno_text(errno));
  if (mid == 0) {
    ::setsid();
    auto pid = spawn_process(argv, opt);
    ::_exit(pid.ok() ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(mid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error("localnet.spawn",
                      "cannot start " + argv.at(0) + " (see " + log.string() + ")");
  }
  return ok_status();
}

std::optional<fs::path> find_program(const std::string& name) {
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (!executable(name)) return std::nullopt;
    std::error_code ec;
    const fs::path abs = fs::absolute(name, ec);
    return ec ? fs::path(name) : abs;
  }
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read-only use
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    if (!dir.empty() && dir.front() == '/') dirs.emplace_back(dir);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  for (const char* d :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    dirs.emplace_back(d);
  }
  for (const auto& d : dirs) {
    const fs::path p = fs::path(d) / name;
    if (executable(p)) return p;
  }
  return std::nullopt;
}

Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const std::vector<std::string>& extra_env) {
  if (argv.empty()) return make_error("process.run", "nothing to run");
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return make_error("process.run", "cannot run " + argv[0] + ": pipe: " + errno_text(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args = c_argv(argv);
  const std::vector<std::string> env_strings = merged_environment(extra_env);
  std::vector<char*> envp = c_argv(env_strings);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return make_error("process.run", "cannot run " + argv[0] + ": " + errno_text(rc));
  }
  (void)::fcntl(out[0], F_SETFL, O_NONBLOCK);

  CommandResult result;
  auto drain = [&]() -> bool {  // false at EOF
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        const auto room = kMaxCommandOutput - std::min(kMaxCommandOutput, result.output.size());
        result.output.append(buf, std::min(room, static_cast<std::size_t>(n)));
        continue;
      }
      if (n == 0) return false;
      return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool open = true;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w < 0 && errno != EINTR) {  // reaped by someone else (a waitpid(-1) elsewhere)
      status = -1;
      break;
    }
    if (w == pid) {
      if (open) (void)drain();  // what it wrote before exiting; not what a grandchild writes later
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (open) (void)drain();
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const int slice = static_cast<int>(std::min<std::int64_t>(left.count() + 1, 20));
    if (open) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, slice) > 0) open = drain();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(slice));
    }
  }
  ::close(out[0]);
  result.exit_status = status == -1 ? -1 : exit_status_from_wait(status);
  return result;
}

int exit_status_from_wait(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

std::string describe_exit_status(int exit_status) {
  if (exit_status < 0) return "ended in an unknown way";
  if (exit_status > 128 && exit_status < 128 + NSIG) {
    const int sig = exit_status - 128;
    const char* name = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
  }
  return "exited with code " + std::to_string(exit_status);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  const std::string stat = proc_read("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return ::kill(pid, 0) == 0 && !fs::exists("/proc/self");
  // "pid (comm) S ...": the state follows the last ')' (comm may contain anything).
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

bool process_matches(pid_t pid, const std::string& needle) {
  if (!process_alive(pid)) return false;
  std::string cmdline = proc_read("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  return cmdline.find(needle) != std::string::npos;
}

bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    (void)::waitpid(pid, &status, WNOHANG);  // reaps it if it is our child; else ECHILD
    if (!process_alive(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool terminate_process(pid_t pid, std::chrono::milliseconds grace) {
  if (!process_alive(pid)) return true;
  ::kill(pid, SIGTERM);
  if (wait_process_gone(pid, grace)) return true;
  ::kill(pid, SIGKILL);
  return wait_process_gone(pid, std::chrono::seconds(5));
}

Status write_pid_file(const fs::path& path, pid_t pid) {
  return atomic_write_file(path, std::to_string(pid) + "\n");
}

std::optional<pid_t> read_pid_file(const fs::path& path) {
  const std::string text = proc_read(path);
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || pid <= 0) return std::nullopt;
  return pid;
}

std::string tail_lines(const fs::path& path, std::size_t lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff window = 1 << 20;
  const std::streamoff start = size > window ? size - window : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (lines == 0) return "";
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;  // the final newline ends the last line
  std::size_t found = 0;
  while (pos > 0) {
    const std::size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    if (++found == lines) {
      pos = nl + 1;
      break;
    }
    pos = nl;
  }
  return text.substr(pos);
}

}  // namespace cc::util
