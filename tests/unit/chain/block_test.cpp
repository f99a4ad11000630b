// Header and block: wire form, strict decoding, block hash vs. seals, digests and recovery.
#include "chain/block.h"

#include <gtest/gtest.h>

#include "crypto/address.h"
#include "crypto/keccak.h"

namespace cc::chain {
namespace {

crypto::PrivateKey key(std::uint8_t n) {
  FixedBytes<32> s{};
  s[31] = n;
  return *crypto::PrivateKey::from_bytes(s);
}

Header sample_header() {
  Header h;
  h.parent_hash.fill(0x01);
  h.rewardbase.fill(0x02);
  h.state_root.fill(0x03);
  h.transactions_root.fill(0x04);
  h.receipts_root.fill(0x05);
  h.block_score = 1;
  h.number = 42;
  h.gas_used = 21000;
  h.time = 1'700'000'042;
  h.time_fos = 37;
  IstanbulExtra x;
  x.set_round(3);
  x.validators = {crypto::address_of(key(1)), crypto::address_of(key(2))};
  h.extra = encode_extra(x);
  return h;
}

// Seals h with key(1) as proposer and the given committers.
void seal(Header& h, const std::vector<std::uint8_t>& committers) {
  auto x = *h.istanbul_extra();
  x.proposer_seal.clear();
  x.committed_seals.clear();
  h.extra = encode_extra(x);
  auto sig = crypto::sign(key(1), *h.sig_hash());
  x.proposer_seal.assign(sig.begin(), sig.end());
  h.extra = encode_extra(x);
  for (auto c : committers)
    x.committed_seals.push_back(crypto::sign(key(c), commit_seal_digest(h.hash())));
  h.extra = encode_extra(x);
}

// Re-encodes a header field by field with one field replaced by raw RLP.
Bytes header_with_field(std::size_t index, const Bytes& encoded_field) {
  Header h = sample_header();
  std::vector<Bytes> f = {
      rlp::encode_bytes(h.parent_hash),   rlp::encode_bytes(h.rewardbase),
      rlp::encode_bytes(h.state_root),    rlp::encode_bytes(h.transactions_root),
      rlp::encode_bytes(h.receipts_root), rlp::encode_uint(h.block_score),
      rlp::encode_uint(h.number),         rlp::encode_uint(h.gas_used),
      rlp::encode_uint(h.time),           rlp::encode_uint(h.time_fos),
      rlp::encode_bytes(h.extra)};
  if (index < f.size()) {
    f[index] = encoded_field;
  } else {
    f.push_back(encoded_field);
  }
  return rlp::encode_list(f);
}

TEST(Header, RoundTripsEveryField) {
  Header h = sample_header();
  seal(h, {1, 2});
  Bytes enc = h.encode();
  auto back = Header::decode(enc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, h);
  EXPECT_EQ(back->encode(), enc);
  EXPECT_EQ(back->hash(), h.hash());
}

TEST(Header, FieldOrderIsParentRewardbaseRootsScoreNumberGasTimeFosExtra) {
  Header h = sample_header();
  const Bytes enc = h.encode();  // the reader views this buffer
  auto r = rlp::ListReader::open(enc);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->remaining_items(), 11u);
  EXPECT_EQ(*r->next_fixed<32>(), h.parent_hash);
  EXPECT_EQ(*r->next_fixed<20>(), h.rewardbase);
  EXPECT_EQ(*r->next_fixed<32>(), h.state_root);
  EXPECT_EQ(*r->next_fixed<32>(), h.transactions_root);
  EXPECT_EQ(*r->next_fixed<32>(), h.receipts_root);
  EXPECT_EQ(*r->next_uint(), 1u);
  EXPECT_EQ(*r->next_uint(), 42u);
  EXPECT_EQ(*r->next_uint(), 21000u);
  EXPECT_EQ(*r->next_uint(), 1'700'000'042u);
  EXPECT_EQ(*r->next_uint(), 37u);
  EXPECT_EQ(to_bytes(*r->next_bytes()), h.extra);
}

TEST(Header, RejectsTimeFoSAbove99) {
  auto r = Header::decode(header_with_field(9, rlp::encode_uint(100)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "header.time_fos");
  EXPECT_TRUE(Header::decode(header_with_field(9, rlp::encode_uint(99))).ok());
}

TEST(Header, RejectsTwelveFieldsAndTrailingBytes) {
  auto twelve = Header::decode(header_with_field(11, rlp::encode_uint(0)));
  ASSERT_FALSE(twelve.ok());
  EXPECT_EQ(twelve.error().code, "header.fields");
  Bytes enc = sample_header().encode();
  enc.push_back(0x00);
  EXPECT_FALSE(Header::decode(enc).ok());
}

TEST(Header, RejectsShortParentHashAndLongRewardbase) {
  auto p = Header::decode(header_with_field(0, rlp::encode_bytes(Bytes(31, 1))));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("parentHash"), std::string::npos) << p.error().message;
  auto rb = Header::decode(header_with_field(1, rlp::encode_bytes(Bytes(21, 1))));
  ASSERT_FALSE(rb.ok());
  EXPECT_NE(rb.error().message.find("rewardbase"), std::string::npos) << rb.error().message;
}

TEST(Header, RejectsNonCanonicalNumber) {
  EXPECT_FALSE(Header::decode(header_with_field(6, rlp::encode_bytes(Bytes{0x00, 0x2a}))).ok());
}

TEST(Header, HashExcludesCommittedSeals) {
  Header a = sample_header();
  seal(a, {1});
  Header b = sample_header();
  seal(b, {2, 1});
  ASSERT_NE(a.extra, b.extra);
  EXPECT_NE(a.encode(), b.encode());
  EXPECT_EQ(a.hash(), b.hash());
}

TEST(Header, HashChangesWithProposerSealButSigHashDoesNot) {
  Header a = sample_header();
  seal(a, {});
  Header b = a;
  auto x = *b.istanbul_extra();
  auto other = crypto::sign(key(2), *b.sig_hash());
  x.proposer_seal.assign(other.begin(), other.end());
  b.extra = encode_extra(x);
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_EQ(*a.sig_hash(), *b.sig_hash());
  Header unsealed = sample_header();
  EXPECT_EQ(*unsealed.sig_hash(), *a.sig_hash());
  EXPECT_NE(unsealed.hash(), a.hash());
}

TEST(Header, HashCoversEveryOtherField) {
  const Hash32 base = sample_header().hash();
  Header h = sample_header();
  h.time_fos = 38;
  EXPECT_NE(h.hash(), base);
  h = sample_header();
  h.gas_used++;
  EXPECT_NE(h.hash(), base);
  h = sample_header();
  h.rewardbase[0] ^= 1;
  EXPECT_NE(h.hash(), base);
  h = sample_header();
  auto x = *h.istanbul_extra();
  x.set_round(4);
  h.extra = encode_extra(x);
  EXPECT_NE(h.hash(), base);
}

TEST(Header, UndecodableExtraHashesWholeHeaderAndHasNoSigHash) {
  Header h = sample_header();
  h.extra = Bytes(5, 0xee);
  EXPECT_EQ(h.hash(), crypto::keccak256(h.encode()));
  EXPECT_FALSE(h.sig_hash().ok());
  EXPECT_FALSE(recover_proposer(h).ok());
}

TEST(Header, RecoversProposerAndCommitters) {
  Header h = sample_header();
  seal(h, {2, 1});
  auto p = recover_proposer(h);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p, crypto::address_of(key(1)));
  auto x = *h.istanbul_extra();
  EXPECT_EQ(*recover_committer(h.hash(), x.committed_seals[0]), crypto::address_of(key(2)));
  EXPECT_EQ(*recover_committer(h.hash(), x.committed_seals[1]), crypto::address_of(key(1)));
}

TEST(Header, UnsealedHeaderHasNoProposer) {
  auto r = recover_proposer(sample_header());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "header.no_seal");
}

TEST(Header, CommitSealDigestIsKeccakOfHashAndCommitCode) {
  Hash32 hash{};
  hash.fill(0x5a);
  Bytes msg(hash.begin(), hash.end());
  msg.push_back(0x02);
  EXPECT_EQ(commit_seal_digest(hash), crypto::keccak256(msg));
  EXPECT_NE(commit_seal_digest(hash), crypto::keccak256(hash));
}

Block sample_block() {
  Block b;
  b.header = sample_header();
  Address to{};
  to.fill(0x77);
  for (std::uint64_t n = 0; n < 3; ++n) {
    b.transactions.push_back(make_transfer(key(9), n, to, U256(1000 + n), U256(25), 1000));
  }
  return b;
}

TEST(Block, RoundTripsWithTransactions) {
  Block b = sample_block();
  Bytes enc = b.encode();
  auto back = Block::decode(enc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, b);
  EXPECT_EQ(back->encode(), enc);
  EXPECT_EQ(back->hash(), b.header.hash());
}

TEST(Block, RejectsThirdFieldAndHeaderThatIsAString) {
  Block b = sample_block();
  std::vector<Bytes> txs;
  for (const auto& tx : b.transactions) txs.push_back(tx.encode());
  auto three = Block::decode(
      rlp::encode_list({b.header.encode(), rlp::encode_list(txs), rlp::encode_list({})}));
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.error().code, "block.fields");
  EXPECT_FALSE(
      Block::decode(rlp::encode_list({rlp::encode_bytes(Bytes(4, 1)), rlp::encode_list(txs)}))
          .ok());
}

TEST(Block, RejectsMalformedBytesAfterTheTransactions) {
  Block b = sample_block();
  std::vector<Bytes> txs;
  for (const auto& tx : b.transactions) txs.push_back(tx.encode());
  Bytes inner = b.header.encode();
  Bytes list = rlp::encode_list(txs);
  inner.insert(inner.end(), list.begin(), list.end());
  inner.push_back(0xff);  // a truncated item: the field count stops here
  // The outer list prefix by hand (encode_list would need well-formed items): long form, two
  // length bytes.
  const std::size_t n = inner.size();
  ASSERT_GE(n, 256u);
  ASSERT_LT(n, 65536u);
  Bytes outer = {0xf9, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n & 0xff)};
  outer.insert(outer.end(), inner.begin(), inner.end());
  EXPECT_FALSE(Block::decode(outer).ok());
}

TEST(Block, RejectsMalformedTransactionNamingItsIndex) {
  Block b = sample_block();
  auto r = Block::decode(rlp::encode_list(
      {b.header.encode(),
       rlp::encode_list({b.transactions[0].encode(), rlp::encode_list({rlp::encode_uint(1)})})}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("transaction 1"), std::string::npos) << r.error().message;
}

TEST(Block, StreamDecodesConcatenationAndNamesFailingOffset) {
  Block a = sample_block();
  Block b = sample_block();
  b.header.number = 43;
  b.transactions.pop_back();
  Bytes stream = a.encode();
  Bytes eb = b.encode();
  stream.insert(stream.end(), eb.begin(), eb.end());
  auto all = decode_block_stream(stream);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], a);
  EXPECT_EQ((*all)[1], b);
  EXPECT_TRUE(decode_block_stream({})->empty());

  Bytes truncated = stream;
  truncated.pop_back();
  auto bad = decode_block_stream(truncated);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.error().message.find("block #1 at byte offset " + std::to_string(a.encode().size())),
      std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace cc::chain
