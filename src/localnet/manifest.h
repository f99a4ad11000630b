// localnet/manifest.h — owns D/network.json, the description of a generated local network that
// every `corecell localnet` subcommand (and tests, and the demo) reads: the network's chain id
// and files, and for every node its name, cell, role, addresses, ports, files and identity.
// Paths are stored relative to D (so a localnet directory can be moved) and resolved against D
// when loaded. The CN hosts of a cell with a standby carry "haConf" (the HA agent's conf: the
// supervisor runs `corecell ha agent`, which runs the node), "haLog" (the agent's output) and
// "hostIp" (the host's own address; "ip" is then the cell's public address for the active and
// the host address for the standby). Format (version 1):
//   {
//     "version": 1,
//     "chainId": 8888, "networkId": 8888,
//     "genesis": "genesis.json", "accounts": "accounts.json",
//     "council": ["0x<checksummed>", ...],
//     "nodes": [
//       {"name": "cn-1", "cell": 1, "role": "cn", "standby": false, "ip": "127.0.0.10",
//        "p2pPort": 32323, "rpcUrl": "http://127.0.0.10:8551",
//        "metricsUrl": "http://127.0.0.10:61001/metrics",
//        "dataDir": "nodes/cn-1", "conf": "nodes/cn-1/kcnd.conf", "log":
//        "nodes/cn-1/logs/node.log", "address": "0x<checksummed>", "nodeId": "<128 hex>", "kni":
//        "kni://...", "autoRestart": false},
//       {"name": "cn-1-standby", ..., "haConf": "nodes/cn-1-standby/ha.conf",
//        "haLog": "nodes/cn-1-standby/logs/agent.log", "hostIp": "127.0.0.14"},
//       ...
//     ]
//   }
// Parsing is strict: a missing or mistyped field is an error naming the node and the field.
// It never starts or inspects processes (localnet/supervisor.h does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "localnet/topology.h"
#include "util/result.h"

namespace cc::localnet {

inline constexpr int kManifestVersion = 1;
inline constexpr std::string_view kManifestFile = "network.json";

struct NodeEntry {
  std::string name;
  std::size_t cell = 0;  // 0 for ENs
  NodeRole role = NodeRole::cn;
  bool standby = false;
  std::string ip;
  std::uint16_t p2p_port = kP2pPort;
  std::string rpc_url;
  std::string metrics_url;
  std::filesystem::path data_dir;  // absolute after load
  std::filesystem::path conf;      // absolute after load
  std::filesystem::path log;       // absolute after load: the node's stdout+stderr
  std::string address;             // 0x checksummed node (validator) address
  std::string node_id;             // 128 hex
  std::string kni;
  bool auto_restart = false;  // AUTO_RESTART of its conf: the supervisor restarts it on exit
  // HA hosts only (empty otherwise): the agent's conf and log, and the host's own address.
  std::filesystem::path ha_conf;  // absolute after load
  std::filesystem::path ha_log;   // absolute after load
  std::string host_ip;

  [[nodiscard]] bool has_agent() const { return !ha_conf.empty(); }
};

struct Manifest {
  std::filesystem::path dir;  // D (absolute); not stored in the file
  std::uint64_t chain_id = 0;
  std::uint64_t network_id = 0;
  std::filesystem::path genesis;   // absolute after load
  std::filesystem::path accounts;  // absolute after load
  std::vector<std::string> council;
  std::vector<NodeEntry> nodes;

  [[nodiscard]] const NodeEntry* find(std::string_view name) const;
  // "cn-1, cn-2, ..." for error messages that list the valid names.
  [[nodiscard]] std::string names() const;
};

[[nodiscard]] std::filesystem::path manifest_path(const std::filesystem::path& dir);

// JSON text of the manifest with paths relative to manifest.dir.
[[nodiscard]] std::string manifest_to_json(const Manifest& manifest);
// Parses manifest text; relative paths resolve against `dir`; `source` names the file in errors.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view text,
                                              const std::filesystem::path& dir,
                                              const std::string& source);
// Reads D/network.json; a missing file says to run `corecell localnet init --dir D` first.
[[nodiscard]] Result<Manifest> load_manifest(const std::filesystem::path& dir);

}  // namespace cc::localnet
