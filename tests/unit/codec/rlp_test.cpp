#include "codec/rlp.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

namespace cc::rlp {
namespace {

Bytes hex(const std::string& h) { return from_hex(h).value(); }

Bytes filled(std::size_t n, std::uint8_t byte = 0x61) { return Bytes(n, byte); }

bool mentions(const Error& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

// ---- encoding ----

TEST(RlpEncode, SingleByteBelow0x80IsItsOwnEncoding) {
  EXPECT_EQ(encode_bytes(Bytes{0x00}), hex("00"));
  EXPECT_EQ(encode_bytes(Bytes{0x7f}), hex("7f"));
  EXPECT_EQ(encode_bytes(Bytes{0x80}), hex("8180"));
  EXPECT_EQ(encode_bytes(Bytes{}), hex("80"));
}

TEST(RlpEncode, StringLengthBoundariesSwitchToLongFormAt56) {
  EXPECT_EQ(encode_bytes(filled(55))[0], 0xb7);
  EXPECT_EQ(encode_bytes(filled(55)).size(), 56u);
  auto s56 = encode_bytes(filled(56));
  EXPECT_EQ(Bytes(s56.begin(), s56.begin() + 2), hex("b838"));
  auto s255 = encode_bytes(filled(255));
  EXPECT_EQ(Bytes(s255.begin(), s255.begin() + 2), hex("b8ff"));
  auto s256 = encode_bytes(filled(256));
  EXPECT_EQ(Bytes(s256.begin(), s256.begin() + 3), hex("b90100"));
  EXPECT_EQ(s256.size(), 259u);
}

TEST(RlpEncode, IntegersAreMinimalBigEndianWithZeroAsEmptyString) {
  EXPECT_EQ(encode_uint(0), hex("80"));
  EXPECT_EQ(encode_uint(1), hex("01"));
  EXPECT_EQ(encode_uint(0x7f), hex("7f"));
  EXPECT_EQ(encode_uint(0x80), hex("8180"));
  EXPECT_EQ(encode_uint(0x0100), hex("820100"));
  EXPECT_EQ(encode_uint(std::numeric_limits<std::uint64_t>::max()), hex("88ffffffffffffffff"));
  EXPECT_EQ(encode_u256(U256(0)), hex("80"));
  EXPECT_EQ(encode_u256(U256(0x80)), hex("8180"));
  EXPECT_EQ(encode_u256(~U256(0)), hex("a0" + std::string(64, 'f')));
}

TEST(RlpEncode, ListPayloadBoundariesSwitchToLongFormAt56) {
  // A 54-byte string encodes to 55 bytes: the largest short-list payload.
  EXPECT_EQ(encode_list({encode_bytes(filled(54))})[0], 0xf7);
  auto long_list = encode_list({encode_bytes(filled(55))});
  EXPECT_EQ(Bytes(long_list.begin(), long_list.begin() + 2), hex("f838"));
  EXPECT_EQ(encode_list({}), hex("c0"));
}

TEST(RlpEncode, EncoderPatchesShortAndLongListPrefixesInPlace) {
  Encoder enc;
  enc.begin_list().bytes(filled(54)).end_list();
  EXPECT_EQ(enc.finish(), encode_list({encode_bytes(filled(54))}));
  enc.begin_list().bytes(filled(55)).end_list();
  EXPECT_EQ(enc.finish(), encode_list({encode_bytes(filled(55))}));
  // Long lists nested in long lists: each end_list shifts only its own payload.
  enc.begin_list().begin_list().bytes(filled(300)).end_list().bytes(filled(70)).end_list();
  const Bytes inner = encode_list({encode_bytes(filled(300))});
  EXPECT_EQ(enc.finish(), encode_list({inner, encode_bytes(filled(70))}));
}

TEST(RlpEncode, EncoderFinishLeavesItEmptyForReuse) {
  Encoder enc;
  enc.uint(5);
  EXPECT_EQ(enc.finish(), hex("05"));
  EXPECT_EQ(enc.finish(), Bytes{});
  enc.bytes(Bytes{0x80}).raw(hex("c0"));
  EXPECT_EQ(enc.finish(), hex("8180c0"));
}

TEST(RlpEncodeDeathTest, EncoderMisuseAbortsLoudly) {
  EXPECT_DEATH(
      {
        Encoder enc;
        enc.end_list();
      },
      "invariant broken");
  EXPECT_DEATH(
      {
        Encoder enc;
        enc.begin_list();
        (void)enc.finish();
      },
      "invariant broken");
}

// A random structure, encoded both ways and decoded back.
struct Node {
  bool is_list = false;
  Bytes bytes;
  std::vector<Node> children;
};

Node random_node(std::mt19937& rng, int depth) {
  Node n;
  if (depth == 0 || rng() % 3 == 0) {
    static constexpr std::size_t kSizes[] = {0, 1, 1, 2, 54, 55, 56, 57, 255, 256, 1000};
    n.bytes.resize(kSizes[rng() % std::size(kSizes)]);
    for (auto& b : n.bytes) b = static_cast<std::uint8_t>(rng());
    return n;
  }
  n.is_list = true;
  const std::size_t count = rng() % 8;
  for (std::size_t i = 0; i < count; ++i) n.children.push_back(random_node(rng, depth - 1));
  return n;
}

Bytes encode_functions(const Node& n) {
  if (!n.is_list) return encode_bytes(n.bytes);
  std::vector<Bytes> items;
  for (const auto& c : n.children) items.push_back(encode_functions(c));
  return encode_list(items);
}

void encode_encoder(const Node& n, Encoder& enc) {
  if (!n.is_list) {
    enc.bytes(n.bytes);
    return;
  }
  enc.begin_list();
  for (const auto& c : n.children) encode_encoder(c, enc);
  enc.end_list();
}

bool same_as_decoded(const Node& n, const Item& item) {
  if (n.is_list != item.is_list) return false;
  if (!n.is_list) return to_bytes(item.payload) == n.bytes;
  auto reader = ListReader::of(item);
  if (!reader.ok()) return false;
  for (const auto& c : n.children) {
    auto child = reader->next();
    if (!child.ok() || !same_as_decoded(c, *child)) return false;
  }
  return reader->expect_end().ok();
}

TEST(RlpEncode, EncoderAndFunctionsAgreeAndDecodeBackOnRandomStructures) {
  std::mt19937 rng(20240601);
  for (int i = 0; i < 500; ++i) {
    const Node n = random_node(rng, 4);
    Encoder enc;
    encode_encoder(n, enc);
    const Bytes a = enc.finish();
    ASSERT_EQ(a, encode_functions(n)) << "structure " << i;
    ASSERT_TRUE(validate(a).ok()) << "structure " << i;
    auto item = decode_single(a);
    ASSERT_TRUE(item.ok()) << "structure " << i;
    ASSERT_TRUE(same_as_decoded(n, *item)) << "structure " << i;
  }
}

// ---- decoding: canonical form ----

TEST(RlpDecode, ReturnsItemAndRest) {
  ByteView rest;
  const Bytes input = hex("83646f67c0");
  auto item = decode_item(input, rest);
  ASSERT_TRUE(item.ok());
  EXPECT_FALSE(item->is_list);
  EXPECT_EQ(to_bytes(item->payload), to_bytes(view(std::string("dog"))));
  EXPECT_EQ(item->encoded.size(), 4u);
  EXPECT_EQ(to_bytes(rest), hex("c0"));
}

TEST(RlpDecode, RejectsSingleByteWrappedAsString) {
  for (const char* h : {"8100", "8101", "817f"}) {
    auto r = decode_single(hex(h));
    ASSERT_FALSE(r.ok()) << h;
    EXPECT_EQ(r.error().code, "rlp.non_canonical") << h;
    EXPECT_TRUE(mentions(r.error(), "offset 0")) << r.error().message;
  }
  EXPECT_TRUE(decode_single(hex("8180")).ok());  // 0x80 itself must be wrapped
}

TEST(RlpDecode, RejectsLongFormForShortLength) {
  for (const char* h : {"b80161", "f801c0", "b837" /* + payload below */}) {
    Bytes input = hex(h);
    if (std::string(h) == "b837") input.resize(2 + 55, 0x61);
    auto r = decode_single(input);
    ASSERT_FALSE(r.ok()) << h;
    EXPECT_EQ(r.error().code, "rlp.non_canonical") << h;
    EXPECT_TRUE(mentions(r.error(), "short form")) << r.error().message;
  }
  Bytes exactly56 = hex("b838");
  exactly56.resize(2 + 56, 0x61);
  EXPECT_TRUE(decode_single(exactly56).ok());
}

TEST(RlpDecode, RejectsLengthWithLeadingZeroBytes) {
  Bytes input = hex("b90038");
  input.resize(3 + 56, 0x61);
  auto r = decode_single(input);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "rlp.non_canonical");
  EXPECT_TRUE(mentions(r.error(), "leading zero")) << r.error().message;
  auto list = decode_single(hex("f800"));
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, "rlp.non_canonical");
}

TEST(RlpDecode, RejectsDeclaredLengthBeyondInputWithoutOverflow) {
  // Declared lengths near 2^64 must not wrap when added to the header size.
  for (const char* h : {"bfffffffffffffffff", "bfffffffffffffffff00", "bffffffffffffffffe6161",
                        "ffffffffffffffffff0001020304050607", "b90100", "8361", "b8"}) {
    auto r = decode_single(hex(h));
    ASSERT_FALSE(r.ok()) << h;
    EXPECT_EQ(r.error().code, "rlp.truncated") << h;
  }
  auto r = decode_single(hex("8561626364"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(mentions(r.error(), "declares 5 payload byte(s), but only 4 remain"))
      << r.error().message;
}

TEST(RlpDecode, RejectsEmptyInputAndTrailingBytes) {
  auto empty = decode_single(ByteView{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "rlp.empty");
  auto trailing = decode_single(hex("83646f6700"));
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.error().code, "rlp.trailing");
  EXPECT_TRUE(mentions(trailing.error(), "offset 4")) << trailing.error().message;
  EXPECT_FALSE(validate(hex("c0c0")).ok());
}

TEST(RlpDecode, RejectsListWhoseItemsDoNotExactlyFillItsPayload) {
  // A 2-byte list payload holding the start of "dog": the string overruns the list.
  auto r = validate(hex("c28364"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "rlp.truncated");
  EXPECT_TRUE(mentions(r.error(), "offset 1")) << r.error().message;
  // With the rest of "dog" after the list, the bytes beyond the list are trailing, not its items.
  EXPECT_EQ(validate(hex("c283646f67")).error().code, "rlp.trailing");
  const Bytes overrun = hex("c28364");
  auto reader = ListReader::open(overrun);
  ASSERT_TRUE(reader.ok());  // open checks only the outer list
  auto item = reader->next();
  ASSERT_FALSE(item.ok());
  EXPECT_TRUE(mentions(item.error(), "enclosing list")) << item.error().message;
}

TEST(RlpDecode, ValidateReportsTheOffsetOfANestedFault) {
  // [ "dog", [ 0x81 0x05 ] ]: the non-canonical byte string sits at offset 6.
  auto r = validate(hex("c783646f67c28105"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "rlp.non_canonical");
  EXPECT_TRUE(mentions(r.error(), "offset 6")) << r.error().message;
}

TEST(RlpDecode, EveryProperPrefixOfAValidEncodingIsRejected) {
  Encoder enc;
  enc.begin_list().bytes(filled(3)).begin_list().bytes(filled(70)).bytes({}).end_list();
  enc.bytes(filled(200)).uint(1'000'000).end_list();
  const Bytes full = enc.finish();
  ASSERT_TRUE(validate(full).ok());
  for (std::size_t n = 0; n < full.size(); ++n) {
    EXPECT_FALSE(validate(ByteView(full).first(n)).ok()) << "prefix of " << n << " bytes";
  }
}

// ---- integers ----

TEST(RlpDecode, IntegersRejectLeadingZerosAndOversize) {
  EXPECT_EQ(*decode_uint({}), 0u);
  EXPECT_EQ(*decode_uint(hex("ffffffffffffffff")), std::numeric_limits<std::uint64_t>::max());
  auto zero_byte = decode_uint(hex("00"));
  ASSERT_FALSE(zero_byte.ok());
  EXPECT_EQ(zero_byte.error().code, "rlp.int_leading_zero");
  EXPECT_EQ(decode_uint(hex("0001")).error().code, "rlp.int_leading_zero");
  EXPECT_EQ(decode_uint(hex("010000000000000000")).error().code, "rlp.int_too_large");

  EXPECT_EQ(*decode_u256(hex(std::string(64, 'f'))), ~U256(0));
  EXPECT_EQ(decode_u256(hex("00ff")).error().code, "rlp.int_leading_zero");
  EXPECT_EQ(decode_u256(hex("01" + std::string(64, '0'))).error().code, "rlp.int_too_large");
}

// ---- ListReader ----

TEST(RlpListReader, ReadsATransactionShapedList) {
  Address to{};
  to.fill(0xab);
  Hash32 r{};
  r.fill(0x11);
  const U256 value = U256(1'000'000'000'000'000'000ull);
  Encoder enc;
  enc.begin_list().uint(7).uint(25'000'000'000).uint(21'000).bytes(to).u256(value).bytes({});
  enc.uint(8217 * 2 + 35).bytes(r).bytes(r).end_list();
  const Bytes tx = enc.finish();

  auto reader = ListReader::open(tx);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->remaining_items(), 9u);
  EXPECT_EQ(*reader->next_uint(), 7u);
  EXPECT_EQ(*reader->next_uint(), 25'000'000'000u);
  EXPECT_EQ(*reader->next_uint(), 21'000u);
  EXPECT_EQ(*reader->next_fixed<20>(), to);
  EXPECT_EQ(*reader->next_u256(), value);
  EXPECT_TRUE(reader->next_bytes()->empty());
  EXPECT_EQ(*reader->next_uint(), 8217u * 2 + 35);
  EXPECT_EQ(*reader->next_fixed<32>(), r);
  EXPECT_FALSE(reader->at_end());
  EXPECT_EQ(*reader->next_fixed<32>(), r);
  EXPECT_TRUE(reader->at_end());
  EXPECT_TRUE(reader->expect_end().ok());
  auto past_end = reader->next();
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.error().code, "rlp.missing_field");
}

TEST(RlpListReader, TypedReadersRejectTheWrongShapeWithOffset) {
  // [ [], "dog", 0x0005-as-string, "ab" ]
  const Bytes input = hex("cbc083646f67820005826162");
  auto reader = ListReader::open(input);
  ASSERT_TRUE(reader.ok());
  auto as_bytes = reader->next_bytes();
  ASSERT_FALSE(as_bytes.ok());
  EXPECT_EQ(as_bytes.error().code, "rlp.expected_string");
  EXPECT_TRUE(mentions(as_bytes.error(), "offset 1")) << as_bytes.error().message;
  auto as_list = reader->next_list();
  ASSERT_FALSE(as_list.ok());
  EXPECT_EQ(as_list.error().code, "rlp.expected_list");
  auto leading_zero = reader->next_uint();
  ASSERT_FALSE(leading_zero.ok());
  EXPECT_EQ(leading_zero.error().code, "rlp.int_leading_zero");
  EXPECT_TRUE(mentions(leading_zero.error(), "offset 6")) << leading_zero.error().message;
  auto wrong_size = reader->next_fixed<20>();
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_EQ(wrong_size.error().code, "rlp.wrong_size");
  EXPECT_TRUE(mentions(wrong_size.error(), "expected 20 bytes, got 2"))
      << wrong_size.error().message;
}

TEST(RlpListReader, ExpectEndRejectsTrailingFields) {
  const Bytes input = hex("c3010203");  // the reader views this buffer; it must outlive it
  auto reader = ListReader::open(input);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*reader->next_uint(), 1u);
  auto end = reader->expect_end();
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.error().code, "rlp.extra_fields");
  EXPECT_TRUE(mentions(end.error(), "2 unexpected trailing item(s) at offset 2"))
      << end.error().message;
}

TEST(RlpListReader, OpenRequiresExactlyOneList) {
  EXPECT_EQ(ListReader::open(hex("83646f67")).error().code, "rlp.expected_list");
  EXPECT_EQ(ListReader::open(hex("c0c0")).error().code, "rlp.trailing");
  const Bytes dog = hex("83646f67");
  auto item = decode_single(dog);
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(ListReader::of(*item).error().code, "rlp.expected_list");
}

Bytes nested_lists(std::size_t depth) {
  Encoder enc;
  for (std::size_t i = 0; i < depth; ++i) enc.begin_list();
  for (std::size_t i = 0; i < depth; ++i) enc.end_list();
  return enc.finish();
}

TEST(RlpListReader, NestingIsBoundedAtMaxDepth) {
  for (std::size_t depth : {kMaxListDepth, kMaxListDepth + 1}) {
    const Bytes input = nested_lists(depth);
    auto reader = ListReader::open(input);
    ASSERT_TRUE(reader.ok());
    Result<ListReader> current = std::move(reader);
    for (std::size_t d = 2; d <= depth && current.ok(); ++d) current = current->next_list();
    if (depth <= kMaxListDepth) {
      ASSERT_TRUE(current.ok()) << current.error().message;
      EXPECT_EQ(current->depth(), kMaxListDepth);
      EXPECT_TRUE(validate(input).ok());
    } else {
      ASSERT_FALSE(current.ok());
      EXPECT_EQ(current.error().code, "rlp.too_deep");
      auto v = validate(input);
      ASSERT_FALSE(v.ok());
      EXPECT_EQ(v.error().code, "rlp.too_deep");
    }
  }
  EXPECT_EQ(validate(nested_lists(3), 2).error().code, "rlp.too_deep");
  EXPECT_TRUE(validate(nested_lists(3), 3).ok());
}

TEST(RlpListReader, RemainingItemsStopsAtTheFirstMalformedItem) {
  // [ 1, 2, 0x81 0x05 (non-canonical), 3 ]
  const Bytes input =
      hex("c501028105"
          "03");
  auto reader = ListReader::open(input);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->remaining_items(), 2u);
}

}  // namespace
}  // namespace cc::rlp
