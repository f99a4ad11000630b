#include "ha/service_control.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How long a SIGKILLed process may take to be reaped before we call it stuck (uninterruptible
// sleep in the kernel, e.g. on a dead NFS mount).
constexpr auto kSvcKillWait = 5s;
// systemctl calls that return at once (show, kill, stop --no-block).
constexpr auto kSystemctlQuickTimeout = 15s;
// `systemctl start` returns when the unit is up (Type=notify: after READY=1).
constexpr auto kSystemctlStartTimeout = 90s;
// How often stop/kill look again while waiting for the process to go.
constexpr auto kSvcWaitStep = 10ms;
constexpr auto kSystemdWaitStep = 100ms;

std::string svc_quote_output(const std::string& output) {
  std::string s = output;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  if (s.size() > 2000) s = "..." + s.substr(s.size() - 2000);
  return s.empty() ? "(no output)" : "\"" + s + "\"";
}

std::string svc_join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// An override is KEY=VALUE with a conf-file key (letters, digits, '_') and a one-line value: it
// becomes one argument (exec) or one line of an environment file (systemd).
Status svc_check_overrides(const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    bool ok = eq != std::string::npos && eq > 0 &&
              (std::isalpha(static_cast<unsigned char>(o[0])) != 0 || o[0] == '_');
    for (std::size_t i = 0; ok && i < eq; ++i) {
      ok = std::isalnum(static_cast<unsigned char>(o[i])) != 0 || o[i] == '_';
    }
    if (ok) ok = o.find_first_of(std::string("\n\r\0", 3), eq) == std::string::npos;
    if (!ok) {
      return make_error("service.start_failed",
                        "override \"" + o +
                            "\" is not KEY=VALUE with a conf key and a one-line "
                            "value; the node was not started");
    }
  }
  return ok_status();
}

void svc_append_line(const fs::path& log, const std::string& line) {
  if (log.empty()) return;
  std::ofstream out(log, std::ios::app);
  out << line << '\n';
}

// ---- exec ------------------------------------------------------------------------------------

// The node is our child in its own session (so Ctrl-C at the agent's terminal reaches only the
// agent, and stop/kill can signal the node's whole process group), with PR_SET_PDEATHSIG=SIGKILL.
// One mutex serializes the calls; stop() holds it for up to its grace period.
class ExecServiceControl final : public ServiceControl {
 public:
  explicit ExecServiceControl(ServiceConfig c) : c_(std::move(c)) {}

  // A node never outlives the object that supervises it (no unsupervised signer).
  ~ExecServiceControl() override {
    std::lock_guard lock(mu_);
    if (pid_ == 0) return;
    signal_group(SIGKILL);
    (void)wait_reaped(kSvcKillWait);
  }

  std::string describe() const override {
    return "exec " + svc_join(base_argv()) +
           (c_.log.empty() ? std::string() : " (output appended to " + c_.log.string() + ")");
  }

  Status start(const std::vector<std::string>& overrides) override {
    std::lock_guard lock(mu_);
    reap();
    if (pid_ != 0) {
      return make_error("service.already_running",
                        "the node (pid " + std::to_string(pid_) +
                            ") is still running; stop it before starting it again");
    }
    CC_TRY_STATUS(svc_check_overrides(overrides));
    std::vector<std::string> argv = base_argv();
    for (const auto& o : overrides) {
      argv.emplace_back("--set");
      argv.push_back(o);
    }
    if (!c_.log.empty()) {
      if (auto st = ensure_dir(c_.log.parent_path()); !st.ok()) {
        return make_error("service.start_failed", "node log: " + st.error().message);
      }
      svc_append_line(c_.log, "---- corecell ha: starting " + svc_join(argv) + " (" +
                                  std::to_string(std::time(nullptr)) + " unix time) ----");
    }
    util::SpawnOptions opt;
    opt.log = c_.log;
    opt.new_session = true;
    opt.kill_with_parent = true;
    auto pid = util::spawn_process(argv, opt);
    if (!pid.ok()) {
      return make_error("service.start_failed",
                        pid.error().message + "; check HA_NODE_BIN=" + c_.node_exe.string());
    }
    pid_ = *pid;
    exit_status_.reset();
    logger("ha")->info("node started (pid {}): {}", pid_, svc_join(argv));
    return ok_status();
  }

  Status stop(std::chrono::milliseconds grace) override {
    std::lock_guard lock(mu_);
    reap();
    if (pid_ == 0) return ok_status();
    const pid_t pid = pid_;
    signal_group(SIGTERM);
    signal_group(SIGCONT);  // a stopped node cannot act on SIGTERM until it runs again
    if (wait_reaped(grace)) return ok_status();
    logger("ha")->warn("node (pid {}) did not stop within {} ms of SIGTERM; sending SIGKILL", pid,
                       grace.count());
    signal_group(SIGKILL);
    if (wait_reaped(kSvcKillWait)) return ok_status();
    return make_error("service.stop_failed",
                      "the node (pid " + std::to_string(pid) +
                          ") is still there 5 s after SIGKILL (stuck in the kernel?); see `cat "
                          "/proc/" +
                          std::to_string(pid) + "/stack`");
  }

  Status kill() override {
    std::lock_guard lock(mu_);
    reap();
    if (pid_ == 0) return ok_status();
    const pid_t pid = pid_;
    signal_group(SIGKILL);
    if (wait_reaped(kSvcKillWait)) return ok_status();
    return make_error("service.stop_failed",
                      "the node (pid " + std::to_string(pid) +
                          ") is still there 5 s after SIGKILL (stuck in the kernel?); see `cat "
                          "/proc/" +
                          std::to_string(pid) + "/stack`");
  }

  Result<ServiceState> poll() override {
    std::lock_guard lock(mu_);
    reap();
    ServiceState s;
    s.running = pid_ != 0;
    if (pid_ != 0) s.pid = pid_;
    s.exit_status = exit_status_;
    return s;
  }

 private:
  [[nodiscard]] std::vector<std::string> base_argv() const {
    return {c_.node_exe.string(), "node", "--role", c_.role, "--conf", c_.node_conf.string()};
  }

  // The node leads its own process group (setsid): signal the group, so whatever it started
  // goes too. The group id cannot be reused while any member (or the unreaped leader) exists.
  void signal_group(int sig) const {
    if (::kill(-pid_, sig) != 0) ::kill(pid_, sig);
  }

  // Reaps the node if it has ended (records how); true when no node is running. The exit is
  // seen first without reaping (WNOWAIT): while the zombie leader exists its process group id
  // cannot be reused, so the leftovers of the group can be killed safely before the reap.
  bool reap() {
    if (pid_ == 0) return true;
    siginfo_t info{};
    const int seen = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    if (seen == 0 && info.si_pid == 0) return false;  // still running
    if (seen != 0 && errno == EINTR) return false;
    const pid_t pid = pid_;
    pid_ = 0;
    int status = 0;
    if (seen == 0) {
      (void)::kill(-pid, SIGKILL);  // whatever the node started and left behind
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exit_status_ = util::exit_status_from_wait(status);
    } else {
      exit_status_.reset();  // ECHILD: someone else reaped it, we cannot know how it ended
    }
    const std::string how = exit_status_ ? util::describe_exit_status(*exit_status_)
                                         : std::string("ended (reaped elsewhere)");
    svc_append_line(c_.log,
                    "---- corecell ha: node (pid " + std::to_string(pid) + ") " + how + " ----");
    logger("ha")->info("node (pid {}) {}", pid, how);
    return true;
  }

  bool wait_reaped(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (reap()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kSvcWaitStep);
    }
  }

  const ServiceConfig c_;
  std::mutex mu_;
  pid_t pid_ = 0;  // the running node (0: none)
  std::optional<int> exit_status_;
};

// ---- systemd ---------------------------------------------------------------------------------

// The unit as `systemctl show` reports it.
struct SystemdUnitState {
  std::string active_state;  // active, activating, deactivating, reloading, inactive, failed
  pid_t main_pid = 0;
  int exec_main_code = 0;  // CLD_EXITED (1), CLD_KILLED (2), CLD_DUMPED (3); 0: never ran
  int exec_main_status = 0;
  [[nodiscard]] bool running() const {
    return active_state == "active" || active_state == "activating" ||
           active_state == "deactivating" || active_state == "reloading";
  }
};

class SystemdServiceControl final : public ServiceControl {
 public:
  SystemdServiceControl(ServiceConfig c, fs::path systemctl)
      : c_(std::move(c)), systemctl_(std::move(systemctl)) {}

  std::string describe() const override {
    return "systemd " + c_.unit + " (overrides in " + c_.env_file.string() + ")";
  }

  Status start(const std::vector<std::string>& overrides) override {
    CC_TRY_STATUS(svc_check_overrides(overrides));
    auto state = query();
    if (!state.ok()) return make_error("service.start_failed", state.error().message);
    if (state->running()) {
      return make_error("service.already_running", c_.unit + " is " + state->active_state +
                                                       "; stop it (systemctl stop " + c_.unit +
                                                       ") before starting it again");
    }
    std::string env;
    for (const auto& o : overrides) env += o + "\n";
    if (auto st = ensure_dir(c_.env_file.parent_path()); !st.ok()) {
      return make_error("service.start_failed",
                        "environment file for " + c_.unit + ": " + st.error().message);
    }
    if (auto st = atomic_write_file(c_.env_file, env, 0600); !st.ok()) {
      return make_error("service.start_failed",
                        "environment file for " + c_.unit + ": " + st.error().message);
    }
    const std::vector<std::string> argv = {systemctl_.string(), "start", c_.unit};
    auto r = util::run_command(argv, kSystemctlStartTimeout);
    if (!r.ok()) return make_error("service.start_failed", r.error().message);
    if (r->timed_out || r->exit_status != 0) {
      return make_error("service.start_failed", command_failure(argv, *r) + "; `systemctl status " +
                                                    c_.unit + "` and `journalctl -u " + c_.unit +
                                                    "` show why");
    }
    return ok_status();
  }

  // `systemctl stop --no-block` (systemd sends the unit's KillSignal, SIGTERM by default), then
  // SIGKILL through `systemctl kill` when the unit is still up after `grace` (the unit's own
  // TimeoutStopSec may be shorter and act first).
  Status stop(std::chrono::milliseconds grace) override {
    CC_TRY_ASSIGN(const auto before, query_as("service.stop_failed"));
    if (!before.running()) return ok_status();
    CC_TRY_STATUS(systemctl({"stop", "--no-block", c_.unit}));
    if (wait_stopped(grace)) return ok_status();
    logger("ha")->warn("{} did not stop within {} ms; sending SIGKILL", c_.unit, grace.count());
    CC_TRY_STATUS(systemctl({"kill", "--signal=SIGKILL", c_.unit}));
    if (wait_stopped(kSvcKillWait)) return ok_status();
    return make_error("service.stop_failed", c_.unit + " is still running 5 s after SIGKILL; `" +
                                                 "systemctl status " + c_.unit + "` shows why");
  }

  // SIGKILL to every process of the unit, then `systemctl stop` so a Restart= setting does not
  // bring it back (a fenced node stays down).
  Status kill() override {
    CC_TRY_ASSIGN(const auto before, query_as("service.stop_failed"));
    if (!before.running()) return ok_status();
    CC_TRY_STATUS(systemctl({"kill", "--signal=SIGKILL", c_.unit}));
    CC_TRY_STATUS(systemctl({"stop", "--no-block", c_.unit}));
    if (wait_stopped(kSvcKillWait)) return ok_status();
    return make_error("service.stop_failed", c_.unit + " is still running 5 s after SIGKILL; `" +
                                                 "systemctl status " + c_.unit + "` shows why");
  }

  Result<ServiceState> poll() override {
    CC_TRY_ASSIGN(const auto u, query());
    ServiceState s;
    s.running = u.running();
    if (u.main_pid > 0) s.pid = u.main_pid;
    if (!s.running && u.exec_main_code == CLD_EXITED) s.exit_status = u.exec_main_status;
    if (!s.running && (u.exec_main_code == CLD_KILLED || u.exec_main_code == CLD_DUMPED)) {
      s.exit_status = 128 + u.exec_main_status;
    }
    return s;
  }

 private:
  [[nodiscard]] std::string command_failure(const std::vector<std::string>& argv,
                                            const util::CommandResult& r) const {
    return "`" + svc_join(argv) + "` " +
           (r.timed_out ? std::string("did not finish in time and was killed")
                        : util::describe_exit_status(r.exit_status)) +
           ": " + svc_quote_output(r.output);
  }

  // A quick systemctl call that must succeed (stop/kill paths).
  Status systemctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {systemctl_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = util::run_command(argv, kSystemctlQuickTimeout);
    if (!r.ok()) return make_error("service.stop_failed", r.error().message);
    if (r->timed_out || r->exit_status != 0) {
      return make_error("service.stop_failed", command_failure(argv, *r));
    }
    return ok_status();
  }

  // `systemctl show` rather than `is-active`: one call gives the state, MainPID and how the
  // main process last ended, and its exit code means "systemctl worked", not "unit inactive".
  Result<SystemdUnitState> query() {
    const std::vector<std::string> argv = {systemctl_.string(),
                                           "show",
                                           "-p",
                                           "ActiveState",
                                           "-p",
                                           "MainPID",
                                           "-p",
                                           "ExecMainCode",
                                           "-p",
                                           "ExecMainStatus",
                                           c_.unit};
    auto r = util::run_command(argv, kSystemctlQuickTimeout);
    if (!r.ok()) return make_error("service.status_failed", r.error().message);
    if (r->timed_out || r->exit_status != 0) {
      return make_error("service.status_failed", command_failure(argv, *r));
    }
    SystemdUnitState u;
    std::istringstream lines(r->output);
    std::string line;
    while (std::getline(lines, line)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      const std::string key = line.substr(0, eq);
      const std::string value = line.substr(eq + 1);
      try {
        if (key == "ActiveState") u.active_state = value;
        if (key == "MainPID") u.main_pid = static_cast<pid_t>(std::stol(value));
        if (key == "ExecMainCode") u.exec_main_code = std::stoi(value);
        if (key == "ExecMainStatus") u.exec_main_status = std::stoi(value);
      } catch (...) {  // an odd value: leave the default
      }
    }
    if (u.active_state.empty()) {
      return make_error(
          "service.status_failed",
          "`" + svc_join(argv) + "` printed no ActiveState: " + svc_quote_output(r->output));
    }
    return u;
  }

  Result<SystemdUnitState> query_as(const std::string& code) {
    auto u = query();
    if (!u.ok()) return make_error(code, u.error().message);
    return u;
  }

  bool wait_stopped(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto u = query();
      if (u.ok() && !u->running()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(kSystemdWaitStep);
    }
  }

  const ServiceConfig c_;
  const fs::path systemctl_;
};

Error svc_config_error(const std::string& message) { return make_error("service.config", message); }

}  // namespace

Result<std::unique_ptr<ServiceControl>> make_service_control(const ServiceConfig& config) {
  ServiceConfig c = config;
  if (c.kind == "exec") {
    std::error_code ec;
    if (c.node_exe.empty()) {
      return svc_config_error(
          "HA_SERVICE=exec needs HA_NODE_BIN, the corecell binary that runs "
          "the node (e.g. HA_NODE_BIN=/usr/local/bin/corecell)");
    }
    const fs::path exe = fs::absolute(c.node_exe, ec);
    if (ec || !fs::is_regular_file(exe, ec) || ::access(exe.c_str(), X_OK) != 0) {
      return svc_config_error("HA_NODE_BIN=" + c.node_exe.string() +
                              " is not an executable file; point it at the corecell binary");
    }
    c.node_exe = exe;
    if (c.node_conf.empty()) {
      return svc_config_error(
          "HA_SERVICE=exec needs HA_NODE_CONF, the node's kcnd.conf-style "
          "file (passed as --conf)");
    }
    const fs::path conf = fs::absolute(c.node_conf, ec);
    if (ec || !fs::is_regular_file(conf, ec)) {
      return svc_config_error("HA_NODE_CONF=" + c.node_conf.string() +
                              " is not a file; point it at the node's conf file");
    }
    c.node_conf = conf;
    if (c.role.empty()) {
      return svc_config_error("HA_SERVICE=exec needs a node role (cn, pn or en)");
    }
    if (!c.log.empty()) c.log = fs::absolute(c.log, ec);
    return std::unique_ptr<ServiceControl>(std::make_unique<ExecServiceControl>(std::move(c)));
  }
  if (c.kind == "systemd") {
    if (c.unit.empty() || c.unit.find_first_of("/ \t\n") != std::string::npos) {
      return svc_config_error(
          "HA_SYSTEMD_UNIT=" + (c.unit.empty() ? std::string("(empty)") : c.unit) +
          " is not a unit name; set the node's unit, e.g. HA_SYSTEMD_UNIT=kcnd.service");
    }
    const auto systemctl = util::find_program("systemctl");
    if (!systemctl) {
      return svc_config_error(
          "HA_SERVICE=systemd needs `systemctl` in PATH or /usr/bin; use "
          "HA_SERVICE=exec on a host without systemd");
    }
    if (c.env_file.empty()) c.env_file = fs::path("/run/corecell") / (c.unit + ".env");
    return std::unique_ptr<ServiceControl>(
        std::make_unique<SystemdServiceControl>(std::move(c), *systemctl));
  }
  return svc_config_error("HA_SERVICE=" + (c.kind.empty() ? std::string("(empty)") : c.kind) +
                          " is not a service control; use exec or systemd");
}

bool is_systemd_unit_path(const fs::path& path) {
  const fs::path p = fs::absolute(path).lexically_normal();
  for (const char* d : {"/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
                        "/usr/lib/systemd/system"}) {
    const fs::path rel = p.lexically_relative(d);  // drop-ins (UNIT.d/x.conf) count too
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") return true;
  }
  return false;
}

Status systemd_daemon_reload() {
  const auto systemctl = util::find_program("systemctl");
  if (!systemctl) {
    return svc_config_error("`systemctl` is not in PATH or /usr/bin: cannot load new unit files");
  }
  const std::vector<std::string> argv = {systemctl->string(), "daemon-reload"};
  auto r = util::run_command(argv, kSystemctlStartTimeout);
  if (!r.ok()) return make_error("service.start_failed", r.error().message);
  if (r->timed_out || r->exit_status != 0) {
    return make_error("service.start_failed",
                      "`" + svc_join(argv) + "` " +
                          (r->timed_out ? std::string("did not finish in time")
                                        : util::describe_exit_status(r->exit_status)) +
                          ": " + svc_quote_output(r->output));
  }
  return ok_status();
}

}  // namespace cc::ha
