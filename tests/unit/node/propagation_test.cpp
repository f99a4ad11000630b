// Kaia's Core Cell topology for blocks and transactions: a CN pushes to CNs and its PNs, a PN to
// PNs and ENs, everyone else gets the hash; peers that have the block get nothing.
#include "node/propagation.h"

#include <gtest/gtest.h>

namespace cc::node {
namespace {
using p2p::NodeType;

std::vector<PropagationPeer> one_peer_of_each_type() {
  return {{1, NodeType::kCN, false},
          {2, NodeType::kPN, false},
          {3, NodeType::kEN, false},
          {4, NodeType::kBN, false}};
}

TEST(Propagation, ConsensusNodePushesToConsensusAndProxyNodesAndAnnouncesToOthers) {
  auto plan = plan_block_propagation(Role::cn, one_peer_of_each_type());
  EXPECT_EQ(plan.push, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(plan.announce, (std::vector<std::uint64_t>{3, 4}));
}

TEST(Propagation, ProxyNodePushesToProxyAndEndpointNodesAndAnnouncesToConsensusNodes) {
  auto plan = plan_block_propagation(Role::pn, one_peer_of_each_type());
  EXPECT_EQ(plan.push, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(plan.announce, (std::vector<std::uint64_t>{1, 4}));
}

TEST(Propagation, EndpointNodeOnlyAnnounces) {
  auto plan = plan_block_propagation(Role::en, one_peer_of_each_type());
  EXPECT_TRUE(plan.push.empty());
  EXPECT_EQ(plan.announce, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

TEST(Propagation, PeersThatHaveTheBlockGetNothing) {
  auto peers = one_peer_of_each_type();
  for (auto& p : peers) p.knows_block = true;
  peers[1].knows_block = false;
  auto plan = plan_block_propagation(Role::cn, peers);
  EXPECT_EQ(plan.push, (std::vector<std::uint64_t>{2}));
  EXPECT_TRUE(plan.announce.empty());
}

TEST(Propagation, TransactionsFlowBetweenConsensusAndProxyNodesAndFromEndpointsToProxies) {
  EXPECT_TRUE(relays_transactions_to(Role::cn, NodeType::kCN));
  EXPECT_TRUE(relays_transactions_to(Role::cn, NodeType::kPN));
  EXPECT_FALSE(relays_transactions_to(Role::cn, NodeType::kEN));
  EXPECT_TRUE(relays_transactions_to(Role::pn, NodeType::kCN));
  EXPECT_TRUE(relays_transactions_to(Role::pn, NodeType::kPN));
  EXPECT_FALSE(relays_transactions_to(Role::pn, NodeType::kEN));
  EXPECT_TRUE(relays_transactions_to(Role::en, NodeType::kPN));
  EXPECT_FALSE(relays_transactions_to(Role::en, NodeType::kEN));
  EXPECT_FALSE(relays_transactions_to(Role::en, NodeType::kCN));
}

}  // namespace
}  // namespace cc::node
