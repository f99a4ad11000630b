// Tests for ha/service_control.h.
//   exec     the node is a small /bin/sh script that records its argv and sleeps (or crashes,
//            or ignores SIGTERM); the real `corecell node` under the agent is covered by the
//            integration tests.
//   systemd  this machine has no systemd as PID 1. Exercised here: config validation, the
//            environment file (content, mode 0600, created with its directory, written before
//            `systemctl start`), the order of systemctl calls and the parsing of `systemctl show`
//            against a fake `systemctl` put first in PATH (the binary is resolved through PATH
//            when the control is made), and the real /usr/bin/systemctl failing here with a clear
//            error. Not exercised: a real systemd starting, stopping and killing a real unit.
#include "ha/service_control.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool svct_contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string svct_read(const fs::path& p) {
  auto text = read_file(p);
  return text.ok() ? *text : "";
}

// Waits until `done()` or the timeout; true when it happened.
template <typename F>
bool svct_eventually(F done, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The process state letter from /proc/PID/stat ('S', 'T', 'Z', ...), or '?' when gone.
char svct_proc_state(pid_t pid) {
  const std::string stat = svct_read("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
}

// ---- config ----------------------------------------------------------------------------------

class ServiceControlConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    exe_ = tmp_.path() / "corecell";
    conf_ = tmp_.path() / "kcnd.conf";
    ASSERT_TRUE(atomic_write_file(exe_, std::string("#!/bin/sh\nexit 0\n"), 0755).ok());
    ASSERT_TRUE(atomic_write_file(conf_, std::string("NETWORK_ID=1\n")).ok());
  }
  [[nodiscard]] ServiceConfig exec_config() const {
    ServiceConfig c;
    c.kind = "exec";
    c.node_exe = exe_;
    c.node_conf = conf_;
    return c;
  }
  static void expect_error(const ServiceConfig& c, const std::string& key) {
    auto s = make_service_control(c);
    ASSERT_FALSE(s.ok()) << "accepted a bad config; expected an error naming " << key;
    EXPECT_EQ(s.error().code, "service.config");
    EXPECT_TRUE(svct_contains(s.error().message, key)) << s.error().message;
  }

  cc::testing::TempDir tmp_;
  fs::path exe_, conf_;
};

TEST_F(ServiceControlConfig, UnknownKindNamesHaService) {
  auto c = exec_config();
  c.kind = "docker";
  expect_error(c, "HA_SERVICE=docker");
  c.kind = "";
  expect_error(c, "HA_SERVICE");
}

TEST_F(ServiceControlConfig, ExecNeedsAnExecutableBinaryAndAConfFile) {
  auto c = exec_config();
  c.node_exe = "";
  expect_error(c, "HA_NODE_BIN");
  c.node_exe = tmp_.path() / "missing";
  expect_error(c, "HA_NODE_BIN");
  c.node_exe = conf_;  // not executable
  expect_error(c, "HA_NODE_BIN");
  c = exec_config();
  c.node_conf = "";
  expect_error(c, "HA_NODE_CONF");
  c.node_conf = tmp_.path() / "missing.conf";
  expect_error(c, "HA_NODE_CONF");
  auto ok = make_service_control(exec_config());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ((*ok)->describe(),
            "exec " + exe_.string() + " node --role cn --conf " + conf_.string());
}

TEST_F(ServiceControlConfig, SystemdNeedsAUnitAndDefaultsTheEnvironmentFile) {
  ServiceConfig c;
  c.kind = "systemd";
  expect_error(c, "HA_SYSTEMD_UNIT");
  c.unit = "../etc/passwd";
  expect_error(c, "HA_SYSTEMD_UNIT");
  c.unit = "kcnd.service";
  auto s = make_service_control(c);
  if (!util::find_program("systemctl")) GTEST_SKIP() << "no systemctl on this machine";
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->describe(), "systemd kcnd.service (overrides in /run/corecell/kcnd.service.env)");
}

// ---- exec ------------------------------------------------------------------------------------

class ServiceControlExec : public ::testing::Test {
 protected:
  void SetUp() override {
    conf_ = tmp_.path() / "kcnd.conf";
    ASSERT_TRUE(atomic_write_file(conf_, std::string("NETWORK_ID=1\n")).ok());
  }

  // A node script: records its argv (one per line) to argv.PID, runs `body`, and announces
  // itself by creating ready.PID last.
  std::unique_ptr<ServiceControl> control(const std::string& body) {
    const fs::path exe = tmp_.path() / "node.sh";
    const std::string dir = tmp_.path().string();
    const std::string script = "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + dir +
                               "/argv.$$\necho \"node $$ says hello\"\n" + body_prefix(body) +
                               "touch " + dir + "/ready.$$\n" + body + "\n";
    EXPECT_TRUE(atomic_write_file(exe, script, 0755).ok());
    ServiceConfig c;
    c.kind = "exec";
    c.node_exe = exe;
    c.node_conf = conf_;
    c.log = log();
    auto s = make_service_control(c);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }
  // `trap` lines must run before the node says it is ready.
  static std::string body_prefix(const std::string& body) {
    return body.rfind("trap", 0) == 0 ? body.substr(0, body.find('\n') + 1) : "";
  }
  [[nodiscard]] fs::path log() const { return tmp_.path() / "logs" / "node.log"; }
  [[nodiscard]] bool ready(pid_t pid) const {
    return fs::exists(tmp_.path() / ("ready." + std::to_string(pid)));
  }
  [[nodiscard]] std::string argv_of(pid_t pid) const {
    return svct_read(tmp_.path() / ("argv." + std::to_string(pid)));
  }
  static pid_t running_pid(ServiceControl& s) {
    auto st = s.poll();
    return st.ok() && st->running && st->pid ? *st->pid : 0;
  }
  // Polls until the node is no longer running; its state then.
  static ServiceState wait_exit(ServiceControl& s) {
    ServiceState last;
    (void)svct_eventually([&] {
      auto st = s.poll();
      if (st.ok()) last = *st;
      return st.ok() && !st->running;
    });
    return last;
  }

  cc::testing::TempDir tmp_;
  fs::path conf_;
};

TEST_F(ServiceControlExec, StartRunsNodeWithRoleConfAndOverridesAppendingOutputToTheLog) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  auto st = s->start({"SIGN_PERMIT_EPOCH=7", "HA_NOTE=two words"});
  ASSERT_TRUE(st.ok()) << st.error().message;
  const pid_t pid = running_pid(*s);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(svct_eventually([&] { return ready(pid); }));
  EXPECT_EQ(argv_of(pid), "node\n--role\ncn\n--conf\n" + conf_.string() +
                              "\n--set\nSIGN_PERMIT_EPOCH=7\n--set\nHA_NOTE=two words\n");
  const std::string text = svct_read(log());
  EXPECT_TRUE(svct_contains(text, "---- corecell ha: starting ")) << text;
  EXPECT_TRUE(svct_contains(text, "node " + std::to_string(pid) + " says hello")) << text;
  ASSERT_TRUE(s->stop(5s).ok());
}

TEST_F(ServiceControlExec, StartWhileRunningIsAlreadyRunning) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  auto again = s->start({});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "service.already_running");
  EXPECT_TRUE(svct_contains(again.error().message, std::to_string(pid))) << again.error().message;
  EXPECT_EQ(running_pid(*s), pid);
  ASSERT_TRUE(s->kill().ok());
}

TEST_F(ServiceControlExec, MalformedOverrideIsRefusedAndNothingStarts) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  for (const std::string bad : {"NOEQUALS", "=1", "BAD KEY=1", "K=line\nINJECTED=1"}) {
    auto st = s->start({bad});
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, "service.start_failed");
  }
  EXPECT_FALSE(s->poll()->running);
}

TEST_F(ServiceControlExec, PollReportsTheExitCodeOfACrashAndAllowsARestart) {
  auto s = control("exit 3");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const ServiceState st = wait_exit(*s);
  EXPECT_FALSE(st.running);
  EXPECT_FALSE(st.pid.has_value());
  ASSERT_TRUE(st.exit_status.has_value());
  EXPECT_EQ(*st.exit_status, 3);
  EXPECT_TRUE(svct_contains(svct_read(log()), "exited with code 3")) << svct_read(log());
  auto again = s->start({});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(wait_exit(*s).exit_status, 3);
}

TEST_F(ServiceControlExec, PollReports137ForANodeKilledWithSigkill) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const ServiceState st = wait_exit(*s);
  ASSERT_TRUE(st.exit_status.has_value());
  EXPECT_EQ(*st.exit_status, 128 + SIGKILL);
}

TEST_F(ServiceControlExec, StopEndsACooperativeNodeWithSigterm) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  ASSERT_TRUE(svct_eventually([&] { return ready(pid); }));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(s->stop(10s).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto st = s->poll();
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->running);
  EXPECT_EQ(st->exit_status, 128 + SIGTERM);
  EXPECT_FALSE(util::process_alive(pid));
  EXPECT_TRUE(s->stop(1s).ok()) << "stopping a stopped node is ok";
  EXPECT_TRUE(s->kill().ok()) << "killing a stopped node is ok";
}

TEST_F(ServiceControlExec, StopSendsSigkillAfterGraceWhenTheNodeIgnoresSigterm) {
  auto s = control("trap '' TERM\nexec sleep 60");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  ASSERT_TRUE(svct_eventually([&] { return ready(pid); }));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(s->stop(400ms).ok());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 400ms) << "SIGKILL came before the grace period ended";
  EXPECT_LT(took, 5s);
  auto st = s->poll();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->exit_status, 128 + SIGKILL) << "SIGTERM was ignored, so SIGKILL ended it";
  EXPECT_FALSE(util::process_alive(pid));
}

TEST_F(ServiceControlExec, KillEndsAStoppedNode) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(svct_eventually([&] { return svct_proc_state(pid) == 'T'; }));
  auto st = s->kill();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(util::process_alive(pid));
  auto state = s->poll();
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->running);
  EXPECT_EQ(state->exit_status, 128 + SIGKILL);
}

TEST_F(ServiceControlExec, StopAlsoEndsWhatTheNodeStarted) {
  // The node leads its own process group; a helper it started (not exec'd) goes with it.
  auto s = control("sleep 60 &\necho $! > " + (tmp_.path() / "helper.pid").string() + "\nwait");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->start({}).ok());
  const pid_t pid = running_pid(*s);
  ASSERT_TRUE(svct_eventually([&] { return ready(pid); }));
  ASSERT_TRUE(svct_eventually([&] { return fs::exists(tmp_.path() / "helper.pid"); }));
  ASSERT_TRUE(
      svct_eventually([&] { return util::read_pid_file(tmp_.path() / "helper.pid").has_value(); }));
  const pid_t helper = *util::read_pid_file(tmp_.path() / "helper.pid");
  ASSERT_TRUE(s->stop(5s).ok());
  EXPECT_TRUE(util::wait_process_gone(helper, 2s));
}

TEST_F(ServiceControlExec, DestroyingTheControlKillsItsNode) {
  pid_t pid = 0;
  {
    auto s = control("exec sleep 60");
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->start({}).ok());
    pid = running_pid(*s);
    ASSERT_GT(pid, 0);
  }
  EXPECT_FALSE(util::process_alive(pid));
}

TEST_F(ServiceControlExec, StartFailsClearlyWhenTheBinaryIsGone) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  fs::remove(tmp_.path() / "node.sh");
  auto st = s->start({});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "service.start_failed");
  EXPECT_TRUE(svct_contains(st.error().message, "node.sh")) << st.error().message;
  EXPECT_TRUE(svct_contains(st.error().message, "HA_NODE_BIN")) << st.error().message;
  EXPECT_FALSE(s->poll()->running);
}

// PR_SET_PDEATHSIG: a helper process (standing in for the agent) starts the node through a
// ServiceControl and is then killed with SIGKILL, so it runs no cleanup; the node dies too.
TEST_F(ServiceControlExec, NodeDiesWhenItsAgentIsKilled) {
  auto s = control("exec sleep 60");
  ASSERT_NE(s, nullptr);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t agent = ::fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    ::close(fds[0]);
    pid_t node = -1;
    if (s->start({}).ok()) node = running_pid(*s);
    (void)!::write(fds[1], &node, sizeof node);
    for (;;) ::pause();  // until SIGKILL; never returns into the test framework
  }
  ::close(fds[1]);
  pid_t node = -1;
  const bool got = ::read(fds[0], &node, sizeof node) == static_cast<ssize_t>(sizeof node);
  ::close(fds[0]);
  ASSERT_TRUE(got && node > 0) << "the helper could not start the node";
  ASSERT_TRUE(svct_eventually([&] { return ready(node); }));
  EXPECT_TRUE(util::process_alive(node));
  ::kill(agent, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(agent, &status, 0), agent);
  EXPECT_TRUE(util::wait_process_gone(node, 5s)) << "the node outlived its agent";
}

// ---- systemd ---------------------------------------------------------------------------------

TEST(ServiceControlSystemd, RealSystemctlWithoutSystemdFailsWithItsMessage) {
  const auto systemctl = util::find_program("systemctl");
  if (!systemctl) GTEST_SKIP() << "no systemctl on this machine";
  if (svct_contains(svct_read("/proc/1/comm"), "systemd")) {
    GTEST_SKIP() << "systemd is PID 1 here; this test is for a host without it";
  }
  cc::testing::TempDir tmp;
  ServiceConfig c;
  c.kind = "systemd";
  c.unit = "cc-test-node.service";
  c.env_file = tmp.path() / "env";
  auto s = make_service_control(c);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto state = (*s)->poll();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().code, "service.status_failed");
  EXPECT_TRUE(svct_contains(state.error().message, "show")) << state.error().message;
  EXPECT_TRUE(svct_contains(state.error().message, "cc-test-node.service"))
      << state.error().message;
  auto start = (*s)->start({"A=1"});
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.error().code, "service.start_failed");
  EXPECT_TRUE(svct_contains(start.error().message, "systemd")) << start.error().message;
}

// A fake `systemctl` first in PATH: it appends each call to calls.log and keeps the unit's
// ActiveState in a file; `start` copies the environment file so the test sees what the unit
// would have read. STOP_IGNORED makes `stop` leave the unit active (a node that ignores SIGTERM);
// START_FAILS makes `start` fail the way systemctl does for an unknown unit.
class ServiceControlSystemdFake : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = tmp_.path() / "bin";
    ASSERT_TRUE(ensure_dir(bin_).ok());
    const std::string d = tmp_.path().string();
    const std::string fake =
        "#!/bin/sh\n"
        "echo \"$*\" >> " +
        d +
        "/calls.log\n"
        "state=$(cat " +
        d +
        "/state 2>/dev/null || echo inactive)\n"
        "case \"$1\" in\n"
        "  show) echo \"ActiveState=$state\"; echo MainPID=$(cat " +
        d +
        "/mainpid 2>/dev/null "
        "|| echo 0); echo ExecMainCode=$(cat " +
        d +
        "/code 2>/dev/null || echo 0); "
        "echo ExecMainStatus=$(cat " +
        d +
        "/status 2>/dev/null || echo 0) ;;\n"
        "  start) if [ -e " +
        d +
        "/START_FAILS ]; then echo \"Failed to start $2: Unit $2 not "
        "found.\" >&2; exit 5; fi\n"
        "         cp " +
        env_file().string() + " " + d + "/env-at-start; echo active > " + d +
        "/state; echo 4242 > " + d +
        "/mainpid ;;\n"
        "  stop) [ -e " +
        d + "/STOP_IGNORED ] || echo inactive > " + d +
        "/state ;;\n"
        "  kill) echo failed > " +
        d + "/state; echo 0 > " + d + "/mainpid; echo 2 > " + d + "/code; echo 9 > " + d +
        "/status ;;\n"
        "  daemon-reload) if [ -e " +
        d +
        "/RELOAD_FAILS ]; then echo \"Access denied\" >&2; exit 1; fi ;;\n"
        "  *) echo \"unknown verb $1\" >&2; exit 1 ;;\n"
        "esac\n";
    ASSERT_TRUE(atomic_write_file(bin_ / "systemctl", fake, 0755).ok());
    const char* path = std::getenv("PATH");
    saved_path_ = path != nullptr ? path : "";
    ::setenv("PATH", (bin_.string() + ":" + saved_path_).c_str(), 1);
    ServiceConfig c;
    c.kind = "systemd";
    c.unit = "kcnd.service";
    c.env_file = env_file();
    auto s = make_service_control(c);
    ::setenv("PATH", saved_path_.c_str(), 1);  // resolved once, when made
    ASSERT_TRUE(s.ok()) << s.error().message;
    control_ = std::move(*s);
  }

  [[nodiscard]] fs::path env_file() const { return tmp_.path() / "run" / "corecell" / "k.env"; }
  [[nodiscard]] std::string calls() const { return svct_read(tmp_.path() / "calls.log"); }
  void touch(const std::string& name) const {
    ASSERT_TRUE(atomic_write_file(tmp_.path() / name, std::string()).ok());
  }

  cc::testing::TempDir tmp_;
  fs::path bin_;
  std::string saved_path_;
  std::unique_ptr<ServiceControl> control_;
};

TEST_F(ServiceControlSystemdFake, StartWritesTheOverridesFileMode0600BeforeSystemctlStart) {
  auto st = control_->start({"SIGN_PERMIT_EPOCH=7", "HA_NOTE=two words"});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(svct_read(tmp_.path() / "env-at-start"), "SIGN_PERMIT_EPOCH=7\nHA_NOTE=two words\n");
  auto mode = file_mode(env_file());
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(*mode & 0777, 0600u);
  EXPECT_EQ(calls(),
            "show -p ActiveState -p MainPID -p ExecMainCode -p ExecMainStatus kcnd.service\n"
            "start kcnd.service\n");
  auto state = control_->poll();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_TRUE(state->running);
  EXPECT_EQ(state->pid, 4242);
  EXPECT_FALSE(state->exit_status.has_value());
}

TEST_F(ServiceControlSystemdFake, StartWhileActiveIsAlreadyRunningAndWritesNothing) {
  ASSERT_TRUE(control_->start({"A=1"}).ok());
  auto again = control_->start({"A=2"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "service.already_running");
  EXPECT_EQ(svct_read(env_file()), "A=1\n");
}

TEST_F(ServiceControlSystemdFake, StartFailureQuotesSystemctl) {
  touch("START_FAILS");
  auto st = control_->start({});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "service.start_failed");
  EXPECT_TRUE(svct_contains(st.error().message, "exited with code 5")) << st.error().message;
  EXPECT_TRUE(svct_contains(st.error().message, "Unit kcnd.service not found"))
      << st.error().message;
  EXPECT_TRUE(svct_contains(st.error().message, "journalctl -u kcnd.service"))
      << st.error().message;
}

TEST_F(ServiceControlSystemdFake, StopIsStopNoBlockAndOkWhenInactive) {
  ASSERT_TRUE(control_->stop(1s).ok());
  EXPECT_FALSE(svct_contains(calls(), "stop")) << "nothing to stop: " << calls();
  ASSERT_TRUE(control_->start({}).ok());
  ASSERT_TRUE(control_->stop(2s).ok());
  EXPECT_TRUE(svct_contains(calls(), "stop --no-block kcnd.service\n")) << calls();
  EXPECT_FALSE(svct_contains(calls(), "kill")) << calls();
  EXPECT_FALSE(control_->poll()->running);
}

TEST_F(ServiceControlSystemdFake, StopSendsSigkillAfterGraceAndPollReportsIt) {
  ASSERT_TRUE(control_->start({}).ok());
  touch("STOP_IGNORED");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(control_->stop(300ms).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_TRUE(svct_contains(calls(), "stop --no-block kcnd.service\nshow"));
  EXPECT_TRUE(svct_contains(calls(), "kill --signal=SIGKILL kcnd.service\n")) << calls();
  auto state = control_->poll();
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->running);
  EXPECT_FALSE(state->pid.has_value());
  EXPECT_EQ(state->exit_status, 128 + SIGKILL);
}

TEST_F(ServiceControlSystemdFake, KillIsSigkillThenStopSoRestartDoesNotBringItBack) {
  ASSERT_TRUE(control_->start({}).ok());
  ASSERT_TRUE(control_->kill().ok());
  const std::string c = calls();
  const auto k = c.find("kill --signal=SIGKILL kcnd.service\n");
  const auto s = c.find("stop --no-block kcnd.service\n");
  ASSERT_NE(k, std::string::npos) << c;
  ASSERT_NE(s, std::string::npos) << c;
  EXPECT_LT(k, s) << c;
  EXPECT_FALSE(control_->poll()->running);
}

TEST_F(ServiceControlSystemdFake, DaemonReloadRunsSystemctlAndQuotesItsFailure) {
  EXPECT_TRUE(is_systemd_unit_path("/etc/systemd/system/corecell-ha.service"));
  EXPECT_TRUE(is_systemd_unit_path("/lib/systemd/system/kcnd.service"));
  EXPECT_TRUE(is_systemd_unit_path("/etc/systemd/system/kcnd.service.d/override.conf"));
  EXPECT_FALSE(is_systemd_unit_path("/etc/systemd/system.conf"));
  EXPECT_FALSE(is_systemd_unit_path("/etc/systemd/system"));
  EXPECT_FALSE(is_systemd_unit_path("/etc/kcnd/conf/kcnd.conf"));
  ::setenv("PATH", (bin_.string() + ":" + saved_path_).c_str(), 1);
  const Status ok = systemd_daemon_reload();
  touch("RELOAD_FAILS");
  const Status failed = systemd_daemon_reload();
  ::setenv("PATH", saved_path_.c_str(), 1);
  EXPECT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_NE(calls().find("daemon-reload\n"), std::string::npos) << calls();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "service.start_failed");
  EXPECT_NE(failed.error().message.find("Access denied"), std::string::npos)
      << failed.error().message;
}

}  // namespace
}  // namespace cc::ha
