#include "localnet/init.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "chain/generator.h"
#include "chain/genesis.h"
#include "crypto/address.h"
#include "crypto/keystore.h"
#include "crypto/nodekey.h"
#include "node/config.h"
#include "node/datadir.h"
#include "p2p/kni.h"
#include "util/clock.h"
#include "util/files.h"

namespace cc::localnet {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

node::Role init_node_role(NodeRole r) {
  switch (r) {
    case NodeRole::cn:
      return node::Role::cn;
    case NodeRole::pn:
      return node::Role::pn;
    case NodeRole::en:
      return node::Role::en;
  }
  return node::Role::en;
}

// PROMETHEUS_ADDR is being added to node/config.h; set it when this build has the field, so the
// localnet picks it up without a change here (each node's metrics listen on its own address).
template <typename Config>
void init_set_prometheus_addr(Config& cfg, const std::string& ip) {
  if constexpr (requires { cfg.prometheus_addr = ip; }) cfg.prometheus_addr = ip;
}

std::string init_kni(const crypto::NodeIdentity& id, const PlannedNode& n) {
  p2p::KniUrl url;
  url.node_id = id.node_id;
  url.host = n.ip;
  url.port = kP2pPort;
  url.discport = kP2pPort;
  url.ntype = role_text(n.role);
  return url.to_string();
}

Status init_check_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return make_error("localnet.dir_not_empty",
                        "--dir " + dir.string() + " is a file; pass a new or empty directory");
    }
    if (!fs::is_empty(dir, ec)) {
      return make_error("localnet.dir_not_empty",
                        "--dir " + dir.string() +
                            " is not empty; init never overwrites keys or chains: pass a new or "
                            "empty directory (or run `corecell localnet down --dir " +
                            dir.string() + "` and remove it first)");
    }
  }
  return ensure_dir(dir);
}

// HA agent timings for one machine: a 3 s lease renewed every 250 ms (250 + 2 x 600 <= 3000),
// with slack for a loaded machine (a whole network and its tests on two cores).
constexpr const char* kLocalnetHaTiming =
    "HA_LEASE_TTL_MS=\"3000\"\nHA_LOOP_MS=\"250\"\nHA_RETRY_MS=\"600\"\n"
    "HA_PERMIT_MARGIN_MS=\"500\"\nHA_NODE_HUNG_MS=\"2000\"\nHA_STOP_GRACE_MS=\"5000\"\n";
inline constexpr std::uint16_t kAgentMetricsPort = 61002;

struct HaCell {
  std::size_t cell = 0;
  fs::path dir;  // D/ha/cell-C
  std::string cell_ip;
  std::string validator_address;
};

// The cell's shared HA files: the validator key's encrypted backup and its passphrase (both
// 0600). The lease file is created by the agents.
Result<HaCell> init_ha_cell(const fs::path& dir, const PlannedNode& active,
                            const crypto::NodeIdentity& validator) {
  HaCell c;
  c.cell = active.cell;
  c.dir = dir / "ha" / ("cell-" + std::to_string(active.cell));
  c.cell_ip = active.ip;
  c.validator_address = crypto::to_checksum_hex(validator.address);
  CC_TRY_STATUS(ensure_dir(c.dir));
  const std::string passphrase = to_hex(crypto::PrivateKey::generate().bytes());
  CC_TRY_STATUS(atomic_write_file(c.dir / "passphrase", passphrase + "\n", 0600));
  // Interactive cost (64 MiB): a local network's agents decrypt it at every start.
  CC_TRY_ASSIGN(auto backup, crypto::encrypt_backup(validator.key, passphrase,
                                                    crypto::KdfParams::interactive()));
  CC_TRY_STATUS(atomic_write_file(c.dir / "validator.backup", backup, 0600));
  return c;
}

// One host's agent conf (DATA_DIR/ha.conf) and its own standby key (DATA_DIR/ha/standby.nodekey).
Status init_ha_host(const HaCell& cell, const fs::path& data_dir, const std::string& name,
                    const std::string& host_ip, bool initial_active,
                    const crypto::PrivateKey& standby_key) {
  CC_TRY_STATUS(ensure_dir(data_dir / "ha"));
  CC_TRY_STATUS(crypto::save_nodekey_file(data_dir / "ha" / "standby.nodekey", standby_key));
  const std::string cell_rel = "../../ha/cell-" + std::to_string(cell.cell) + "/";
  std::string conf = "# HA agent of " + name + " (cell " + std::to_string(cell.cell) +
                     "), written by `corecell localnet init`; keys in docs/HA.md\n";
  conf += "HA_NAME=\"" + name + "\"\n";
  conf += "HA_NODE_CONF=\"kcnd.conf\"\n";
  conf += "HA_VALIDATOR_KEY_BACKUP=\"" + cell_rel + "validator.backup\"\n";
  conf += "HA_PASSPHRASE_FILE=\"" + cell_rel + "passphrase\"\n";
  conf += "HA_VALIDATOR_ADDRESS=\"" + cell.validator_address + "\"\n";
  conf += "HA_STANDBY_NODEKEY=\"ha/standby.nodekey\"\n";
  conf += "HA_CELL_IP=\"" + cell.cell_ip + "\"\n";
  conf += "HA_HOST_IP=\"" + host_ip + "\"\n";
  conf += std::string("HA_INITIAL_ROLE=\"") + (initial_active ? "active" : "standby") + "\"\n";
  conf += "HA_LEASE=\"local\"\n";
  conf += "HA_LEASE_FILE=\"" + cell_rel + "lease.json\"\n";
  conf += "HA_IP_MOVER=\"loopback\"\n";
  conf += "HA_STATE_DIR=\"ha\"\n";
  conf += "HA_METRICS_ADDR=\"" + host_ip + "\"\n";
  conf += "HA_METRICS_PORT=\"" + std::to_string(kAgentMetricsPort) + "\"\n";
  conf += kLocalnetHaTiming;
  return atomic_write_file(data_dir / "ha.conf", conf);
}

}  // namespace

Result<Manifest> init_localnet(const InitParams& params) {
  CC_TRY_ASSIGN(const Plan plan, make_plan(params.topology));
  if (params.chain_id < 1 || params.chain_id > 9223372036854775807ULL) {
    return make_error("localnet.bad_args", "--chain-id must be 1..9223372036854775807");
  }
  std::error_code ec;
  fs::path dir = fs::absolute(params.dir, ec).lexically_normal();
  if (ec || params.dir.empty()) {
    return make_error("localnet.bad_args",
                      "--dir \"" + params.dir.string() + "\": not a usable path");
  }
  if (!dir.has_filename()) dir = dir.parent_path();
  // Every DATA_DIR's control socket must fit a Unix socket path; say so before writing anything.
  for (const auto& n : plan.nodes) {
    const fs::path sock = node::control_socket_path(dir / "nodes" / n.name);
    if (sock.native().size() > node::kMaxUnixSocketPathBytes) {
      return make_error("localnet.path_too_long",
                        "--dir " + dir.string() + " is too long: node " + n.name +
                            "'s control socket " + sock.string() + " would be " +
                            std::to_string(sock.native().size()) + " bytes (Unix sockets allow " +
                            std::to_string(node::kMaxUnixSocketPathBytes) +
                            "); use a shorter directory, e.g. under /tmp");
    }
  }
  CC_TRY_STATUS(init_check_dir(dir));

  Manifest m;
  m.dir = dir;
  m.chain_id = params.chain_id;
  m.network_id = params.chain_id;
  m.genesis = dir / "genesis.json";
  m.accounts = dir / "accounts.json";

  // Keys first: every node's kni URL is needed by its peers' files.
  std::vector<crypto::NodeIdentity> ids;
  for (const auto& n : plan.nodes) {
    ids.push_back(crypto::identity_of(crypto::PrivateKey::generate()));
    const fs::path data_dir = dir / "nodes" / n.name;
    CC_TRY_STATUS(ensure_dir(node::klay_dir(data_dir)));
    CC_TRY_STATUS(ensure_dir(node::logs_dir(data_dir)));
    CC_TRY_STATUS(crypto::save_nodekey_file(node::nodekey_path(data_dir), ids.back().key));
  }

  chain::Genesis g;
  g.config.chain_id = params.chain_id;
  g.config.istanbul.block_period = 1;
  g.timestamp = unix_seconds_now();
  for (std::size_t i : plan.council()) g.council.push_back(ids[i].address);
  std::sort(g.council.begin(), g.council.end());
  json accounts = json::array();
  for (std::size_t i = 0; i < params.accounts; ++i) {
    const auto key = crypto::PrivateKey::generate();
    const Address a = crypto::address_of(key);
    g.alloc[a] = chain::test_account_balance();
    accounts.push_back(
        {{"address", crypto::to_checksum_hex(a)}, {"privateKey", to_hex0x(key.bytes())}});
  }
  CC_TRY_STATUS(atomic_write_file(m.genesis, chain::genesis_to_json(g)));
  // Private keys of test accounts: readable by the owner only, like the nodekeys.
  CC_TRY_STATUS(atomic_write_file(m.accounts, accounts.dump(2) + "\n", 0600));
  for (const auto& a : g.council) m.council.push_back(crypto::to_checksum_hex(a));

  std::optional<HaCell> ha_cell;
  if (params.topology.standby) {
    const std::size_t active = *params.topology.standby - 1;  // cn-C is the C-th node
    CC_TRY_ASSIGN(ha_cell, init_ha_cell(dir, plan.nodes[active], ids[active]));
  }

  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlannedNode& n = plan.nodes[i];
    const Peering& peers = plan.peering[i];
    const fs::path data_dir = dir / "nodes" / n.name;
    const node::Role role = init_node_role(n.role);

    node::NodeConfig cfg = node::default_node_config(role);
    cfg.network_id = params.chain_id;
    // Relative to the conf file's directory (= DATA_DIR), so D can be moved as a whole.
    cfg.genesis = "../../genesis.json";
    cfg.data_dir = ".";
    cfg.log_dir = "logs";
    cfg.port = kP2pPort;
    cfg.subport = kP2pPort + 1;
    cfg.public_ip = n.ip;
    // An HA host serves RPC and metrics on its own address: the cell's address moves.
    const std::string service_ip = n.ha_host_ip.empty() ? n.ip : n.ha_host_ip;
    cfg.rpc_enable = true;
    cfg.rpc_addr = service_ip;
    cfg.rpc_port = kRpcPort;
    cfg.rpc_api = {"kaia", "klay", "eth", "net", "web3", "admin", "istanbul"};
    cfg.metrics = true;
    cfg.prometheus = true;
    cfg.prometheus_port = kMetricsPort;
    init_set_prometheus_addr(cfg, service_ip);
    cfg.auto_restart = false;
    if (n.role == NodeRole::cn) {
      for (std::size_t j : peers.cn_allowlist) cfg.cn_allowlist.push_back(plan.nodes[j].ip);
      for (std::size_t j : peers.proxy_nodes) {
        cfg.proxy_nodes.push_back(init_kni(ids[j], plan.nodes[j]));
      }
    }
    const fs::path conf = data_dir / std::string(node::conf_file_name(role));
    CC_TRY_STATUS(atomic_write_file(conf, node::to_conf_text(cfg)));
    json statics = json::array();
    for (std::size_t j : peers.static_nodes) statics.push_back(init_kni(ids[j], plan.nodes[j]));
    CC_TRY_STATUS(atomic_write_file(node::static_nodes_path(data_dir), statics.dump(2) + "\n"));

    // The conf must load back exactly as meant: a node that cannot start is found here, not
    // when the whole network is coming up.
    CC_TRY_ASSIGN(const node::NodeConfig loaded, node::load_node_config(role, conf));
    if (loaded.data_dir != data_dir || loaded.public_ip != n.ip) {
      return make_error("localnet.conf_mismatch",
                        conf.string() + " loads back with DATA_DIR " + loaded.data_dir.string() +
                            " and PUBLIC_IP " + loaded.public_ip + "; expected " +
                            data_dir.string() + " and " + n.ip + " (a bug in localnet init)");
    }

    NodeEntry e;
    e.name = n.name;
    e.cell = n.cell;
    e.role = n.role;
    e.standby = n.standby;
    e.ip = n.ip;
    e.p2p_port = kP2pPort;
    e.rpc_url = "http://" + service_ip + ":" + std::to_string(kRpcPort);
    e.metrics_url = "http://" + service_ip + ":" + std::to_string(kMetricsPort) + "/metrics";
    e.data_dir = data_dir;
    e.conf = conf;
    e.log = loaded.log_dir / kNodeLogName;
    e.address = crypto::to_checksum_hex(ids[i].address);
    e.node_id = to_hex(ids[i].node_id);
    e.kni = init_kni(ids[i], n);
    e.auto_restart = loaded.auto_restart;
    if (ha_cell && n.role == NodeRole::cn && n.cell == ha_cell->cell) {
      // The agent runs this node (and the supervisor restarts the agent, as systemd would).
      const bool active = !n.standby;
      e.host_ip = active ? n.ha_host_ip : n.ip;
      CC_TRY_STATUS(init_ha_host(*ha_cell, data_dir, n.name, e.host_ip, active,
                                 active ? crypto::PrivateKey::generate() : ids[i].key));
      e.ha_conf = data_dir / "ha.conf";
      e.ha_log = loaded.log_dir / "agent.log";
      e.log = data_dir / "ha" / "node.log";
      e.auto_restart = true;
    }
    m.nodes.push_back(std::move(e));
  }
  CC_TRY_STATUS(atomic_write_file(manifest_path(dir), manifest_to_json(m)));
  return m;
}

}  // namespace cc::localnet
