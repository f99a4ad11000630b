// Consensus messages: every kind round-trips byte-exactly with its sender recovered, and the
// decoder refuses malformed, oversized and unsigned input with an "ibft.*" error.
#include "consensus/messages.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "codec/rlp.h"
#include "consensus_fixture.h"
#include "crypto/keccak.h"

namespace cc::consensus {
namespace {

using testing::TestCouncil;

class MessagesTest : public ::testing::Test {
 protected:
  TestCouncil c{4};
  chain::Block b1 = c.block(c.genesis.header, 0, 0);
  Hash32 hash = b1.hash();
  Hash32 parent = c.genesis.header.hash();

  static Message roundtrip(const Message& m) {
    const Bytes wire = encode_message(m);
    auto back = decode_message(wire);
    EXPECT_TRUE(back.ok()) << back.error().code << ": " << back.error().message;
    if (!back.ok()) return m;
    EXPECT_EQ(encode_message(*back), wire);
    return *back;
  }
  static std::string code_of_error(ByteView wire, const DecodeLimits& limits = {}) {
    auto m = decode_message(wire, limits);
    if (m.ok()) return "ok";
    return m.error().code;
  }
};

TEST_F(MessagesTest, PrepareRoundTripsAndRecoversSender) {
  const Prepare p = c.prepare(1, 1, 0, hash);
  const Message back = roundtrip(p);
  ASSERT_TRUE(std::holds_alternative<Prepare>(back));
  EXPECT_EQ(std::get<Prepare>(back), p);
  EXPECT_EQ(sender_of(back), c.addr(1));
  EXPECT_EQ(code_of(back), MessageCode::kPrepare);
}

TEST_F(MessagesTest, CommitSealIsTheSignatureAndRecoversTheCommitter) {
  const Commit cm = c.commit(2, 1, 3, hash);
  const Message back = roundtrip(cm);
  ASSERT_TRUE(std::holds_alternative<Commit>(back));
  EXPECT_EQ(std::get<Commit>(back), cm);
  // The seal is exactly what a block's extra carries: chain/ recovers the same committer.
  auto who = chain::recover_committer(hash, cm.commit_seal);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(*who, c.addr(2));
  EXPECT_EQ(digest_of(back), chain::commit_seal_digest(hash));
}

TEST_F(MessagesTest, RoundChangeRoundTripsWithAndWithoutCertificate) {
  const RoundChange plain = c.round_change(0, 1, 2, parent);
  EXPECT_EQ(std::get<RoundChange>(roundtrip(plain)), plain);

  const auto cert = c.prepares({0, 1, 2}, 1, 1, hash);
  const RoundChange prepared = c.round_change(3, 1, 2, parent, PreparedRef{1, hash}, cert);
  const Message back = roundtrip(prepared);
  const auto& rc = std::get<RoundChange>(back);
  EXPECT_EQ(rc, prepared);
  ASSERT_EQ(rc.prepared_certificate.size(), 3u);
  EXPECT_EQ(rc.prepared_certificate[2].sender, c.addr(2));
}

TEST_F(MessagesTest, PreprepareRoundTripsWithJustification) {
  const Preprepare zero = c.preprepare(0, 1, 0, b1);
  EXPECT_EQ(std::get<Preprepare>(roundtrip(zero)), zero);

  std::vector<RoundChange> rcs;
  for (std::size_t i = 0; i < 3; ++i) {
    rcs.push_back(c.round_change(i, 1, 1, parent, PreparedRef{0, hash}));
  }
  const Preprepare pp = c.preprepare(1, 1, 1, b1, rcs, c.prepares({0, 1, 3}, 1, 0, hash));
  const auto back = std::get<Preprepare>(roundtrip(pp));
  EXPECT_EQ(back, pp);
  EXPECT_EQ(back.proposal.hash(), hash);
  ASSERT_EQ(back.round_change_certificate.size(), 3u);
  EXPECT_EQ(back.round_change_certificate[1].sender, c.addr(1));
  EXPECT_TRUE(back.round_change_certificate[1].prepared_certificate.empty());
}

TEST_F(MessagesTest, BodiesOfDifferentKindsHaveDifferentDigests) {
  // Same view and hash: the code in the body keeps one kind's signature from passing as another.
  const Prepare p = c.prepare(0, 1, 0, hash);
  const Commit cm = c.commit(0, 1, 0, hash);
  EXPECT_NE(p.digest(), cm.digest());
  EXPECT_NE(p.encode_body(), cm.encode_body());
  EXPECT_EQ(p.digest(), crypto::keccak256(p.encode_body()));
}

TEST_F(MessagesTest, ChangedFieldRecoversAnotherSender) {
  Prepare p = c.prepare(1, 1, 0, hash);
  p.round = 1;  // signature still over round 0
  auto back = decode_message(p.encode());
  ASSERT_TRUE(back.ok());
  EXPECT_NE(sender_of(*back), c.addr(1));
}

TEST_F(MessagesTest, RejectsTrailingBytes) {
  Bytes wire = c.prepare(1, 1, 0, hash).encode();
  wire.push_back(0x80);
  EXPECT_EQ(code_of_error(wire), "ibft.malformed");
}

TEST_F(MessagesTest, RejectsExtraFieldInEnvelope) {
  const Prepare p = c.prepare(1, 1, 0, hash);
  rlp::Encoder e;
  e.begin_list().raw(p.encode_body()).bytes(p.signature).bytes(Bytes{1}).end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.malformed");
}

TEST_F(MessagesTest, RejectsUnknownCode) {
  rlp::Encoder e;
  e.begin_list().begin_list().uint(7).uint(1).uint(0).end_list().bytes(Bytes(65, 1)).end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.unknown_code");
}

TEST_F(MessagesTest, RejectsRoundAboveWhatABlockCanRecord) {
  Prepare p = c.prepare(1, 1, 0, hash);
  p.round = kMaxRound + 1;
  EXPECT_EQ(code_of_error(p.encode()), "ibft.round_out_of_range");
  p.round = kMaxRound;
  EXPECT_EQ(code_of_error(p.encode()), "ok");
}

TEST_F(MessagesTest, RejectsShortSignature) {
  const Prepare p = c.prepare(1, 1, 0, hash);
  rlp::Encoder e;
  e.begin_list().raw(p.encode_body()).bytes(ByteView(p.signature.data(), 64)).end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.malformed");
}

TEST_F(MessagesTest, RejectsSignatureThatDoesNotRecover) {
  Prepare p = c.prepare(1, 1, 0, hash);
  p.signature[64] = 9;  // recovery id out of range
  EXPECT_EQ(code_of_error(p.encode()), "ibft.bad_signature");
}

TEST_F(MessagesTest, RejectsOversizeMessage) {
  const Bytes wire = c.preprepare(0, 1, 0, b1).encode();
  DecodeLimits limits;
  limits.max_message_bytes = wire.size() - 1;
  EXPECT_EQ(code_of_error(wire, limits), "ibft.too_large");
  limits.max_message_bytes = wire.size();
  EXPECT_EQ(code_of_error(wire, limits), "ok");
}

TEST_F(MessagesTest, RejectsCertificateLongerThanTheCouncil) {
  const auto cert = c.prepares({0, 1, 2, 3}, 1, 0, hash);
  const RoundChange rc = c.round_change(3, 1, 2, parent, PreparedRef{0, hash}, cert);
  DecodeLimits limits;
  limits.max_certificate_entries = 3;
  EXPECT_EQ(code_of_error(rc.encode(), limits), "ibft.too_many_entries");
  limits.max_certificate_entries = 4;
  EXPECT_EQ(code_of_error(rc.encode(), limits), "ok");

  std::vector<RoundChange> rcs;
  for (std::size_t i = 0; i < 4; ++i) rcs.push_back(c.round_change(i, 1, 1, parent));
  const Preprepare pp = c.preprepare(1, 1, 1, b1, rcs);
  limits.max_certificate_entries = 3;
  EXPECT_EQ(code_of_error(pp.encode(), limits), "ibft.too_many_entries");
}

TEST_F(MessagesTest, RejectsCertificateEntryOfAnotherKind) {
  // A commit placed where a prepare must be: its body code is 2, not 1.
  const Commit cm = c.commit(0, 1, 0, hash);
  const RoundChange rc = c.round_change(3, 1, 2, parent);
  rlp::Encoder e;
  e.begin_list().raw(rc.encode_body()).bytes(rc.signature).begin_list().raw(cm.encode()).end_list();
  e.end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.unexpected_code");
}

TEST_F(MessagesTest, RejectsPreprepareWithUndecodableBlock) {
  Preprepare pp = c.preprepare(0, 1, 0, b1);
  rlp::Encoder body;
  body.begin_list().uint(0).uint(1).uint(0).begin_list().uint(1).end_list().end_list();
  rlp::Encoder e;
  e.begin_list().raw(body.finish()).bytes(pp.signature).begin_list().end_list().begin_list();
  e.end_list().end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.bad_block");
}

TEST_F(MessagesTest, RejectsNonCanonicalHeight) {
  // height 1 written as 0x00 0x01 (a leading zero byte).
  rlp::Encoder body;
  body.begin_list().uint(1).bytes(Bytes{0, 1}).uint(0).bytes(hash).end_list();
  rlp::Encoder e;
  e.begin_list().raw(body.finish()).bytes(Bytes(65, 1)).end_list();
  EXPECT_EQ(code_of_error(e.finish()), "ibft.malformed");
}

TEST_F(MessagesTest, EveryTruncationIsRejected) {
  std::vector<RoundChange> rcs;
  for (std::size_t i = 0; i < 3; ++i) rcs.push_back(c.round_change(i, 1, 1, parent));
  const Bytes wire = c.preprepare(1, 1, 1, b1, rcs).encode();
  for (std::size_t n = 0; n < wire.size(); n += 7) {
    EXPECT_NE(code_of_error(ByteView(wire.data(), n)), "ok") << "prefix of " << n << " bytes";
  }
}

TEST(MessagesSeedCorpusTest, EverySeedDecodesAndReEncodesExactly) {
  const std::filesystem::path dir =
      std::filesystem::path(CC_SOURCE_DIR) / "tests/fuzz/corpus/ibft_messages";
  std::size_t seeds = 0;
  std::set<MessageCode> kinds;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    const Bytes wire((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto m = decode_message(wire);
    ASSERT_TRUE(m.ok()) << entry.path() << ": " << m.error().message;
    EXPECT_EQ(encode_message(*m), wire) << entry.path();
    kinds.insert(code_of(*m));
    ++seeds;
  }
  EXPECT_GE(seeds, 7u);
  EXPECT_EQ(kinds.size(), 4u) << "a seed for every message kind";
}

}  // namespace
}  // namespace cc::consensus
