// node/propagation.h — owns who gets what when a node learns a new block or transaction: Kaia's
// Core Cell topology rules as pure functions (no I/O, no state). A CN pushes whole blocks to
// CNs and its PNs; a PN pushes to PNs and ENs; every node announces the hash to the other peers
// that lack the block (they fetch it if they want it). Transactions flow PN <-> CN, PN <-> PN,
// CN <-> CN (every council CN may propose next) and EN -> PN.
#pragma once

#include <cstdint>
#include <vector>

#include "node/config.h"
#include "p2p/wire.h"

namespace cc::node {

struct PropagationPeer {
  std::uint64_t id = 0;  // the transport's ConnId
  p2p::NodeType type = p2p::NodeType::kCN;
  bool knows_block = false;  // it sent or announced the block, or we already sent it
};

struct PropagationPlan {
  std::vector<std::uint64_t> push;      // send NewBlock
  std::vector<std::uint64_t> announce;  // send NewBlockHashes
};

// The plan for a block this node just imported (or produced).
[[nodiscard]] PropagationPlan plan_block_propagation(Role self,
                                                     const std::vector<PropagationPeer>& peers);

// Whether a node of role `self` relays transactions to a peer of type `peer`.
[[nodiscard]] bool relays_transactions_to(Role self, p2p::NodeType peer);

}  // namespace cc::node
