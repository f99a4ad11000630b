// Istanbul extra: layout, round trip, filtered forms, and rejection of malformed extras.
#include "chain/extra.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/rlp.h"
#include "crypto/address.h"
#include "support/fill.h"

namespace cc::chain {
namespace {

using cc::testing::addr;

crypto::Signature seal(std::uint8_t fill) {
  crypto::Signature s{};
  s.fill(fill);
  return s;
}

IstanbulExtra sample() {
  IstanbulExtra x;
  x.vanity[0] = 0xaa;
  x.set_round(7);
  x.validators = {addr(1), addr(2), addr(3)};
  auto s = seal(0x11);
  x.proposer_seal.assign(s.begin(), s.end());
  x.committed_seals = {seal(0x21), seal(0x22)};
  return x;
}

// vanity ‖ rlp(body) with a hand-built body.
Bytes with_body(const Bytes& body) {
  Bytes out(kExtraVanity + body.size(), 0);
  std::copy(body.begin(), body.end(), out.begin() + kExtraVanity);
  return out;
}

TEST(Extra, RoundTripsValidatorsSealsAndRound) {
  const IstanbulExtra x = sample();
  Bytes enc = encode_extra(x);
  auto back = decode_extra(enc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, x);
  EXPECT_EQ(back->round(), 7);
  EXPECT_EQ(enc[kRoundByte], 7);
  EXPECT_EQ(encode_extra(*back), enc);
}

TEST(Extra, DecodesPublicIbftGenesisExtraWithOneValidator) {
  // A published IBFT genesis extradata (same layout as Kaia's): one validator, no seals.
  const std::string hex =
      "0x0000000000000000000000000000000000000000000000000000000000000000"
      "d8d5944a53ddbb6fac99fbb5231178adde5dc35ed84d5f80c0";
  auto raw = from_hex(hex);
  ASSERT_TRUE(raw.ok());
  auto x = decode_extra(*raw);
  ASSERT_TRUE(x.ok()) << x.error().message;
  ASSERT_EQ(x->validators.size(), 1u);
  EXPECT_EQ(crypto::to_checksum_hex(x->validators[0]),
            "0x4a53DDBb6FAc99fBB5231178addE5dc35eD84d5F");
  EXPECT_TRUE(x->proposer_seal.empty());
  EXPECT_TRUE(x->committed_seals.empty());
  EXPECT_EQ(x->round(), 0);
  EXPECT_EQ(encode_extra(*x), *raw);
}

TEST(Extra, EmptyExtraEncodesEmptyListsAndSeal) {
  Bytes enc = encode_extra(IstanbulExtra{});
  EXPECT_EQ(to_hex(ByteView(enc).subspan(kExtraVanity)), "c3c080c0");
}

TEST(Extra, ForHashDropsOnlyCommittedSeals) {
  const IstanbulExtra x = sample();
  auto filtered = extra_for_hash(encode_extra(x));
  ASSERT_TRUE(filtered.ok());
  auto back = decode_extra(*filtered);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->committed_seals.empty());
  EXPECT_EQ(back->proposer_seal, x.proposer_seal);
  EXPECT_EQ(back->validators, x.validators);
  EXPECT_EQ(back->vanity, x.vanity);
}

TEST(Extra, ForSigHashDropsProposerAndCommittedSeals) {
  const IstanbulExtra x = sample();
  auto filtered = extra_for_sig_hash(encode_extra(x));
  ASSERT_TRUE(filtered.ok());
  auto back = decode_extra(*filtered);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->committed_seals.empty());
  EXPECT_TRUE(back->proposer_seal.empty());
  EXPECT_EQ(back->validators, x.validators);
  EXPECT_EQ(back->round(), 7);
}

TEST(Extra, RejectsVanityShorterThan32Bytes) {
  Bytes short_extra(31, 0);
  auto r = decode_extra(short_extra);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "extra.short");
  EXPECT_NE(r.error().message.find("31"), std::string::npos);
  EXPECT_FALSE(decode_extra(Bytes(kExtraVanity, 0)).ok());  // vanity but no RLP at all
}

TEST(Extra, RejectsTrailingBytesAfterTheList) {
  Bytes enc = encode_extra(sample());
  enc.push_back(0x80);
  EXPECT_FALSE(decode_extra(enc).ok());
}

TEST(Extra, RejectsTwoOrFourFields) {
  Bytes validators = rlp::encode_list({rlp::encode_bytes(addr(1))});
  EXPECT_FALSE(decode_extra(with_body(rlp::encode_list({validators, rlp::encode_bytes({})}))).ok());
  auto four = decode_extra(with_body(rlp::encode_list(
      {validators, rlp::encode_bytes({}), rlp::encode_list({}), rlp::encode_list({})})));
  ASSERT_FALSE(four.ok());
  EXPECT_EQ(four.error().code, "extra.fields");
}

TEST(Extra, RejectsMalformedBytesAfterTheThirdField) {
  // Found by fuzzing: the field count stops at a malformed item, so the decoder must also
  // check that the list ends after committedSeals.
  Bytes inner = rlp::encode_list({rlp::encode_bytes(addr(1))});
  for (std::uint8_t b : {0x80, 0xc0, 0xff}) inner.push_back(b);  // seal, seals, then junk
  Bytes body;
  body.push_back(static_cast<std::uint8_t>(0xc0 + inner.size()));
  for (std::uint8_t b : inner) body.push_back(b);
  EXPECT_FALSE(decode_extra(with_body(body)).ok());
  body.back() = 0xc0;  // the same with a well-formed 4th item is refused as well
  EXPECT_FALSE(decode_extra(with_body(body)).ok());
}

TEST(Extra, RejectsBodyThatIsAStringNotAList) {
  EXPECT_FALSE(decode_extra(with_body(rlp::encode_bytes(Bytes(5, 1)))).ok());
}

TEST(Extra, RejectsValidatorOf19Bytes) {
  Bytes bad = rlp::encode_list({rlp::encode_bytes(addr(1)), rlp::encode_bytes(Bytes(19, 2))});
  auto r =
      decode_extra(with_body(rlp::encode_list({bad, rlp::encode_bytes({}), rlp::encode_list({})})));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("validators[1]"), std::string::npos) << r.error().message;
}

TEST(Extra, RejectsValidatorsThatAreNotAList) {
  auto r = decode_extra(with_body(
      rlp::encode_list({rlp::encode_bytes(addr(1)), rlp::encode_bytes({}), rlp::encode_list({})})));
  EXPECT_FALSE(r.ok());
}

TEST(Extra, RejectsProposerSealOf64Bytes) {
  Bytes validators = rlp::encode_list({rlp::encode_bytes(addr(1))});
  auto r = decode_extra(with_body(
      rlp::encode_list({validators, rlp::encode_bytes(Bytes(64, 1)), rlp::encode_list({})})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "extra.seal_size");
}

TEST(Extra, RejectsCommittedSealOf66Bytes) {
  Bytes validators = rlp::encode_list({rlp::encode_bytes(addr(1))});
  Bytes seals = rlp::encode_list({rlp::encode_bytes(seal(1)), rlp::encode_bytes(Bytes(66, 1))});
  auto r = decode_extra(with_body(rlp::encode_list({validators, rlp::encode_bytes({}), seals})));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("committedSeals[1]"), std::string::npos) << r.error().message;
}

TEST(Extra, RejectsNonCanonicalRlp) {
  // A list header in long form for a short payload (0xf8 0x03 ...) is not canonical.
  Bytes body = {0xf8, 0x03, 0xc0, 0x80, 0xc0};
  EXPECT_FALSE(decode_extra(with_body(body)).ok());
}

TEST(Extra, FilteredFormsFailOnMalformedExtra) {
  EXPECT_FALSE(extra_for_hash(Bytes(3, 0)).ok());
  EXPECT_FALSE(extra_for_sig_hash(Bytes(3, 0)).ok());
}

}  // namespace
}  // namespace cc::chain
