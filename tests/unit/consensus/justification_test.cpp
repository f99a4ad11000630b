// QBFT certificate rules: prepared certificates, round-change validity and JustifyPrePrepare,
// with the quorum that differs from 2F+1 when N != 3F+1.
#include "consensus/justification.h"

#include <gtest/gtest.h>

#include "consensus_fixture.h"

namespace cc::consensus {
namespace {

using testing::TestCouncil;

class JustificationTest : public ::testing::Test {
 protected:
  TestCouncil c{4};
  Hash32 parent = c.genesis.header.hash();
  chain::Block x = c.block(c.genesis.header, 0, 0);
  Hash32 hx = x.hash();
};

TEST_F(JustificationTest, PreparedCertificateNeedsQuorumOfDistinctMembers) {
  const PreparedRef ref{0, hx};
  EXPECT_TRUE(check_prepared_certificate(c.prepares({0, 1, 2}, 1, 0, hx), c.council, 1, ref).ok());
  auto two = check_prepared_certificate(c.prepares({0, 1}, 1, 0, hx), c.council, 1, ref);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().code, "ibft.no_quorum");
  auto dup = check_prepared_certificate(c.prepares({0, 1, 1}, 1, 0, hx), c.council, 1, ref);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "ibft.duplicate_sender");
}

TEST_F(JustificationTest, PreparedCertificateRefusesEntryForAnotherViewOrHash) {
  auto cert = c.prepares({0, 1, 2}, 1, 0, hx);
  cert[1] = c.prepare(1, 1, 1, hx);  // another round
  auto s = check_prepared_certificate(cert, c.council, 1, PreparedRef{0, hx});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "ibft.certificate_mismatch");
  cert[1] = c.prepare(1, 1, 0, parent);  // another hash
  EXPECT_EQ(check_prepared_certificate(cert, c.council, 1, PreparedRef{0, hx}).error().code,
            "ibft.certificate_mismatch");
}

TEST_F(JustificationTest, PreparedCertificateRefusesNonMember) {
  TestCouncil other(4, 99);
  auto cert = c.prepares({0, 1}, 1, 0, hx);
  cert.push_back(other.prepare(0, 1, 0, hx));
  EXPECT_EQ(check_prepared_certificate(cert, c.council, 1, PreparedRef{0, hx}).error().code,
            "ibft.not_member");
}

TEST_F(JustificationTest, QuorumIsCeilTwoThirdsNotTwoFPlusOne) {
  // N = 6: F = 1, 2F+1 = 3, but two sets of 3 need not share an honest member; quorum is 4.
  TestCouncil six(6);
  const chain::Block b = six.block(six.genesis.header, 0, 0);
  const PreparedRef ref{0, b.hash()};
  EXPECT_EQ(six.council.commit_quorum(), 4u);
  EXPECT_FALSE(
      check_prepared_certificate(six.prepares({0, 1, 2}, 1, 0, b.hash()), six.council, 1, ref)
          .ok());
  EXPECT_TRUE(
      check_prepared_certificate(six.prepares({0, 1, 2, 3}, 1, 0, b.hash()), six.council, 1, ref)
          .ok());
}

TEST_F(JustificationTest, RoundChangeWithWrongParentIsRejected) {
  const RoundChange rc = c.round_change(1, 1, 1, hx);  // hx is not block 1's parent
  auto s = check_round_change(rc, c.council, 1, parent);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "ibft.wrong_parent");
  EXPECT_TRUE(check_round_change(c.round_change(1, 1, 1, parent), c.council, 1, parent).ok());
}

TEST_F(JustificationTest, RoundChangePreparedRoundMustBeBelowItsRound) {
  const auto cert = c.prepares({0, 1, 2}, 1, 1, hx);
  const RoundChange rc = c.round_change(3, 1, 1, parent, PreparedRef{1, hx}, cert);
  EXPECT_EQ(check_round_change(rc, c.council, 1, parent).error().code, "ibft.bad_prepared_round");
}

TEST_F(JustificationTest, RoundChangeMustProveWhatItReports) {
  const RoundChange bare = c.round_change(3, 1, 2, parent, PreparedRef{0, hx});
  EXPECT_EQ(check_round_change(bare, c.council, 1, parent).error().code, "ibft.no_quorum");
  const RoundChange stray = c.round_change(3, 1, 2, parent, {}, c.prepares({0, 1, 2}, 1, 0, hx));
  EXPECT_EQ(check_round_change(stray, c.council, 1, parent).error().code,
            "ibft.unexpected_certificate");
  const RoundChange good =
      c.round_change(3, 1, 2, parent, PreparedRef{0, hx}, c.prepares({0, 1, 2}, 1, 0, hx));
  EXPECT_TRUE(check_round_change(good, c.council, 1, parent).ok());
}

TEST_F(JustificationTest, FreshProposalJustifiedByQuorumWithNothingPrepared) {
  std::vector<RoundChange> rcs;
  for (std::size_t i : {0, 2, 3}) rcs.push_back(c.round_change(i, 1, 1, parent));
  const chain::Block y = c.block(c.genesis.header, 1, 1);
  auto j = justify_preprepare(c.preprepare(1, 1, 1, y, rcs), c.council, parent);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_FALSE(j->has_value());
  rcs.pop_back();
  EXPECT_EQ(justify_preprepare(c.preprepare(1, 1, 1, y, rcs), c.council, parent).error().code,
            "ibft.no_quorum");
}

TEST_F(JustificationTest, HighestPreparedMustBeReProposed) {
  // Round changes report x prepared at round 0 and y at round 1: y (the highest) is required.
  const chain::Block y = c.block(c.genesis.header, 1, 1);
  const Hash32 hy = y.hash();
  std::vector<RoundChange> rcs{c.round_change(0, 1, 2, parent, PreparedRef{0, hx}),
                               c.round_change(1, 1, 2, parent, PreparedRef{1, hy}),
                               c.round_change(3, 1, 2, parent)};
  auto ok = justify_preprepare(c.preprepare(2, 1, 2, y, rcs, c.prepares({0, 1, 2}, 1, 1, hy)),
                               c.council, parent);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(**ok, hy);
  // The certificate of the lower one does not justify anything.
  auto low = justify_preprepare(c.preprepare(2, 1, 2, x, rcs, c.prepares({0, 1, 2}, 1, 0, hx)),
                                c.council, parent);
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.error().code, "ibft.certificate_mismatch");
  auto none = justify_preprepare(c.preprepare(2, 1, 2, y, rcs), c.council, parent);
  EXPECT_EQ(none.error().code, "ibft.missing_justification");
}

TEST_F(JustificationTest, JustificationEntriesMustBeForTheViewAndDistinct) {
  const chain::Block y = c.block(c.genesis.header, 1, 1);
  std::vector<RoundChange> rcs{c.round_change(0, 1, 1, parent), c.round_change(2, 1, 1, parent),
                               c.round_change(3, 1, 2, parent)};
  EXPECT_EQ(justify_preprepare(c.preprepare(1, 1, 1, y, rcs), c.council, parent).error().code,
            "ibft.justification_mismatch");
  rcs[2] = c.round_change(2, 1, 1, parent);
  EXPECT_EQ(justify_preprepare(c.preprepare(1, 1, 1, y, rcs), c.council, parent).error().code,
            "ibft.duplicate_sender");
  rcs[2] = c.round_change(3, 1, 1, hx);
  EXPECT_EQ(justify_preprepare(c.preprepare(1, 1, 1, y, rcs), c.council, parent).error().code,
            "ibft.wrong_parent");
}

TEST_F(JustificationTest, RoundZeroCarriesNoJustification) {
  EXPECT_TRUE(justify_preprepare(c.preprepare(0, 1, 0, x), c.council, parent).ok());
  auto bad = justify_preprepare(c.preprepare(0, 1, 0, x, {}, c.prepares({0, 1, 2}, 1, 0, hx)),
                                c.council, parent);
  EXPECT_EQ(bad.error().code, "ibft.unexpected_certificate");
}

}  // namespace
}  // namespace cc::consensus
