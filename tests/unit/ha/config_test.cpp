// Specification of the HA agent's conf (ha/config.h) against real files in a temp dir: a genesis
// with a council of 4, the CN's kcnd.conf, an encrypted backup of a council key, its passphrase
// file (0600) and a standby nodekey. load_agent_config: the documented defaults, every refusal
// (unknown key, missing required key, bad address, timings that cannot keep KEY-1, bad values)
// with a message that names the file, the key and the fix; relative paths. load_agent_keys: the
// key checks against the council (a backup of a non-member, an address mismatch, a wrong
// passphrase, a bad standby key, a standby key that is a council member, a readable passphrase).
#include "ha/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "node/config.h"
#include "support/temp_dir.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::ha {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cc::testing::TempDir;

constexpr const char* kHacfgPassphrase = "correct horse battery staple";
constexpr const char* kHacfgCellIp = "127.0.0.20";
constexpr const char* kHacfgHostIp = "127.0.0.21";  // the node conf's PUBLIC_IP

// Succeeds when `r` failed with `code` and its message mentions every one of `words`.
template <typename R>
::testing::AssertionResult HacfgRefusedWith(const R& r, const std::string& code,
                                            const std::vector<std::string>& words) {
  if (r.ok()) return ::testing::AssertionFailure() << "succeeded; expected " << code;
  if (r.error().code != code) {
    return ::testing::AssertionFailure() << "failed with " << r.error().code << " ("
                                         << r.error().message << "); expected " << code;
  }
  for (const auto& w : words) {
    if (r.error().message.find(w) == std::string::npos) {
      return ::testing::AssertionFailure()
             << code << " message does not mention \"" << w << "\": " << r.error().message;
    }
  }
  return ::testing::AssertionSuccess();
}

template <typename R>
std::string HacfgWhy(const R& r) {
  return r.ok() ? std::string("ok") : r.error().code + ": " + r.error().message;
}

// KEY="value" with the characters that are special inside double quotes escaped.
std::string hacfg_conf_line(const std::string& key, const std::string& value) {
  std::string out = key + "=\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\' || ch == '$' || ch == '`') out += '\\';
    out += ch;
  }
  return out + "\"\n";
}

using HacfgEntries = std::vector<std::pair<std::string, std::string>>;

void hacfg_set(HacfgEntries& entries, const std::string& key, const std::string& value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = value;
      return;
    }
  }
  entries.emplace_back(key, value);
}

void hacfg_erase(HacfgEntries& entries, const std::string& key) {
  std::erase_if(entries, [&](const auto& kv) { return kv.first == key; });
}

void hacfg_write_text(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  ASSERT_TRUE(ensure_dir(path.parent_path()).ok()) << path;
  auto written = atomic_write_file(path, text, mode);
  ASSERT_TRUE(written.ok()) << written.error().message;
}

// The files of one cell's HA host: a council of 4 in the genesis, the CN's conf, the backup of
// council member 0 and its passphrase, and this host's own (non-council) standby nodekey.
class HaAgentConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty()) << "mkdtemp failed";
    for (int i = 0; i < 4; ++i) council_keys_.push_back(crypto::PrivateKey::generate());
    chain::Genesis genesis;
    genesis.config.chain_id = 8888;
    for (const auto& k : council_keys_) genesis.council.push_back(crypto::address_of(k));
    std::sort(genesis.council.begin(), genesis.council.end());
    council_ = genesis.council;
    hacfg_write_text(genesis_path(), chain::genesis_to_json(genesis));

    node::NodeConfig node = node::default_node_config(node::Role::cn);
    node.data_dir = data_dir();
    node.log_dir = data_dir() / "logs";
    node.genesis = genesis_path();
    node.public_ip = kHacfgHostIp;
    hacfg_write_text(node_conf_path(), node::to_conf_text(node));

    write_backup(council_keys_[0]);
    hacfg_write_text(passphrase_path(), std::string(kHacfgPassphrase) + "\n", 0600);
    standby_key_ = crypto::PrivateKey::generate();
    ASSERT_TRUE(crypto::save_nodekey_file(standby_path(), standby_key_).ok());

    entries_ = {
        {"HA_NAME", "cell-1-a"},
        {"HA_NODE_CONF", node_conf_path().string()},
        {"HA_VALIDATOR_KEY_BACKUP", backup_path().string()},
        {"HA_PASSPHRASE_FILE", passphrase_path().string()},
        {"HA_STANDBY_NODEKEY", standby_path().string()},
        {"HA_CELL_IP", kHacfgCellIp},
        {"HA_LEASE_FILE", (dir_.path() / "lease.json").string()},
    };
  }

  void write_backup(const crypto::PrivateKey& key, const std::string& pass = kHacfgPassphrase) {
    auto text = crypto::encrypt_backup(key, pass, crypto::KdfParams::minimum_for_tests());
    ASSERT_TRUE(text.ok()) << text.error().message;
    hacfg_write_text(backup_path(), *text, 0600);
  }

  // Writes entries_ (one per line, in order) to dir/ha.conf and loads it.
  Result<AgentConfig> load() { return load_entries(entries_, conf_path()); }
  Result<AgentConfig> load_entries(const HacfgEntries& entries, const fs::path& path) {
    std::string text = "# HA agent conf written by config_test\n";
    for (const auto& [k, v] : entries) text += hacfg_conf_line(k, v);
    hacfg_write_text(path, text);
    return load_agent_config(path);
  }
  // The 1-based line of `key` in the file load() writes (the header comment is line 1).
  int line_of(const std::string& key) const {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].first == key) return static_cast<int>(i) + 2;
    }
    return -1;
  }
  std::string at_line(const std::string& key) const {
    return conf_path().string() + ":" + std::to_string(line_of(key)) + ": " + key;
  }

  // load() then load_agent_keys; a config error fails the test.
  Result<AgentKeys> keys() {
    auto config = load();
    EXPECT_TRUE(config.ok()) << HacfgWhy(config);
    if (!config.ok()) return config.error();
    return load_agent_keys(*config);
  }

  [[nodiscard]] fs::path conf_path() const { return dir_.path() / "ha.conf"; }
  [[nodiscard]] fs::path genesis_path() const { return dir_.path() / "genesis.json"; }
  [[nodiscard]] fs::path node_conf_path() const { return dir_.path() / "kcnd.conf"; }
  [[nodiscard]] fs::path data_dir() const { return dir_.path() / "data"; }
  [[nodiscard]] fs::path backup_path() const { return dir_.path() / "validator.backup"; }
  [[nodiscard]] fs::path passphrase_path() const { return dir_.path() / "passphrase"; }
  [[nodiscard]] fs::path standby_path() const { return dir_.path() / "standby.nodekey"; }
  [[nodiscard]] Address validator_address() const { return crypto::address_of(council_keys_[0]); }

  TempDir dir_;
  std::vector<crypto::PrivateKey> council_keys_;
  std::vector<Address> council_;
  crypto::PrivateKey standby_key_ = crypto::PrivateKey::generate();
  HacfgEntries entries_;
};

// --- load_agent_config: a good conf -------------------------------------------------------

TEST_F(HaAgentConfig, GoodConfigLoadsWithTheDocumentedDefaults) {
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->name, "cell-1-a");
  EXPECT_EQ(c->conf_path, conf_path());
  EXPECT_EQ(c->node_conf, node_conf_path());
  // From the node conf: DATA_DIR, GENESIS, PUBLIC_IP (the host's own address).
  EXPECT_EQ(c->data_dir, data_dir());
  EXPECT_EQ(c->genesis, genesis_path());
  EXPECT_EQ(c->host_ip, kHacfgHostIp);
  EXPECT_EQ(c->cell_ip, kHacfgCellIp);
  EXPECT_EQ(c->validator_backup, backup_path());
  EXPECT_EQ(c->passphrase_file, passphrase_path());
  EXPECT_EQ(c->standby_nodekey, standby_path());
  EXPECT_FALSE(c->expected_address.has_value());
  EXPECT_EQ(c->initial_role, InitialRole::standby);
  EXPECT_EQ(c->lease_kind, "local");
  EXPECT_EQ(c->lease_file, dir_.path() / "lease.json");
  EXPECT_TRUE(c->etcd.endpoints.empty());
  EXPECT_EQ(c->lease_key, "");  // the agent derives /corecell/<validator address>
  EXPECT_EQ(c->ttl, 3000ms);
  EXPECT_EQ(c->loop, 500ms);
  EXPECT_EQ(c->retry, 1000ms);
  EXPECT_EQ(c->permit_margin, 500ms);
  EXPECT_EQ(c->node_hung_after, 1500ms);
  EXPECT_EQ(c->stop_grace, 5000ms);
  EXPECT_EQ(c->sync_timeout, 60000ms);
  EXPECT_EQ(c->ip.kind, "linux");
  EXPECT_EQ(c->ip.ip, kHacfgCellIp);
  EXPECT_EQ(c->ip.prefix_len, 32u);
  EXPECT_EQ(c->ip.probe_port, 32323);  // the node's PORT
  EXPECT_EQ(c->state_dir, data_dir() / "ha");
  EXPECT_EQ(c->socket_path(), data_dir() / "ha" / "agent.sock");
  EXPECT_EQ(c->events_path(), data_dir() / "ha" / "events.jsonl");
  EXPECT_EQ(c->service.kind, "exec");
  EXPECT_EQ(c->service.node_conf, node_conf_path());
  EXPECT_EQ(c->service.log, data_dir() / "ha" / "node.log");
  auto self = util::self_exe();
  ASSERT_TRUE(self.ok()) << HacfgWhy(self);
  EXPECT_EQ(c->service.node_exe, *self);  // HA_NODE_BIN: this corecell binary
  EXPECT_TRUE(c->notify_script.empty());
  EXPECT_EQ(c->webhook_url, "");
  EXPECT_EQ(c->metrics_addr, "127.0.0.1");
  EXPECT_EQ(c->metrics_port, 0);
}

TEST_F(HaAgentConfig, DocumentedMillisecondDefaultsMatchTheLoadedOnes) {
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  const std::map<std::string_view, std::chrono::milliseconds> loaded{
      {"HA_LEASE_TTL_MS", c->ttl},
      {"HA_LOOP_MS", c->loop},
      {"HA_RETRY_MS", c->retry},
      {"HA_PERMIT_MARGIN_MS", c->permit_margin},
      {"HA_NODE_HUNG_MS", c->node_hung_after},
      {"HA_ISOLATED_MS", c->isolated_after},
      {"HA_STOP_GRACE_MS", c->stop_grace},
      {"HA_SYNC_TIMEOUT_MS", c->sync_timeout}};
  std::size_t checked = 0;
  for (const auto& k : agent_config_keys()) {
    auto it = loaded.find(k.name);
    if (it == loaded.end()) continue;
    long long documented = -1;
    auto [ptr, ec] =
        std::from_chars(k.fallback.data(), k.fallback.data() + k.fallback.size(), documented);
    ASSERT_TRUE(ec == std::errc() && ptr == k.fallback.data() + k.fallback.size())
        << k.name << " documents a non-numeric default \"" << k.fallback << "\"";
    EXPECT_EQ(documented, it->second.count()) << k.name;
    ++checked;
  }
  EXPECT_EQ(checked, loaded.size()) << "a millisecond key is missing from agent_config_keys()";
}

TEST_F(HaAgentConfig, EveryDocumentedKeyIsAcceptedAndTakesEffect) {
  // A conf that sets every documented key loads: none is refused as unknown, and each value
  // lands in its field.
  auto all = entries_;
  hacfg_set(all, "HA_NODE_BIN", "/usr/bin/true");
  hacfg_set(all, "HA_SERVICE", "exec");
  hacfg_set(all, "HA_SYSTEMD_UNIT", "kcnd.service");
  hacfg_set(all, "HA_VALIDATOR_ADDRESS", crypto::to_checksum_hex(validator_address()));
  hacfg_set(all, "HA_GENESIS", genesis_path().string());
  hacfg_set(all, "HA_HOST_IP", "127.0.0.22");
  hacfg_set(all, "HA_INITIAL_ROLE", "active");
  hacfg_set(all, "HA_LEASE", "local");
  hacfg_set(all, "HA_ETCD_ENDPOINTS", "http://127.0.0.1:2379");
  hacfg_set(all, "HA_LEASE_KEY", "/corecell/cell-1");
  hacfg_set(all, "HA_LEASE_TTL_MS", "4000");
  hacfg_set(all, "HA_LOOP_MS", "400");
  hacfg_set(all, "HA_RETRY_MS", "800");
  hacfg_set(all, "HA_PERMIT_MARGIN_MS", "600");
  hacfg_set(all, "HA_NODE_HUNG_MS", "2000");
  hacfg_set(all, "HA_ISOLATED_MS", "7000");
  hacfg_set(all, "HA_STOP_GRACE_MS", "3000");
  hacfg_set(all, "HA_SYNC_TIMEOUT_MS", "30000");
  hacfg_set(all, "HA_IP_MOVER", "loopback");
  hacfg_set(all, "HA_IP_PREFIX", "24");
  hacfg_set(all, "HA_IP_DEVICE", "lo");
  hacfg_set(all, "HA_IP_SCRIPT", "/usr/local/bin/move-ip");
  hacfg_set(all, "HA_STATE_DIR", (dir_.path() / "state").string());
  hacfg_set(all, "HA_NOTIFY_SCRIPT", "/usr/local/bin/notify");
  hacfg_set(all, "HA_WEBHOOK_URL", "http://127.0.0.1:9000/hook");
  hacfg_set(all, "HA_METRICS_ADDR", "127.0.0.21");
  hacfg_set(all, "HA_METRICS_PORT", "9101");
  for (const auto& k : agent_config_keys()) {
    EXPECT_TRUE(
        std::any_of(all.begin(), all.end(), [&](const auto& kv) { return kv.first == k.name; }))
        << k.name << " is documented but this test does not set it";
  }
  auto c = load_entries(all, conf_path());
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->service.node_exe, fs::path("/usr/bin/true"));
  EXPECT_EQ(c->service.unit, "kcnd.service");
  EXPECT_EQ(c->expected_address, validator_address());
  EXPECT_EQ(c->host_ip, "127.0.0.22");
  EXPECT_EQ(c->initial_role, InitialRole::active);
  EXPECT_EQ(c->lease_key, "/corecell/cell-1");
  EXPECT_EQ(c->ttl, 4000ms);
  EXPECT_EQ(c->loop, 400ms);
  EXPECT_EQ(c->retry, 800ms);
  EXPECT_EQ(c->permit_margin, 600ms);
  EXPECT_EQ(c->node_hung_after, 2000ms);
  EXPECT_EQ(c->stop_grace, 3000ms);
  EXPECT_EQ(c->sync_timeout, 30000ms);
  EXPECT_EQ(c->ip.kind, "loopback");
  EXPECT_EQ(c->ip.prefix_len, 24u);
  EXPECT_EQ(c->ip.device, "lo");
  EXPECT_EQ(c->ip.script, fs::path("/usr/local/bin/move-ip"));
  EXPECT_EQ(c->state_dir, dir_.path() / "state");
  EXPECT_EQ(c->service.log, dir_.path() / "state" / "node.log");
  EXPECT_EQ(c->notify_script, fs::path("/usr/local/bin/notify"));
  EXPECT_EQ(c->webhook_url, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(c->metrics_addr, "127.0.0.21");
  EXPECT_EQ(c->metrics_port, 9101);
}

TEST_F(HaAgentConfig, RelativePathsResolveAgainstTheConfsDirectory) {
  // The conf lives in dir/agent/; the test's working directory is elsewhere (the build tree).
  HacfgEntries rel = {
      {"HA_NAME", "cell-1-a"},
      {"HA_NODE_CONF", "../kcnd.conf"},
      {"HA_GENESIS", "./../genesis.json"},
      {"HA_VALIDATOR_KEY_BACKUP", "../validator.backup"},
      {"HA_PASSPHRASE_FILE", "../passphrase"},
      {"HA_STANDBY_NODEKEY", "../standby.nodekey"},
      {"HA_CELL_IP", kHacfgCellIp},
      {"HA_LEASE_FILE", "lease.json"},
      {"HA_STATE_DIR", "state"},
      {"HA_NODE_BIN", "bin/corecell"},
      {"HA_IP_SCRIPT", "scripts/move-ip"},
      {"HA_NOTIFY_SCRIPT", "scripts/notify"},
  };
  const fs::path agent_dir = dir_.path() / "agent";
  auto c = load_entries(rel, agent_dir / "ha.conf");
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->conf_path, agent_dir / "ha.conf");
  EXPECT_EQ(c->node_conf, node_conf_path());
  EXPECT_EQ(c->genesis, genesis_path());
  EXPECT_EQ(c->validator_backup, backup_path());
  EXPECT_EQ(c->passphrase_file, passphrase_path());
  EXPECT_EQ(c->standby_nodekey, standby_path());
  EXPECT_EQ(c->lease_file, agent_dir / "lease.json");
  EXPECT_EQ(c->state_dir, agent_dir / "state");
  EXPECT_EQ(c->service.node_exe, agent_dir / "bin" / "corecell");
  EXPECT_EQ(c->ip.script, agent_dir / "scripts" / "move-ip");
  EXPECT_EQ(c->notify_script, agent_dir / "scripts" / "notify");
  // The resolved paths are the real files: the keys load.
  auto k = load_agent_keys(*c);
  ASSERT_TRUE(k.ok()) << HacfgWhy(k);
  EXPECT_EQ(k->validator_address, validator_address());
}

TEST_F(HaAgentConfig, HaGenesisOverridesTheNodeConfsGenesis) {
  const fs::path other = dir_.path() / "other-genesis.json";
  std::error_code ec;
  fs::copy_file(genesis_path(), other, ec);
  ASSERT_FALSE(ec) << ec.message();
  hacfg_set(entries_, "HA_GENESIS", other.string());
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->genesis, other);
}

// --- load_agent_config: refusals ----------------------------------------------------------

TEST_F(HaAgentConfig, UnknownKeyIsRefusedNamingFileAndLine) {
  hacfg_set(entries_, "HA_LEASE_TTL", "3000");  // typo of HA_LEASE_TTL_MS
  auto c = load();
  EXPECT_TRUE(HacfgRefusedWith(c, "ha.config",
                               {at_line("HA_LEASE_TTL") + "=\"3000\"", "unknown key", "docs/HA.md",
                                "corecell ha agent --help"}));
}

TEST_F(HaAgentConfig, NodeConfKeysAreUnknownInTheAgentConf) {
  hacfg_set(entries_, "DATA_DIR", "/var/kcnd/data");  // belongs in HA_NODE_CONF's file
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {at_line("DATA_DIR"), "unknown key"}));
}

class HaAgentConfigRequired : public HaAgentConfig,
                              public ::testing::WithParamInterface<const char*> {};

TEST_P(HaAgentConfigRequired, MissingRequiredKeyIsRefusedNamingIt) {
  const std::string key = GetParam();
  // The fix: what the address is for, or where the key is documented.
  const std::string fix = key == "HA_CELL_IP" ? "allow-list" : "see docs/HA.md";
  hacfg_erase(entries_, key);
  EXPECT_TRUE(
      HacfgRefusedWith(load(), "ha.config", {conf_path().string(), key + " is required", fix}));
  // An empty value is as good as missing.
  hacfg_set(entries_, key, "");
  EXPECT_TRUE(
      HacfgRefusedWith(load(), "ha.config", {conf_path().string(), key + " is required", fix}));
}

INSTANTIATE_TEST_SUITE_P(EveryRequiredKey, HaAgentConfigRequired,
                         ::testing::Values("HA_NODE_CONF", "HA_VALIDATOR_KEY_BACKUP",
                                           "HA_PASSPHRASE_FILE", "HA_STANDBY_NODEKEY", "HA_CELL_IP",
                                           "HA_LEASE_FILE"));

TEST_F(HaAgentConfig, MissingCellIpSaysWhatTheAddressIsFor) {
  hacfg_erase(entries_, "HA_CELL_IP");
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {"HA_CELL_IP is required", "allow-list"}));
}

TEST_F(HaAgentConfig, EtcdLeaseNeedsEndpoints) {
  hacfg_erase(entries_, "HA_LEASE_FILE");
  hacfg_set(entries_, "HA_LEASE", "etcd");
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config",
                               {conf_path().string(), "HA_ETCD_ENDPOINTS", "http://host:2379"}));
  hacfg_set(entries_, "HA_ETCD_ENDPOINTS", ",,");  // no endpoint in the list
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {"HA_ETCD_ENDPOINTS"}));
  hacfg_set(entries_, "HA_ETCD_ENDPOINTS", "http://10.0.0.1:2379,,http://10.0.0.2:2379,");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->lease_kind, "etcd");
  EXPECT_EQ(c->etcd.endpoints,
            (std::vector<std::string>{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}));
  EXPECT_TRUE(c->lease_file.empty());  // HA_LEASE_FILE is only required for local
}

TEST_F(HaAgentConfig, MissingNodeConfFileIsRefusedNamingHaNodeConf) {
  const fs::path missing = dir_.path() / "no-such" / "kcnd.conf";
  hacfg_set(entries_, "HA_NODE_CONF", missing.string());
  auto c = load();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("HA_NODE_CONF " + missing.string()), std::string::npos)
      << HacfgWhy(c);
  EXPECT_NE(c.error().message.find(conf_path().string()), std::string::npos) << HacfgWhy(c);
}

TEST_F(HaAgentConfig, NoGenesisAnywhereIsRefusedNamingBothPlaces) {
  node::NodeConfig node = node::default_node_config(node::Role::cn);
  node.data_dir = data_dir();
  node.log_dir = data_dir() / "logs";
  node.public_ip = kHacfgHostIp;  // and no GENESIS
  hacfg_write_text(node_conf_path(), node::to_conf_text(node));
  EXPECT_TRUE(
      HacfgRefusedWith(load(), "ha.config",
                       {"no genesis", "GENESIS in " + node_conf_path().string(), "HA_GENESIS"}));
}

TEST_F(HaAgentConfig, HostIpEqualToCellIpIsRefused) {
  hacfg_set(entries_, "HA_HOST_IP", kHacfgCellIp);
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config",
                               {conf_path().string(), std::string("HA_HOST_IP ") + kHacfgCellIp,
                                "equals HA_CELL_IP", "address of its own"}));
}

TEST_F(HaAgentConfig, NodePublicIpEqualToCellIpIsRefusedToo) {
  // No HA_HOST_IP: the node conf's PUBLIC_IP is the host address, and it is the cell's.
  hacfg_set(entries_, "HA_CELL_IP", kHacfgHostIp);
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {"HA_HOST_IP", "equals HA_CELL_IP"}));
}

TEST_F(HaAgentConfig, NoHostAddressAnywhereIsRefused) {
  node::NodeConfig node = node::default_node_config(node::Role::cn);
  node.data_dir = data_dir();
  node.log_dir = data_dir() / "logs";
  node.genesis = genesis_path();  // and no PUBLIC_IP
  hacfg_write_text(node_conf_path(), node::to_conf_text(node));
  EXPECT_TRUE(HacfgRefusedWith(
      load(), "ha.config", {"HA_HOST_IP", "PUBLIC_IP in " + node_conf_path().string(), "IPv4"}));
  hacfg_set(entries_, "HA_HOST_IP", kHacfgHostIp);
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->host_ip, kHacfgHostIp);
}

class HaAgentConfigBadIp : public HaAgentConfig,
                           public ::testing::WithParamInterface<const char*> {};

TEST_P(HaAgentConfigBadIp, CellIpIsRefusedNamingLineAndForm) {
  hacfg_set(entries_, "HA_CELL_IP", GetParam());
  EXPECT_TRUE(HacfgRefusedWith(
      load(), "ha.config",
      {at_line("HA_CELL_IP") + "=\"" + GetParam() + "\"", "expected an IPv4 address"}));
}

TEST_P(HaAgentConfigBadIp, HostIpIsRefusedNamingTheKey) {
  hacfg_set(entries_, "HA_HOST_IP", GetParam());
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {conf_path().string(), "HA_HOST_IP", "IPv4"}));
}

INSTANTIATE_TEST_SUITE_P(NotDottedQuads, HaAgentConfigBadIp,
                         ::testing::Values("10.0.0", "10.0.0.256", "10.0.0.1.", ".10.0.0.1",
                                           "10..0.1", "a.b.c.d", "10.0.0.1/32", " 10.0.0.1",
                                           "10.0.0.1 ", "::1", "10.0.0.1000", "10.0.0.-1",
                                           "10.0.0.1.5", "localhost"));

TEST_F(HaAgentConfig, ValidAddressesAtTheEdgesAreAccepted) {
  hacfg_set(entries_, "HA_CELL_IP", "255.255.255.255");
  hacfg_set(entries_, "HA_HOST_IP", "0.0.0.0");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->cell_ip, "255.255.255.255");
  EXPECT_EQ(c->host_ip, "0.0.0.0");
}

TEST_F(HaAgentConfig, LoopPlusTwoRetriesBeyondTheTtlIsRefused) {
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "3000");
  hacfg_set(entries_, "HA_LOOP_MS", "1000");
  hacfg_set(entries_, "HA_RETRY_MS", "1001");  // 1000 + 2 x 1001 = 3002 > 3000
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config",
                               {conf_path().string(), "HA_LOOP_MS (1000)", "2 x HA_RETRY_MS (1001)",
                                "HA_LEASE_TTL_MS (3000)", "raise the TTL"}));
  // Exactly at the TTL is allowed (and the permit margin still fits: 500 + 1000 < 3000).
  hacfg_set(entries_, "HA_RETRY_MS", "1000");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->loop + 2 * c->retry, c->ttl);
}

TEST_F(HaAgentConfig, DefaultRetryAgainstAShortTtlIsRefused) {
  // Only the TTL set: the default loop (500) + 2 x retry (1000) exceeds it.
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "2000");
  EXPECT_TRUE(
      HacfgRefusedWith(load(), "ha.config", {"HA_LEASE_TTL_MS (2000)", "HA_RETRY_MS (1000)"}));
}

TEST_F(HaAgentConfig, PermitMarginPlusLoopReachingTheTtlIsRefused) {
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "3000");
  hacfg_set(entries_, "HA_LOOP_MS", "500");
  hacfg_set(entries_, "HA_RETRY_MS", "1000");
  hacfg_set(entries_, "HA_PERMIT_MARGIN_MS", "2500");  // 2500 + 500 = TTL
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config",
                               {conf_path().string(), "HA_PERMIT_MARGIN_MS + HA_LOOP_MS",
                                "below HA_LEASE_TTL_MS", "never be usable"}));
  hacfg_set(entries_, "HA_PERMIT_MARGIN_MS", "2499");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->permit_margin, 2499ms);
}

TEST_F(HaAgentConfig, EtcdTtlBelowTwoSecondsIsRefused) {
  hacfg_erase(entries_, "HA_LEASE_FILE");
  hacfg_set(entries_, "HA_LEASE", "etcd");
  hacfg_set(entries_, "HA_ETCD_ENDPOINTS", "http://127.0.0.1:2379");
  hacfg_set(entries_, "HA_LOOP_MS", "200");
  hacfg_set(entries_, "HA_RETRY_MS", "400");
  hacfg_set(entries_, "HA_PERMIT_MARGIN_MS", "300");
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "1999");
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config",
                               {conf_path().string(), "HA_LEASE_TTL_MS must be at least 2000",
                                "HA_LEASE=etcd", "whole seconds"}));
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "2000");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->ttl, 2000ms);
  // The same short TTL is fine for the local lease (CLOCK_MONOTONIC, milliseconds).
  hacfg_set(entries_, "HA_LEASE", "local");
  hacfg_set(entries_, "HA_LEASE_FILE", (dir_.path() / "lease.json").string());
  hacfg_set(entries_, "HA_LEASE_TTL_MS", "1999");
  c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->ttl, 1999ms);
}

struct HacfgBadMillis {
  const char* key;
  const char* value;
  const char* range;  // as the message states it
};
void PrintTo(const HacfgBadMillis& p, std::ostream* os) {
  *os << p.key << "=\"" << p.value << "\"";
}

class HaAgentConfigBadMillis : public HaAgentConfig,
                               public ::testing::WithParamInterface<HacfgBadMillis> {};

TEST_P(HaAgentConfigBadMillis, IsRefusedNamingLineAndRange) {
  const HacfgBadMillis& p = GetParam();
  hacfg_set(entries_, p.key, p.value);
  EXPECT_TRUE(HacfgRefusedWith(
      load(), "ha.config",
      {at_line(p.key) + "=\"" + p.value + "\"", std::string("expected milliseconds, ") + p.range}));
}

INSTANTIATE_TEST_SUITE_P(
    OutOfRangeOrNotANumber, HaAgentConfigBadMillis,
    ::testing::Values(HacfgBadMillis{"HA_LEASE_TTL_MS", "499", "500..3600000"},
                      HacfgBadMillis{"HA_LEASE_TTL_MS", "3600001", "500..3600000"},
                      HacfgBadMillis{"HA_LEASE_TTL_MS", "3s", "500..3600000"},
                      HacfgBadMillis{"HA_LOOP_MS", "19", "20..3600000"},
                      HacfgBadMillis{"HA_LOOP_MS", "-1", "20..3600000"},
                      HacfgBadMillis{"HA_LOOP_MS", "", "20..3600000"},
                      HacfgBadMillis{"HA_RETRY_MS", "abc", "20..3600000"},
                      HacfgBadMillis{"HA_RETRY_MS", "1e3", "20..3600000"},
                      HacfgBadMillis{"HA_PERMIT_MARGIN_MS", " 500", "0..3600000"},
                      HacfgBadMillis{"HA_PERMIT_MARGIN_MS", "18446744073709551616", "0..3600000"},
                      HacfgBadMillis{"HA_NODE_HUNG_MS", "99", "100..3600000"},
                      HacfgBadMillis{"HA_STOP_GRACE_MS", "5000.5", "0..3600000"},
                      HacfgBadMillis{"HA_SYNC_TIMEOUT_MS", "999", "1000..3600000"}),
    [](const auto& info) {
      return std::string(info.param.key).substr(3) + "_" + std::to_string(info.index);
    });

struct HacfgBadValue {
  const char* key;
  const char* value;
  const char* fix;  // what the message says is expected
};
void PrintTo(const HacfgBadValue& p, std::ostream* os) { *os << p.key << "=\"" << p.value << "\""; }

class HaAgentConfigBadValue : public HaAgentConfig,
                              public ::testing::WithParamInterface<HacfgBadValue> {};

TEST_P(HaAgentConfigBadValue, IsRefusedNamingLineAndForm) {
  const HacfgBadValue& p = GetParam();
  hacfg_set(entries_, p.key, p.value);
  EXPECT_TRUE(
      HacfgRefusedWith(load(), "ha.config", {at_line(p.key) + "=\"" + p.value + "\"", p.fix}));
}

INSTANTIATE_TEST_SUITE_P(
    EnumsPortsAndUrls, HaAgentConfigBadValue,
    ::testing::Values(
        HacfgBadValue{"HA_INITIAL_ROLE", "primary", "expected active or standby"},
        HacfgBadValue{"HA_INITIAL_ROLE", "Active", "expected active or standby"},
        HacfgBadValue{"HA_INITIAL_ROLE", "", "expected active or standby"},
        HacfgBadValue{"HA_LEASE", "consul", "expected local or etcd"},
        HacfgBadValue{"HA_LEASE", "", "expected local or etcd"},
        HacfgBadValue{"HA_IP_PREFIX", "0", "expected a prefix length 1..32"},
        HacfgBadValue{"HA_IP_PREFIX", "33", "expected a prefix length 1..32"},
        HacfgBadValue{"HA_IP_PREFIX", "/24", "expected a prefix length 1..32"},
        HacfgBadValue{"HA_IP_PREFIX", "24 ", "expected a prefix length 1..32"},
        HacfgBadValue{"HA_METRICS_PORT", "65536", "expected a port 0..65535"},
        HacfgBadValue{"HA_METRICS_PORT", "-1", "expected a port 0..65535"},
        HacfgBadValue{"HA_METRICS_PORT", "http", "expected a port 0..65535"},
        HacfgBadValue{"HA_METRICS_PORT", "", "expected a port 0..65535"},
        HacfgBadValue{"HA_WEBHOOK_URL", "https://hooks.example/ha",
                      "expected http://host:port/path"},
        HacfgBadValue{"HA_WEBHOOK_URL", "hooks.example:80/ha", "expected http://host:port/path"},
        HacfgBadValue{"HA_NAME", "cell 1", "expected 1..64 characters of [A-Za-z0-9._-]"},
        HacfgBadValue{"HA_NAME", "", "expected 1..64 characters of [A-Za-z0-9._-]"},
        HacfgBadValue{"HA_VALIDATOR_ADDRESS", "0x1234", "HA_VALIDATOR_ADDRESS"}),
    [](const auto& info) {
      return std::string(info.param.key).substr(3) + "_" + std::to_string(info.index);
    });

TEST_F(HaAgentConfig, NameOfSixtyFiveCharactersIsRefusedAndSixtyFourAccepted) {
  hacfg_set(entries_, "HA_NAME", std::string(65, 'a'));
  EXPECT_TRUE(HacfgRefusedWith(load(), "ha.config", {at_line("HA_NAME"), "1..64 characters"}));
  hacfg_set(entries_, "HA_NAME", std::string(64, 'a'));
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->name.size(), 64u);
}

TEST_F(HaAgentConfig, NameDefaultsToTheHostName) {
  hacfg_erase(entries_, "HA_NAME");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->name, host[0] != '\0' ? std::string(host) : std::string("agent"));
}

TEST_F(HaAgentConfig, TheLastOfARepeatedKeyWins) {
  // Both entries are checked for being known; the later value takes effect (as in sh).
  entries_.emplace_back("HA_INITIAL_ROLE", "standby");
  entries_.emplace_back("HA_INITIAL_ROLE", "active");
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_EQ(c->initial_role, InitialRole::active);
}

// --- load_agent_keys ----------------------------------------------------------------------

TEST_F(HaAgentConfig, KeysOfAGoodSetupLoad) {
  hacfg_set(entries_, "HA_VALIDATOR_ADDRESS", crypto::to_checksum_hex(validator_address()));
  auto k = keys();
  ASSERT_TRUE(k.ok()) << HacfgWhy(k);
  EXPECT_EQ(k->validator.bytes(), council_keys_[0].bytes());
  EXPECT_EQ(k->validator_address, validator_address());
  EXPECT_EQ(k->standby.bytes(), standby_key_.bytes());
  EXPECT_EQ(k->standby_address, crypto::address_of(standby_key_));
  EXPECT_EQ(k->council, council_);
}

TEST_F(HaAgentConfig, ValidatorAddressInLowerCaseMatchesToo) {
  std::string lower = to_hex0x(validator_address());
  hacfg_set(entries_, "HA_VALIDATOR_ADDRESS", lower);
  auto k = keys();
  ASSERT_TRUE(k.ok()) << HacfgWhy(k);
  EXPECT_EQ(k->validator_address, validator_address());
}

TEST_F(HaAgentConfig, BackupOfANonCouncilKeyIsTheWrongKey) {
  const auto outsider = crypto::PrivateKey::generate();
  write_backup(outsider);
  EXPECT_TRUE(HacfgRefusedWith(keys(), "ha.wrong_key",
                               {"HA_VALIDATOR_KEY_BACKUP " + backup_path().string(),
                                crypto::to_checksum_hex(crypto::address_of(outsider)),
                                "not in the council of " + genesis_path().string(),
                                "use the backup of this cell's validator key"}));
}

TEST_F(HaAgentConfig, BackupOfAnotherCouncilMemberThanHaValidatorAddressIsTheWrongKey) {
  const Address expected = crypto::address_of(council_keys_[1]);
  hacfg_set(entries_, "HA_VALIDATOR_ADDRESS", crypto::to_checksum_hex(expected));
  EXPECT_TRUE(HacfgRefusedWith(keys(), "ha.wrong_key",
                               {"HA_VALIDATOR_KEY_BACKUP " + backup_path().string(),
                                "holds the key of " + crypto::to_checksum_hex(validator_address()),
                                "not HA_VALIDATOR_ADDRESS " + crypto::to_checksum_hex(expected),
                                "use the backup of this cell's validator"}));
}

TEST_F(HaAgentConfig, WrongPassphraseYieldsNoKey) {
  hacfg_write_text(passphrase_path(), "tr0ub4dor&3\n", 0600);
  EXPECT_TRUE(HacfgRefusedWith(keys(), "keystore.auth_failed",
                               {"HA_VALIDATOR_KEY_BACKUP", backup_path().string(), "passphrase"}));
}

TEST_F(HaAgentConfig, MalformedBackupIsRefusedNamingIt) {
  hacfg_write_text(backup_path(), "{\"version\": 1}", 0600);
  auto k = keys();
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message.find("HA_VALIDATOR_KEY_BACKUP"), std::string::npos) << HacfgWhy(k);
  EXPECT_NE(k.error().message.find(backup_path().string()), std::string::npos) << HacfgWhy(k);
}

TEST_F(HaAgentConfig, MissingBackupIsRefusedNamingIt) {
  fs::remove(backup_path());
  auto k = keys();
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.error().message.find("HA_VALIDATOR_KEY_BACKUP " + backup_path().string()),
            std::string::npos)
      << HacfgWhy(k);
}

TEST_F(HaAgentConfig, MissingStandbyNodekeyIsRefusedNamingTheKeyAndTheFix) {
  fs::remove(standby_path());
  EXPECT_TRUE(HacfgRefusedWith(keys(), "nodekey.missing",
                               {"HA_STANDBY_NODEKEY", standby_path().string(), "corecell keygen"}));
}

TEST_F(HaAgentConfig, MalformedStandbyNodekeyIsRefusedNamingHaStandbyNodekey) {
  hacfg_write_text(standby_path(), "not a nodekey at all", 0600);
  auto k = keys();
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().code.rfind("nodekey.", 0), 0u) << HacfgWhy(k);
  EXPECT_EQ(k.error().message.rfind("HA_STANDBY_NODEKEY: ", 0), 0u) << HacfgWhy(k);
  EXPECT_NE(k.error().message.find(standby_path().string()), std::string::npos) << HacfgWhy(k);
}

TEST_F(HaAgentConfig, UnreadableStandbyNodekeyIsRefusedNamingHaStandbyNodekey) {
  // A directory where the key file should be: unreadable as a file even for root.
  fs::remove(standby_path());
  ASSERT_TRUE(ensure_dir(standby_path()).ok());
  auto k = keys();
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().message.rfind("HA_STANDBY_NODEKEY: ", 0), 0u) << HacfgWhy(k);
  EXPECT_NE(k.error().message.find(standby_path().string()), std::string::npos) << HacfgWhy(k);
}

TEST_F(HaAgentConfig, GroupReadableStandbyNodekeyIsRefused) {
  ASSERT_EQ(::chmod(standby_path().c_str(), 0640), 0);
  EXPECT_TRUE(HacfgRefusedWith(keys(), "nodekey.mode",
                               {"HA_STANDBY_NODEKEY", standby_path().string(), "chmod 600"}));
}

TEST_F(HaAgentConfig, StandbyKeyThatIsACouncilMemberIsTheWrongKey) {
  ASSERT_TRUE(crypto::save_nodekey_file(standby_path(), council_keys_[2]).ok());
  EXPECT_TRUE(HacfgRefusedWith(keys(), "ha.wrong_key",
                               {"HA_STANDBY_NODEKEY " + standby_path().string(),
                                crypto::to_checksum_hex(crypto::address_of(council_keys_[2])),
                                "a council member", "must never sign", "corecell keygen"}));
}

TEST_F(HaAgentConfig, StandbyKeyEqualToTheValidatorKeyIsTheWrongKey) {
  ASSERT_TRUE(crypto::save_nodekey_file(standby_path(), council_keys_[0]).ok());
  EXPECT_TRUE(
      HacfgRefusedWith(keys(), "ha.wrong_key",
                       {"HA_STANDBY_NODEKEY", crypto::to_checksum_hex(validator_address())}));
}

TEST_F(HaAgentConfig, WorldReadablePassphraseFileIsRefused) {
  ASSERT_EQ(::chmod(passphrase_path().c_str(), 0644), 0);
  EXPECT_TRUE(HacfgRefusedWith(keys(), "passphrase.mode",
                               {"HA_PASSPHRASE_FILE", passphrase_path().string(), "mode 0644",
                                "chmod 600 " + passphrase_path().string()}));
}

TEST_F(HaAgentConfig, MissingPassphraseFileIsRefusedNamingIt) {
  fs::remove(passphrase_path());
  auto k = keys();
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error().message.rfind("HA_PASSPHRASE_FILE: ", 0), 0u) << HacfgWhy(k);
  EXPECT_NE(k.error().message.find(passphrase_path().string()), std::string::npos) << HacfgWhy(k);
}

TEST_F(HaAgentConfig, EmptyPassphraseFileIsRefused) {
  hacfg_write_text(passphrase_path(), "\n", 0600);
  EXPECT_TRUE(HacfgRefusedWith(keys(), "passphrase.empty",
                               {"HA_PASSPHRASE_FILE", passphrase_path().string()}));
}

TEST_F(HaAgentConfig, ConfigLoadsWithoutTheKeyFiles) {
  // `ha status` must work without the passphrase: load_agent_config never reads the keys.
  fs::remove(backup_path());
  fs::remove(passphrase_path());
  fs::remove(standby_path());
  auto c = load();
  ASSERT_TRUE(c.ok()) << HacfgWhy(c);
  EXPECT_FALSE(load_agent_keys(*c).ok());
}

}  // namespace
}  // namespace cc::ha
