#include "ha/config.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>

#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "node/conf_file.h"
#include "node/config.h"
#include "util/files.h"
#include "util/process.h"

namespace cc::ha {
namespace {
namespace fs = std::filesystem;

constexpr std::array<AgentKeyInfo, 34> kKeys{{
    {"HA_NAME", "text", "the host name", "this agent's name in the lease and in events"},
    {"HA_NODE_CONF", "a path", "(required)", "the CN's kcnd.conf (DATA_DIR, GENESIS, PUBLIC_IP)"},
    {"HA_NODE_BIN", "a path", "this corecell binary", "exec service: the corecell to run"},
    {"HA_SERVICE", "exec | systemd", "exec", "how the node is started and stopped"},
    {"HA_SYSTEMD_UNIT", "a unit name", "", "systemd service: the CN's unit (e.g. kcnd.service)"},
    {"HA_VALIDATOR_KEY_BACKUP", "a path", "(required)",
     "encrypted backup of the cell's validator nodekey (`corecell key backup`)"},
    {"HA_PASSPHRASE_FILE", "a path", "(required)", "the backup's passphrase file (mode 0600)"},
    {"HA_VALIDATOR_ADDRESS", "0x + 40 hex", "", "refuse a backup of any other address"},
    {"HA_STANDBY_NODEKEY", "a path", "(required)",
     "this host's own nodekey, used while standby (must not be a council member)"},
    {"HA_GENESIS", "a path", "the node conf's GENESIS", "genesis.json (the council)"},
    {"HA_CELL_IP", "an IPv4 address", "(required)",
     "the cell's public address, allow-listed by the other CNs; bound only by the active"},
    {"HA_HOST_IP", "an IPv4 address", "the node conf's PUBLIC_IP",
     "this host's own address, the node's PUBLIC_IP while standby"},
    {"HA_INITIAL_ROLE", "active | standby", "standby",
     "active: may take a lease that was never held; standby: waits for one to fail"},
    {"HA_LEASE", "local | etcd", "local",
     "the lease store (local: hosts on one machine only, HA_IP_MOVER=loopback)"},
    {"HA_LEASE_FILE", "a path", "", "local lease: the state file (both agents on one host)"},
    {"HA_ETCD_ENDPOINTS", "http://host:port,...", "", "etcd lease: the v3 gateway endpoints"},
    {"HA_LEASE_KEY", "/a/key/prefix", "/corecell/<validator address>", "etcd key prefix"},
    {"HA_LEASE_TTL_MS", "milliseconds", "3000", "lease lifetime without renewal"},
    {"HA_LOOP_MS", "milliseconds", "500", "agent loop interval"},
    {"HA_RETRY_MS", "milliseconds", "1000",
     "the lease store's per-request timeout (etcd: capped at 2000); checked: HA_LOOP_MS + 2 x "
     "HA_RETRY_MS <= HA_LEASE_TTL_MS"},
    {"HA_PERMIT_MARGIN_MS", "milliseconds", "500",
     "the node's permit ends this long before the lease could expire"},
    {"HA_NODE_HUNG_MS", "milliseconds", "1500",
     "an active node silent on its control socket this long is killed (fenced)"},
    {"HA_ISOLATED_MS", "milliseconds (0: off)", "5000",
     "an active node with no ready peer whose head has not moved this long hands over"},
    {"HA_STOP_GRACE_MS", "milliseconds", "5000", "SIGTERM to SIGKILL when stopping the node"},
    {"HA_SYNC_TIMEOUT_MS", "milliseconds", "60000",
     "takeover: how long the new node may take to answer on its control socket (at most 30000)"},
    {"HA_IP_MOVER", "loopback | linux | exec", "linux", "how the cell's address moves"},
    {"HA_IP_PREFIX", "1..32", "32", "linux mover: prefix length"},
    {"HA_IP_DEVICE", "an interface", "", "linux mover: the interface (exec: passed on)"},
    {"HA_IP_SCRIPT", "a path", "", "exec mover: SCRIPT acquire|release|status IP"},
    {"HA_STATE_DIR", "a path", "DATA_DIR/ha", "agent.sock, events.jsonl, node.log"},
    {"HA_NOTIFY_SCRIPT", "a path", "", "run as SCRIPT EVENT ROLE DETAIL on every event"},
    {"HA_WEBHOOK_URL", "http://host:port/path", "", "every event POSTed as JSON"},
    {"HA_METRICS_ADDR", "an address", "127.0.0.1", "the agent's /metrics and /health/role"},
    {"HA_METRICS_PORT", "0..65535", "0", "the agent's metrics port (0: no listener)"},
}};

struct Reader {
  const node::ConfFile& file;
  fs::path base;

  [[nodiscard]] Error bad(const node::ConfEntry& e, const std::string& why) const {
    return make_error("ha.config", file.source + ":" + std::to_string(e.line) + ": " + e.key +
                                       "=\"" + e.value + "\": " + why);
  }
  [[nodiscard]] const node::ConfEntry* get(std::string_view key) const { return file.find(key); }
  [[nodiscard]] std::string text(std::string_view key, const std::string& fallback = {}) const {
    const auto* e = get(key);
    return e ? e->value : fallback;
  }
  [[nodiscard]] fs::path path(std::string_view key) const {
    const auto* e = get(key);
    if (!e || e->value.empty()) return {};
    fs::path p(e->value);
    return p.is_absolute() ? p : (base / p).lexically_normal();
  }
  [[nodiscard]] Result<fs::path> required_path(std::string_view key) const {
    fs::path p = path(key);
    if (p.empty()) {
      return make_error("ha.config",
                        file.source + ": " + std::string(key) + " is required; see docs/HA.md");
    }
    return p;
  }
  [[nodiscard]] Result<std::chrono::milliseconds> millis(std::string_view key,
                                                         std::chrono::milliseconds fallback,
                                                         std::uint64_t min_ms) const {
    const auto* e = get(key);
    if (!e) return fallback;
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), v);
    if (ec != std::errc() || ptr != e->value.data() + e->value.size() || v < min_ms ||
        v > 3'600'000) {
      return bad(*e, "expected milliseconds, " + std::to_string(min_ms) + "..3600000");
    }
    return std::chrono::milliseconds(v);
  }
};

bool is_ipv4(const std::string& s) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find('.', i);
    if (j == std::string::npos) j = s.size();
    const std::string part = s.substr(i, j - i);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(part) > 255) {
      return false;
    }
    ++parts;
    i = j + 1;
    if (j == s.size()) break;
  }
  return parts == 4;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "agent";
  return buf;
}

}  // namespace

std::span<const AgentKeyInfo> agent_config_keys() { return kKeys; }

Result<AgentConfig> load_agent_config(const fs::path& path) {
  const fs::path abs = fs::absolute(path);
  CC_TRY_ASSIGN(auto file, node::read_conf_file(abs));
  Reader r{file, abs.parent_path()};
  for (const auto& e : file.entries) {
    const bool known =
        std::any_of(kKeys.begin(), kKeys.end(), [&](const auto& k) { return k.name == e.key; });
    if (!known) {
      return r.bad(e,
                   "unknown key (a typo would silently change failover behaviour); the keys "
                   "are listed in docs/HA.md and `corecell ha agent --help`");
    }
  }

  AgentConfig c;
  c.conf_path = abs;
  c.name = r.text("HA_NAME", host_name());
  if (c.name.empty() || c.name.size() > 64 ||
      !std::all_of(c.name.begin(), c.name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.';
      })) {
    if (const auto* e = r.get("HA_NAME")) {
      return r.bad(*e, "expected 1..64 characters of [A-Za-z0-9._-]");
    }
    return make_error("ha.config", file.source + ": the host name \"" + c.name +
                                       "\" is not a valid HA_NAME; set HA_NAME (1..64 "
                                       "characters of [A-Za-z0-9._-])");
  }
  CC_TRY_ASSIGN(c.node_conf, r.required_path("HA_NODE_CONF"));
  auto node_cfg = node::load_node_config(node::Role::cn, c.node_conf);
  if (!node_cfg.ok()) {
    return node_cfg.error().context(file.source + ": HA_NODE_CONF " + c.node_conf.string());
  }
  c.data_dir = node_cfg->data_dir;
  c.genesis = r.path("HA_GENESIS");
  if (c.genesis.empty()) c.genesis = node_cfg->genesis;
  if (c.genesis.empty()) {
    return make_error("ha.config", file.source + ": no genesis: set GENESIS in " +
                                       c.node_conf.string() +
                                       " or HA_GENESIS here (the agent "
                                       "checks the validator key against the council)");
  }
  CC_TRY_ASSIGN(c.validator_backup, r.required_path("HA_VALIDATOR_KEY_BACKUP"));
  CC_TRY_ASSIGN(c.passphrase_file, r.required_path("HA_PASSPHRASE_FILE"));
  CC_TRY_ASSIGN(c.standby_nodekey, r.required_path("HA_STANDBY_NODEKEY"));
  if (const auto* e = r.get("HA_VALIDATOR_ADDRESS"); e != nullptr && !e->value.empty()) {
    auto a = crypto::parse_address(e->value);
    if (!a.ok()) return r.bad(*e, a.error().message);
    c.expected_address = *a;
  }

  c.cell_ip = r.text("HA_CELL_IP");
  if (c.cell_ip.empty()) {
    return make_error("ha.config", file.source +
                                       ": HA_CELL_IP is required: the cell's public address "
                                       "that the other CNs allow-list");
  }
  if (!is_ipv4(c.cell_ip)) return r.bad(*r.get("HA_CELL_IP"), "expected an IPv4 address");
  c.host_ip = r.text("HA_HOST_IP", node_cfg->public_ip);
  if (c.host_ip.empty() || !is_ipv4(c.host_ip)) {
    return make_error("ha.config",
                      file.source + ": HA_HOST_IP (or PUBLIC_IP in " + c.node_conf.string() +
                          ") must be this host's own IPv4 address: the standby node binds it");
  }
  if (c.host_ip == c.cell_ip) {
    return make_error("ha.config", file.source + ": HA_HOST_IP " + c.host_ip +
                                       " equals HA_CELL_IP: a standby must not bind the cell's "
                                       "address; give this host an address of its own");
  }
  if (const auto* e = r.get("HA_INITIAL_ROLE")) {
    if (e->value == "active") {
      c.initial_role = InitialRole::active;
    } else if (e->value != "standby") {
      return r.bad(*e, "expected active or standby");
    }
  }

  c.lease_kind = r.text("HA_LEASE", "local");
  if (c.lease_kind == "local") {
    CC_TRY_ASSIGN(c.lease_file, r.required_path("HA_LEASE_FILE"));
  } else if (c.lease_kind == "etcd") {
    const std::string eps = r.text("HA_ETCD_ENDPOINTS");
    std::size_t i = 0;
    while (i < eps.size()) {
      std::size_t j = eps.find(',', i);
      if (j == std::string::npos) j = eps.size();
      if (j > i) c.etcd.endpoints.push_back(eps.substr(i, j - i));
      i = j + 1;
    }
    if (c.etcd.endpoints.empty()) {
      return make_error("ha.config", file.source +
                                         ": HA_LEASE=etcd needs HA_ETCD_ENDPOINTS "
                                         "(http://host:2379,...)");
    }
  } else {
    return r.bad(*r.get("HA_LEASE"), "expected local or etcd");
  }
  c.lease_key = r.text("HA_LEASE_KEY");

  CC_TRY_ASSIGN(c.ttl, r.millis("HA_LEASE_TTL_MS", c.ttl, 500));
  CC_TRY_ASSIGN(c.loop, r.millis("HA_LOOP_MS", c.loop, 20));
  CC_TRY_ASSIGN(c.retry, r.millis("HA_RETRY_MS", c.retry, 20));
  CC_TRY_ASSIGN(c.permit_margin, r.millis("HA_PERMIT_MARGIN_MS", c.permit_margin, 0));
  CC_TRY_ASSIGN(c.node_hung_after, r.millis("HA_NODE_HUNG_MS", c.node_hung_after, 100));
  CC_TRY_ASSIGN(c.isolated_after, r.millis("HA_ISOLATED_MS", c.isolated_after, 0));
  CC_TRY_ASSIGN(c.stop_grace, r.millis("HA_STOP_GRACE_MS", c.stop_grace, 0));
  CC_TRY_ASSIGN(c.sync_timeout, r.millis("HA_SYNC_TIMEOUT_MS", c.sync_timeout, 1000));
  // KEY-1 needs the active to notice a lost lease while its permit is still running: one loop
  // plus two failed attempts must fit in the TTL, and the permit must end before the lease.
  if (c.loop + 2 * c.retry > c.ttl) {
    return make_error("ha.config", file.source + ": HA_LOOP_MS (" + std::to_string(c.loop.count()) +
                                       ") + 2 x HA_RETRY_MS (" + std::to_string(c.retry.count()) +
                                       ") must not exceed HA_LEASE_TTL_MS (" +
                                       std::to_string(c.ttl.count()) +
                                       "): the active could not renew in time; raise the TTL "
                                       "or shorten the loop/retry");
  }
  if (c.permit_margin + c.loop >= c.ttl) {
    return make_error("ha.config", file.source +
                                       ": HA_PERMIT_MARGIN_MS + HA_LOOP_MS must be "
                                       "below HA_LEASE_TTL_MS (the permit would never "
                                       "be usable)");
  }
  if (c.lease_kind == "etcd" && c.ttl < std::chrono::milliseconds(2000)) {
    return make_error("ha.config", file.source +
                                       ": HA_LEASE_TTL_MS must be at least 2000 with "
                                       "HA_LEASE=etcd (etcd counts lease TTLs in whole "
                                       "seconds)");
  }

  c.ip.kind = r.text("HA_IP_MOVER", "linux");
  c.ip.ip = c.cell_ip;
  c.ip.device = r.text("HA_IP_DEVICE");
  c.ip.script = r.path("HA_IP_SCRIPT");
  c.ip.probe_port = node_cfg->port;
  if (const auto* e = r.get("HA_IP_PREFIX")) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), v);
    if (ec != std::errc() || ptr != e->value.data() + e->value.size() || v < 1 || v > 32) {
      return r.bad(*e, "expected a prefix length 1..32");
    }
    c.ip.prefix_len = v;
  }

  c.state_dir = r.path("HA_STATE_DIR");
  if (c.state_dir.empty()) c.state_dir = c.data_dir / "ha";
  c.service.kind = r.text("HA_SERVICE", "exec");
  c.service.node_conf = c.node_conf;
  c.service.node_exe = r.path("HA_NODE_BIN");
  if (c.service.node_exe.empty()) {
    auto self = util::self_exe();
    if (!self.ok()) return self.error();
    c.service.node_exe = *self;
  }
  c.service.unit = r.text("HA_SYSTEMD_UNIT");
  c.service.log = c.node_log_path();

  c.notify_script = r.path("HA_NOTIFY_SCRIPT");
  c.webhook_url = r.text("HA_WEBHOOK_URL");
  if (!c.webhook_url.empty() && c.webhook_url.rfind("http://", 0) != 0) {
    return r.bad(*r.get("HA_WEBHOOK_URL"), "expected http://host:port/path");
  }
  c.metrics_addr = r.text("HA_METRICS_ADDR", c.metrics_addr);
  if (const auto* e = r.get("HA_METRICS_PORT")) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(e->value.data(), e->value.data() + e->value.size(), v);
    if (ec != std::errc() || ptr != e->value.data() + e->value.size() || v > 65535) {
      return r.bad(*e, "expected a port 0..65535 (0: no metrics listener)");
    }
    c.metrics_port = static_cast<std::uint16_t>(v);
  }
  return c;
}

Result<AgentKeys> load_agent_keys(const AgentConfig& c) {
  CC_TRY_ASSIGN(auto genesis, chain::load_genesis_file(c.genesis));
  auto pass = crypto::read_passphrase_file(c.passphrase_file);
  if (!pass.ok()) return pass.error().context("HA_PASSPHRASE_FILE");
  auto backup = read_file(c.validator_backup, std::size_t{64} * 1024);
  if (!backup.ok()) {
    return backup.error().context("HA_VALIDATOR_KEY_BACKUP " + c.validator_backup.string());
  }
  auto key = crypto::decrypt_backup(*backup, *pass, c.validator_backup.string());
  if (!key.ok()) return key.error().context("HA_VALIDATOR_KEY_BACKUP");
  auto standby = crypto::load_nodekey_file(c.standby_nodekey);
  if (!standby.ok()) return standby.error().context("HA_STANDBY_NODEKEY");
  AgentKeys k{*key, crypto::identity_of(*key).address, standby->key, standby->address,
              genesis.council};
  const std::string vaddr = crypto::to_checksum_hex(k.validator_address);
  if (c.expected_address && *c.expected_address != k.validator_address) {
    return make_error("ha.wrong_key", "HA_VALIDATOR_KEY_BACKUP " + c.validator_backup.string() +
                                          " holds the key of " + vaddr +
                                          ", not HA_VALIDATOR_ADDRESS " +
                                          crypto::to_checksum_hex(*c.expected_address) +
                                          ": use the backup of this cell's validator");
  }
  if (std::find(k.council.begin(), k.council.end(), k.validator_address) == k.council.end()) {
    return make_error("ha.wrong_key", "HA_VALIDATOR_KEY_BACKUP " + c.validator_backup.string() +
                                          " holds the key of " + vaddr +
                                          ", which is not in the council of " + c.genesis.string() +
                                          ": use the backup of this cell's validator key");
  }
  if (std::find(k.council.begin(), k.council.end(), k.standby_address) != k.council.end()) {
    return make_error("ha.wrong_key",
                      "HA_STANDBY_NODEKEY " + c.standby_nodekey.string() + " is the key of " +
                          crypto::to_checksum_hex(k.standby_address) +
                          ", a council member: a standby must never sign; generate a key of its "
                          "own with `corecell keygen`");
  }
  return k;
}

}  // namespace cc::ha
