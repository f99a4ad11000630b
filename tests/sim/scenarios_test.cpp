// Named simulator scenarios: each injects one fault that broke real IBFT deployments (kaia-facts
// "Known IBFT pitfalls") or that HA failover can produce, and checks agreement, validity,
// SIGN-1 and liveness.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "simulator.h"

namespace cc::sim {
namespace {

using consensus::Message;
using consensus::MessageCode;

void expect_clean(const Simulation& sim) {
  const auto v = sim.check();
  EXPECT_TRUE(v.empty()) << v.size() << " violations, first: " << v.front();
}

// A council of N where quorum (ceil(2N/3)) differs from 2F+1: split 3/3 (N=6), neither half may
// commit on its own; with 2F+1 = 3 as the quorum each half would.
TEST(SimScenario, SixSplitThreeAndThreeCommitsNothingUntilHealed) {
  SimConfig cfg;
  cfg.validators = 6;
  cfg.seed = 61;
  Simulation sim(cfg);
  sim.partition({{0, 1, 2}, {3, 4, 5}}, 3000, 15000);
  sim.start();
  sim.run_until(3200);  // in-flight messages of the last height may still land
  sim.run_until(4500);
  const std::uint64_t before = sim.max_honest_head();
  sim.run_until(15000);
  EXPECT_EQ(sim.max_honest_head(), before) << "a half of 3 committed on its own";
  EXPECT_TRUE(sim.run_until_heads(before + 3, 60000)) << "no progress after the heal";
  expect_clean(sim);
}

// N=5 (quorum 4, 2F+1 = 3): a Byzantine member sits in both halves of a 2|2 split and
// equivocates, so each half sees 3 votes for its own block — still no quorum, no fork.
TEST(SimScenario, FiveWithEquivocatorBridgingASplitDoesNotFork) {
  SimConfig cfg;
  cfg.validators = 5;
  cfg.seed = 52;
  Simulation sim(cfg);
  sim.make_byzantine(2, kEquivocateProposals | kEquivocateVotes);
  sim.partition({{0, 1, 2}, {2, 3, 4}}, 2000, 14000);
  sim.start();
  sim.run_until(3000);
  const std::uint64_t before = sim.max_honest_head();
  sim.run_until(14000);
  EXPECT_EQ(sim.max_honest_head(), before);
  EXPECT_TRUE(sim.run_until_heads(before + 4, 80000));
  EXPECT_GT(sim.stats().byzantine_forgeries, 0u);
  expect_clean(sim);
}

// Node 0 prepares X at round 0, node 1 prepares Y at round 1 (each alone holds a certificate):
// the chain must not halt. QBFT re-proposes the highest prepared block the quorum reports.
TEST(SimScenario, NodesLockedOnDifferentBlocksDoNotHaltTheChain) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 4;
  Simulation sim(cfg);
  sim.set_drop_filter([](std::size_t from, std::size_t to, const Message& m) {
    if (consensus::height_of(m) != 1) return false;
    const auto r = consensus::round_of(m);
    switch (consensus::code_of(m)) {
      case MessageCode::kPrepare:
        return (r == 0 && to != 0) || (r == 1 && to != 1);
      case MessageCode::kCommit:
        return r <= 1;
      case MessageCode::kRoundChange:
        return r == 1 && from == 0 && to == 1;  // round 1's proposer never hears of X
      default:
        return false;
    }
  });
  std::optional<consensus::PreparedRef> locked0, locked1;
  sim.set_send_hook([&](std::size_t from, const Message& m) {
    const auto* rc = std::get_if<consensus::RoundChange>(&m);
    if (rc == nullptr || rc->height != 1 || rc->round != 2 || !rc->prepared) return;
    if (from == 0) locked0 = rc->prepared;
    if (from == 1) locked1 = rc->prepared;
  });
  sim.start();
  ASSERT_TRUE(sim.run_until_heads(3, 60000));
  ASSERT_TRUE(locked0.has_value());
  ASSERT_TRUE(locked1.has_value());
  EXPECT_EQ(locked0->round, 0u);
  EXPECT_EQ(locked1->round, 1u);
  EXPECT_NE(locked0->block_hash, locked1->block_hash);
  const Hash32 decided = sim.block_at(1)->hash();
  EXPECT_TRUE(decided == locked0->block_hash || decided == locked1->block_hash);
  EXPECT_GE(sim.stats().max_decided_round, 2u);
  expect_clean(sim);
}

// A node cut off for several rounds syncs the blocks it missed; its pending round timers then
// fire for a height it has imported and must do nothing (the oracle flags any message for an
// imported height).
TEST(SimScenario, StaleTimerAfterImportDoesNotAct) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 7;
  Simulation sim(cfg);
  sim.partition({{0, 1, 2}, {3}}, 1500, 9000);
  sim.start();
  sim.run_until(9000);
  EXPECT_LT(sim.head(3), sim.max_honest_head());
  ASSERT_TRUE(sim.run_until_heads(sim.max_honest_head() + 2, 40000));
  EXPECT_GT(sim.stats().synced_blocks, 0u);
  EXPECT_GT(sim.stats().notes.count("ibft.stale_timer"), 0u);
  expect_clean(sim);
}

// A Byzantine member of a council of 3 (F = 0, so one round change above us is enough to pull a
// node up) sends round changes for rounds 40+ built on a random parent: they are refused and
// never move an honest node.
TEST(SimScenario, RoundChangeWithWrongPreviousHashIsRejected) {
  SimConfig cfg;
  cfg.validators = 3;
  cfg.seed = 33;
  Simulation sim(cfg);
  sim.make_byzantine(2, kWrongParentRoundChanges);
  sim.start();
  ASSERT_TRUE(sim.run_until_heads(10, 30000));
  EXPECT_GT(sim.stats().notes.at("ibft.wrong_parent"), 0u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_LT(sim.max_round(i), 40u) << "node " << i;
  expect_clean(sim);
}

class SmallCouncil : public ::testing::TestWithParam<std::size_t> {};

// Councils of 2 and 3 need every member (quorum = N): lossy links, a partition and a crash
// with restart must delay them, never fork them.
TEST_P(SmallCouncil, SurvivesLossPartitionAndRestart) {
  SimConfig cfg;
  cfg.validators = GetParam();
  cfg.seed = 200 + GetParam();
  cfg.link = LinkPolicy{2, 60, 0.2, 0.1};
  cfg.faults_until_ms = 12000;
  cfg.txs_per_block = 1;
  cfg.execute_proposals = true;
  Simulation sim(cfg);
  sim.partition({{0}, {1, 2}}, 3000, 6000);
  sim.crash(1, 7000);
  sim.restart(1, 8500);
  sim.start();
  sim.run_until(12000);
  const std::uint64_t at_heal = sim.max_honest_head();
  EXPECT_TRUE(sim.run_until_heads(at_heal + 3, 60000));
  expect_clean(sim);
}

INSTANTIATE_TEST_SUITE_P(TwoAndThree, SmallCouncil, ::testing::Values(2u, 3u));

// The proposer of height 3 crashes right after sending its proposal and restarts mid-height with
// a fresh Core but the same signer state: the block it builds again differs (another timestamp),
// so its signer refuses the second seal; nothing conflicting is ever signed and the chain goes on.
TEST(SimScenario, ValidatorRestartMidHeightNeverSignsAConflictingMessage) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 43;
  Simulation sim(cfg);
  std::optional<std::size_t> victim;
  sim.set_send_hook([&](std::size_t from, const Message& m) {
    if (victim || consensus::code_of(m) != MessageCode::kPreprepare ||
        consensus::height_of(m) != 3) {
      return;
    }
    victim = from;
    sim.crash(from, sim.now_rel() + 1);
    sim.restart(from, sim.now_rel() + 333);
  });
  sim.start();
  ASSERT_TRUE(sim.run_until_heads(8, 60000));
  ASSERT_TRUE(victim.has_value());
  EXPECT_GE(sim.signer(*victim).refusals(), 1u);
  expect_clean(sim);
}

// The same crash with the restart policy the HA layer uses: a restarted core signs nothing at a
// height its signer already signed at, so there is nothing to refuse.
TEST(SimScenario, SafeRestartSkipsTheInterruptedHeight) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 44;
  cfg.safe_restart = true;
  Simulation sim(cfg);
  std::optional<std::size_t> victim;
  std::uint64_t restarted_at = 0;
  sim.set_send_hook([&](std::size_t from, const Message& m) {
    if (victim || consensus::code_of(m) != MessageCode::kPreprepare ||
        consensus::height_of(m) != 3) {
      return;
    }
    victim = from;
    restarted_at = sim.now_rel() + 333;
    sim.crash(from, sim.now_rel() + 1);
    sim.restart(from, restarted_at);
  });
  sim.start();
  ASSERT_TRUE(sim.run_until_heads(8, 60000));
  ASSERT_TRUE(victim.has_value());
  EXPECT_EQ(sim.signer(*victim).refusals(), 0u);
  EXPECT_GT(sim.stats().notes.count("ibft.not_signing"), 0u);
  expect_clean(sim);
}

// Crashes the proposer of height 3 one millisecond after it sends its proposal and brings it
// back 333 ms later through `restart(node)`; returns where the victim's index will be written.
std::shared_ptr<std::optional<std::size_t>> crash_height_3_proposer(
    Simulation& sim, std::function<void(std::size_t node, std::uint64_t at_rel)> restart) {
  auto victim = std::make_shared<std::optional<std::size_t>>();
  sim.set_send_hook([&sim, victim, restart](std::size_t from, const Message& m) {
    if (*victim || consensus::code_of(m) != MessageCode::kPreprepare ||
        consensus::height_of(m) != 3) {
      return;
    }
    *victim = from;
    sim.crash(from, sim.now_rel() + 1);
    restart(from, sim.now_rel() + 333);
  });
  return victim;
}

// The proposer of height 3 crashes right after its proposal and its sign-state file is deleted
// before it restarts. Its guard signs nothing until the chain has moved past the highest height
// in its journal (3): no SIGN-1 violation, the other three carry height 3, and it signs again
// above it.
TEST(SimScenario, DeletedSignStateWaitsUntilTheChainPassesTheJournal) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 43;
  Simulation sim(cfg);
  auto victim_slot = crash_height_3_proposer(sim, [&sim](std::size_t node, std::uint64_t at) {
    sim.restart_without_sign_state(node, at, /*ignore_journal=*/false);
  });
  sim.start();
  ASSERT_TRUE(sim.run_until_heads(8, 60000));
  const auto& victim = *victim_slot;
  ASSERT_TRUE(victim.has_value());
  const Address who = sim.signer(*victim).address();
  std::size_t above_3 = 0;
  for (const auto& r : sim.journal()) {
    if (r.signer == who && r.height > 3) ++above_3;
  }
  EXPECT_GT(above_3, 0u) << "the victim never signed again";
  EXPECT_EQ(sim.signer(*victim).refusals(), 0u) << "the Core should not even ask below the floor";
  EXPECT_GT(sim.stats().notes.count("ibft.not_signing"), 0u);
  expect_clean(sim);
}

// The same crash with the operator's override (--unsafe-ignore-sign-journal): the restarted
// proposer signs from the block above its head, i.e. height 3 again, and builds another
// proposal there. The SIGN-1 oracle sees the double signature: this is what the flag risks.
TEST(SimScenario, IgnoringTheJournalAfterALostSignStateDoubleSigns) {
  SimConfig cfg;
  cfg.validators = 4;
  cfg.seed = 43;
  Simulation sim(cfg);
  auto victim_slot = crash_height_3_proposer(sim, [&sim](std::size_t node, std::uint64_t at) {
    sim.restart_without_sign_state(node, at, /*ignore_journal=*/true);
  });
  sim.start();
  sim.run_until_heads(8, 60000);
  ASSERT_TRUE(victim_slot->has_value());
  const auto violations = sim.check();
  ASSERT_FALSE(violations.empty()) << "the override signed nothing twice in this schedule";
  EXPECT_NE(violations.front().find("SIGN-1"), std::string::npos) << violations.front();
}

// Equivocating members (F of them) on lossy links: no fork, the chain grows.
TEST(SimScenario, ByzantineEquivocatorsCannotForkTheChain) {
  for (const std::size_t n : {4u, 7u}) {
    SimConfig cfg;
    cfg.validators = n;
    cfg.seed = 900 + n;
    cfg.link = LinkPolicy{2, 50, 0.1, 0.1};
    cfg.faults_until_ms = 8000;
    Simulation sim(cfg);
    for (std::size_t b = 0; b < sim.council().max_faulty(); ++b) {
      sim.make_byzantine(b * 3 + 1, kEquivocateProposals | kEquivocateVotes);
    }
    sim.start();
    sim.run_until(8000);
    EXPECT_TRUE(sim.run_until_heads(sim.max_honest_head() + 3, 80000)) << "N=" << n;
    EXPECT_GT(sim.stats().byzantine_forgeries, 0u);
    expect_clean(sim);
  }
}

TEST(SimScenario, SameSeedReplaysTheSameChain) {
  auto run = [] {
    SimConfig cfg;
    cfg.validators = 5;
    cfg.seed = 77;
    cfg.link = LinkPolicy{1, 80, 0.15, 0.1};
    cfg.faults_until_ms = 6000;
    Simulation sim(cfg);
    sim.crash(3, 2000);
    sim.restart(3, 4000);
    sim.start();
    sim.run_until(12000);
    std::vector<Hash32> hashes;
    for (const auto& b : sim.chain_of(0)) hashes.push_back(b.hash());
    return std::make_pair(hashes, sim.stats().sent);
  };
  const auto a = run();
  const auto b = run();
  EXPECT_GT(a.first.size(), 3u);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace cc::sim
