// The consensus core driven by hand: one node of a council, every other member's message signed
// with that member's real key, every action inspected (decoded broadcasts, timers, commits).
#include "consensus/core.h"

#include <gtest/gtest.h>

#include "chain/verify.h"
#include "consensus_fixture.h"

namespace cc::consensus {
namespace {

using testing::all_of;
using testing::append;
using testing::broadcasts;
using testing::built;
using testing::has_note;
using testing::KeySigner;
using testing::kGenesisMs;
using testing::TestCouncil;

constexpr std::uint64_t kNow = kGenesisMs + 5000;  // well past genesis + block period

// One node under test.
struct Node {
  Node(const TestCouncil& c, std::size_t self) : signer(c.key(self)) {
    auto made = Core::create(c.config(self), signer);
    EXPECT_TRUE(made.ok());
    core.emplace(std::move(made).value());
  }
  Node(const TestCouncil& c, std::size_t self, Config cfg) : signer(c.key(self)) {
    auto made = Core::create(std::move(cfg), signer);
    EXPECT_TRUE(made.ok());
    core.emplace(std::move(made).value());
  }
  Actions feed(const Message& m, std::uint64_t now = kNow) { return core->on_message(m, now); }

  KeySigner signer;
  std::optional<Core> core;
};

std::optional<Address> no_parent_proposer() { return std::nullopt; }

TEST(RoundTimeoutPolicyTest, GrowsAsBasePlusPowerOfTwoAndSaturates) {
  RoundTimeoutPolicy p{10'000, 1'000, 24ull * 3600 * 1000};
  EXPECT_EQ(p.timeout_ms(0), 10'000u);
  EXPECT_EQ(p.timeout_ms(1), 12'000u);
  EXPECT_EQ(p.timeout_ms(3), 18'000u);
  EXPECT_EQ(p.timeout_ms(255), 24ull * 3600 * 1000);
}

TEST(CoreTest, RefusesASignerForAnotherAddress) {
  TestCouncil c(4);
  KeySigner other(c.key(1));
  auto made = Core::create(c.config(0), other);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, "ibft.signer_mismatch");
}

TEST(CoreTest, CouncilOfOneProducesAVerifiableBlock) {
  TestCouncil c(1);
  Node n(c, 0);
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto builds = all_of<BuildProposal>(a);
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].height, 1u);
  EXPECT_EQ(builds[0].time, kNow / 1000);
  auto b = n.core->on_proposal_built(built(builds[0]), kNow);
  const auto commits = all_of<CommitBlock>(b);
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_EQ(commits[0].committers, std::vector<Address>{c.addr(0)});
  auto v = chain::verify_header(commits[0].block.header, &c.genesis.header, std::nullopt, c.council,
                                chain::VerifyParams{1, kNow / 1000});
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  EXPECT_EQ(broadcasts<Preprepare>(b).size(), 1u);
  EXPECT_EQ(broadcasts<Prepare>(b).size(), 1u);
  EXPECT_EQ(broadcasts<Commit>(b).size(), 1u);
  ASSERT_EQ(n.signer.requests.size(), 4u);
  EXPECT_EQ(n.signer.requests[0].kind, SignKind::kSeal);
  EXPECT_EQ(n.signer.requests[1].kind, SignKind::kPreprepare);
  EXPECT_TRUE(n.core->decided());
}

TEST(CoreTest, ProposerWaitsForTheBlockPeriod) {
  TestCouncil c(1);
  Node n(c, 0);
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kGenesisMs + 200);
  EXPECT_TRUE(all_of<BuildProposal>(a).empty());
  bool scheduled = false;
  for (const auto& t : all_of<ScheduleTimer>(a)) {
    if (t.timer.kind == TimerKind::kProposeAt) {
      scheduled = true;
      EXPECT_EQ(t.at_ms, kGenesisMs + 1000);
    }
  }
  ASSERT_TRUE(scheduled);
  auto b = n.core->on_timer(TimerEvent{1, 0, TimerKind::kProposeAt}, kGenesisMs + 1000);
  const auto builds = all_of<BuildProposal>(b);
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].time, chain::kTestGenesisTime + 1);
}

TEST(CoreTest, ProposerOfFourCommitsWithHandFedVotes) {
  TestCouncil c(4);
  Node n(c, 0);  // proposer of height 1, round 0
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  ASSERT_EQ(all_of<BuildProposal>(a).size(), 1u);
  auto b = n.core->on_proposal_built(built(all_of<BuildProposal>(a)[0]), kNow);
  const auto pps = broadcasts<Preprepare>(b);
  ASSERT_EQ(pps.size(), 1u);
  EXPECT_EQ(pps[0].sender, c.addr(0));
  const Hash32 hash = pps[0].proposal.hash();
  ASSERT_EQ(broadcasts<Prepare>(b).size(), 1u);
  EXPECT_EQ(broadcasts<Prepare>(b)[0].block_hash, hash);

  EXPECT_TRUE(broadcasts<Commit>(n.feed(c.prepare(1, 1, 0, hash))).empty());
  const auto commit = broadcasts<Commit>(n.feed(c.prepare(2, 1, 0, hash)));
  ASSERT_EQ(commit.size(), 1u);  // 3 prepares including its own = quorum of 4
  EXPECT_EQ(commit[0].block_hash, hash);
  ASSERT_TRUE(n.core->prepared().has_value());
  EXPECT_EQ(n.core->prepared()->certificate.size(), 3u);

  EXPECT_TRUE(all_of<CommitBlock>(n.feed(c.commit(1, 1, 0, hash))).empty());
  const auto done = all_of<CommitBlock>(n.feed(c.commit(3, 1, 0, hash)));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].block.hash(), hash);
  EXPECT_EQ(done[0].committers.size(), 3u);
  EXPECT_TRUE(chain::verify_header(done[0].block.header, &c.genesis.header, std::nullopt, c.council,
                                   chain::VerifyParams{1, kNow / 1000})
                  .ok());
}

TEST(CoreTest, ProposerWhoseSealWasRefusedProposesOnceTheSignerIsReady) {
  TestCouncil c(4);
  Node n(c, 0);  // proposer of height 1, round 0, without a signing permit yet
  n.signer.refuse_all = true;
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  ASSERT_EQ(all_of<BuildProposal>(a).size(), 1u);
  auto b = n.core->on_proposal_built(built(all_of<BuildProposal>(a)[0]), kNow);
  EXPECT_TRUE(broadcasts<Preprepare>(b).empty());  // the seal was refused: nothing left
  n.signer.refuse_all = false;
  auto c1 = n.core->on_signer_ready(kNow + 300);
  const auto builds = all_of<BuildProposal>(c1);
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].round, 0u);
  auto d = n.core->on_proposal_built(built(builds[0]), kNow + 300);
  ASSERT_EQ(broadcasts<Preprepare>(d).size(), 1u);
  // Once proposed, a second "ready" asks for nothing.
  EXPECT_TRUE(all_of<BuildProposal>(n.core->on_signer_ready(kNow + 400)).empty());
}

TEST(CoreTest, NonProposerAsksForNoBlockWhenTheSignerBecomesReady) {
  TestCouncil c(4);
  Node n(c, 1);
  n.signer.refuse_all = true;
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  n.signer.refuse_all = false;
  EXPECT_TRUE(all_of<BuildProposal>(n.core->on_signer_ready(kNow + 300)).empty());
}

TEST(CoreTest, RefusedPrepareAndCommitGoOutOnceTheSignerIsReady) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  n.signer.refuse_all = true;  // e.g. the height is above the permit's ceiling
  EXPECT_TRUE(broadcasts<Prepare>(n.feed(c.preprepare(0, 1, 0, x))).empty());
  n.signer.refuse_all = false;
  auto ready = n.core->on_signer_ready(kNow + 5);
  const auto prep = broadcasts<Prepare>(ready);
  ASSERT_EQ(prep.size(), 1u);
  EXPECT_EQ(prep[0].block_hash, x.hash());
  EXPECT_TRUE(broadcasts<Commit>(ready).empty());  // not prepared yet: no commit
  // Prepared with two more prepares, but the commit seal is refused: it follows the next ready.
  (void)n.feed(c.prepare(0, 1, 0, x.hash()));
  n.signer.refuse_all = true;
  EXPECT_TRUE(broadcasts<Commit>(n.feed(c.prepare(1, 1, 0, x.hash()))).empty());
  n.signer.refuse_all = false;
  auto again = n.core->on_signer_ready(kNow + 10);
  const auto commit = broadcasts<Commit>(again);
  ASSERT_EQ(commit.size(), 1u);
  EXPECT_EQ(commit[0].block_hash, x.hash());
  EXPECT_TRUE(broadcasts<Prepare>(again).empty());  // our prepare already went out
  // Nothing is sent twice.
  auto third = n.core->on_signer_ready(kNow + 20);
  EXPECT_TRUE(broadcasts<Prepare>(third).empty());
  EXPECT_TRUE(broadcasts<Commit>(third).empty());
  // And the block is decided with our seal among the quorum.
  EXPECT_TRUE(all_of<CommitBlock>(n.feed(c.commit(0, 1, 0, x.hash()))).empty());
  const auto done = all_of<CommitBlock>(n.feed(c.commit(1, 1, 0, x.hash())));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].committers.size(), 3u);
}

TEST(CoreTest, ValidatorPreparesAndCommitsAProposal) {
  TestCouncil c(4);
  Node n(c, 2);
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  EXPECT_TRUE(all_of<BuildProposal>(a).empty());
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  const auto prep = broadcasts<Prepare>(n.feed(c.preprepare(0, 1, 0, x)));
  ASSERT_EQ(prep.size(), 1u);
  EXPECT_EQ(prep[0].block_hash, x.hash());
  EXPECT_EQ(prep[0].sender, c.addr(2));
  (void)n.feed(c.prepare(0, 1, 0, x.hash()));
  ASSERT_EQ(broadcasts<Commit>(n.feed(c.prepare(1, 1, 0, x.hash()))).size(), 1u);
  (void)n.feed(c.commit(0, 1, 0, x.hash()));
  EXPECT_EQ(all_of<CommitBlock>(n.feed(c.commit(1, 1, 0, x.hash()))).size(), 1u);
}

class RejectsProposalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  }
  // The proposal is dropped: no prepare, a note with `code`.
  void expect_rejected(const Preprepare& pp, const std::string& code) {
    const auto a = n.feed(pp);
    EXPECT_TRUE(broadcasts<Prepare>(a).empty());
    EXPECT_TRUE(has_note(a, code)) << "expected note " << code;
  }
  TestCouncil c{4};
  Node n{c, 2};
};

TEST_F(RejectsProposalTest, FromSomeoneOtherThanTheRoundsProposer) {
  expect_rejected(c.preprepare(1, 1, 0, c.block(c.genesis.header, 1, 0)), "ibft.wrong_proposer");
}

TEST_F(RejectsProposalTest, MoreThanOneSecondInTheFuture) {
  const std::uint64_t ahead = kNow / 1000 + 2 - chain::kTestGenesisTime;
  expect_rejected(c.preprepare(0, 1, 0, c.block(c.genesis.header, 0, 0, ahead)),
                  "ibft.bad_proposal");
}

TEST_F(RejectsProposalTest, OnAnotherParent) {
  const chain::Block other_parent = c.block(c.genesis.header, 3, 3);
  chain::Block b = c.block(other_parent.header, 0, 0);
  b.header.number = 1;  // claims height 1 on a parent that is not block 0
  expect_rejected(c.preprepare(0, 1, 0, b), "ibft.bad_proposal");
}

TEST_F(RejectsProposalTest, FreshBlockRecordingAnotherRound) {
  // Sealed by round 1's proposer, so the header is self-consistent; the view is round 0.
  expect_rejected(c.preprepare(0, 1, 0, c.block(c.genesis.header, 1, 1)), "ibft.wrong_round");
}

TEST_F(RejectsProposalTest, WhoseTransactionsRootDoesNotMatch) {
  chain::Block b = c.block(c.genesis.header, 0, 0);
  b.header.transactions_root[0] ^= 1;
  auto x = *b.header.istanbul_extra();
  x.proposer_seal.clear();
  b.header.extra = chain::encode_extra(x);
  const auto seal = crypto::sign(c.key(0), *b.header.sig_hash());
  x.proposer_seal.assign(seal.begin(), seal.end());
  b.header.extra = chain::encode_extra(x);
  expect_rejected(c.preprepare(0, 1, 0, b), "ibft.bad_proposal");
}

TEST_F(RejectsProposalTest, RoundZeroWithAJustification) {
  const chain::Block b = c.block(c.genesis.header, 0, 0);
  const auto cert = c.prepares({0, 1, 2}, 1, 0, b.hash());
  expect_rejected(c.preprepare(0, 1, 0, b, {}, cert), "ibft.unexpected_certificate");
}

TEST(CoreTest, OwnersProposalCheckCanRejectAProposal) {
  TestCouncil c(4);
  Config cfg = c.config(2);
  cfg.check_proposal = [](const chain::Block&) -> Status {
    return make_error("state.root_mismatch", "stateRoot differs after execution");
  };
  Node n(c, 2, std::move(cfg));
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto a = n.feed(c.preprepare(0, 1, 0, c.block(c.genesis.header, 0, 0)));
  EXPECT_TRUE(broadcasts<Prepare>(a).empty());
  EXPECT_TRUE(has_note(a, "ibft.bad_proposal"));
}

TEST(CoreTest, PreparesFromOutsidersOrForAnotherBlockDoNotCount) {
  TestCouncil c(4);
  TestCouncil outsiders(4, 77);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  (void)n.feed(c.preprepare(0, 1, 0, x));
  (void)n.feed(outsiders.prepare(0, 1, 0, x.hash()));
  (void)n.feed(outsiders.prepare(1, 1, 0, x.hash()));
  (void)n.feed(c.prepare(0, 1, 0, c.genesis.header.hash()));  // another hash
  EXPECT_FALSE(n.core->prepared().has_value());
  ASSERT_EQ(broadcasts<Commit>(n.feed(c.prepare(1, 1, 0, x.hash()))).size(), 0u);
  ASSERT_EQ(broadcasts<Commit>(n.feed(c.prepare(3, 1, 0, x.hash()))).size(), 1u);
}

TEST(CoreTest, CommitSealsCountPerBlockAcrossRoundsButNotFromOutsiders) {
  TestCouncil c(4);
  TestCouncil outsiders(4, 77);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  (void)n.feed(c.preprepare(0, 1, 0, x));
  (void)n.feed(c.commit(0, 1, 0, x.hash()));
  (void)n.feed(outsiders.commit(1, 1, 0, x.hash()));
  EXPECT_TRUE(all_of<CommitBlock>(n.feed(c.commit(1, 1, 3, x.hash()))).empty());
  const auto done = all_of<CommitBlock>(n.feed(c.commit(3, 1, 0, x.hash())));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].committers.size(), 3u);
}

TEST(CoreTest, StaleTimersAreIgnored) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  for (const TimerEvent t :
       {TimerEvent{1, 1, TimerKind::kRoundTimeout}, TimerEvent{0, 0, TimerKind::kRoundTimeout},
        TimerEvent{2, 0, TimerKind::kRoundTimeout}}) {
    const auto a = n.core->on_timer(t, kNow + 100'000);
    EXPECT_TRUE(all_of<Broadcast>(a).empty());
    EXPECT_TRUE(all_of<ScheduleTimer>(a).empty());
    EXPECT_TRUE(has_note(a, "ibft.stale_timer"));
  }
  EXPECT_EQ(n.core->round(), 0u);
}

TEST(CoreTest, TimerOfAnImportedHeightDoesNothing) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  (void)n.core->on_block_committed_elsewhere(x.header, kNow);
  EXPECT_EQ(n.core->height(), 2u);
  const auto a = n.core->on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 60'000);
  EXPECT_TRUE(all_of<Broadcast>(a).empty());
  EXPECT_EQ(n.core->round(), 0u);
}

TEST(CoreTest, TimeoutSendsRoundChangeForTheNextRound) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto a = n.core->on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 1000);
  const auto rcs = broadcasts<RoundChange>(a);
  ASSERT_EQ(rcs.size(), 1u);
  EXPECT_EQ(rcs[0].round, 1u);
  EXPECT_EQ(rcs[0].parent_hash, c.genesis.header.hash());
  EXPECT_FALSE(rcs[0].prepared.has_value());
  const auto timers = all_of<ScheduleTimer>(a);
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].timer, (TimerEvent{1, 1, TimerKind::kRoundTimeout}));
  EXPECT_EQ(timers[0].at_ms, kNow + 1000 + 1000 + 200);  // base + 2^1 * unit
  EXPECT_EQ(n.core->round(), 1u);
}

TEST(CoreTest, FPlusOneRoundChangesPullANodeUp) {
  TestCouncil c(4);  // F = 1: two members above us are enough
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const Hash32 parent = c.genesis.header.hash();
  EXPECT_TRUE(broadcasts<RoundChange>(n.feed(c.round_change(1, 1, 3, parent))).empty());
  EXPECT_EQ(n.core->round(), 0u);
  const auto rcs = broadcasts<RoundChange>(n.feed(c.round_change(3, 1, 5, parent)));
  ASSERT_EQ(rcs.size(), 1u);
  EXPECT_EQ(rcs[0].round, 3u);  // the smallest round of the F+1 set
  EXPECT_EQ(n.core->round(), 3u);
}

TEST(CoreTest, RoundChangeWithWrongPreviousHashIsNotCounted) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const Hash32 wrong = c.block(c.genesis.header, 0, 0).hash();
  (void)n.feed(c.round_change(1, 1, 3, c.genesis.header.hash()));
  const auto a = n.feed(c.round_change(3, 1, 3, wrong));
  EXPECT_TRUE(has_note(a, "ibft.wrong_parent"));
  EXPECT_EQ(n.core->round(), 0u);
}

// Node 1 is round 1's proposer at height 1; it prepares x at round 0, times out and must
// re-propose x (not a new block) with the certificate; another node accepts that.
TEST(CoreTest, ReProposesThePreparedBlockInALaterRound) {
  TestCouncil c(4);
  const Hash32 parent = c.genesis.header.hash();
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  Node n(c, 1);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  (void)n.feed(c.preprepare(0, 1, 0, x));
  (void)n.feed(c.prepare(0, 1, 0, x.hash()));
  ASSERT_EQ(broadcasts<Commit>(n.feed(c.prepare(2, 1, 0, x.hash()))).size(), 1u);

  const auto t = n.core->on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 1000);
  const auto own_rc = broadcasts<RoundChange>(t);
  ASSERT_EQ(own_rc.size(), 1u);
  ASSERT_TRUE(own_rc[0].prepared.has_value());
  EXPECT_EQ(*own_rc[0].prepared, (PreparedRef{0, x.hash()}));
  EXPECT_EQ(own_rc[0].prepared_certificate.size(), 3u);

  (void)n.feed(c.round_change(2, 1, 1, parent), kNow + 1100);
  const auto a = n.feed(c.round_change(3, 1, 1, parent), kNow + 1200);
  EXPECT_TRUE(all_of<BuildProposal>(a).empty());
  const auto pps = broadcasts<Preprepare>(a);
  ASSERT_EQ(pps.size(), 1u);
  EXPECT_EQ(pps[0].round, 1u);
  EXPECT_EQ(pps[0].proposal.hash(), x.hash());
  EXPECT_EQ(pps[0].round_change_certificate.size(), 3u);
  EXPECT_EQ(pps[0].prepared_certificate.size(), 3u);

  Node other(c, 3);
  (void)other.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  (void)other.core->on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 1000);
  const auto prep = broadcasts<Prepare>(other.feed(pps[0], kNow + 1300));
  ASSERT_EQ(prep.size(), 1u);
  EXPECT_EQ(prep[0].round, 1u);
  EXPECT_EQ(prep[0].block_hash, x.hash());
}

TEST(CoreTest, FreshBlockIsRejectedWhenAQuorumMemberReportsAPreparedOne) {
  TestCouncil c(4);
  const Hash32 parent = c.genesis.header.hash();
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  const chain::Block y = c.block(c.genesis.header, 1, 1);
  const auto cert = c.prepares({0, 1, 2}, 1, 0, x.hash());
  std::vector<RoundChange> rcs{c.round_change(0, 1, 1, parent, PreparedRef{0, x.hash()}, cert),
                               c.round_change(2, 1, 1, parent), c.round_change(3, 1, 1, parent)};
  Node n(c, 3);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto a = n.feed(c.preprepare(1, 1, 1, y, rcs, cert));
  EXPECT_TRUE(broadcasts<Prepare>(a).empty());
  EXPECT_TRUE(has_note(a, "ibft.not_highest_prepared"));
  // Without the certificate the justification itself is incomplete.
  const auto b = n.feed(c.preprepare(1, 1, 1, y, rcs));
  EXPECT_TRUE(has_note(b, "ibft.missing_justification"));
}

TEST(CoreTest, JustifiedProposalForAHigherRoundMovesTheNodeThere) {
  TestCouncil c(4);
  const Hash32 parent = c.genesis.header.hash();
  std::vector<RoundChange> rcs{c.round_change(0, 1, 2, parent), c.round_change(1, 1, 2, parent),
                               c.round_change(3, 1, 2, parent)};
  const chain::Block z = c.block(c.genesis.header, 2, 2);
  Node n(c, 3);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto a = n.feed(c.preprepare(2, 1, 2, z, rcs));
  EXPECT_EQ(n.core->round(), 2u);
  ASSERT_EQ(broadcasts<Prepare>(a).size(), 1u);
  EXPECT_TRUE(broadcasts<RoundChange>(a).empty());
}

TEST(CoreTest, SignerRefusalMeansNothingIsBroadcast) {
  TestCouncil c(1);
  Node n(c, 0);
  n.signer.refuse_all = true;
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  auto b = n.core->on_proposal_built(built(all_of<BuildProposal>(a)[0]), kNow);
  EXPECT_TRUE(all_of<Broadcast>(b).empty());
  EXPECT_TRUE(all_of<CommitBlock>(b).empty());
  EXPECT_TRUE(has_note(b, "ibft.sign_refused"));
  const auto t = n.core->on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 1000);
  EXPECT_TRUE(all_of<Broadcast>(t).empty());
}

TEST(CoreTest, RestartedProposerCannotSealASecondBlockForTheSameView) {
  TestCouncil c(4);
  KeySigner signer(c.key(0));  // survives the restart, like the SignGuard's state file
  Preprepare first;
  {
    auto core = *Core::create(c.config(0), signer);
    auto a = core.start_height(c.genesis.header, no_parent_proposer(), kNow);
    auto b = core.on_proposal_built(built(all_of<BuildProposal>(a)[0]), kNow);
    ASSERT_EQ(broadcasts<Preprepare>(b).size(), 1u);
    first = broadcasts<Preprepare>(b)[0];
  }
  auto core = *Core::create(c.config(0), signer);
  auto a = core.start_height(c.genesis.header, no_parent_proposer(), kNow + 730);
  auto b = core.on_proposal_built(built(all_of<BuildProposal>(a)[0]), kNow + 730);
  EXPECT_TRUE(all_of<Broadcast>(b).empty());
  EXPECT_EQ(signer.conflicts, 1);
  // Its own earlier proposal, echoed back by a peer, is accepted and prepared again (same digest).
  const auto echo = broadcasts<Prepare>(core.on_message(first, kNow + 800));
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(echo[0].block_hash, first.proposal.hash());
  EXPECT_EQ(signer.conflicts, 1);
}

TEST(CoreTest, ObserverFollowsAndCommitsButNeverSigns) {
  TestCouncil c(4);
  KeySigner outsider(chain::derive_test_key(5, "observer", 0));
  Config cfg = c.config(0);
  cfg.own_address = outsider.address();
  auto core = *Core::create(cfg, outsider);
  EXPECT_FALSE(core.is_validator());
  auto a = core.start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  append(a, core.on_message(c.preprepare(0, 1, 0, x), kNow));
  for (std::size_t i : {0, 1, 2}) append(a, core.on_message(c.prepare(i, 1, 0, x.hash()), kNow));
  append(a, core.on_timer(TimerEvent{1, 0, TimerKind::kRoundTimeout}, kNow + 1000));
  for (std::size_t i : {0, 1, 2}) append(a, core.on_message(c.commit(i, 1, 0, x.hash()), kNow));
  EXPECT_TRUE(all_of<Broadcast>(a).empty());
  EXPECT_EQ(all_of<CommitBlock>(a).size(), 1u);
  EXPECT_TRUE(outsider.requests.empty());
}

TEST(CoreTest, FutureHeightMessagesAreBufferedAndReplayed) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  const chain::Block y = c.block(x.header, 1, 0);  // height 2: proposer after node 0 is node 1
  const auto a = n.feed(c.preprepare(1, 2, 0, y));
  EXPECT_TRUE(broadcasts<Prepare>(a).empty());
  const auto sync = all_of<RequestSync>(a);
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0].height, 2u);
  EXPECT_EQ(sync[0].peer, c.addr(1));
  const auto b = n.core->on_block_committed_elsewhere(x.header, kNow);
  const auto prep = broadcasts<Prepare>(b);
  ASSERT_EQ(prep.size(), 1u);
  EXPECT_EQ(prep[0].height, 2u);
  EXPECT_EQ(prep[0].block_hash, y.hash());
}

TEST(CoreTest, FutureBufferIsBoundedPerSender) {
  TestCouncil c(4);
  Config cfg = c.config(2);
  cfg.max_future_messages_per_sender = 2;
  Node n(c, 2, cfg);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  // Three round changes for height 2 from one member; only two are kept for replay.
  for (std::uint32_t r = 1; r <= 3; ++r) (void)n.feed(c.round_change(0, 2, r, x.hash()));
  (void)n.feed(c.round_change(1, 2, 3, x.hash()));
  (void)n.core->on_block_committed_elsewhere(x.header, kNow);
  // Had all three been kept, member 0 at round 3 and member 1 at round 3 would pull us to 3.
  EXPECT_EQ(n.core->round(), 2u);
}

TEST(CoreTest, MessagesBeforeTheFirstHeightAreReplayed) {
  TestCouncil c(4);
  Node n(c, 2);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  EXPECT_TRUE(n.feed(c.preprepare(0, 1, 0, x)).empty());
  const auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  EXPECT_EQ(broadcasts<Prepare>(a).size(), 1u);
}

TEST(CoreTest, SignsNothingBelowSignFromHeightButStillCommits) {
  TestCouncil c(4);
  Config cfg = c.config(2);
  cfg.sign_from_height = 2;
  Node n(c, 2, cfg);
  auto a = n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const chain::Block x = c.block(c.genesis.header, 0, 0);
  append(a, n.feed(c.preprepare(0, 1, 0, x)));
  for (std::size_t i : {0, 1, 3}) append(a, n.feed(c.prepare(i, 1, 0, x.hash())));
  for (std::size_t i : {0, 1, 3}) append(a, n.feed(c.commit(i, 1, 0, x.hash())));
  EXPECT_TRUE(all_of<Broadcast>(a).empty());
  EXPECT_TRUE(n.signer.requests.empty());
  ASSERT_EQ(all_of<CommitBlock>(a).size(), 1u);
  // From height 2 on it votes again.
  const chain::Block y = c.block(x.header, 1, 0);
  (void)n.core->start_height(x.header, c.addr(0), kNow);
  EXPECT_EQ(broadcasts<Prepare>(n.feed(c.preprepare(1, 2, 0, y))).size(), 1u);
}

TEST(CoreTest, AskForSyncEvenWhenFarBeyondTheReplayBuffer) {
  TestCouncil c(4);
  Node n(c, 2);
  (void)n.core->start_height(c.genesis.header, no_parent_proposer(), kNow);
  const auto a = n.feed(c.round_change(3, 50, 1, c.genesis.header.hash()));
  const auto sync = all_of<RequestSync>(a);
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0].height, 50u);
  EXPECT_EQ(sync[0].peer, c.addr(3));
  // Once asked for 50, lower heights do not ask again.
  EXPECT_TRUE(
      all_of<RequestSync>(n.feed(c.round_change(1, 40, 1, c.genesis.header.hash()))).empty());
}

}  // namespace
}  // namespace cc::consensus
