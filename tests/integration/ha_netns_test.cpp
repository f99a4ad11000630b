// HA across hosts: the multi-host acceptance test, in network namespaces this test creates.
// One bridge inside a "switch" namespace joins a namespace per host through veth pairs (the
// host's end is `cc0`), with 10.231.0.x addresses that exist only inside those namespaces; the
// machine's own interfaces, routes and addresses are never touched. Hosts:
//   etcd0..etcd2 (.201-.203)  a real 3-member etcd (tests/support/etcd.h, in namespaces)
//   cn-1 (host A, .19) and cn-1-standby (host B, .14): cell 1's CN hosts, each under its own
//            `corecell ha agent` with HA_LEASE=etcd and HA_IP_MOVER=linux on cc0; the cell's
//            public address 10.231.0.10 is held only by the active host
//   cn-2..cn-4 (.11-.13), pn-1-1..pn-4-1 (.15-.18), and a "probe" host (.250) the test's
//            JSON-RPC queries run from (a thread that entered its namespace)
// The network comes from `corecell localnet init --standby 1` (keys, genesis, validator backup,
// passphrase), its 127.0.77.x addresses rewritten to 10.231.0.x and the agent confs switched to
// etcd + linux mover. Every process runs inside its host's namespace (`ip netns exec`).
// The scenarios share the network and run in order (HaNetns is one CTest entry):
//   1. the cell address is on A, the other CNs are connected to it, blocks carry the validator's
//      seals;
//   2. kill -9 of A's node: B takes over, the address moves to B (the other CNs' ARP entry follows
//      its MAC), the other CNs reach the new active at the same address, fresh seals;
//   3. the active cut off from the lease store (blackhole routes to the etcd members, in its
//      namespace only): it self-fences (stops signing, releases the address) before the standby
//      takes the lease, the standby takes over; the routes are restored and the old active comes
//      back as a standby.
// After each: exactly one agent reports active (`corecell ha status --json`), and SIGN-1 holds
// over every signature journal; the last test adds CHAIN-1 over every node's JSON-RPC.
// Agents: HA_LEASE_TTL_MS=3000, HA_LOOP_MS=500, HA_RETRY_MS=1000, HA_PERMIT_MARGIN_MS=500.
// Skipped unless root with `ip netns`, `arping` and etcd available. Everything (processes,
// namespaces, files) is removed in TearDownTestSuite, also on failure; namespaces and processes
// left by a crashed earlier run (its pid gone) are removed first.
// For diagnosis: CC_HA_NETNS_KEEP=DIR keeps a copy of the network's files (logs, events,
// journals, confs); CC_HA_NETNS_TTL_MS=N runs the agents with another lease TTL.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/address.h"
#include "localnet/invariants.h"
#include "localnet/manifest.h"
#include "node/control.h"
#include "node/datadir.h"
#include "storage/signjournal.h"
#include "support/etcd.h"
#include "support/ha_agents.h"
#include "support/netns.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kHnPrefix = "cc-hn-";        // namespace names: cc-hn-<pid>-<host>
constexpr const char* kHnDev = "cc0";              // every host's veth, inside its namespace
constexpr const char* kHnInitPrefix = "127.0.77";  // what init writes (never bound here)
constexpr const char* kHnNet = "10.231.0";         // exists only inside the test's namespaces
constexpr int kHnEtcdFirst = 201;
constexpr int kHnProbe = 250;
const std::vector<std::string> kHnHaHosts = {"cn-1", "cn-1-standby"};

bool hn_wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds step = 200ms) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

double hn_seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

const std::string& hn_ip_exe() {
  static const std::string exe = [] {
    auto p = util::find_program("ip");
    return p ? p->string() : std::string();
  }();
  return exe;
}

// `ip ARGS...` (every call names a test namespace with -n, or is `ip netns ...` on one); "" on
// success, else the command and its output.
std::string hn_ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {hn_ip_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = util::run_command(argv, 10s);
  if (!r.ok()) return r.error().message;
  if (r->timed_out || r->exit_status != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return cmd + "-> " + util::describe_exit_status(r->exit_status) + ": " + r->output;
  }
  return "";
}

std::string hn_ip_output(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {hn_ip_exe()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = util::run_command(argv, 10s);
  return r.ok() ? r->output : r.error().message;
}

void hn_kill_pids_in(const std::string& ns) {
  std::istringstream pids(hn_ip_output({"netns", "pids", ns}));
  pid_t pid = 0;
  while (pids >> pid) {
    if (pid > 1 && pid != ::getpid()) ::kill(pid, SIGKILL);
  }
}

// Namespaces of an earlier run of this test whose process is gone: kill what still runs in
// them, then remove them.
void hn_remove_stale() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kHnPrefix, 0) != 0) continue;
    const std::size_t start = std::string(kHnPrefix).size();
    const pid_t pid = static_cast<pid_t>(std::atoi(name.substr(start).c_str()));
    if (pid <= 0 || util::process_alive(pid)) continue;
    hn_kill_pids_in(name);
    (void)hn_ip({"netns", "del", name});
  }
}

// A host: its namespace and its own address (on its veth, cc0).
struct HnHost {
  std::string name;
  std::string ns;
  std::string ip;
};

class HaNetns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_ = "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create network namespaces";
      return;
    }
    if (hn_ip_exe().empty() || !util::find_program("arping")) {
      skip_ = "needs `ip` (iproute2) and `arping` (iputils-arping)";
      return;
    }
    if (!fs::exists(testing::EtcdCluster::kEtcdBinary)) {
      skip_ = std::string("needs ") + testing::EtcdCluster::kEtcdBinary + " (etcd-server)";
      return;
    }
    hn_remove_stale();
    const auto t0 = Clock::now();
    tmp_ = new testing::TempDir();
    dir_ = tmp_->path() / "net";
    if (auto e = build(); !e.empty()) {
      error_ = e + "\n" + diagnostics();
      return;
    }
    std::cout << "[ HaNetns  ] network up in " << hn_seconds_since(t0) << " s\n";
  }

  static void TearDownTestSuite() {
    delete etcd_;  // SIGKILL + wait for every member
    etcd_ = nullptr;
    for (pid_t pid : pids_) {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
    pids_.clear();
    if (!dir_.empty()) {
      // The agents' nodes (and anything else run from our files).
      for (int pass = 0; pass < 3; ++pass) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator("/proc", ec)) {
          const std::string name = entry.path().filename().string();
          if (name.find_first_not_of("0123456789") != std::string::npos) continue;
          const pid_t pid = std::stoi(name);
          if (pid != ::getpid() && util::process_matches(pid, dir_.string())) ::kill(pid, SIGKILL);
        }
      }
    }
    for (const auto& ns : namespaces_) hn_kill_pids_in(ns);
    keep_files_if_asked();
    for (const auto& ns : namespaces_) {
      if (auto e = hn_ip({"netns", "del", ns}); !e.empty()) {
        std::cerr << "could not remove test namespace " << ns << ": " << e << "\n";
      }
    }
    namespaces_.clear();
    delete manifest_;
    manifest_ = nullptr;
    delete tmp_;
    tmp_ = nullptr;
    dir_.clear();
  }

  // CC_HA_NETNS_KEEP=DIR: a copy of the network's regular files (confs, logs, journals, agent
  // events; not the chain databases) goes to DIR/ha-netns-<pid> for a post-mortem.
  static void keep_files_if_asked() {
    const char* keep = std::getenv("CC_HA_NETNS_KEEP");
    if (keep == nullptr || dir_.empty()) return;
    const fs::path to = fs::path(keep) / ("ha-netns-" + std::to_string(::getpid()));
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code each;  // a file that cannot be copied is skipped, the walk goes on
      const std::string rel = fs::relative(it->path(), dir_, each).string();
      if (each || rel.find("chaindata") != std::string::npos) continue;
      if (it->is_regular_file(each)) {
        fs::create_directories((to / rel).parent_path(), each);
        fs::copy_file(it->path(), to / rel, fs::copy_options::overwrite_existing, each);
      }
    }
    std::cerr << "[ HaNetns  ] files kept in " << to.string() << "\n";
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    if (!error_.empty()) FAIL() << "the namespaced network did not come up: " << error_;
  }

  // ------------------------------------------------------------------ building the network
  static std::string build() {
    // 1. Keys, genesis, validator backup, passphrase and confs from init.
    auto init = testing::run(
        {bin_path("corecell"), "localnet", "init", "--dir", dir_.string(), "--cells", "4", "--pns",
         "1", "--standby", "1", "--ens", "0", "--ip-prefix", kHnInitPrefix},
        120s);
    if (init.exit_code != 0) return "localnet init failed: " + init.out + init.err;
    // 2. Its loopback addresses become the namespaces' addresses, in every conf and manifest.
    if (auto e = rewrite_addresses(); !e.empty()) return e;
    auto m = localnet::load_manifest(dir_);
    if (!m.ok()) return m.error().message;
    manifest_ = new localnet::Manifest(*m);
    // 3. The hosts.
    for (const auto& n : manifest_->nodes) {
      hosts_[n.name] = HnHost{n.name, ns_name(n.name), n.has_agent() ? n.host_ip : n.ip};
    }
    for (int i = 0; i < 3; ++i) {
      const std::string name = "etcd" + std::to_string(i);
      hosts_[name] = HnHost{name, ns_name(name), ip(kHnEtcdFirst + i)};
    }
    hosts_["probe"] = HnHost{"probe", ns_name("probe"), ip(kHnProbe)};
    if (auto e = make_namespaces(); !e.empty()) return e;
    // 4. etcd, then the agent confs that point at it.
    testing::EtcdCluster::InNetns where;
    where.ip_command = hn_ip_exe();
    for (int i = 0; i < 3; ++i) {
      where.netns.push_back(hosts_["etcd" + std::to_string(i)].ns);
      where.ips.push_back(hosts_["etcd" + std::to_string(i)].ip);
    }
    etcd_ = new testing::EtcdCluster(where, 60s);
    if (!etcd_->ok()) return "etcd: " + etcd_->error();
    for (const auto& name : kHnHaHosts) {
      if (auto e = rewrite_agent_conf(node(name)); !e.empty()) return e;
    }
    // 5. Every process in its host's namespace: plain nodes, then the two agents (which run
    //    cell 1's nodes themselves).
    for (const auto& n : manifest_->nodes) {
      if (n.has_agent()) continue;
      const std::string role = localnet::role_text(n.role);
      if (auto e = spawn_in(
              host(n.name).ns,
              {bin_path("corecell"), "node", "--role", role, "--conf", n.conf.string()}, n.log);
          !e.empty()) {
        return e;
      }
    }
    for (const auto& name : kHnHaHosts) {
      const auto& n = node(name);
      if (auto e = spawn_in(host(name).ns,
                            {bin_path("corecell"), "ha", "agent", "--conf", n.ha_conf.string()},
                            n.ha_log);
          !e.empty()) {
        return e;
      }
    }
    return "";
  }

  static std::string ns_name(const std::string& host) {
    std::string h = host;
    std::erase(h, '-');
    return kHnPrefix + std::to_string(::getpid()) + "-" + h;
  }
  static std::string ip(int last_octet) {
    return std::string(kHnNet) + "." + std::to_string(last_octet);
  }

  static std::string rewrite_addresses() {
    const std::regex loopback(std::string(kHnInitPrefix) + R"(\.(\d{1,3}))");
    const std::string replacement = std::string(kHnNet) + ".$1";
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir_, ec)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".conf" && ext != ".json")) continue;
      auto text = read_file(e.path());
      if (!text.ok()) return text.error().message;
      const std::string out = std::regex_replace(*text, loopback, replacement);
      if (out == *text) continue;
      const auto mode = fs::status(e.path()).permissions() & fs::perms::all;
      if (auto st = atomic_write_file(e.path(), out, static_cast<mode_t>(mode)); !st.ok()) {
        return st.error().message;
      }
    }
    if (ec) return "walking " + dir_.string() + ": " + ec.message();
    return "";
  }

  // The local-lease, loopback-mover conf init wrote becomes an etcd + linux mover one, with the
  // brief's timings (etcd counts TTLs in whole seconds).
  static std::string rewrite_agent_conf(const localnet::NodeEntry& n) {
    auto text = read_file(n.ha_conf);
    if (!text.ok()) return text.error().message;
    static const std::set<std::string> replaced = {
        "HA_LEASE",   "HA_LEASE_FILE",    "HA_IP_MOVER", "HA_IP_DEVICE",
        "HA_LOOP_MS", "HA_LEASE_TTL_MS",  "HA_RETRY_MS", "HA_PERMIT_MARGIN_MS",
        "HA_HOST_IP", "HA_ETCD_ENDPOINTS"};
    std::istringstream in(*text);
    std::string line, out;
    while (std::getline(in, line)) {
      const std::string key = line.substr(0, line.find('='));
      if (replaced.count(key) == 0) out += line + "\n";
    }
    std::string endpoints;
    for (const auto& ep : etcd_->endpoints()) endpoints += (endpoints.empty() ? "" : ",") + ep;
    out += "# the namespaced multi-host setup (tests/integration/ha_netns_test.cpp)\n";
    out += "HA_HOST_IP=\"" + host(n.name).ip + "\"\n";
    out += "HA_LEASE=\"etcd\"\n";
    out += "HA_ETCD_ENDPOINTS=\"" + endpoints + "\"\n";
    out += "HA_IP_MOVER=\"linux\"\n";
    out += std::string("HA_IP_DEVICE=\"") + kHnDev + "\"\n";
    // The acceptance setup is a 3 s lease; CC_HA_NETNS_TTL_MS overrides it for diagnosis only.
    const char* ttl_override = std::getenv("CC_HA_NETNS_TTL_MS");
    out += "HA_LEASE_TTL_MS=\"" + std::string(ttl_override ? ttl_override : "3000") + "\"\n";
    out += "HA_LOOP_MS=\"500\"\nHA_RETRY_MS=\"1000\"\n";
    out += "HA_PERMIT_MARGIN_MS=\"500\"\n";
    if (auto st = atomic_write_file(n.ha_conf, out); !st.ok()) return st.error().message;
    return "";
  }

  static std::string make_namespaces() {
    const std::string sw = ns_name("switch");
    if (auto e = hn_ip({"netns", "add", sw}); !e.empty()) return "`ip netns` failed: " + e;
    namespaces_.push_back(sw);
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"-n", sw, "link", "add", "br0", "type", "bridge"},
                                               {"-n", sw, "link", "set", "br0", "up"},
                                               {"-n", sw, "link", "set", "lo", "up"}}) {
      if (auto e = hn_ip(args); !e.empty()) return e;
    }
    int port = 0;
    for (const auto& [name, h] : hosts_) {
      if (auto e = hn_ip({"netns", "add", h.ns}); !e.empty()) return e;
      namespaces_.push_back(h.ns);
      const std::string p = "p" + std::to_string(port++);
      for (const auto& args : std::vector<std::vector<std::string>>{
               {"-n", sw, "link", "add", p, "type", "veth", "peer", "name", kHnDev, "netns", h.ns},
               {"-n", sw, "link", "set", p, "master", "br0"},
               {"-n", sw, "link", "set", p, "up"},
               {"-n", h.ns, "link", "set", "lo", "up"},
               {"-n", h.ns, "addr", "add", h.ip + "/24", "dev", kHnDev},
               {"-n", h.ns, "link", "set", kHnDev, "up"}}) {
        if (auto e = hn_ip(args); !e.empty()) return e;
      }
    }
    return "";
  }

  static std::string spawn_in(const std::string& ns, const std::vector<std::string>& argv,
                              const fs::path& log) {
    std::vector<std::string> full = {hn_ip_exe(), "netns", "exec", ns};
    full.insert(full.end(), argv.begin(), argv.end());
    (void)ensure_dir(log.parent_path());
    util::SpawnOptions opt;
    opt.log = log;
    opt.kill_with_parent = true;  // nothing outlives the test process
    auto pid = util::spawn_process(full, opt);
    if (!pid.ok()) return pid.error().message;
    pids_.push_back(*pid);
    return "";
  }

  // ------------------------------------------------------------------ observations
  static const localnet::NodeEntry& node(const std::string& name) { return *manifest_->find(name); }
  static const HnHost& host(const std::string& name) { return hosts_.at(name); }
  static std::string other(const std::string& name) {
    return name == "cn-1" ? "cn-1-standby" : "cn-1";
  }
  static std::string validator() { return node("cn-1").address; }
  static std::string cell_ip() { return node("cn-1").ip; }

  static json agent_status(const std::string& name) {
    return cc::testing::agent_status_at(node(name).data_dir);
  }
  static std::string role_of(const std::string& name) {
    return cc::testing::agent_role_at(node(name).data_dir);
  }
  // The one host whose agent says "active", or "" (none, or more than one).
  static std::string the_active() {
    return cc::testing::sole_active(kHnHaHosts,
                                    [](const std::string& h) { return node(h).data_dir; });
  }

  // Whether `ip -n NS addr` shows the cell's address on the host's veth.
  static std::string addresses_of(const std::string& name) {
    return hn_ip_output({"-n", host(name).ns, "-o", "-4", "addr", "show", "dev", kHnDev});
  }
  static bool holds_cell_ip(const std::string& name) {
    return addresses_of(name).find(" " + cell_ip() + "/") != std::string::npos;
  }
  static std::string mac_of(const std::string& name) {
    const std::string link = hn_ip_output({"-n", host(name).ns, "-o", "link", "show", kHnDev});
    const auto at = link.find("link/ether ");
    return at == std::string::npos ? "" : link.substr(at + 11, 17);
  }

  static json node_status(const std::string& name) {
    auto s = node::control_request(node::control_socket_path(node(name).data_dir),
                                   json{{"cmd", "status"}}, 2000ms);
    return s.ok() ? *s : json::object();
  }
  static std::uint64_t head_of(const std::string& name) {
    const json s = node_status(name);
    return s.contains("head") ? s["head"].value("number", std::uint64_t{0}) : 0;
  }
  // A ready peer of `observer` with the validator's address, reached at the cell's address.
  static bool sees_validator_at_cell_ip(const std::string& observer) {
    const json s = node_status(observer);
    for (const auto& p : s.value("peers", json::array())) {
      if (p.value("address", "") == validator() && p.value("ready", false) &&
          p.value("remote", "").rfind(cell_ip() + ":", 0) == 0) {
        return true;
      }
    }
    return false;
  }
  // The newest block (of the last 32, per `observer`'s chain) sealed by the validator; 0: none.
  static std::uint64_t validator_last_seal(const std::string& observer) {
    auto r = node::control_request(node::control_socket_path(node(observer).data_dir),
                                   json{{"cmd", "seals"}, {"address", validator()}, {"depth", 32}},
                                   2000ms);
    if (!r.ok() || !(*r)["last_sealed"].is_number_unsigned()) return 0;
    return (*r)["last_sealed"].get<std::uint64_t>();
  }

  // `corecell ha status --conf X --json` (it reaches the agent over DATA_DIR/ha/agent.sock).
  static json cli_status(const std::string& name) {
    auto r = testing::run(
        {bin_path("corecell"), "ha", "status", "--conf", node(name).ha_conf.string(), "--json"},
        30s);
    if (r.exit_code != 0) return json{{"cli_error", r.err}};
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      return json{{"cli_error", std::string(e.what()) + ": " + r.out}};
    }
  }

  // The last lines of everything that explains an HA failure.
  static std::string diagnostics() {
    std::string out;
    if (manifest_ == nullptr) return out;
    for (const auto& name : kHnHaHosts) {
      const auto& n = node(name);
      out += "---- " + name + " agent.log\n" + util::tail_lines(n.ha_log, 40);
      out += "---- " + name + " events.jsonl\n" +
             util::tail_lines(n.data_dir / "ha" / "events.jsonl", 15);
      out += "---- " + name + " node.log\n" + util::tail_lines(n.data_dir / "ha" / "node.log", 25);
    }
    out += "---- cn-2 node.log\n" + util::tail_lines(node("cn-2").log, 15);
    if (etcd_ != nullptr) out += "---- etcd\n" + etcd_->logs_tail();
    return out;
  }

  // ------------------------------------------------------------------ checks
  // Every other CN has the validator as a ready peer at the cell's address.
  static void expect_other_cns_reach_the_cell_ip(const std::string& what) {
    for (const std::string cn : {"cn-2", "cn-3", "cn-4"}) {
      EXPECT_TRUE(hn_wait_for([&] { return sees_validator_at_cell_ip(cn); }, 30s))
          << what << ": " << cn << " has no ready peer " << validator() << " at " << cell_ip()
          << "; its peers: " << node_status(cn).value("peers", json::array()).dump() << "\n"
          << diagnostics();
    }
  }

  // A block above the current head carries the validator's seal (as cn-2 sees the chain).
  static void expect_fresh_validator_seal(const std::string& what) {
    const std::uint64_t h0 = head_of("cn-2");
    EXPECT_TRUE(hn_wait_for([&] { return validator_last_seal("cn-2") > h0; }, 40s, 500ms))
        << what << ": no block above #" << h0 << " carries a seal by " << validator()
        << " (cn-2 head #" << head_of("cn-2") << ")\n"
        << diagnostics();
  }

  // After every scenario: exactly one agent reports active through `corecell ha status --json`,
  // it is `expected`, and SIGN-1 holds over every journal.
  static void expect_single_active_and_sign1(const std::string& what, const std::string& expected) {
    int actives = 0;
    std::string found;
    std::string shown;
    for (const auto& name : kHnHaHosts) {
      const json s = cli_status(name);
      shown += name + ": " + s.dump() + "\n";
      if (s.value("role", "") == "active") {
        ++actives;
        found = name;
      }
    }
    EXPECT_EQ(actives, 1) << what << ": `corecell ha status --json` of both hosts:\n" << shown;
    EXPECT_EQ(found, expected) << what << "\n" << shown;
    expect_no_sign1_violation(what);
  }

  static void expect_no_sign1_violation(const std::string& what) {
    auto journals = localnet::read_journals(*manifest_);
    ASSERT_TRUE(journals.ok()) << journals.error().message;
    EXPECT_GT(journals->entries.size(), 0u) << what;
    for (const auto& v : localnet::sign1_violations(journals->entries)) {
      ADD_FAILURE() << what << ": " << v;
    }
  }

  // The validator's signatures under `epoch` (its permit's fencing token): the latest time.
  static std::optional<std::chrono::system_clock::time_point> last_signature_of_epoch(
      std::uint64_t epoch) {
    auto journals = localnet::read_journals(*manifest_);
    if (!journals.ok()) return std::nullopt;
    std::optional<std::chrono::system_clock::time_point> last;
    for (const auto& e : journals->entries) {
      if (crypto::to_checksum_hex(e.address) != validator() || e.epoch != epoch) continue;
      if (!last || e.time > *last) last = e.time;
    }
    return last;
  }

  // The time of a step of the agent's last failover ("" when absent).
  static std::string step_time(const json& failover, const std::string& step) {
    if (!failover.is_object()) return "";
    for (const auto& s : failover.value("steps", json::array())) {
      if (s.value("step", "") == step) return s.value("time", "");
    }
    return "";
  }
  static std::string timeline(const json& failover) {
    std::string out;
    if (!failover.is_object()) return "(no failover recorded)";
    out += failover.value("kind", "") + " (" + failover.value("reason", "") + "):";
    for (const auto& s : failover.value("steps", json::array())) {
      out += " " + s.value("step", "") + (s.value("ok", false) ? "" : "(FAILED)") + "@" +
             std::to_string(s.value("ms", 0)) + "ms";
    }
    return out;
  }

  static std::string skip_;
  static std::string error_;
  static testing::TempDir* tmp_;
  static fs::path dir_;
  static localnet::Manifest* manifest_;
  static testing::EtcdCluster* etcd_;
  static std::map<std::string, HnHost> hosts_;
  static std::vector<std::string> namespaces_;
  static std::vector<pid_t> pids_;
};

std::string HaNetns::skip_;
std::string HaNetns::error_;
testing::TempDir* HaNetns::tmp_ = nullptr;
fs::path HaNetns::dir_;
localnet::Manifest* HaNetns::manifest_ = nullptr;
testing::EtcdCluster* HaNetns::etcd_ = nullptr;
std::map<std::string, HnHost> HaNetns::hosts_;
std::vector<std::string> HaNetns::namespaces_;
std::vector<pid_t> HaNetns::pids_;

TEST_F(HaNetns, CellIpIsOnTheActiveHostTheOtherCnsReachItAndTheValidatorSeals) {
  const auto t0 = Clock::now();
  ASSERT_TRUE(hn_wait_for([] { return the_active() == "cn-1"; }, 60s))
      << "host A never became active; A: " << agent_status("cn-1").dump()
      << "\nB: " << agent_status("cn-1-standby").dump() << "\n"
      << diagnostics();
  std::cout << "[ HaNetns  ] host A active " << hn_seconds_since(t0) << " s into the test; "
            << timeline(agent_status("cn-1")["last_failover"]) << "\n";
  EXPECT_TRUE(holds_cell_ip("cn-1")) << addresses_of("cn-1");
  EXPECT_FALSE(holds_cell_ip("cn-1-standby")) << addresses_of("cn-1-standby");
  EXPECT_EQ(role_of("cn-1-standby"), "standby") << agent_status("cn-1-standby").dump();
  EXPECT_EQ(agent_status("cn-1-standby")["node"]["identity"], "standby");
  expect_other_cns_reach_the_cell_ip("start");
  expect_fresh_validator_seal("start");
  expect_single_active_and_sign1("start", "cn-1");
}

TEST_F(HaNetns, KillNineOfTheActiveNodeMovesTheCellIpToTheStandby) {
  const std::string active = the_active();
  ASSERT_FALSE(active.empty()) << diagnostics();
  const std::string standby = other(active);
  ASSERT_TRUE(hn_wait_for(
      [&] {
        const json s = agent_status(standby);
        return s.value("role", "") == "standby" && s["node"].value("in_sync", false);
      },
      60s))
      << "the standby is not ready: " << agent_status(standby).dump() << "\n"
      << diagnostics();
  auto pid = util::read_pid_file(node::lock_path(node(active).data_dir));
  ASSERT_TRUE(pid && util::process_alive(*pid)) << "no running node on " << active;
  const std::uint64_t old_epoch = agent_status(active).value("epoch", std::uint64_t{0});
  ASSERT_GT(old_epoch, 0u);

  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  ASSERT_TRUE(hn_wait_for([&] { return the_active() == standby; }, 20s, 100ms))
      << standby << " did not take over within 20 s: " << agent_status(standby).dump() << "\n"
      << agent_status(active).dump() << "\n"
      << diagnostics();
  const double took = hn_seconds_since(t0);
  const json failover = agent_status(standby)["last_failover"];
  std::cout << "[ HaNetns  ] kill -9: " << standby << " active after " << took << " s; "
            << timeline(failover) << "\n";
  EXPECT_NE(failover.value("reason", "").find("released"), std::string::npos) << failover.dump();

  // The cell's address moved: on the new active's veth, gone from the old one's.
  EXPECT_TRUE(hn_wait_for([&] { return holds_cell_ip(standby) && !holds_cell_ip(active); }, 5s))
      << active << ": " << addresses_of(active) << "\n"
      << standby << ": " << addresses_of(standby);
  // The old holder's signatures all came before the new holder took the lease (KEY-1).
  const auto last_old = last_signature_of_epoch(old_epoch);
  const std::string lease_at = step_time(failover, "lease");
  if (last_old && !lease_at.empty()) {
    EXPECT_LT(storage::format_rfc3339_ms(*last_old), lease_at)
        << "epoch " << old_epoch << " signed after the new holder took the lease";
  }
  // The other CNs reach the new active at the same address, and their neighbour entry for it
  // is the new host's MAC (the gratuitous ARP, or a fresh resolution).
  expect_other_cns_reach_the_cell_ip("kill -9 of the active node");
  const std::string neigh =
      hn_ip_output({"-n", host("cn-2").ns, "neigh", "show", cell_ip(), "dev", kHnDev});
  EXPECT_NE(neigh.find(mac_of(standby)), std::string::npos)
      << "cn-2's neighbour entry for " << cell_ip() << ": " << neigh << " (" << standby << " has "
      << mac_of(standby) << ", " << active << " has " << mac_of(active) << ")";
  EXPECT_EQ(agent_status(standby)["node"]["identity"], "validator");
  expect_fresh_validator_seal("kill -9 of the active node");
  EXPECT_TRUE(hn_wait_for([&] { return role_of(active) == "standby"; }, 30s))
      << agent_status(active).dump();
  expect_single_active_and_sign1("kill -9 of the active node", standby);
}

TEST_F(HaNetns, ActiveCutOffFromTheLeaseStoreFencesItselfAndTheStandbyTakesOver) {
  const std::string active = the_active();
  ASSERT_FALSE(active.empty()) << diagnostics();
  const std::string standby = other(active);
  ASSERT_TRUE(hn_wait_for(
      [&] {
        const json s = agent_status(standby);
        return s.value("role", "") == "standby" && s["node"].value("in_sync", false);
      },
      60s))
      << "the standby is not ready: " << agent_status(standby).dump() << "\n"
      << diagnostics();
  const std::uint64_t old_epoch = agent_status(active).value("epoch", std::uint64_t{0});
  ASSERT_GT(old_epoch, 0u);

  // Only the active's host loses the etcd members (blackhole routes in its namespace); the
  // chain, the PNs and the other CNs stay reachable.
  std::vector<std::string> routes;
  for (int i = 0; i < 3; ++i) routes.push_back(host("etcd" + std::to_string(i)).ip + "/32");
  const auto t0 = Clock::now();
  for (const auto& r : routes) {
    ASSERT_EQ(hn_ip({"-n", host(active).ns, "route", "add", "blackhole", r}), "");
  }
  struct Restore {
    const std::string& ns;
    const std::vector<std::string>& routes;
    ~Restore() {
      for (const auto& r : routes) (void)hn_ip({"-n", ns, "route", "del", "blackhole", r});
    }
  } restore{host(active).ns, routes};

  // It fences itself: not active, its node no longer the validator, the address released.
  ASSERT_TRUE(hn_wait_for([&] { return role_of(active) != "active"; }, 15s, 100ms))
      << active << " still active " << hn_seconds_since(t0)
      << " s after losing the lease store: " << agent_status(active).dump() << "\n"
      << diagnostics();
  const double fenced_after = hn_seconds_since(t0);
  EXPECT_TRUE(hn_wait_for([&] { return !holds_cell_ip(active); }, 10s))
      << active << " keeps the cell address: " << addresses_of(active);
  EXPECT_TRUE(hn_wait_for(
      [&] { return agent_status(active)["node"].value("identity", "") != "validator"; }, 10s))
      << agent_status(active).dump();
  const std::string events = util::tail_lines(node(active).data_dir / "ha" / "events.jsonl", 60);
  EXPECT_NE(events.find("\"lease_unreachable\""), std::string::npos) << events;

  // The standby takes the lease once it expires, then the address.
  ASSERT_TRUE(hn_wait_for([&] { return the_active() == standby; }, 25s, 100ms))
      << standby << " did not take over: " << agent_status(standby).dump() << "\n"
      << agent_status(active).dump() << "\n"
      << diagnostics();
  const double took = hn_seconds_since(t0);
  const json failover = agent_status(standby)["last_failover"];
  std::cout << "[ HaNetns  ] lease store cut off: " << active << " fenced after " << fenced_after
            << " s, " << standby << " active after " << took << " s; " << timeline(failover)
            << "\n";
  EXPECT_NE(failover.value("reason", "").find("expired"), std::string::npos) << failover.dump();
  EXPECT_TRUE(holds_cell_ip(standby)) << addresses_of(standby);
  EXPECT_FALSE(holds_cell_ip(active)) << addresses_of(active);
  // KEY-1: the cut-off holder signed nothing once the new holder had the lease.
  const auto last_old = last_signature_of_epoch(old_epoch);
  const std::string lease_at = step_time(failover, "lease");
  ASSERT_FALSE(lease_at.empty()) << failover.dump();
  if (last_old) {
    EXPECT_LT(storage::format_rfc3339_ms(*last_old), lease_at)
        << "epoch " << old_epoch << " signed after the new holder took the lease";
  }
  expect_other_cns_reach_the_cell_ip("active cut off from the lease store");
  expect_fresh_validator_seal("active cut off from the lease store");

  // Restore: the old active comes back as a standby and leaves the new active alone.
  for (const auto& r : routes) {
    EXPECT_EQ(hn_ip({"-n", host(active).ns, "route", "del", "blackhole", r}), "");
  }
  EXPECT_TRUE(hn_wait_for(
      [&] {
        const json s = agent_status(active);
        return s.value("role", "") == "standby" && s.value("lease_error", "x").empty();
      },
      30s))
      << agent_status(active).dump();
  EXPECT_EQ(the_active(), standby);
  expect_fresh_validator_seal("lease store restored");
  expect_single_active_and_sign1("active cut off from the lease store, then restored", standby);
}

// Issue #17, item 3: the active is cut off from every peer (both directions: blackhole routes
// in its namespace to every other node's address) while the lease store stays reachable. Its
// node neither seals nor follows the chain; after HA_ISOLATED_MS (5 s) without a ready peer or
// a new block its agent hands over (revoke, stop, release) and the standby, in sync, takes over.
// Before, the cut-off active kept the lease (and the cell had no signer) for as long as the cut
// lasted.
TEST_F(HaNetns, ActiveCutOffFromItsPeersHandsOverToTheStandby) {
  const std::string active = the_active();
  ASSERT_FALSE(active.empty()) << diagnostics();
  const std::string standby = other(active);
  ASSERT_TRUE(hn_wait_for(
      [&] {
        const json s = agent_status(standby);
        return s.value("role", "") == "standby" && s["node"].value("in_sync", false);
      },
      60s))
      << "the standby is not ready: " << agent_status(standby).dump() << "\n"
      << diagnostics();
  std::vector<std::string> routes;
  for (const auto& n : manifest_->nodes) {
    if (n.name == active) continue;
    routes.push_back(n.ip + "/32");
    if (n.has_agent() && n.host_ip != n.ip) routes.push_back(n.host_ip + "/32");
  }
  const auto t0 = Clock::now();
  for (const auto& r : routes) {
    ASSERT_EQ(hn_ip({"-n", host(active).ns, "route", "add", "blackhole", r}), "") << r;
  }
  struct Restore {
    const std::string& ns;
    const std::vector<std::string>& routes;
    ~Restore() {
      for (const auto& r : routes) (void)hn_ip({"-n", ns, "route", "del", "blackhole", r});
    }
  } restore{host(active).ns, routes};

  // TTL (3 s) + HA_ISOLATED_MS (5 s), with room for the node to notice its peers are gone.
  ASSERT_TRUE(hn_wait_for([&] { return the_active() == standby; }, 20s, 100ms))
      << standby << " did not take over from the cut-off active " << hn_seconds_since(t0)
      << " s after the cut: " << agent_status(active).dump() << "\n"
      << agent_status(standby).dump() << "\n"
      << diagnostics();
  const double took = hn_seconds_since(t0);
  std::cout << "[ HaNetns  ] active cut off from its peers: " << standby << " active after " << took
            << " s; " << timeline(agent_status(standby)["last_failover"]) << "\n";
  const std::string events = util::tail_lines(node(active).data_dir / "ha" / "events.jsonl", 60);
  EXPECT_NE(events.find("\"node_isolated\""), std::string::npos) << events;
  expect_fresh_validator_seal("active cut off from its peers");

  for (const auto& r : routes) {
    EXPECT_EQ(hn_ip({"-n", host(active).ns, "route", "del", "blackhole", r}), "");
  }
  EXPECT_TRUE(hn_wait_for([&] { return role_of(active) == "standby"; }, 30s))
      << agent_status(active).dump();
  EXPECT_EQ(the_active(), standby);
  expect_single_active_and_sign1("active cut off from its peers, then restored", standby);
}

TEST_F(HaNetns, InvariantsHoldOverTheWholeRun) {
  auto journals = localnet::read_journals(*manifest_);
  ASSERT_TRUE(journals.ok()) << journals.error().message;
  EXPECT_GE(journals->files, 5u) << "3 plain CNs and both HA hosts signed at some point";
  for (const auto& v : localnet::sign1_violations(journals->entries)) ADD_FAILURE() << v;
  // CHAIN-1 over every node's JSON-RPC, from the probe host (the RPC addresses exist only in
  // the namespaces).
  auto chain = cc::testing::run_in_netns(host("probe").ns,
                                         [] { return localnet::check_chain1(*manifest_); });
  ASSERT_TRUE(chain.has_value()) << "cannot enter " << host("probe").ns;
  EXPECT_GE(chain->nodes_compared, 8u);
  EXPECT_GT(chain->checked_up_to, 10u);
  for (const auto& v : chain->violations) ADD_FAILURE() << v;
}

}  // namespace
}  // namespace cc
