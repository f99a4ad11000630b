#include "localnet/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "node/config.h"
#include "node/control.h"
#include "node/datadir.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Lines of a node's log quoted when it fails to come up.
constexpr std::size_t kLogTailLines = 15;
// A node that keeps dying is restarted no faster than this (AUTO_RESTART=1 only).
constexpr auto kRestartDelay = 2s;

std::string sup_describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return std::string("killed by signal ") + std::to_string(sig) +
           (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
  }
  return "ended (wait status " + std::to_string(status) + ")";
}

const char* sup_node_role_arg(NodeRole role) { return role_text(role); }

// A node's socket and LOCK are stale once no process of it runs: remove them so the directory
// looks like a stopped node's (and a held LOCK is reported, never removed).
Status sup_remove_stale_files(const Manifest& m, const NodeEntry& n) {
  std::error_code ec;
  fs::remove(node_pid_path(m, n), ec);
  if (node_pid(m, n)) {
    return make_error("localnet.still_running", "node " + n.name + " is still running");
  }
  fs::remove(node::control_socket_path(n.data_dir), ec);
  const fs::path lock = node::lock_path(n.data_dir);
  if (fs::exists(lock, ec)) {
    // Taking the lock proves no process holds it; remove the file while holding it.
    auto held = ProcessLock::acquire(lock);
    if (!held.ok()) return held.error().context("node " + n.name);
    fs::remove(lock, ec);
  }
  return ok_status();
}

void sup_append_line(const fs::path& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
}

std::string sup_log_quote(const NodeEntry& n) {
  std::string tail = util::tail_lines(n.log, kLogTailLines);
  if (tail.empty()) return "\n  (" + n.log.string() + " is empty)";
  std::string out = "\n  last lines of " + n.log.string() + ":\n";
  std::size_t pos = 0;
  while (pos < tail.size()) {
    std::size_t nl = tail.find('\n', pos);
    if (nl == std::string::npos) nl = tail.size();
    out += "    " + tail.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  return out;
}

// --- the supervisor process ---

struct SupChild {
  const NodeEntry* node = nullptr;
  bool auto_restart = false;
  pid_t pid = 0;  // 0: not running
  std::optional<SteadyClock::time_point> restart_at;
  unsigned restarts = 0;
};

class Supervisor {
 public:
  explicit Supervisor(const Manifest& m) : m_(m), log_(logger("localnet")) {}

  int run() {
    if (auto st = ensure_dir(run_dir(m_)); !st.ok()) {
      log_->error("{}", st.error().message);
      return 1;
    }
    auto lock = ProcessLock::acquire(run_dir(m_) / "supervisor.lock");
    if (!lock.ok()) {
      log_->error("another supervisor runs this localnet: {}", lock.error().message);
      return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1}) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (auto st = util::write_pid_file(supervisor_pid_path(m_), ::getpid()); !st.ok()) {
      log_->error("{}", st.error().message);
      return 1;
    }
    auto exe = util::self_exe();
    if (!exe.ok()) {
      log_->error("{}", exe.error().message);
      std::error_code ec;
      fs::remove(supervisor_pid_path(m_), ec);
      return 1;
    }
    exe_ = *exe;
    log_->info("supervising {} nodes of {} (pid {})", m_.nodes.size(), m_.dir.string(), ::getpid());
    for (const auto& n : m_.nodes) {
      SupChild c;
      c.node = &n;
      c.auto_restart = n.auto_restart;
      // The conf is the truth for AUTO_RESTART (an operator may have edited it since init).
      auto cfg = node::load_node_config(n.role == NodeRole::cn   ? node::Role::cn
                                        : n.role == NodeRole::pn ? node::Role::pn
                                                                 : node::Role::en,
                                        n.conf);
      if (cfg.ok()) c.auto_restart = cfg->auto_restart;
      // An HA host's agent is always restarted, as its systemd unit would be (Restart=always):
      // a restarted agent comes back as a standby.
      if (n.has_agent()) c.auto_restart = true;
      children_.push_back(c);
    }
    for (auto& c : children_) start(c);

    int stop_signal = 0;
    while (stop_signal == 0) {
      siginfo_t info;
      timespec ts{0, 500'000'000};
      const int sig = sigtimedwait(&set, &info, &ts);
      if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) stop_signal = sig;
      reap();
      const auto now = SteadyClock::now();
      std::error_code ec;
      for (auto& c : children_) {
        if (c.pid == 0 && stop_signal == 0 &&
            fs::remove(node_start_request_path(m_, *c.node), ec)) {
          c.restart_at.reset();
          log_->info("starting {} (requested by `localnet start`)", c.node->name);
          start(c);
          continue;
        }
        if (c.restart_at && fs::exists(node_held_path(m_, *c.node), ec)) {
          c.restart_at.reset();
          log_->info("{} is held down by `localnet stop`: not restarted", c.node->name);
        }
        if (c.pid == 0 && c.restart_at && now >= *c.restart_at && stop_signal == 0) {
          c.restart_at.reset();
          ++c.restarts;
          log_->info("restarting {} (AUTO_RESTART=1; restart {})", c.node->name, c.restarts);
          start(c);
        }
      }
    }
    log_->info("received signal {}, stopping {} nodes", stop_signal, running());
    stop_all();
    for (const auto& n : m_.nodes) {
      if (auto st = sup_remove_stale_files(m_, n); !st.ok()) log_->warn("{}", st.error().message);
    }
    std::error_code ec;
    fs::remove(supervisor_pid_path(m_), ec);
    fs::remove(lock->path(), ec);  // still held here, so no second supervisor can be racing us
    log_->info("stopped");
    return 0;
  }

 private:
  void start(SupChild& c) {
    const NodeEntry& n = *c.node;
    std::error_code ec;
    fs::remove(node_exit_path(m_, n), ec);
    (void)ensure_dir(n.log.parent_path());
    sup_append_line(n.log, "---- corecell localnet: starting " + n.name + " (" +
                               std::to_string(unix_seconds_now()) + " unix time) ----");
    util::SpawnOptions opt;
    // An HA host: its agent runs (and owns) the node; the agent's own output has its log.
    std::vector<std::string> argv =
        n.has_agent()
            ? std::vector<std::string>{exe_.string(), "ha", "agent", "--conf", n.ha_conf.string()}
            : std::vector<std::string>{exe_.string(), "node",
                                       "--role",      sup_node_role_arg(n.role),
                                       "--conf",      n.conf.string()};
    opt.log = n.has_agent() ? n.ha_log : n.log;
    if (n.has_agent()) (void)ensure_dir(n.ha_log.parent_path());
    auto pid = util::spawn_process(argv, opt);
    if (!pid.ok()) {
      log_->error("{}: {}", n.name, pid.error().message);
      (void)atomic_write_file(node_exit_path(m_, n), "not started: " + pid.error().message + "\n");
      return;
    }
    c.pid = *pid;
    (void)util::write_pid_file(node_pid_path(m_, n), c.pid);
    std::string cmdline;
    for (const auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
    log_->info("started {} (pid {}): {}", n.name, c.pid, cmdline);
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      for (auto& c : children_) {
        if (c.pid != pid) continue;
        c.pid = 0;
        const std::string what = sup_describe_exit(status);
        std::error_code ec;
        fs::remove(node_pid_path(m_, *c.node), ec);
        (void)atomic_write_file(node_exit_path(m_, *c.node), what + "\n");
        sup_append_line(c.node->log,
                        "---- corecell localnet: " + c.node->name + " " + what + " ----");
        if (stopping_) {
          log_->info("{} (pid {}) {}", c.node->name, pid, what);
        } else if (c.auto_restart) {
          log_->warn("{} (pid {}) {}; restarting in {} s", c.node->name, pid, what,
                     std::chrono::duration_cast<std::chrono::seconds>(kRestartDelay).count());
          c.restart_at = SteadyClock::now() + kRestartDelay;
        } else {
          log_->warn("{} (pid {}) {}; not restarted (AUTO_RESTART=0 in {})", c.node->name, pid,
                     what, c.node->conf.string());
        }
      }
    }
  }

  [[nodiscard]] std::size_t running() const {
    std::size_t n = 0;
    for (const auto& c : children_) n += c.pid != 0 ? 1 : 0;
    return n;
  }

  // All nodes at once (a sequential stop would take 10 s per hung node): SIGTERM, then SIGKILL
  // for whoever is still there after kStopGrace.
  void stop_all() {
    stopping_ = true;
    for (auto& c : children_) {
      if (c.pid != 0) ::kill(c.pid, SIGTERM);
    }
    const auto deadline = SteadyClock::now() + kStopGrace;
    while (running() > 0 && SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      reap();
    }
    for (auto& c : children_) {
      if (c.pid != 0) {
        log_->warn("{} (pid {}) did not stop within {} s of SIGTERM; sending SIGKILL", c.node->name,
                   c.pid, kStopGrace.count());
        ::kill(c.pid, SIGKILL);
      }
    }
    while (running() > 0) {
      std::this_thread::sleep_for(20ms);
      reap();
    }
  }

  const Manifest& m_;
  std::shared_ptr<spdlog::logger> log_;
  fs::path exe_;
  std::vector<SupChild> children_;
  bool stopping_ = false;
};

}  // namespace

fs::path run_dir(const Manifest& m) { return m.dir / "run"; }
fs::path supervisor_pid_path(const Manifest& m) { return run_dir(m) / "supervisor.pid"; }
fs::path supervisor_log_path(const Manifest& m) { return run_dir(m) / "supervisor.log"; }
fs::path node_pid_path(const Manifest& m, const NodeEntry& n) {
  return run_dir(m) / (n.name + ".pid");
}
fs::path node_exit_path(const Manifest& m, const NodeEntry& n) {
  return run_dir(m) / (n.name + ".exit");
}
fs::path node_held_path(const Manifest& m, const NodeEntry& n) {
  return run_dir(m) / (n.name + ".held");
}
fs::path node_start_request_path(const Manifest& m, const NodeEntry& n) {
  return run_dir(m) / (n.name + ".start");
}

std::optional<pid_t> supervisor_pid(const Manifest& m) {
  auto pid = util::read_pid_file(supervisor_pid_path(m));
  // The whole argument, with the separator after it: /tmp/a must not match /tmp/ab.
  if (pid && util::process_matches(*pid, "supervise --dir " + m.dir.string() + " ")) return pid;
  return std::nullopt;
}

std::optional<pid_t> node_pid(const Manifest& m, const NodeEntry& n) {
  // An HA host's process is its agent (the pid file); its node is the agent's child. A node
  // process found through the LOCK counts too: one left behind must not look like a stopped
  // host.
  if (n.has_agent()) {
    auto pid = util::read_pid_file(node_pid_path(m, n));
    // /proc's cmdline ends with a NUL, read as a space: the conf is the last argument.
    if (pid && util::process_matches(*pid, "ha agent --conf " + n.ha_conf.string() + " ")) {
      return pid;
    }
  }
  for (const fs::path& file : {node_pid_path(m, n), node::lock_path(n.data_dir)}) {
    auto pid = util::read_pid_file(file);
    if (pid && util::process_matches(*pid, "--conf " + n.conf.string() + " ")) return pid;
  }
  return std::nullopt;
}

Result<UpResult> localnet_up(const Manifest& m, std::chrono::seconds timeout,
                             const std::function<void(const std::string&)>& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  UpResult result;
  if (auto pid = supervisor_pid(m)) {
    result.already_running = true;
    result.supervisor = *pid;
    return result;
  }
  for (const auto& n : m.nodes) {
    if (auto pid = node_pid(m, n)) {
      return make_error("localnet.node_running",
                        "node " + n.name + " is already running (pid " + std::to_string(*pid) +
                            ") without a supervisor; stop it with `corecell localnet down --dir " +
                            m.dir.string() + "` first");
    }
  }
  CC_TRY_STATUS(ensure_dir(run_dir(m)));
  std::error_code ec;
  fs::remove(supervisor_pid_path(m), ec);
  for (const auto& n : m.nodes) {
    CC_TRY_STATUS(sup_remove_stale_files(m, n));
    fs::remove(node_exit_path(m, n), ec);
    fs::remove(node_held_path(m, n), ec);  // `up` starts every node
    fs::remove(node_start_request_path(m, n), ec);
  }
  CC_TRY_ASSIGN(const fs::path exe, util::self_exe());
  const auto t0 = SteadyClock::now();
  CC_TRY_STATUS(util::spawn_daemon({exe.string(), "localnet", "supervise", "--dir", m.dir.string()},
                                   supervisor_log_path(m)));

  auto fail = [&](const std::string& message) -> Error {
    (void)localnet_down(m);  // leave nothing half-started behind
    return make_error("localnet.up_failed", message);
  };
  const auto deadline = t0 + timeout;
  while (!supervisor_pid(m)) {
    if (SteadyClock::now() > t0 + 10s) {
      return fail("the supervisor did not start within 10 s; last lines of " +
                  supervisor_log_path(m).string() + ":\n" +
                  util::tail_lines(supervisor_log_path(m), kLogTailLines));
    }
    std::this_thread::sleep_for(50ms);
  }
  result.supervisor = *supervisor_pid(m);
  say("supervisor running (pid " + std::to_string(result.supervisor) + ", log " +
      supervisor_log_path(m).string() + ")");

  std::map<std::string, bool> ready;
  for (;;) {
    std::size_t waiting = 0;
    for (const auto& n : m.nodes) {
      if (ready[n.name]) continue;
      const fs::path exit_file = node_exit_path(m, n);
      if (fs::exists(exit_file, ec)) {
        auto what = read_file(exit_file);
        std::string text = what.ok() ? *what : "exited";
        while (!text.empty() && text.back() == '\n') text.pop_back();
        return fail("node " + n.name + " " + text + " while starting (conf " + n.conf.string() +
                    ")" + sup_log_quote(n));
      }
      auto st = node::control_request(node::control_socket_path(n.data_dir),
                                      json{{"cmd", "status"}}, 1000ms);
      if (st.ok()) {
        ready[n.name] = true;
        auto pid = node_pid(m, n);
        say(n.name + " up (pid " + (pid ? std::to_string(*pid) : std::string("?")) + ", " + n.ip +
            ":" + std::to_string(n.p2p_port) + ")");
      } else {
        ++waiting;
      }
    }
    if (waiting == 0) break;
    if (!supervisor_pid(m)) {
      return fail("the supervisor exited while nodes were starting; last lines of " +
                  supervisor_log_path(m).string() + ":\n" +
                  util::tail_lines(supervisor_log_path(m), kLogTailLines));
    }
    if (SteadyClock::now() > deadline) {
      std::string names;
      const NodeEntry* first = nullptr;
      for (const auto& n : m.nodes) {
        if (ready[n.name]) continue;
        if (first == nullptr) first = &n;
        names += (names.empty() ? "" : ", ") + n.name;
      }
      return fail("timed out after " + std::to_string(timeout.count()) +
                  " s waiting for the control socket of " + names + " (" +
                  node::control_socket_path(first->data_dir).string() + ")" +
                  sup_log_quote(*first));
    }
    std::this_thread::sleep_for(200ms);
  }
  result.seconds = seconds_since(t0);
  return result;
}

// Waits for a node process to end: SIGTERM first, SIGKILL after `grace`.
Status sup_end_process(const NodeEntry& n, pid_t pid, std::chrono::milliseconds grace) {
  ::kill(pid, SIGTERM);
  if (util::wait_process_gone(pid, grace)) return ok_status();
  ::kill(pid, SIGKILL);
  if (util::wait_process_gone(pid, 5s)) return ok_status();
  return make_error("localnet.stop_failed", "node " + n.name + " (pid " + std::to_string(pid) +
                                                ") survived SIGKILL; check it with ps");
}

// Done once the supervisor has reaped `pid` too (when it started it): it appends the exit to the
// node's log, which must not happen after the caller went on (to remove the node's directory,
// say).
void sup_wait_reaped(const Manifest& m, const NodeEntry& n, bool supervised) {
  std::error_code ec;
  const auto deadline = SteadyClock::now() + 5s;
  while (supervised && supervisor_pid(m) && !fs::exists(node_exit_path(m, n), ec) &&
         SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
}

// The hold first: the supervisor must not restart what we are stopping.
Status sup_hold(const Manifest& m, const NodeEntry& n) {
  CC_TRY_STATUS(ensure_dir(run_dir(m)));
  CC_TRY_STATUS(atomic_write_file(node_held_path(m, n), "held down by `localnet stop`\n"));
  std::error_code ec;
  fs::remove(node_start_request_path(m, n), ec);
  return ok_status();
}

Status localnet_stop_node(const Manifest& m, const NodeEntry& n, std::chrono::milliseconds grace) {
  CC_TRY_STATUS(sup_hold(m, n));
  if (auto pid = node_pid(m, n)) {
    const bool supervised = util::read_pid_file(node_pid_path(m, n)) == pid;
    CC_TRY_STATUS(sup_end_process(n, *pid, grace));
    sup_wait_reaped(m, n, supervised);
  }
  return ok_status();
}

Status localnet_kill_node(const Manifest& m, const NodeEntry& n) {
  CC_TRY_STATUS(sup_hold(m, n));
  const auto pid = node_pid(m, n);
  const auto lock_pid = util::read_pid_file(node::lock_path(n.data_dir));
  const bool supervised = pid && util::read_pid_file(node_pid_path(m, n)) == pid;
  std::vector<pid_t> victims;
  if (pid) victims.push_back(*pid);
  // Checked against its command line, as node_pid does: a stale LOCK may name a recycled pid.
  if (lock_pid && lock_pid != pid &&
      util::process_matches(*lock_pid, "--conf " + n.conf.string() + " ")) {
    victims.push_back(*lock_pid);
  }
  for (const pid_t v : victims) ::kill(v, SIGKILL);
  for (const pid_t v : victims) {
    if (!util::wait_process_gone(v, 5s)) {
      return make_error("localnet.stop_failed", "node " + n.name + " (pid " + std::to_string(v) +
                                                    ") survived SIGKILL; check it with ps");
    }
  }
  sup_wait_reaped(m, n, supervised);
  return ok_status();
}

Status localnet_start_node(const Manifest& m, const NodeEntry& n, std::chrono::seconds timeout) {
  auto answers = [&] {
    return node::control_request(node::control_socket_path(n.data_dir), json{{"cmd", "status"}},
                                 1000ms)
        .ok();
  };
  std::error_code ec;
  if (node_pid(m, n)) {
    fs::remove(node_held_path(m, n), ec);
    return ok_status();
  }
  auto sup = supervisor_pid(m);
  if (!sup) {
    return make_error("localnet.not_up", "the localnet " + m.dir.string() +
                                             " is not running: `corecell localnet up --dir " +
                                             m.dir.string() + "` starts every node");
  }
  fs::remove(node_exit_path(m, n), ec);
  CC_TRY_STATUS(atomic_write_file(node_start_request_path(m, n), "start\n"));
  fs::remove(node_held_path(m, n), ec);
  ::kill(*sup, SIGUSR1);
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (answers()) return ok_status();
    if (fs::exists(node_exit_path(m, n), ec)) {
      auto what = read_file(node_exit_path(m, n));
      return make_error("localnet.start_failed", "node " + n.name + " " +
                                                     (what.ok() ? *what : std::string("exited")) +
                                                     " while starting" + sup_log_quote(n));
    }
    std::this_thread::sleep_for(100ms);
  }
  return make_error("localnet.start_failed", "node " + n.name + " did not answer on " +
                                                 node::control_socket_path(n.data_dir).string() +
                                                 " within " + std::to_string(timeout.count()) +
                                                 " s" + sup_log_quote(n));
}

Result<DownResult> localnet_down(const Manifest& m) {
  DownResult r;
  for (const auto& n : m.nodes) {
    if (node_pid(m, n)) r.stopped.push_back(n.name);
  }
  if (auto sup = supervisor_pid(m)) {
    r.supervisor_was_running = true;
    ::kill(*sup, SIGTERM);
    // The supervisor gives its nodes kStopGrace, then SIGKILLs them; allow for that and more.
    if (!util::wait_process_gone(*sup, kStopGrace + 10s)) {
      ::kill(*sup, SIGKILL);
      (void)util::wait_process_gone(*sup, 5s);
    }
  }
  // Nodes left without a supervisor (it was killed, or never started them): stop them directly.
  std::vector<std::pair<const NodeEntry*, pid_t>> left;
  for (const auto& n : m.nodes) {
    if (auto pid = node_pid(m, n)) {
      ::kill(*pid, SIGTERM);
      left.emplace_back(&n, *pid);
    }
  }
  const auto deadline = SteadyClock::now() + kStopGrace;
  for (const auto& [n, pid] : left) {
    const auto now = SteadyClock::now();
    const auto rest = deadline > now
                          ? std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)
                          : 0ms;
    if (!util::wait_process_gone(pid, rest)) {
      r.killed.push_back(n->name);
      ::kill(pid, SIGKILL);
      if (!util::wait_process_gone(pid, 5s)) {
        return make_error("localnet.stop_failed", "node " + n->name + " (pid " +
                                                      std::to_string(pid) +
                                                      ") survived SIGKILL; check it with ps");
      }
    }
  }
  std::error_code ec;
  if (!supervisor_pid(m)) fs::remove(supervisor_pid_path(m), ec);
  for (const auto& n : m.nodes) {
    CC_TRY_STATUS(sup_remove_stale_files(m, n));
    fs::remove(node_held_path(m, n), ec);
    fs::remove(node_start_request_path(m, n), ec);
  }
  return r;
}

int run_supervisor(const Manifest& m) {
  Supervisor s(m);
  return s.run();
}

}  // namespace cc::localnet
