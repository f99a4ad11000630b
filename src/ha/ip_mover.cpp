#include "ha/ip_mover.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// `ip` answers in milliseconds; arping -D waits its own -w 1; arping -U sends 1 probe (about 1 s,
// in the background).
constexpr auto kIpCommandTimeout = 5s;
constexpr auto kArpingTimeout = 5s;
// An operator script may call a cloud API (reassigning an elastic IP takes seconds).
constexpr auto kScriptChangeTimeout = 60s;
constexpr auto kScriptStatusTimeout = 15s;
// Loopback: how long a connect to the old active's listener may take before we call it absent.
constexpr auto kLoopbackProbeTimeout = 200ms;

// How command output is quoted in errors: trimmed, at most the last 2000 characters.
std::string ipm_quote_output(const std::string& output) {
  std::string s = output;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  if (s.size() > 2000) s = "..." + s.substr(s.size() - 2000);
  return s.empty() ? "(no output)" : "\"" + s + "\"";
}

std::string ipm_join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Error ipm_command_failed(const std::vector<std::string>& argv, const util::CommandResult& r,
                         const std::string& fix) {
  std::string what = r.timed_out ? "did not finish in time and was killed"
                                 : util::describe_exit_status(r.exit_status);
  return make_error("ip.command_failed", "`" + ipm_join(argv) + "` " + what + ": " +
                                             ipm_quote_output(r.output) + "; " + fix);
}

Result<util::CommandResult> ipm_run(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout,
                                    const std::vector<std::string>& env = {}) {
  auto r = util::run_command(argv, timeout, env);
  if (!r.ok()) return make_error("ip.command_failed", r.error().message);
  return r;
}

bool ipm_valid_ipv4(const std::string& ip) {
  in_addr a{};
  return ::inet_pton(AF_INET, ip.c_str(), &a) == 1;
}

// One IPv4 address of `ip -o -4 addr show`: "2: eth0    inet 10.0.0.5/24 brd ... scope global
// eth0".
struct IpmAddress {
  std::string device;
  std::string ip;
  unsigned prefix = 32;
};

std::vector<IpmAddress> ipm_parse_addresses(const std::string& text) {
  std::vector<IpmAddress> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string index, device, family, cidr;
    if (!(words >> index >> device >> family >> cidr) || family != "inet") continue;
    if (auto at = device.find('@'); at != std::string::npos) device.resize(at);
    if (!device.empty() && device.back() == ':') device.pop_back();
    IpmAddress a;
    a.device = device;
    const auto slash = cidr.find('/');
    a.ip = cidr.substr(0, slash);
    if (slash != std::string::npos) {
      try {
        a.prefix = static_cast<unsigned>(std::stoul(cidr.substr(slash + 1)));
      } catch (...) {
        continue;
      }
    }
    out.push_back(a);
  }
  return out;
}

// ---- loopback --------------------------------------------------------------------------------

// True when something accepts TCP at ip:port within the probe timeout.
bool ipm_tcp_accepts(const std::string& ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  bool accepted = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    accepted = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(kLoopbackProbeTimeout);
    if (::poll(&p, 1, static_cast<int>(ms.count())) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      accepted = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  ::close(fd);
  return accepted;
}

class LoopbackIpMover final : public IpMover {
 public:
  explicit LoopbackIpMover(IpMoverConfig c) : c_(std::move(c)) {}

  std::string describe() const override {
    return "loopback " + c_.ip + " (probe port " + std::to_string(c_.probe_port) + ")";
  }

  // Idempotent: once held, the listener at the address is our own node's.
  Status acquire() override {
    if (held_.load()) return ok_status();
    if (ipm_tcp_accepts(c_.ip, c_.probe_port)) {
      return make_error("ip.in_use", "something still accepts TCP at " + c_.ip + ":" +
                                         std::to_string(c_.probe_port) +
                                         " (the old active's node?); stop that process first");
    }
    held_ = true;
    return ok_status();
  }

  Status release() override {
    held_ = false;
    return ok_status();
  }

  // Every 127.x address is always local, so there is nothing on the host to inspect: this is
  // whether this object acquired the address and has not released it since.
  Result<bool> held() override { return held_.load(); }

 private:
  IpMoverConfig c_;
  std::atomic<bool> held_{false};
};

// ---- linux -----------------------------------------------------------------------------------

class LinuxIpMover final : public IpMover {
 public:
  LinuxIpMover(IpMoverConfig c, fs::path ip_exe, fs::path arping_exe)
      : c_(std::move(c)), ip_(std::move(ip_exe)), arping_(std::move(arping_exe)) {}

  std::string describe() const override {
    return "linux " + c_.ip + "/" + std::to_string(c_.prefix_len) + " dev " + c_.device;
  }

  Status acquire() override {
    CC_TRY_ASSIGN(const auto all, addresses({}));
    bool here = false;
    for (const auto& a : all) {
      if (a.ip != c_.ip) continue;
      if (a.device == c_.device) {
        here = true;
      } else {
        return make_error("ip.in_use", c_.ip + " is on device " + a.device + " of this host, not " +
                                           c_.device + "; remove it there (`ip addr del " + c_.ip +
                                           "/" + std::to_string(a.prefix) + " dev " + a.device +
                                           "`) or set HA_IP_DEVICE=" + a.device);
      }
    }
    if (!here) {
      // Duplicate address detection. iputils arping -D exits 0 when nobody answered, 1 when a
      // host answered (the address is in use: its MAC is in the output), 2 on an error such as
      // a missing or down interface. No -q: its output explains both of the latter.
      const std::vector<std::string> dad = {arping_.string(), "-D", "-c", "1", "-w", "1", "-I",
                                            c_.device,        c_.ip};
      CC_TRY_ASSIGN(const auto r, ipm_run(dad, kArpingTimeout));
      if (!r.timed_out && r.exit_status == 1) {
        return make_error("ip.in_use", "another host answers ARP for " + c_.ip + " on " +
                                           c_.device + " (`" + ipm_join(dad) +
                                           "`: " + ipm_quote_output(r.output) +
                                           "); fence the old holder (take the address off it) "
                                           "before moving it here");
      }
      if (r.timed_out || r.exit_status != 0) {
        return ipm_command_failed(dad, r,
                                  "check that HA_IP_DEVICE=" + c_.device + " exists and is up");
      }
      const std::vector<std::string> add = {ip_.string(), "addr", "add", cidr(), "dev", c_.device};
      CC_TRY_ASSIGN(const auto a, ipm_run(add, kIpCommandTimeout));
      const bool raced = a.output.find("already assigned") != std::string::npos ||
                         a.output.find("File exists") != std::string::npos;
      if (a.timed_out || (a.exit_status != 0 && !raced)) {
        return ipm_command_failed(add, a,
                                  "the agent needs CAP_NET_ADMIN (run it as root) and HA_IP_DEVICE "
                                  "must exist");
      }
    }
    // Gratuitous ARP so neighbours (the gateway, other CNs' hosts) replace the old holder's MAC
    // at once. Not fatal: the address is ours either way, and a neighbour that missed it learns
    // the new MAC when its cache entry expires (seconds to minutes). Logged for the operator.
    // Sent beside the takeover, not in its path: arping -U waits out its 1 s interval after the
    // probe, a second the standby's node would otherwise not be starting (issue #17's bounds).
    std::thread([garp = std::vector<std::string>{arping_.string(), "-U", "-c", "1", "-I", c_.device,
                                                 c_.ip},
                 ip = c_.ip] {
      auto g = ipm_run(garp, kArpingTimeout);
      if (!g.ok()) {
        logger("ha")->warn("ip {}: gratuitous ARP not sent: {}", ip, g.error().message);
      } else if (g->timed_out || g->exit_status != 0) {
        logger("ha")->warn("ip {}: gratuitous ARP failed: {}", ip,
                           ipm_command_failed(garp, *g,
                                              "neighbours learn the new MAC when their "
                                              "ARP cache entry expires")
                               .message);
      }
    }).detach();
    return ok_status();
  }

  Status release() override {
    CC_TRY_ASSIGN(const auto mine, addresses(c_.device));
    for (const auto& a : mine) {
      if (a.ip != c_.ip) continue;
      // The prefix as the host has it (an operator may have added it by hand with another one).
      const std::vector<std::string> del = {
          ip_.string(), "addr", "del", a.ip + "/" + std::to_string(a.prefix), "dev", c_.device};
      CC_TRY_ASSIGN(const auto r, ipm_run(del, kIpCommandTimeout));
      const bool gone = r.output.find("not found") != std::string::npos ||
                        r.output.find("Cannot assign requested address") != std::string::npos;
      if (r.timed_out || (r.exit_status != 0 && !gone)) {
        return ipm_command_failed(del, r, "the agent needs CAP_NET_ADMIN (run it as root)");
      }
    }
    return ok_status();
  }

  Result<bool> held() override {
    CC_TRY_ASSIGN(const auto mine, addresses(c_.device));
    for (const auto& a : mine) {
      if (a.ip == c_.ip) return true;
    }
    return false;
  }

 private:
  [[nodiscard]] std::string cidr() const { return c_.ip + "/" + std::to_string(c_.prefix_len); }

  // The IPv4 addresses on `device` (all devices when empty).
  Result<std::vector<IpmAddress>> addresses(const std::string& device) {
    std::vector<std::string> show = {ip_.string(), "-o", "-4", "addr", "show"};
    if (!device.empty()) {
      show.emplace_back("dev");
      show.push_back(device);
    }
    CC_TRY_ASSIGN(const auto r, ipm_run(show, kIpCommandTimeout));
    if (r.timed_out || r.exit_status != 0) {
      return ipm_command_failed(show, r, "check HA_IP_DEVICE (`ip link` lists the devices)");
    }
    return ipm_parse_addresses(r.output);
  }

  IpMoverConfig c_;
  fs::path ip_;
  fs::path arping_;
};

// ---- exec ------------------------------------------------------------------------------------

class ExecIpMover final : public IpMover {
 public:
  explicit ExecIpMover(IpMoverConfig c) : c_(std::move(c)) {}

  std::string describe() const override { return "exec " + c_.script.string() + " " + c_.ip; }

  // Exit 1 ("not held") from acquire means the address could not be made ours because another
  // host keeps it: ip.in_use.
  Status acquire() override {
    CC_TRY_ASSIGN(const auto r, run("acquire", kScriptChangeTimeout));
    if (r.exit_status == 0) return ok_status();
    if (r.exit_status == 1) {
      return make_error("ip.in_use", "HA_IP_SCRIPT `" + c_.script.string() + " acquire " + c_.ip +
                                         "` reports the address is not ours (exit 1): " +
                                         ipm_quote_output(r.output));
    }
    return failed("acquire", r);
  }

  // Exit 1 ("not held") from release: it was not here, which is done.
  Status release() override {
    CC_TRY_ASSIGN(const auto r, run("release", kScriptChangeTimeout));
    if (r.exit_status == 0 || r.exit_status == 1) return ok_status();
    return failed("release", r);
  }

  Result<bool> held() override {
    CC_TRY_ASSIGN(const auto r, run("status", kScriptStatusTimeout));
    if (r.exit_status == 0) return true;
    if (r.exit_status == 1) return false;
    return failed("status", r);
  }

 private:
  Result<util::CommandResult> run(const std::string& verb, std::chrono::milliseconds timeout) {
    CC_TRY_ASSIGN(auto r, ipm_run({c_.script.string(), verb, c_.ip}, timeout,
                                  {"CORECELL_IP=" + c_.ip, "CORECELL_DEVICE=" + c_.device,
                                   "CORECELL_PREFIX=" + std::to_string(c_.prefix_len)}));
    if (r.timed_out) {
      return ipm_command_failed(
          {c_.script.string(), verb, c_.ip}, r,
          "the script must finish within " +
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
              " s (HA_IP_SCRIPT)");
    }
    return r;
  }

  Error failed(const std::string& verb, const util::CommandResult& r) const {
    return ipm_command_failed({c_.script.string(), verb, c_.ip}, r,
                              "fix HA_IP_SCRIPT (exit 0 = done/held, 1 = not held, anything "
                              "else is an error)");
  }

  IpMoverConfig c_;
};

Error ipm_config_error(const std::string& message) { return make_error("ip.config", message); }

}  // namespace

Result<std::unique_ptr<IpMover>> make_ip_mover(const IpMoverConfig& config) {
  IpMoverConfig c = config;
  if (c.kind != "loopback" && c.kind != "linux" && c.kind != "exec") {
    return ipm_config_error("HA_IP_MOVER=" + (c.kind.empty() ? std::string("(empty)") : c.kind) +
                            " is not an IP mover; use loopback, linux or exec");
  }
  if (!ipm_valid_ipv4(c.ip)) {
    return ipm_config_error("HA_CELL_IP=" + (c.ip.empty() ? std::string("(empty)") : c.ip) +
                            " is not an IPv4 address; set the cell's public address, e.g. "
                            "HA_CELL_IP=10.0.0.5 (the prefix goes in HA_IP_PREFIX)");
  }
  if (c.prefix_len < 1 || c.prefix_len > 32) {
    return ipm_config_error("HA_IP_PREFIX=" + std::to_string(c.prefix_len) +
                            " is out of range; use 1..32 (32 for a single address)");
  }
  if (!c.device.empty() &&
      (c.device.size() >= IFNAMSIZ || c.device.find_first_of("/ \t\n:") != std::string::npos)) {
    return ipm_config_error("HA_IP_DEVICE=" + c.device +
                            " is not a network interface name (at most 15 characters, no '/', "
                            "':' or spaces); `ip link` lists them");
  }
  if (c.kind == "loopback") {
    if (c.ip.rfind("127.", 0) != 0) {
      return ipm_config_error("HA_CELL_IP=" + c.ip +
                              " is not a loopback address; HA_IP_MOVER=loopback is for a local "
                              "network on one machine (127.x), use linux or exec otherwise");
    }
    if (c.probe_port == 0) {
      return ipm_config_error(
          "HA_IP_MOVER=loopback needs the node's p2p port to probe (port 0 "
          "given)");
    }
    return std::unique_ptr<IpMover>(std::make_unique<LoopbackIpMover>(std::move(c)));
  }
  if (c.kind == "linux") {
    if (c.device.empty()) {
      return ipm_config_error(
          "HA_IP_MOVER=linux needs HA_IP_DEVICE, the interface that carries "
          "the address (e.g. HA_IP_DEVICE=eth0; `ip link` lists them)");
    }
    const auto ip_exe = util::find_program("ip");
    if (!ip_exe) {
      return ipm_config_error(
          "HA_IP_MOVER=linux needs the `ip` command (iproute2) in PATH or "
          "/usr/sbin; install iproute2");
    }
    const auto arping_exe = util::find_program("arping");
    if (!arping_exe) {
      return ipm_config_error(
          "HA_IP_MOVER=linux needs `arping` from iputils (Debian: apt install "
          "iputils-arping) in PATH or /usr/bin");
    }
    return std::unique_ptr<IpMover>(
        std::make_unique<LinuxIpMover>(std::move(c), *ip_exe, *arping_exe));
  }
  // exec
  if (c.script.empty()) {
    return ipm_config_error(
        "HA_IP_MOVER=exec needs HA_IP_SCRIPT, the program run as `SCRIPT "
        "acquire|release|status IP`");
  }
  std::error_code ec;
  const fs::path script = fs::absolute(c.script, ec);
  if (ec || !fs::is_regular_file(script, ec) || ::access(script.c_str(), X_OK) != 0) {
    return ipm_config_error("HA_IP_SCRIPT=" + c.script.string() +
                            " is not an executable file; create it and chmod +x it");
  }
  c.script = script;
  return std::unique_ptr<IpMover>(std::make_unique<ExecIpMover>(std::move(c)));
}

}  // namespace cc::ha
