#include "node/propagation.h"

namespace cc::node {
using p2p::NodeType;

namespace {

bool pushes_blocks_to(Role self, NodeType peer) {
  switch (self) {
    case Role::cn:
      return peer == NodeType::kCN || peer == NodeType::kPN;
    case Role::pn:
      return peer == NodeType::kPN || peer == NodeType::kEN;
    case Role::en:
      return false;
  }
  return false;
}

}  // namespace

PropagationPlan plan_block_propagation(Role self, const std::vector<PropagationPeer>& peers) {
  PropagationPlan plan;
  for (const auto& peer : peers) {
    if (peer.knows_block) continue;
    (pushes_blocks_to(self, peer.type) ? plan.push : plan.announce).push_back(peer.id);
  }
  return plan;
}

bool relays_transactions_to(Role self, NodeType peer) {
  // CNs and PNs both relay among CNs and PNs; an EN only hands transactions to PNs.
  if (self == Role::en) return peer == NodeType::kPN;
  return peer == NodeType::kCN || peer == NodeType::kPN;
}

}  // namespace cc::node
