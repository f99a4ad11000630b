// node/config.h — owns the node's configuration: which keys exist (Kaia's kcnd.conf keys that
// apply, plus corecell's own), their types, ranges and per-role defaults, and how a conf file and
// command-line overrides combine into one typed NodeConfig (defaults < file < flags).
// It never touches DATA_DIR (node/datadir.h) and never starts anything; it only decides values.
// Every rejected value is an error naming where it came from (file:line or flag), the key, the
// value and the expected form. Unknown keys in a file are warnings, never silently dropped.
// The operator reference for every key is docs/CONFIGURATION.md; keep the two in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/conf_file.h"
#include "util/bytes.h"
#include "util/result.h"

namespace cc::node {

enum class Role { cn, pn, en };

[[nodiscard]] std::string_view role_name(Role role);  // "cn", "pn", "en"
[[nodiscard]] Result<Role> parse_role(std::string_view text);
// Kaia's file name for the role: kcnd.conf, kpnd.conf, kend.conf.
[[nodiscard]] std::string_view conf_file_name(Role role);

struct NodeConfig {
  Role role = Role::cn;

  // --- network and p2p ---
  std::optional<std::uint64_t> network_id;  // NETWORK_ID; unset: taken from the genesis
  std::filesystem::path genesis;            // GENESIS; empty: not configured
  std::uint16_t port = 32323;               // PORT
  std::uint16_t subport = 32324;            // SUBPORT (default PORT + 1)
  bool multichannel = false;                // MULTICHANNEL
  std::string public_ip;                    // PUBLIC_IP; empty: any local address
  std::uint32_t max_connections = 100;      // MAXCONNECTIONS
  bool no_discover = false;                 // NO_DISCOVER
  std::vector<std::string> bootnodes;       // BOOTNODES (kni URLs)
  std::string syncmode = "full";            // SYNCMODE (only "full")

  // --- consensus node only ---
  std::optional<Address> rewardbase;      // REWARDBASE
  std::vector<std::string> cn_allowlist;  // CN_ALLOWLIST (IP addresses)
  std::vector<std::string> proxy_nodes;   // PROXY_NODES (kni URLs or 128-hex node IDs)
  bool require_signing_permit = false;    // REQUIRE_SIGNING_PERMIT
  // `corecell node --unsafe-ignore-sign-journal` only (never from a file, so it cannot outlive
  // the start it was meant for): with no sign state, sign from the block above the head even
  // where the signature journal shows this key already signed.
  bool unsafe_ignore_sign_journal = false;

  // --- transaction pool ---
  std::uint32_t txpool_exec_slots_all = 16384;         // TXPOOL_EXEC_SLOTS_ALL
  std::uint32_t txpool_nonexec_slots_all = 16384;      // TXPOOL_NONEXEC_SLOTS_ALL
  std::uint32_t txpool_exec_slots_account = 16384;     // TXPOOL_EXEC_SLOTS_ACCOUNT
  std::uint32_t txpool_nonexec_slots_account = 16384;  // TXPOOL_NONEXEC_SLOTS_ACCOUNT
  std::chrono::seconds txpool_life_time{300};          // TXPOOL_LIFE_TIME

  // --- RPC and metrics ---
  std::string server_type = "http";         // SERVER_TYPE
  bool rpc_enable = false;                  // RPC_ENABLE
  std::vector<std::string> rpc_api;         // RPC_API
  std::uint16_t rpc_port = 8551;            // RPC_PORT
  std::string rpc_addr = "127.0.0.1";       // RPC_ADDR
  bool ws_enable = false;                   // WS_ENABLE
  std::vector<std::string> ws_api;          // WS_API
  std::uint16_t ws_port = 8552;             // WS_PORT
  std::string ws_addr = "127.0.0.1";        // WS_ADDR
  bool metrics = false;                     // METRICS
  bool prometheus = false;                  // PROMETHEUS
  std::uint16_t prometheus_port = 61001;    // PROMETHEUS_PORT
  std::string prometheus_addr = "0.0.0.0";  // PROMETHEUS_ADDR (corecell's own)

  // --- process ---
  int verbosity = 3;               // VERBOSITY 0..5
  std::filesystem::path data_dir;  // DATA_DIR (absolute)
  std::filesystem::path log_dir;   // LOG_DIR (absolute; default DATA_DIR/logs)
  std::string additional;          // ADDITIONAL (extra command-line flags, verbatim)
  bool auto_restart = false;       // AUTO_RESTART

  // --- provenance ---
  std::optional<std::filesystem::path> conf_path;  // the file loaded, if any
  // KEY -> "kcnd.conf:7" or "flag --port" for every key not left at its default.
  std::map<std::string, std::string> origins;
  // Unknown keys, keys that do not apply to the role, Kaia keys corecell ignores, keys set
  // twice. One line each, naming file:line; the caller logs them.
  std::vector<std::string> warnings;
};

// A KEY=VALUE from the command line; wins over the file. `flag` names it in errors ("--port").
struct ConfigOverride {
  std::string key;
  std::string value;
  std::string flag;
};

// Parses "KEY=VALUE" (e.g. from a repeatable --set flag) into an override named by `flag`.
[[nodiscard]] Result<ConfigOverride> parse_override(std::string_view key_equals_value,
                                                    std::string flag);

// Defaults for a role, with DATA_DIR /var/k{c,p,e}nd/data and LOG_DIR DATA_DIR/logs.
[[nodiscard]] NodeConfig default_node_config(Role role);

// Loads the configuration: role defaults, then the conf file (if given), then the overrides.
// Relative paths in the file are resolved against the file's directory; in overrides, against
// the current directory.
[[nodiscard]] Result<NodeConfig> load_node_config(
    Role role, const std::optional<std::filesystem::path>& conf_path,
    const std::vector<ConfigOverride>& overrides = {});

// As load_node_config, from conf-file text already in memory (`source` names it in messages,
// relative paths resolve against `base_dir`, which must be absolute).
[[nodiscard]] Result<NodeConfig> node_config_from_text(
    Role role, std::string_view text, const std::string& source,
    const std::filesystem::path& base_dir, const std::vector<ConfigOverride>& overrides = {});

// A conf file that loads back to the same settings: every key that applies to the role, one
// per line, values double-quoted. Used to write node configs (localnet) and to show the
// effective configuration.
[[nodiscard]] std::string to_conf_text(const NodeConfig& config);

// The documented keys, for help texts and flag generation.
struct ConfigKeyInfo {
  std::string_view name;   // e.g. "RPC_PORT"
  std::string_view type;   // expected form, e.g. "an integer 1..65535"
  std::string_view roles;  // "cn", "cn,pn,en", ...
  std::string_view help;   // one line
};
[[nodiscard]] std::span<const ConfigKeyInfo> config_keys();

// "--rpc-port" for "RPC_PORT": the conventional flag name for a key.
[[nodiscard]] std::string flag_name_for(std::string_view key);

}  // namespace cc::node
