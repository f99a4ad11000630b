#include "crypto/address.h"

#include <gtest/gtest.h>

#include <string>

namespace cc::crypto {
namespace {

TEST(Address, Eip155ExampleKeyDerivesKnownAddress) {
  auto key = *PrivateKey::from_bytes(Bytes(32, 0x46));
  EXPECT_EQ(to_checksum_hex(address_of(key)), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  EXPECT_EQ(address_of(key), address_of(public_key_of(key)));
}

class Eip55Examples : public ::testing::TestWithParam<const char*> {};

TEST_P(Eip55Examples, ChecksumEncodingMatchesSpec) {
  std::string expected = GetParam();
  auto addr = parse_address(expected);
  ASSERT_TRUE(addr.ok()) << addr.error().message;
  EXPECT_EQ(to_checksum_hex(*addr), expected);
}

// From EIP-55 itself.
INSTANTIATE_TEST_SUITE_P(Spec, Eip55Examples,
                         ::testing::Values("0x52908400098527886E0F7030069857D2E4169EE7",
                                           "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
                                           "0xde709f2102306220921060314715629080e2fb77",
                                           "0x27b1fdb04752bbc536007a920d24acb045561c26",
                                           "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                                           "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                                           "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
                                           "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"));

TEST(ParseAddress, AcceptsAllLowerAllUpperAndNoPrefix) {
  auto expected = *parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
  EXPECT_EQ(*parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), expected);
  EXPECT_EQ(*parse_address("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"), expected);
  EXPECT_EQ(*parse_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), expected);
}

TEST(ParseAddress, RejectsMixedCaseWithBadChecksum) {
  // One letter's case flipped relative to the valid checksum.
  auto r = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "address.checksum");
}

TEST(ParseAddress, RejectsWrongLengthAndNonHex) {
  auto short_addr = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA");
  ASSERT_FALSE(short_addr.ok());
  EXPECT_EQ(short_addr.error().code, "address.length");
  auto long_addr = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00");
  EXPECT_FALSE(long_addr.ok());
  auto non_hex = parse_address("0xzaaeb6053f3e94c9b9a09f33669435e7ef1beaed");
  ASSERT_FALSE(non_hex.ok());
  EXPECT_EQ(non_hex.error().code, "address.not_hex");
  EXPECT_FALSE(parse_address("").ok());
}

}  // namespace
}  // namespace cc::crypto
