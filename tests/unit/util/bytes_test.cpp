#include "util/bytes.h"

#include <gtest/gtest.h>

#include "util/u256.h"

namespace cc {
namespace {

TEST(Hex, RoundTripsWithAndWithoutPrefix) {
  Bytes data{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(data), "0001abff");
  EXPECT_EQ(to_hex0x(data), "0x0001abff");
  EXPECT_EQ(*from_hex("0x0001ABff"), data);
  EXPECT_EQ(*from_hex("0001abff"), data);
}

TEST(Hex, RejectsOddLengthAndBadCharactersWithPosition) {
  auto odd = from_hex("abc");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code, "hex.odd_length");
  auto bad = from_hex("0x00zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("position 2"), std::string::npos);
}

TEST(Hex, FixedWidthChecksLength) {
  EXPECT_TRUE((fixed_from_hex<2>("0xbeef")).ok());
  auto wrong = fixed_from_hex<20>("0xbeef");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "hex.length");
}

TEST(BigEndian, OrdersNumbersLikeBytes) {
  auto a = be64(255);
  auto b = be64(256);
  EXPECT_LT(a, b);
  EXPECT_EQ(read_be64(b), 256u);
}

TEST(U256, MinimalBigEndianHasNoLeadingZerosAndZeroIsEmpty) {
  EXPECT_TRUE(u256_to_be_minimal(0).empty());
  EXPECT_EQ(u256_to_be_minimal(0x0400), (Bytes{0x04, 0x00}));
  EXPECT_EQ(*u256_from_be(Bytes{0x04, 0x00}), U256(1024));
  EXPECT_EQ(u256_to_hex_quantity(0), "0x0");
  EXPECT_EQ(u256_to_hex_quantity(1024), "0x400");
}

TEST(U256, ParsesDecimalAndHexAndRejectsOverflow) {
  EXPECT_EQ(*u256_parse("1000000000000000000"), U256("1000000000000000000"));
  EXPECT_EQ(*u256_parse("0xff"), U256(255));
  EXPECT_FALSE(u256_parse("-1").ok());
  EXPECT_FALSE(u256_parse("0x1" + std::string(64, '0')).ok());
  EXPECT_TRUE(u256_parse("0x" + std::string(64, 'f')).ok());
}

}  // namespace
}  // namespace cc

TEST(HexQuantity, FormatsWithoutLeadingZerosAndRoundTrips) {
  EXPECT_EQ(cc::to_hex_quantity(0), "0x0");
  EXPECT_EQ(cc::to_hex_quantity(26), "0x1a");
  EXPECT_EQ(cc::to_hex_quantity(UINT64_MAX), "0xffffffffffffffff");
  for (std::uint64_t v : {std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{1} << 40}) {
    EXPECT_EQ(*cc::parse_hex_quantity(cc::to_hex_quantity(v)), v);
  }
}

TEST(HexQuantity, ParsesJsonRpcQuantitiesUpTo64Bits) {
  EXPECT_EQ(*cc::parse_hex_quantity("0x0"), 0U);
  EXPECT_EQ(*cc::parse_hex_quantity("0x1a"), 26U);
  EXPECT_EQ(*cc::parse_hex_quantity("0X1A"), 26U);
  EXPECT_EQ(*cc::parse_hex_quantity("0x001a"), 26U);  // leading zeros, as clients send them
  EXPECT_EQ(*cc::parse_hex_quantity("0xffffffffffffffff"), UINT64_MAX);
  for (const char* bad : {"", "0x", "1a", "0x1g", "0x10000000000000000", " 0x1", "-0x1"}) {
    auto r = cc::parse_hex_quantity(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "hex.quantity");
  }
}
