// Tests for ha/ip_mover.h.
//   linux     real `ip` and `arping` inside network namespaces this test creates: an "agent" host
//             and an "other" host joined by a veth pair, 10.77.0.x addresses only inside them.
//             The mover runs in a thread that entered the agent namespace (setns), so every
//             command it spawns acts there; the host's interfaces are never touched (the test
//             devices do not even exist outside the namespaces). Skipped unless root with
//             `ip netns` working.
//   loopback  a listener on 127.0.170.x stands for the old active's node.
//   exec      sh scripts in a temp dir.
#include "ha/ip_mover.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/netns.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool ipm_contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- config ----------------------------------------------------------------------------------

IpMoverConfig ipm_config(const std::string& kind) {
  IpMoverConfig c;
  c.kind = kind;
  c.ip = kind == "loopback" ? "127.0.170.1" : "10.77.0.10";
  c.device = kind == "linux" ? "eth0" : "";
  return c;
}

void ipm_expect_config_error(const IpMoverConfig& c, const std::string& key) {
  auto m = make_ip_mover(c);
  ASSERT_FALSE(m.ok()) << "accepted a bad config; expected an error naming " << key;
  EXPECT_EQ(m.error().code, "ip.config");
  EXPECT_TRUE(ipm_contains(m.error().message, key)) << m.error().message;
}

TEST(IpMoverConfig, UnknownKindNamesHaIpMover) {
  ipm_expect_config_error(ipm_config("vrrp"), "HA_IP_MOVER=vrrp");
  ipm_expect_config_error(ipm_config(""), "HA_IP_MOVER");
}

TEST(IpMoverConfig, AddressMustBeIpv4AndPrefixInRange) {
  auto c = ipm_config("linux");
  c.ip = "10.77.0.10/24";
  ipm_expect_config_error(c, "HA_CELL_IP");
  c.ip = "fe80::1";
  ipm_expect_config_error(c, "HA_CELL_IP");
  c.ip = "";
  ipm_expect_config_error(c, "HA_CELL_IP");
  c = ipm_config("linux");
  c.prefix_len = 0;
  ipm_expect_config_error(c, "HA_IP_PREFIX");
  c.prefix_len = 33;
  ipm_expect_config_error(c, "HA_IP_PREFIX");
}

TEST(IpMoverConfig, LinuxNeedsAValidDevice) {
  auto c = ipm_config("linux");
  c.device = "";
  ipm_expect_config_error(c, "HA_IP_DEVICE");
  c.device = "a-very-long-interface-name";
  ipm_expect_config_error(c, "HA_IP_DEVICE");
  c.device = "eth0/x";
  ipm_expect_config_error(c, "HA_IP_DEVICE");
}

TEST(IpMoverConfig, LoopbackNeedsALoopbackAddress) {
  auto c = ipm_config("loopback");
  c.ip = "10.77.0.10";
  ipm_expect_config_error(c, "HA_CELL_IP");
}

TEST(IpMoverConfig, ExecNeedsAnExecutableScript) {
  cc::testing::TempDir tmp;
  auto c = ipm_config("exec");
  ipm_expect_config_error(c, "HA_IP_SCRIPT");
  c.script = tmp.path() / "missing.sh";
  ipm_expect_config_error(c, "HA_IP_SCRIPT");
  c.script = tmp.path() / "not-executable.sh";
  ASSERT_TRUE(atomic_write_file(c.script, std::string("#!/bin/sh\nexit 0\n"), 0644).ok());
  ipm_expect_config_error(c, "HA_IP_SCRIPT");
  c.script = tmp.path();
  ipm_expect_config_error(c, "HA_IP_SCRIPT");
}

TEST(IpMoverConfig, ValidConfigsDescribeThemselves) {
  auto on_linux = make_ip_mover(ipm_config("linux"));
  ASSERT_TRUE(on_linux.ok()) << on_linux.error().message;
  EXPECT_EQ((*on_linux)->describe(), "linux 10.77.0.10/32 dev eth0");
  auto loopback = make_ip_mover(ipm_config("loopback"));
  ASSERT_TRUE(loopback.ok()) << loopback.error().message;
  EXPECT_EQ((*loopback)->describe(), "loopback 127.0.170.1 (probe port 32323)");
}

// ---- loopback --------------------------------------------------------------------------------

// A TCP listener on ip and a kernel-chosen port.
class IpmListener {
 public:
  explicit IpmListener(const std::string& ip) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close();
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  ~IpmListener() { close(); }
  IpmListener(const IpmListener&) = delete;
  IpmListener& operator=(const IpmListener&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(IpMoverLoopback, AcquireRefusesWhileTheOldActiveStillListens) {
  const std::string ip = "127.0.170.2";
  IpmListener old_active(ip);
  ASSERT_NE(old_active.port(), 0) << "cannot listen on " << ip;
  auto c = ipm_config("loopback");
  c.ip = ip;
  c.probe_port = old_active.port();
  auto m = make_ip_mover(c);
  ASSERT_TRUE(m.ok()) << m.error().message;
  IpMover& mover = **m;

  auto refused = mover.acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "ip.in_use");
  EXPECT_TRUE(ipm_contains(refused.error().message, ip + ":" + std::to_string(c.probe_port)))
      << refused.error().message;
  EXPECT_FALSE(*mover.held());

  old_active.close();
  ASSERT_TRUE(mover.acquire().ok());
  EXPECT_TRUE(*mover.held());
}

TEST(IpMoverLoopback, HeldFollowsThisObjectsAcquireAndRelease) {
  auto c = ipm_config("loopback");
  c.ip = "127.0.170.3";
  IpmListener probe(c.ip);  // a free port: bound, then closed before the mover probes it
  c.probe_port = probe.port();
  probe.close();
  auto m = make_ip_mover(c);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(*(*m)->held());
  ASSERT_TRUE((*m)->acquire().ok());
  EXPECT_TRUE(*(*m)->held());
  // Once held, our own node listens there: acquiring again is still ok.
  IpmListener our_node(c.ip);
  ASSERT_TRUE((*m)->acquire().ok());
  ASSERT_TRUE((*m)->release().ok());
  EXPECT_FALSE(*(*m)->held());
  ASSERT_TRUE((*m)->release().ok());
}

// ---- exec ------------------------------------------------------------------------------------

class IpMoverExec : public ::testing::Test {
 protected:
  // A script that records its arguments and environment, prints `say` and exits with `code`.
  std::unique_ptr<IpMover> mover_with(const std::string& say, int code) {
    const fs::path script = tmp_.path() / ("move-" + std::to_string(code) + ".sh");
    const std::string text = "#!/bin/sh\necho \"$* ip=$CORECELL_IP dev=$CORECELL_DEVICE prefix=" +
                             std::string("$CORECELL_PREFIX\" >> ") + record().string() +
                             "\necho '" + say + "' >&2\nexit " + std::to_string(code) + "\n";
    EXPECT_TRUE(atomic_write_file(script, text, 0755).ok());
    IpMoverConfig c = ipm_config("exec");
    c.script = script;
    c.device = "ens5";
    c.prefix_len = 28;
    auto m = make_ip_mover(c);
    EXPECT_TRUE(m.ok()) << m.error().message;
    return m.ok() ? std::move(*m) : nullptr;
  }
  [[nodiscard]] fs::path record() const { return tmp_.path() / "calls"; }
  [[nodiscard]] std::string calls() const {
    auto text = read_file(record());
    return text.ok() ? *text : "";
  }

  cc::testing::TempDir tmp_;
};

TEST_F(IpMoverExec, ExitZeroIsDoneAndHeldWithTheAddressInArgumentsAndEnvironment) {
  auto m = mover_with("ok", 0);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->acquire().ok());
  auto held = m->held();
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_TRUE(*held);
  EXPECT_TRUE(m->release().ok());
  EXPECT_EQ(calls(),
            "acquire 10.77.0.10 ip=10.77.0.10 dev=ens5 prefix=28\n"
            "status 10.77.0.10 ip=10.77.0.10 dev=ens5 prefix=28\n"
            "release 10.77.0.10 ip=10.77.0.10 dev=ens5 prefix=28\n");
}

TEST_F(IpMoverExec, ExitOneIsNotHeldReleaseOkAndAcquireInUse) {
  auto m = mover_with("elsewhere", 1);
  ASSERT_NE(m, nullptr);
  auto held = m->held();
  ASSERT_TRUE(held.ok()) << held.error().message;
  EXPECT_FALSE(*held);
  EXPECT_TRUE(m->release().ok());
  auto acquired = m->acquire();
  ASSERT_FALSE(acquired.ok());
  EXPECT_EQ(acquired.error().code, "ip.in_use");
  EXPECT_TRUE(ipm_contains(acquired.error().message, "elsewhere")) << acquired.error().message;
}

TEST_F(IpMoverExec, OtherExitCodesAreErrorsShowingTheScriptsOutput) {
  auto m = mover_with("cloud API: quota exceeded", 7);
  ASSERT_NE(m, nullptr);
  std::vector<Error> errors;
  auto acquired = m->acquire();
  ASSERT_FALSE(acquired.ok());
  errors.push_back(acquired.error());
  auto released = m->release();
  ASSERT_FALSE(released.ok());
  errors.push_back(released.error());
  auto held = m->held();
  ASSERT_FALSE(held.ok());
  errors.push_back(held.error());
  for (const auto& e : errors) {
    EXPECT_EQ(e.code, "ip.command_failed") << e.message;
    EXPECT_TRUE(ipm_contains(e.message, "exited with code 7")) << e.message;
    EXPECT_TRUE(ipm_contains(e.message, "cloud API: quota exceeded")) << e.message;
    EXPECT_TRUE(ipm_contains(e.message, "HA_IP_SCRIPT")) << e.message;
  }
}

// ---- linux, in network namespaces ------------------------------------------------------------

constexpr const char* kIpmAgentDev = "ccha0";  // in the agent namespace
constexpr const char* kIpmOtherDev = "ccho0";  // its veth peer, in the other namespace
constexpr const char* kIpmCellIp = "10.77.0.10";

// Runs `ip ARGS...` in the host namespace (every call below names a test namespace with -n, or
// is `ip netns add|del`); returns "" on success, else the command and its output.
std::string ipm_ip(const std::vector<std::string>& args) {
  static const auto ip = util::find_program("ip");
  if (!ip) return "no `ip` command";
  std::vector<std::string> argv = {ip->string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = util::run_command(argv, 10s);
  if (!r.ok()) return r.error().message;
  if (r->exit_status != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return cmd + "-> " + util::describe_exit_status(r->exit_status) + ": " + r->output;
  }
  return "";
}

std::string ipm_ip_output(const std::vector<std::string>& args) {
  static const auto ip = util::find_program("ip");
  std::vector<std::string> argv = {ip ? ip->string() : "/usr/sbin/ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = util::run_command(argv, 10s);
  return r.ok() ? r->output : r.error().message;
}

// Two namespaces, "agent" and "other", joined by a veth pair, removed (with their devices) when
// this object goes, whatever the test did. Namespaces left by a crashed earlier run of this test
// (their pid no longer alive) are removed first.
class IpmNetnsPair {
 public:
  IpmNetnsPair() {
    remove_stale();
    static std::atomic<int> counter{0};
    const std::string base =
        "cc-ipm-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    agent_ = base + "-agent";
    other_ = base + "-other";
    for (const auto& ns : {agent_, other_}) {
      if (auto e = ipm_ip({"netns", "add", ns}); !e.empty()) {
        error_ = e;
        return;
      }
      created_.push_back(ns);
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"-n", agent_, "link", "add", kIpmAgentDev, "type", "veth", "peer", "name",
              kIpmOtherDev, "netns", other_},
             {"-n", agent_, "link", "set", "lo", "up"},
             {"-n", other_, "link", "set", "lo", "up"},
             {"-n", agent_, "link", "set", kIpmAgentDev, "up"},
             {"-n", other_, "link", "set", kIpmOtherDev, "up"},
             {"-n", agent_, "addr", "add", "10.77.0.1/24", "dev", kIpmAgentDev},
             {"-n", other_, "addr", "add", "10.77.0.2/24", "dev", kIpmOtherDev}}) {
      if (auto e = ipm_ip(args); !e.empty()) {
        error_ = e;
        return;
      }
    }
  }
  ~IpmNetnsPair() {
    for (const auto& ns : created_) {
      if (auto e = ipm_ip({"netns", "del", ns}); !e.empty()) {
        ADD_FAILURE() << "could not remove test namespace " << ns << ": " << e;
      }
    }
  }
  IpmNetnsPair(const IpmNetnsPair&) = delete;
  IpmNetnsPair& operator=(const IpmNetnsPair&) = delete;

  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::string& agent() const { return agent_; }
  [[nodiscard]] const std::string& other() const { return other_; }

  // Runs f inside namespace `ns` (support/netns.h); the commands the mover spawns inherit it.
  template <typename F>
  static auto in(const std::string& ns, F f) -> std::optional<decltype(f())> {
    return cc::testing::run_in_netns(ns, std::move(f));
  }

 private:
  static void remove_stale() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("cc-ipm-", 0) != 0) continue;
      const auto dash = name.find('-', 7);
      const pid_t pid = static_cast<pid_t>(std::atoi(name.substr(7, dash - 7).c_str()));
      if (pid > 0 && !util::process_alive(pid)) (void)ipm_ip({"netns", "del", name});
    }
  }

  std::string agent_, other_, error_;
  std::vector<std::string> created_;
};

class IpMoverLinux : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces";
    }
    if (!util::find_program("ip") || !util::find_program("arping")) {
      GTEST_SKIP() << "needs `ip` (iproute2) and `arping` (iputils-arping)";
    }
    net_ = std::make_unique<IpmNetnsPair>();
    if (!net_->error().empty()) {
      GTEST_SKIP() << "`ip netns` is not usable here: " << net_->error();
    }
    IpMoverConfig c;
    c.kind = "linux";
    c.ip = kIpmCellIp;
    c.prefix_len = 32;
    c.device = kIpmAgentDev;
    auto m = make_ip_mover(c);
    ASSERT_TRUE(m.ok()) << m.error().message;
    mover_ = std::move(*m);
  }

  // The mover's calls, made inside the agent namespace.
  Status acquire() {
    return unwrap(IpmNetnsPair::in(net_->agent(), [&] { return mover_->acquire(); }));
  }
  Status release() {
    return unwrap(IpmNetnsPair::in(net_->agent(), [&] { return mover_->release(); }));
  }
  Result<bool> held() {
    auto r = IpmNetnsPair::in(net_->agent(), [&] { return mover_->held(); });
    if (!r) return make_error("test.netns", "cannot enter " + net_->agent());
    return *r;
  }
  static Status unwrap(const std::optional<Status>& s) {
    if (!s) return make_error("test.netns", "cannot enter the agent namespace");
    return *s;
  }
  // The agent namespace's addresses on its veth, as `ip` shows them (checked independently of
  // the mover's own parsing).
  std::string agent_addresses() {
    return ipm_ip_output({"-n", net_->agent(), "-o", "-4", "addr", "show", "dev", kIpmAgentDev});
  }

  std::unique_ptr<IpmNetnsPair> net_;
  std::unique_ptr<IpMover> mover_;
};

TEST_F(IpMoverLinux, AcquireAddsTheAddressAndHeldSeesIt) {
  auto before = held();
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_FALSE(*before);
  auto st = acquire();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(ipm_contains(agent_addresses(), std::string(kIpmCellIp) + "/32"))
      << agent_addresses();
  auto after = held();
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(*after);
  // Already here: acquiring again is ok and adds nothing.
  ASSERT_TRUE(acquire().ok());
  const std::string shown = agent_addresses();
  EXPECT_EQ(shown.find(kIpmCellIp), shown.rfind(kIpmCellIp)) << shown;
}

TEST_F(IpMoverLinux, GratuitousArpUpdatesANeighboursStaleEntry) {
  // The other host still maps the cell IP to the old holder's MAC (a stale cache entry).
  ASSERT_EQ(ipm_ip({"-n", net_->other(), "neigh", "replace", kIpmCellIp, "lladdr",
                    "02:00:00:00:00:99", "dev", kIpmOtherDev, "nud", "stale"}),
            "");
  const std::string link = ipm_ip_output({"-n", net_->agent(), "-o", "link", "show", kIpmAgentDev});
  const auto at = link.find("link/ether ");
  ASSERT_NE(at, std::string::npos) << link;
  const std::string agent_mac = link.substr(at + 11, 17);
  auto st = acquire();
  ASSERT_TRUE(st.ok()) << st.error().message;
  // The announcement goes out beside the takeover (acquire does not wait for arping's 1 s).
  std::string neigh;
  for (int i = 0; i < 30; ++i) {
    neigh = ipm_ip_output({"-n", net_->other(), "neigh", "show", kIpmCellIp});
    if (ipm_contains(neigh, agent_mac)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ipm_contains(neigh, agent_mac)) << neigh << " (agent MAC " << agent_mac << ")";
}

TEST_F(IpMoverLinux, AcquireFailsInUseWhenAnotherHostOnTheLinkHasTheAddress) {
  ASSERT_EQ(ipm_ip({"-n", net_->other(), "addr", "add", std::string(kIpmCellIp) + "/24", "dev",
                    kIpmOtherDev}),
            "");
  auto st = acquire();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "ip.in_use") << st.error().message;
  EXPECT_TRUE(ipm_contains(st.error().message, kIpmCellIp)) << st.error().message;
  EXPECT_TRUE(ipm_contains(st.error().message, "arping -D")) << st.error().message;
  EXPECT_FALSE(ipm_contains(agent_addresses(), kIpmCellIp)) << agent_addresses();
  auto h = held();
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_FALSE(*h);
}

TEST_F(IpMoverLinux, ReleaseRemovesTheAddressAndIsOkWhenAbsent) {
  auto st = release();  // never added
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(acquire().ok());
  ASSERT_TRUE(ipm_contains(agent_addresses(), kIpmCellIp));
  st = release();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_FALSE(ipm_contains(agent_addresses(), kIpmCellIp)) << agent_addresses();
  auto h = held();
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_FALSE(*h);
  EXPECT_TRUE(release().ok());
}

TEST_F(IpMoverLinux, ReleaseRemovesTheAddressWhateverPrefixItWasAddedWith) {
  ASSERT_EQ(ipm_ip({"-n", net_->agent(), "addr", "add", std::string(kIpmCellIp) + "/24", "dev",
                    kIpmAgentDev}),
            "");
  auto h = held();
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_TRUE(*h);
  ASSERT_TRUE(acquire().ok()) << "already on the device: no duplicate detection, no second add";
  ASSERT_TRUE(release().ok());
  EXPECT_FALSE(ipm_contains(agent_addresses(), kIpmCellIp)) << agent_addresses();
}

TEST_F(IpMoverLinux, AcquireRefusesTheAddressOnAnotherDeviceOfThisHost) {
  ASSERT_EQ(
      ipm_ip({"-n", net_->agent(), "addr", "add", std::string(kIpmCellIp) + "/32", "dev", "lo"}),
      "");
  auto st = acquire();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "ip.in_use");
  EXPECT_TRUE(ipm_contains(st.error().message, "HA_IP_DEVICE=lo")) << st.error().message;
}

TEST_F(IpMoverLinux, CommandFailuresNameTheCommandItsOutputAndTheFix) {
  // The device is down: arping -D cannot probe, so nothing is added.
  ASSERT_EQ(ipm_ip({"-n", net_->agent(), "link", "set", kIpmAgentDev, "down"}), "");
  auto st = acquire();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "ip.command_failed");
  EXPECT_TRUE(ipm_contains(st.error().message, "arping -D")) << st.error().message;
  EXPECT_TRUE(ipm_contains(st.error().message, "is down")) << st.error().message;
  EXPECT_TRUE(ipm_contains(st.error().message, "HA_IP_DEVICE")) << st.error().message;
  EXPECT_FALSE(ipm_contains(agent_addresses(), kIpmCellIp)) << agent_addresses();

  // A device that does not exist in this namespace.
  IpMoverConfig c;
  c.kind = "linux";
  c.ip = kIpmCellIp;
  c.device = "ccnosuch0";
  auto m = make_ip_mover(c);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto h = IpmNetnsPair::in(net_->agent(), [&] { return (*m)->held(); });
  ASSERT_TRUE(h.has_value());
  ASSERT_FALSE(h->ok());
  EXPECT_EQ(h->error().code, "ip.command_failed");
  EXPECT_TRUE(ipm_contains(h->error().message, "addr show dev ccnosuch0")) << h->error().message;
  EXPECT_TRUE(ipm_contains(h->error().message, "does not exist")) << h->error().message;
}

}  // namespace
}  // namespace cc::ha
