// Header verification: generated chains pass, and each HeaderInvalid is reached by a header
// crafted to break exactly that rule (re-sealed by the right keys so nothing else fails first).
#include "chain/verify.h"

#include <gtest/gtest.h>

#include "chain/generator.h"
#include "crypto/address.h"

namespace cc::chain {
namespace {

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { build(4); }

  void build(std::size_t validators) {
    net_ = make_test_network(validators, 3, 7, 1000);
    council_ = *net_.genesis.make_council();
    genesis_ = genesis_block(net_.genesis);
    GenerateParams p;
    p.blocks = 3;
    p.txs_per_block = 4;
    p.seed = 11;
    auto blocks = generate_chain(net_.genesis, net_.validator_keys, net_.account_keys, p);
    ASSERT_TRUE(blocks.ok()) << blocks.error().message;
    blocks_ = *blocks;
    params_ = VerifyParams{1, blocks_.back().header.time};
  }

  const crypto::PrivateKey& key_of(const Address& a) const {
    return net_.validator_keys.at(*council_.index_of(a));
  }
  Address proposer_of(std::size_t block_index) const {
    return *recover_proposer(blocks_[block_index].header);
  }

  // Clears both seal kinds, seals with `proposer`, then commits with `committers`.
  static void reseal(Header& h, const crypto::PrivateKey& proposer,
                     const std::vector<crypto::PrivateKey>& committers) {
    auto x = *h.istanbul_extra();
    x.proposer_seal.clear();
    x.committed_seals.clear();
    h.extra = encode_extra(x);
    auto sig = crypto::sign(proposer, *h.sig_hash());
    x.proposer_seal.assign(sig.begin(), sig.end());
    h.extra = encode_extra(x);
    const Hash32 digest = commit_seal_digest(h.hash());
    for (const auto& k : committers) x.committed_seals.push_back(crypto::sign(k, digest));
    h.extra = encode_extra(x);
  }
  // Re-seals with the rightful proposer of block 2 and the first `seals` validators.
  void reseal_block2(Header& h, std::size_t seals) const {
    std::vector<crypto::PrivateKey> committers(net_.validator_keys.begin(),
                                               net_.validator_keys.begin() + seals);
    reseal(h, key_of(proposer_of(1)), committers);
  }
  // Verifies a replacement for block 2 (index 1) on top of block 1.
  HeaderVerdict<SealInfo> verify2(const Header& h) const {
    return verify_header(h, &blocks_[0].header, proposer_of(0), council_, params_);
  }
  void expect_invalid(const Header& h, HeaderInvalid reason) const {
    auto v = verify2(h);
    ASSERT_FALSE(v.ok()) << "expected " << to_string(reason);
    EXPECT_EQ(v.reason(), reason) << v.rejection().detail;
    EXPECT_EQ(v.rejection().detail.rfind("block " + std::to_string(h.number) + ": ", 0), 0u)
        << v.rejection().detail;
  }

  TestNetwork net_;
  Council council_ = *Council::make({Address{}});
  Block genesis_;
  std::vector<Block> blocks_;
  VerifyParams params_;
};

TEST_F(VerifyTest, GeneratedChainVerifiesEndToEnd) {
  auto v = verify_chain(genesis_.header, blocks_, council_, params_);
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  ASSERT_EQ(v->size(), 3u);
  std::optional<Address> prev;
  for (const auto& info : *v) {
    EXPECT_EQ(info.proposer, council_.proposer(prev, 0));
    EXPECT_EQ(info.committers.size(), council_.commit_quorum());
    EXPECT_EQ(info.round, 0);
    prev = info.proposer;
  }
}

TEST_F(VerifyTest, ResealedUnchangedHeaderStillVerifies) {
  Header h = blocks_[1].header;
  reseal_block2(h, 3);
  auto v = verify2(h);
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  EXPECT_EQ(v->committers.size(), 3u);
}

TEST_F(VerifyTest, UnknownParentWhenParentIsMissing) {
  auto v = verify_header(blocks_[1].header, nullptr, proposer_of(0), council_, params_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), HeaderInvalid::UnknownParent);
}

TEST_F(VerifyTest, UnknownParentWhenParentHashDiffers) {
  Header other_parent = blocks_[0].header;
  other_parent.gas_used += 1;
  auto v = verify_header(blocks_[1].header, &other_parent, proposer_of(0), council_, params_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), HeaderInvalid::UnknownParent);
}

TEST_F(VerifyTest, WrongNumber) {
  Header h = blocks_[1].header;
  h.number = 3;
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::WrongNumber);
}

TEST_F(VerifyTest, BadBlockScore) {
  Header h = blocks_[1].header;
  h.block_score = 2;
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::BadBlockScore);
}

TEST_F(VerifyTest, BadTimeFoS) {
  Header h = blocks_[1].header;
  h.time_fos = 100;
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::BadTimeFoS);
}

TEST_F(VerifyTest, FutureBlockMoreThanOneSecondAhead) {
  const Header& h = blocks_[1].header;
  VerifyParams p = params_;
  p.now = h.time - 2;
  auto v = verify_header(h, &blocks_[0].header, proposer_of(0), council_, p);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), HeaderInvalid::FutureBlock);
  p.now = h.time - 1;  // exactly one second ahead is allowed
  EXPECT_TRUE(verify_header(h, &blocks_[0].header, proposer_of(0), council_, p).ok());
}

TEST_F(VerifyTest, TimeBeforeParentPlusPeriod) {
  Header h = blocks_[1].header;
  h.time = blocks_[0].header.time;
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::TimeBeforeParentPlusPeriod);
  // The unmodified block is too early for a 2-second period.
  VerifyParams p = params_;
  p.block_period = 2;
  auto v = verify_header(blocks_[1].header, &blocks_[0].header, proposer_of(0), council_, p);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), HeaderInvalid::TimeBeforeParentPlusPeriod);
}

TEST_F(VerifyTest, TimeBeforeParentDoesNotWrapAround) {
  Header h = blocks_[1].header;
  h.time = blocks_[0].header.time - 5;
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::TimeBeforeParentPlusPeriod);
}

TEST_F(VerifyTest, BadExtra) {
  Header h = blocks_[1].header;
  h.extra = Bytes(40, 0);
  expect_invalid(h, HeaderInvalid::BadExtra);
}

TEST_F(VerifyTest, ValidatorsMismatchWhenExtraListsAnotherSet) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.validators.pop_back();
  h.extra = encode_extra(x);
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::ValidatorsMismatch);
}

TEST_F(VerifyTest, ValidatorsMismatchWhenExtraIsUnsorted) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  std::swap(x.validators[0], x.validators[1]);
  h.extra = encode_extra(x);
  reseal_block2(h, 3);
  expect_invalid(h, HeaderInvalid::ValidatorsMismatch);
}

TEST_F(VerifyTest, BadProposerSealWhenMissing) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.proposer_seal.clear();
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::BadProposerSeal);
}

TEST_F(VerifyTest, BadProposerSealWhenItDoesNotRecover) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  std::fill(x.proposer_seal.begin(), x.proposer_seal.begin() + 32, 0);  // r = 0
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::BadProposerSeal);
}

TEST_F(VerifyTest, WrongProposerWhenAnotherValidatorSeals) {
  Header h = blocks_[1].header;
  const Address rightful = proposer_of(1);
  const std::size_t other = (*council_.index_of(rightful) + 1) % council_.size();
  reseal(h, net_.validator_keys[other],
         {net_.validator_keys[0], net_.validator_keys[1], net_.validator_keys[2]});
  expect_invalid(h, HeaderInvalid::WrongProposer);
}

TEST_F(VerifyTest, WrongProposerWhenRoundChangesButSealerDoesNot) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.set_round(1);
  h.extra = encode_extra(x);
  reseal_block2(h, 3);  // still the round-0 proposer
  expect_invalid(h, HeaderInvalid::WrongProposer);
}

TEST_F(VerifyTest, HigherRoundSealedByItsProposerVerifies) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.set_round(2);
  h.extra = encode_extra(x);
  const Address& round2 = council_.proposer(proposer_of(0), 2);
  ASSERT_NE(round2, proposer_of(1));
  reseal(h, key_of(round2),
         {net_.validator_keys[0], net_.validator_keys[1], net_.validator_keys[2]});
  auto v = verify2(h);
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  EXPECT_EQ(v->proposer, round2);
  EXPECT_EQ(v->round, 2);
}

TEST_F(VerifyTest, BadSealWhenCommittedSealIsMalformed) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.committed_seals[1].fill(0xff);  // r and s above the group order
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::BadSeal);
}

TEST_F(VerifyTest, SealFromNonMember) {
  Header h = blocks_[1].header;
  auto outsider = derive_test_key(99, "outsider", 0);
  auto x = *h.istanbul_extra();
  x.committed_seals[0] = crypto::sign(outsider, commit_seal_digest(h.hash()));
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::SealFromNonMember);
}

TEST_F(VerifyTest, SealOverAnotherDigestLandsOnNonMember) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.committed_seals[0] = crypto::sign(net_.validator_keys[0], h.hash());  // no 0x02 suffix
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::SealFromNonMember);
}

TEST_F(VerifyTest, DuplicateSeal) {
  Header h = blocks_[1].header;
  auto x = *h.istanbul_extra();
  x.committed_seals.push_back(x.committed_seals[0]);
  h.extra = encode_extra(x);
  expect_invalid(h, HeaderInvalid::DuplicateSeal);
}

TEST_F(VerifyTest, NotEnoughSeals) {
  Header h = blocks_[1].header;
  reseal_block2(h, council_.required_seals() - 1);
  expect_invalid(h, HeaderInvalid::NotEnoughSeals);
}

TEST_F(VerifyTest, NotEnoughSealsAlsoWithNoSealsAtAll) {
  Header h = blocks_[1].header;
  reseal_block2(h, 0);
  expect_invalid(h, HeaderInvalid::NotEnoughSeals);
  // A proposal (no commits yet) passes the proposal rules.
  EXPECT_TRUE(
      verify_proposal_header(h, &blocks_[0].header, proposer_of(0), council_, params_).ok());
}

TEST_F(VerifyTest, FiveValidatorsAcceptMoreThanTwoFSealsBelowCommitQuorum) {
  build(5);
  ASSERT_EQ(council_.commit_quorum(), 4u);
  ASSERT_EQ(council_.required_seals(), 3u);
  Header h = blocks_[1].header;
  reseal_block2(h, 3);
  EXPECT_TRUE(verify2(h).ok());
  reseal_block2(h, 2);
  expect_invalid(h, HeaderInvalid::NotEnoughSeals);
}

TEST_F(VerifyTest, SmallCouncilsNeedEveryValidator) {
  for (std::size_t n = 1; n <= 3; ++n) {
    SCOPED_TRACE("N=" + std::to_string(n));
    build(n);
    ASSERT_TRUE(verify_chain(genesis_.header, blocks_, council_, params_).ok());
    Header h = blocks_[1].header;
    reseal_block2(h, n - 1);
    expect_invalid(h, HeaderInvalid::NotEnoughSeals);
  }
}

TEST_F(VerifyTest, TransactionsRootMismatch) {
  Block b = blocks_[1];
  ASSERT_TRUE(verify_body(b).ok());
  b.transactions.pop_back();
  auto v = verify_body(b);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.reason(), HeaderInvalid::TransactionsRootMismatch);
  std::vector<Block> chain = blocks_;
  chain[1] = b;
  auto c = verify_chain(genesis_.header, chain, council_, params_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.reason(), HeaderInvalid::TransactionsRootMismatch);
  EXPECT_EQ(c.rejection().detail.rfind("block 2: ", 0), 0u) << c.rejection().detail;
}

TEST_F(VerifyTest, ChainNamesTheFirstFailingBlock) {
  std::vector<Block> chain = blocks_;
  auto x = *chain[2].header.istanbul_extra();
  x.committed_seals.resize(1);
  chain[2].header.extra = encode_extra(x);
  auto c = verify_chain(genesis_.header, chain, council_, params_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.reason(), HeaderInvalid::NotEnoughSeals);
  EXPECT_EQ(c.rejection().detail.rfind("block 3: ", 0), 0u) << c.rejection().detail;
}

TEST_F(VerifyTest, ParentProposerOfGenesisIsNoneAndOfUnsealedParentIsUnknownParent) {
  auto g = parent_proposer_of(genesis_.header);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->has_value());
  auto b1 = parent_proposer_of(blocks_[0].header);
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(**b1, proposer_of(0));
  Header unsealed = blocks_[0].header;
  auto x = *unsealed.istanbul_extra();
  x.proposer_seal.clear();
  unsealed.extra = encode_extra(x);
  auto bad = parent_proposer_of(unsealed);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.reason(), HeaderInvalid::UnknownParent);
}

TEST(HeaderInvalidNames, ErrorCodesAreStable) {
  EXPECT_EQ(to_string(HeaderInvalid::NotEnoughSeals), "not_enough_seals");
  EXPECT_EQ(to_string(HeaderInvalid::TimeBeforeParentPlusPeriod), "time_before_parent_plus_period");
  HeaderRejection r{HeaderInvalid::SealFromNonMember, "block 9: x"};
  EXPECT_EQ(r.to_error().code, "header.seal_from_non_member");
  EXPECT_EQ(r.to_error().message, "block 9: x");
}

}  // namespace
}  // namespace cc::chain
