// The Ethereum RLP test vectors (tests/unit/codec/data, see its README): every valid vector
// must encode to its "out" through both encoding APIs and decode back to its "in"; every invalid
// vector must be rejected by a full recursive decode.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "codec/rlp.h"
#include "util/files.h"

namespace cc::rlp {
namespace {

using nlohmann::json;

const std::string kDataDir = std::string(CC_SOURCE_DIR) + "/tests/unit/codec/data/";

json load(const std::string& name) {
  auto text = read_file(kDataDir + name);
  if (!text.ok()) {
    ADD_FAILURE() << "cannot read " << kDataDir << name << ": " << text.error().message;
    return json::object();
  }
  return json::parse(*text);
}

// Decimal text to minimal big-endian bytes, for "#..." inputs that may exceed 256 bits.
Bytes decimal_to_be(const std::string& dec) {
  Bytes be;  // little-endian while building
  for (char c : dec) {
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& byte : be) {
      unsigned v = byte * 10u + carry;
      byte = static_cast<std::uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry != 0) {
      be.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  return Bytes(be.rbegin(), be.rend());
}

// The bytes a string "in" stands for.
Bytes string_bytes(const std::string& s) {
  if (s.rfind('#', 0) == 0) return decimal_to_be(s.substr(1));
  if (s.rfind("0x", 0) == 0) return from_hex(s).value();
  return to_bytes(view(s));
}

// Encodes "in" with the Encoder (integers through uint/u256 so those paths are exercised).
void encode_with_encoder(const json& in, Encoder& enc) {
  if (in.is_array()) {
    enc.begin_list();
    for (const auto& item : in) encode_with_encoder(item, enc);
    enc.end_list();
  } else if (in.is_number_unsigned()) {
    enc.uint(in.get<std::uint64_t>());
  } else {
    const auto s = in.get<std::string>();
    if (s.rfind('#', 0) == 0) {
      if (auto big = u256_parse(s.substr(1)); big.ok()) {
        enc.u256(*big);
        return;
      }
    }
    enc.bytes(string_bytes(s));
  }
}

// Encodes "in" with the free functions.
Bytes encode_with_functions(const json& in) {
  if (in.is_array()) {
    std::vector<Bytes> items;
    for (const auto& item : in) items.push_back(encode_with_functions(item));
    return encode_list(items);
  }
  if (in.is_number_unsigned()) return encode_uint(in.get<std::uint64_t>());
  return encode_bytes(string_bytes(in.get<std::string>()));
}

// Checks that a decoded item matches "in"; reports the path of the first mismatch.
void expect_decodes_to(const json& in, const Item& item, const std::string& path) {
  if (in.is_array()) {
    ASSERT_TRUE(item.is_list) << path << ": expected a list";
    auto reader = ListReader::of(item);
    ASSERT_TRUE(reader.ok()) << path << ": " << reader.error().message;
    EXPECT_EQ(reader->remaining_items(), in.size()) << path;
    for (std::size_t i = 0; i < in.size(); ++i) {
      auto child = reader->next();
      ASSERT_TRUE(child.ok()) << path << "[" << i << "]: " << child.error().message;
      expect_decodes_to(in[i], *child, path + "[" + std::to_string(i) + "]");
    }
    EXPECT_TRUE(reader->expect_end().ok()) << path;
    return;
  }
  ASSERT_FALSE(item.is_list) << path << ": expected a string";
  if (in.is_number_unsigned()) {
    auto v = decode_uint(item.payload);
    ASSERT_TRUE(v.ok()) << path << ": " << v.error().message;
    EXPECT_EQ(*v, in.get<std::uint64_t>()) << path;
    return;
  }
  const auto s = in.get<std::string>();
  EXPECT_EQ(to_bytes(item.payload), string_bytes(s)) << path;
  if (s.rfind('#', 0) == 0) {
    auto expected = u256_parse(s.substr(1));
    auto v = decode_u256(item.payload);
    EXPECT_EQ(v.ok(), expected.ok()) << path << ": decode_u256 must succeed exactly when it fits";
    if (v.ok() && expected.ok()) {
      EXPECT_EQ(*v, *expected) << path;
    }
  }
}

TEST(RlpVectors, EveryValidVectorEncodesToItsOutputAndDecodesBack) {
  const json vectors = load("rlptest.json");
  ASSERT_EQ(vectors.size(), 28u) << "rlptest.json lost or gained entries";
  for (const auto& [name, vec] : vectors.items()) {
    SCOPED_TRACE(name);
    const Bytes out = from_hex(vec.at("out").get<std::string>()).value();

    Encoder enc;
    encode_with_encoder(vec.at("in"), enc);
    EXPECT_EQ(to_hex(enc.finish()), to_hex(out)) << "Encoder";
    EXPECT_EQ(to_hex(encode_with_functions(vec.at("in"))), to_hex(out)) << "encode_* functions";

    auto status = validate(out);
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message);
    auto item = decode_single(out);
    ASSERT_TRUE(item.ok()) << item.error().message;
    expect_decodes_to(vec.at("in"), *item, name);
  }
}

void expect_all_rejected(const std::string& file, std::size_t expected_count) {
  const json vectors = load(file);
  ASSERT_EQ(vectors.size(), expected_count) << file << " lost or gained entries";
  for (const auto& [name, vec] : vectors.items()) {
    const Bytes out = from_hex(vec.at("out").get<std::string>()).value();
    auto status = validate(out);
    ASSERT_FALSE(status.ok()) << file << ": " << name << " (" << to_hex(out) << ") was accepted";
    EXPECT_EQ(status.error().code.rfind("rlp.", 0), 0u) << name << ": " << status.error().code;
    EXPECT_FALSE(status.error().message.empty()) << name;
  }
}

TEST(RlpVectors, EveryInvalidVectorIsRejected) { expect_all_rejected("invalidRLPTest.json", 9); }

TEST(RlpVectors, EveryLaterInvalidVectorIsRejected) {
  expect_all_rejected("invalidRLPTest_later.json", 17);
}

TEST(RlpVectors, DecimalHelperMatchesU256ForValuesThatFit) {
  // Guards the test's own big-integer conversion, which the "#" vectors rely on.
  EXPECT_EQ(decimal_to_be("0"), Bytes{});
  EXPECT_EQ(decimal_to_be("256"), (Bytes{0x01, 0x00}));
  const std::string max =
      "115792089237316195423570985008687907853269984665640564039457584007913129639935";
  EXPECT_EQ(decimal_to_be(max), u256_to_be_minimal(*u256_parse(max)));
}

}  // namespace
}  // namespace cc::rlp
