#include "util/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <thread>

#include "util/files.h"

extern char** environ;

namespace cc::util {
namespace {
namespace fs = std::filesystem;

std::string proc_read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return out;
}

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
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
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
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
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
