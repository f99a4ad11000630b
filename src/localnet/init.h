// localnet/init.h — owns `corecell localnet init`: turning a topology plan (localnet/topology.h)
// into a directory a whole network runs from, with fresh keys:
//   D/network.json                 the manifest (localnet/manifest.h)
//   D/genesis.json                  council = the cells' CNs, funded test accounts, 1 s blocks
//   D/accounts.json                 [{"address":"0x..","privateKey":"0x.."}] (mode 0600)
//   D/nodes/<name>/                 the node's DATA_DIR:
//     kcnd.conf|kpnd.conf|kend.conf   written by node::to_conf_text, then loaded back as a check
//     klay/nodekey                    Kaia format (crypto/nodekey.h)
//     static-nodes.json               kni URLs of the peers it dials
//     logs/node.log                   the node's output (written by the supervisor)
//   with --standby C, the two CN hosts of cell C run HA agents (ha/agent.h) on a local lease:
//   D/ha/cell-C/validator.backup    the validator key's encrypted backup (mode 0600)
//   D/ha/cell-C/passphrase          its passphrase (mode 0600); lease.json appears at run time
//   D/nodes/<cn host>/ha.conf       the agent's conf (loopback IP mover, 2 s lease)
//   D/nodes/<cn host>/ha/           standby.nodekey (the host's own key), node.log, events.jsonl
//   D/nodes/<cn host>/logs/agent.log  the agent's output
// Paths inside the conf files are relative to the conf (DATA_DIR=".", GENESIS="../../genesis.json")
// so D can be moved. It never overwrites anything: a non-empty D is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "localnet/manifest.h"
#include "localnet/topology.h"
#include "util/result.h"

namespace cc::localnet {

inline constexpr std::uint64_t kDefaultChainId = 8888;  // docs/CONFIGURATION.md's example

struct InitParams {
  TopologyParams topology;
  std::filesystem::path dir;
  std::uint64_t chain_id = kDefaultChainId;  // also NETWORK_ID
  std::size_t accounts = 10;                 // funded test accounts
};

// The file name of a node's log inside its LOG_DIR.
inline constexpr const char* kNodeLogName = "node.log";

// Writes everything above and returns the manifest (paths absolute). Errors name the flag or
// file: bad topology, D not empty or not creatable, a DATA_DIR whose control socket path would
// be too long, a conf that does not load back.
[[nodiscard]] Result<Manifest> init_localnet(const InitParams& params);

}  // namespace cc::localnet
