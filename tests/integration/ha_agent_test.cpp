// The HA agent as a real process against bad input: each case must end in a clear error (naming
// the key, file or endpoint and the fix) and no signature. Each test has its own localnet
// directory (`localnet init` only; the nodes a case needs are started by the test) on its own
// 127.0.143.x..127.0.147.x addresses.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "localnet/manifest.h"
#include "node/datadir.h"
#include "support/ha_agents.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"
#include "util/files.h"

namespace cc {
namespace {
namespace fs = std::filesystem;
using cc::testing::bin_path;
using json = nlohmann::json;
using namespace std::chrono_literals;

testing::RunResult agent_corecell(std::vector<std::string> args,
                                  std::chrono::milliseconds timeout = 60s) {
  args.insert(args.begin(), bin_path("corecell"));
  return testing::run(args, timeout);
}

bool agent_wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

// A localnet directory with cell 1 under HA, not started.
struct HaDir {
  explicit HaDir(const std::string& prefix, int cells = 4) {
    dir = tmp.path() / "net";
    auto r =
        agent_corecell({"localnet", "init", "--dir", dir.string(), "--cells", std::to_string(cells),
                        "--pns", "1", "--standby", "1", "--ens", "0", "--ip-prefix", prefix});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto m = localnet::load_manifest(dir);
    EXPECT_TRUE(m.ok());
    if (m.ok()) manifest = *m;
  }
  [[nodiscard]] const localnet::NodeEntry& host(const std::string& name) const {
    return *manifest.find(name);
  }
  // Rewrites KEY="..." in the host's ha.conf (appends when absent).
  void set(const std::string& name, const std::string& key, const std::string& value) const {
    const fs::path conf = host(name).ha_conf;
    std::string text = *read_file(conf);
    std::string out;
    bool done = false;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      if (line.rfind(key + "=", 0) == 0) {
        line = key + "=\"" + value + "\"";
        done = true;
      }
      out += line + "\n";
      pos = end + 1;
    }
    if (!done) out += key + "=\"" + value + "\"\n";
    EXPECT_TRUE(atomic_write_file(conf, out).ok());
  }
  [[nodiscard]] std::size_t signatures() const {
    std::size_t n = 0;
    for (const auto& node : manifest.nodes) {
      auto text = read_file(node::signjournal_path(node.data_dir));
      if (!text.ok()) continue;
      for (char c : *text) n += c == '\n' ? 1 : 0;
    }
    return n;
  }

  testing::TempDir tmp;
  fs::path dir;
  localnet::Manifest manifest;
};

json agent_status_of(const localnet::NodeEntry& n) {
  return cc::testing::agent_status_at(n.data_dir);
}

TEST(HaAgent, RefusesABackupOfAKeyThatIsNotACouncilMember) {
  HaDir d("127.0.143");
  const fs::path wrong = d.dir / "wrong.backup";
  auto text =
      crypto::encrypt_backup(crypto::PrivateKey::generate(),
                             *crypto::read_passphrase_file(d.dir / "ha" / "cell-1" / "passphrase"),
                             crypto::KdfParams::minimum_for_tests());
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(atomic_write_file(wrong, *text, 0600).ok());
  d.set("cn-1", "HA_VALIDATOR_KEY_BACKUP", wrong.string());
  d.set("cn-1", "HA_VALIDATOR_ADDRESS", "");  // only the council check is left to refuse it
  auto r = agent_corecell({"ha", "agent", "--conf", d.host("cn-1").ha_conf.string()}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not in the council"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(wrong.string()), std::string::npos) << r.err;
  EXPECT_EQ(d.signatures(), 0u);
}

TEST(HaAgent, RefusesAnUnreadableStandbyKeyNamingTheKey) {
  HaDir d("127.0.144");
  const fs::path bad = d.host("cn-1").data_dir / "ha" / "standby.nodekey";
  ASSERT_TRUE(atomic_write_file(bad, std::string("not a key\n"), 0600).ok());
  auto r = agent_corecell({"ha", "agent", "--conf", d.host("cn-1").ha_conf.string()}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HA_STANDBY_NODEKEY"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
  EXPECT_EQ(d.signatures(), 0u);
}

TEST(HaAgent, RefusesTimingsThatCannotKeepASingleSigner) {
  HaDir d("127.0.145");
  // Set here, not taken from localnet's defaults: loop + 2 x retry = 1500 + 2 x 600 > 2000.
  d.set("cn-1", "HA_LEASE_TTL_MS", "2000");
  d.set("cn-1", "HA_RETRY_MS", "600");
  d.set("cn-1", "HA_LOOP_MS", "1500");
  auto r = agent_corecell({"ha", "agent", "--conf", d.host("cn-1").ha_conf.string()}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HA_LOOP_MS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HA_LEASE_TTL_MS"), std::string::npos) << r.err;
  EXPECT_EQ(d.signatures(), 0u);
}

// Issue #16, path 7: two hosts with a `local` lease each would both become active. A local lease
// with a mover that puts the hosts on separate machines is refused at start, pointing to etcd.
TEST(HaAgent, RefusesALocalLeaseForHostsOnSeparateMachines) {
  HaDir d("127.0.149");
  d.set("cn-1", "HA_IP_MOVER", "linux");
  d.set("cn-1", "HA_IP_DEVICE", "lo");
  auto r = agent_corecell({"ha", "agent", "--conf", d.host("cn-1").ha_conf.string()}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HA_LEASE=local"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HA_LEASE=etcd"), std::string::npos) << r.err;
  EXPECT_EQ(d.signatures(), 0u);
}

TEST(HaAgent, LeaseStoreDownAtStartKeepsTheNodeAStandbyAndSaysWhy) {
  HaDir d("127.0.146");
  d.set("cn-1", "HA_LEASE", "etcd");
  d.set("cn-1", "HA_ETCD_ENDPOINTS", "http://127.0.146.250:2379");  // nothing listens there
  d.set("cn-1", "HA_LEASE_TTL_MS", "3000");
  const auto& host = d.host("cn-1");
  testing::Process agent({bin_path("corecell"), "ha", "agent", "--conf", host.ha_conf.string()});
  ASSERT_TRUE(agent.started());
  json s;
  ASSERT_TRUE(agent_wait_for(
      [&] {
        s = agent_status_of(host);
        return s.value("lease_error", "").find("127.0.146.250") != std::string::npos &&
               s["node"].value("identity", "") == "standby";
      },
      30s))
      << s.dump();
  std::this_thread::sleep_for(3s);
  s = agent_status_of(host);
  EXPECT_NE(s.value("role", ""), "active") << s.dump();
  EXPECT_EQ(s.value("epoch", 1), 0);
  EXPECT_TRUE(s["node"]["permit"].is_null());
  auto st = agent_corecell({"ha", "status", "--conf", host.ha_conf.string()});
  EXPECT_NE(st.out.find("lease store unreachable"), std::string::npos) << st.out;
  agent.signal(SIGTERM);
  EXPECT_NE(agent.wait(20s), -1);
  EXPECT_EQ(d.signatures(), 0u);
}

TEST(HaAgent, CellAddressInUseStopsTheTakeoverBeforeTheNodeChanges) {
  HaDir d("127.0.147", 1);  // a council of one: its PN is all a standby needs to be in sync
  const auto& host = d.host("cn-1");
  const auto& pn = d.host("pn-1-1");
  // Something else answers on the cell's address and p2p port.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(host.p2p_port);
  ::inet_pton(AF_INET, host.ip.c_str(), &addr.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << host.ip;
  ASSERT_EQ(::listen(fd, 16), 0);
  testing::Process pn_node(
      {bin_path("corecell"), "node", "--role", "pn", "--conf", pn.conf.string()});
  testing::Process agent({bin_path("corecell"), "ha", "agent", "--conf", host.ha_conf.string()});
  json s;
  ASSERT_TRUE(agent_wait_for(
      [&] {
        s = agent_status_of(host);
        const json f = s.value("last_failover", json(nullptr));
        // The attempt has ended (a step is published before the attempt's outcome is).
        if (!f.is_object() || f.value("ok", json(nullptr)) != json(false)) return false;
        for (const auto& step : f["steps"]) {
          if (step.value("step", "") == "ip" && !step.value("ok", true)) return true;
        }
        return false;
      },
      45s))
      << s.dump();
  const json f = s["last_failover"];
  EXPECT_EQ(f.value("ok", json(true)), json(false));
  EXPECT_NE(f.value("error", "").find(host.ip), std::string::npos) << f.dump();
  // The takeover stopped before the node changed: still the standby identity, no permit, and
  // the lease given back.
  EXPECT_EQ(s["node"].value("identity", ""), "standby") << s.dump();
  EXPECT_NE(s.value("role", ""), "active");
  agent.signal(SIGTERM);  // before the address frees up, or the next attempt would succeed
  EXPECT_NE(agent.wait(20s), -1);
  ::close(fd);
  EXPECT_EQ(d.signatures(), 0u);
}

// Issue #16, path 2: a node that signs without a permit (here HA_NODE_BIN is a wrapper that turns
// the agent's REQUIRE_SIGNING_PERMIT=1 into 0, as a systemd unit that ignores the agent's
// environment file would) never gets the validator key: the agent reports it (status note, an
// event, the events metric) and stops the node; nothing is signed.
TEST(HaAgent, NodeThatDoesNotRequireAPermitNeverBecomesTheValidator) {
  HaDir d("127.0.148", 1);  // a council of one: its PN is all a standby needs to be in sync
  const auto& host = d.host("cn-1");
  const auto& pn = d.host("pn-1-1");
  const fs::path wrapper = d.dir / "corecell-without-permits";
  const std::string script = R"(#!/bin/sh
# drops the agent's REQUIRE_SIGNING_PERMIT=1
for a in "$@"; do
  shift
  if [ "$a" = REQUIRE_SIGNING_PERMIT=1 ]; then a=REQUIRE_SIGNING_PERMIT=0; fi
  set -- "$@" "$a"
done
exec )" + bin_path("corecell") +
                             " \"$@\"\n";
  ASSERT_TRUE(atomic_write_file(wrapper, script, 0755).ok());
  d.set("cn-1", "HA_NODE_BIN", wrapper.string());
  testing::Process pn_node(
      {bin_path("corecell"), "node", "--role", "pn", "--conf", pn.conf.string()});
  testing::Process agent({bin_path("corecell"), "ha", "agent", "--conf", host.ha_conf.string()});
  ASSERT_TRUE(agent.started());
  json s;
  EXPECT_TRUE(agent_wait_for(
      [&] {
        s = agent_status_of(host);
        return s.value("note", "").find("REQUIRE_SIGNING_PERMIT") != std::string::npos;
      },
      45s))
      << s.dump();
  // Long enough for a takeover that would happen (the lease was never held: initial activation).
  std::this_thread::sleep_for(5s);
  s = agent_status_of(host);
  EXPECT_NE(s.value("role", ""), "active") << s.dump();
  EXPECT_EQ(s.value("epoch", 1), 0) << s.dump();
  EXPECT_NE(s["node"].value("identity", ""), "validator") << s.dump();
  auto events = read_file(host.data_dir / "ha" / "events.jsonl");
  ASSERT_TRUE(events.ok());
  EXPECT_NE(events->find("node_permit_not_enforced"), std::string::npos) << *events;
  // The validator key was never installed in DATA_DIR.
  auto key = crypto::load_datadir_nodekey(host.data_dir);
  if (key.ok()) {
    EXPECT_NE(crypto::to_checksum_hex(key->address), host.address) << "validator key installed";
  }
  agent.signal(SIGTERM);
  EXPECT_NE(agent.wait(20s), -1);
  EXPECT_EQ(d.signatures(), 0u);
}

}  // namespace
}  // namespace cc
