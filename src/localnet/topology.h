// localnet/topology.h — owns the shape of a local network as a pure function of its parameters:
// which nodes exist (names, cells, roles, the standby), which loopback address each one gets,
// and who dials whom and who admits whom (Kaia's "who connects to whom"):
//   CN   dials the other council CNs; admits CNs from their IPs (CN_ALLOWLIST) and its own PNs
//        (PROXY_NODES, which it also dials);
//   standby CN of cell C   its own key (not in the council) and its own address; the same
//        CN_ALLOWLIST, PROXY_NODES and static nodes as cell C's CN (the guide: the same config
//        but the nodekey); while its key is not a council member the node dials only the PNs.
//        Cell C's two CN hosts run HA agents (ha/agent.h): cell C's CN address (`ip`) is the
//        cell's public address, bound only by the active; its host also gets an address of its
//        own (`ha_host_ip`, allocated after every node) for the times it is the standby;
//   PN   dials the other cells' PNs (its own CN dials it);
//   EN   dials up to kEnPeerLimit PNs, spread over the cells.
// It never touches keys, files or sockets (localnet/init.h turns a plan into files), so the
// topology is unit-tested without running anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace cc::localnet {

// Kaia's default ports; every node has its own loopback address, so all of them use the same.
inline constexpr std::uint16_t kP2pPort = 32323;
inline constexpr std::uint16_t kRpcPort = 8551;
inline constexpr std::uint16_t kMetricsPort = 61001;
// An EN's default MAXCONNECTIONS is 10; a few PNs are enough for it to follow the chain.
inline constexpr std::size_t kEnPeerLimit = 4;

struct TopologyParams {
  std::size_t cells = 4;               // council size N (one CN per cell), >= 1
  std::size_t pns_per_cell = 1;        // K, >= 1 (a standby syncs only through its cell's PNs)
  std::optional<std::size_t> standby;  // cell (1-based) that gets a standby CN
  std::size_t ens = 1;                 // E, >= 0
  std::string ip_prefix = "127.0.0";   // first three octets of a 127.x.y.z address
  unsigned first_host = 10;            // last octet of the first node; the rest follow
};

enum class NodeRole { cn, pn, en };
[[nodiscard]] const char* role_text(NodeRole role);  // "cn", "pn", "en"

struct PlannedNode {
  std::string name;      // cn-1, cn-1-standby, pn-1-1, en-1
  std::size_t cell = 0;  // 1-based; 0 for ENs (they belong to no cell)
  NodeRole role = NodeRole::cn;
  bool standby = false;
  std::string ip;
  // The HA host address of the standby cell's CN (its `ip` is the cell's public address); empty
  // for every other node.
  std::string ha_host_ip;
};

// Who this node dials and admits, by index into Plan::nodes.
struct Peering {
  std::vector<std::size_t> static_nodes;  // static-nodes.json
  std::vector<std::size_t> proxy_nodes;   // PROXY_NODES (CNs only): dialed and admitted
  std::vector<std::size_t> cn_allowlist;  // CN_ALLOWLIST (CNs only): these nodes' IPs
};

struct Plan {
  std::vector<PlannedNode> nodes;  // cn-1..cn-N, the standby, pn-1-1..pn-N-K, en-1..en-E
  std::vector<Peering> peering;    // parallel to nodes

  [[nodiscard]] std::vector<std::size_t> council() const;  // indices of cn-1..cn-N
  [[nodiscard]] std::optional<std::size_t> find(const std::string& name) const;
};

// Checks the parameters (cells >= 1, pns >= 1, standby cell in 1..cells, a 127.x.y prefix,
// every address within .1-.254) with errors naming the flag and the fix.
[[nodiscard]] Status validate(const TopologyParams& params);

// The nodes, their addresses and their peering; fails like validate().
[[nodiscard]] Result<Plan> make_plan(const TopologyParams& params);

}  // namespace cc::localnet
