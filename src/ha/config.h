// ha/config.h — owns the HA agent's configuration: the HA_* keys of an agent conf file (the
// kcnd.conf syntax, node/conf_file.h), their defaults, and the checks that make a bad setup a
// clear startup error instead of a failover that goes wrong later (timings that cannot keep
// KEY-1, a validator key backup whose address is not in the council, a standby key that is).
// It reads the node's own conf (HA_NODE_CONF) for DATA_DIR, GENESIS and PUBLIC_IP, and never
// starts anything. docs/HA.md is the operator reference for every key; keep the two in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/nodekey.h"
#include "ha/etcd_lease.h"
#include "ha/ip_mover.h"
#include "ha/service_control.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::ha {

enum class InitialRole { active, standby };

struct AgentConfig {
  std::string name;                         // HA_NAME (default: the host name)
  std::filesystem::path conf_path;          // the agent conf file itself
  std::filesystem::path node_conf;          // HA_NODE_CONF
  std::filesystem::path data_dir;           // the node's DATA_DIR (from HA_NODE_CONF)
  std::filesystem::path genesis;            // HA_GENESIS, else the node conf's GENESIS
  std::filesystem::path validator_backup;   // HA_VALIDATOR_KEY_BACKUP (encrypted, key backup)
  std::filesystem::path passphrase_file;    // HA_PASSPHRASE_FILE
  std::filesystem::path standby_nodekey;    // HA_STANDBY_NODEKEY (this host's own key)
  std::optional<Address> expected_address;  // HA_VALIDATOR_ADDRESS (optional cross-check)
  std::string cell_ip;                      // HA_CELL_IP: the address other CNs allow-list
  std::string host_ip;                      // HA_HOST_IP (default: the node conf's PUBLIC_IP)
  InitialRole initial_role = InitialRole::standby;  // HA_INITIAL_ROLE

  std::string lease_kind = "local";       // HA_LEASE: local | etcd
  std::filesystem::path lease_file;       // HA_LEASE_FILE (local)
  EtcdLeaseOptions etcd;                  // HA_ETCD_ENDPOINTS, HA_LEASE_KEY
  std::string lease_key;                  // HA_LEASE_KEY (default /corecell/<validator address>)
  std::chrono::milliseconds ttl{3000};    // HA_LEASE_TTL_MS
  std::chrono::milliseconds loop{500};    // HA_LOOP_MS
  std::chrono::milliseconds retry{1000};  // HA_RETRY_MS
  std::chrono::milliseconds permit_margin{500};     // HA_PERMIT_MARGIN_MS
  std::chrono::milliseconds node_hung_after{1500};  // HA_NODE_HUNG_MS
  std::chrono::milliseconds isolated_after{5000};   // HA_ISOLATED_MS (0: off)
  std::chrono::milliseconds stop_grace{5000};       // HA_STOP_GRACE_MS
  std::chrono::milliseconds sync_timeout{60000};    // HA_SYNC_TIMEOUT_MS

  IpMoverConfig ip;       // HA_IP_MOVER, HA_CELL_IP, HA_IP_PREFIX, HA_IP_DEVICE, HA_IP_SCRIPT
  ServiceConfig service;  // HA_SERVICE, HA_NODE_BIN, HA_NODE_CONF, HA_SYSTEMD_UNIT

  std::filesystem::path state_dir;         // HA_STATE_DIR (default DATA_DIR/ha)
  std::filesystem::path notify_script;     // HA_NOTIFY_SCRIPT (optional)
  std::string webhook_url;                 // HA_WEBHOOK_URL (optional, http://host:port/path)
  std::string metrics_addr = "127.0.0.1";  // HA_METRICS_ADDR
  std::uint16_t metrics_port = 0;          // HA_METRICS_PORT (0: no metrics listener)

  [[nodiscard]] std::filesystem::path socket_path() const { return state_dir / "agent.sock"; }
  [[nodiscard]] std::filesystem::path events_path() const { return state_dir / "events.jsonl"; }
  [[nodiscard]] std::filesystem::path node_log_path() const { return state_dir / "node.log"; }
};

// Loads and checks the agent conf. Relative paths resolve against the file's directory. Every
// error names the file, the key and the fix (ha.config). It does not read the key files (see
// load_agent_keys) so that `ha status` works without the passphrase.
[[nodiscard]] Result<AgentConfig> load_agent_config(const std::filesystem::path& path);

// The keys an agent guards: the validator's (decrypted from the backup; its address must be a
// council member of the genesis, and equal HA_VALIDATOR_ADDRESS when set) and this host's own
// standby key (its address must NOT be in the council: a standby must never sign).
struct AgentKeys {
  crypto::PrivateKey validator;
  Address validator_address{};
  crypto::PrivateKey standby;
  Address standby_address{};
  std::vector<Address> council;
};
[[nodiscard]] Result<AgentKeys> load_agent_keys(const AgentConfig& config);

// The documented keys (name, form, default, one-line help) for --help and docs/HA.md.
struct AgentKeyInfo {
  std::string_view name;
  std::string_view form;
  std::string_view fallback;
  std::string_view help;
};
[[nodiscard]] std::span<const AgentKeyInfo> agent_config_keys();

}  // namespace cc::ha
