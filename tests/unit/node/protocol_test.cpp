// Specification of the chain protocol codec (node/protocol.h): every message round-trips, and
// every class of bad payload is refused with the documented code and a message naming the
// message and field. Real blocks and signed transactions come from the chain generator.
#include "node/protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "chain/generator.h"
#include "codec/rlp.h"
#include "support/fill.h"

namespace cc::node {
namespace {

using cc::testing::hash_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::uint64_t kProtocolChainId = 1001;

// A small real chain (sealed headers with Istanbul extras, signed transfers), built once.
const std::vector<chain::Block>& sample_blocks() {
  static const std::vector<chain::Block> blocks = [] {
    auto net = chain::make_test_network(4, 3, 7, kProtocolChainId);
    chain::GenerateParams p;
    p.blocks = 4;
    p.txs_per_block = 3;
    p.seed = 7;
    auto r = chain::generate_chain(net.genesis, net.validator_keys, net.account_keys, p);
    if (!r.ok()) return std::vector<chain::Block>{};
    return std::move(r).value();
  }();
  return blocks;
}

std::vector<Message> one_message_of_each_kind() {
  const auto& blocks = sample_blocks();
  std::vector<Message> out;
  out.emplace_back(StatusMsg{kChainProtocolVersion, 1001, hash_of(0xaa), 42, hash_of(0xbb)});
  out.emplace_back(NewBlockHashesMsg{{{hash_of(1), 1}, {hash_of(2), 2}, {hash_of(3), 1u << 20}}});
  out.emplace_back(TransactionsMsg{blocks.at(0).transactions});
  out.emplace_back(GetBlockHeadersMsg{7, 100, kMaxHeadersPerReply});
  BlockHeadersMsg headers{8, {}};
  for (const auto& b : blocks) headers.headers.push_back(b.header);
  out.emplace_back(headers);
  out.emplace_back(GetBlockBodiesMsg{9, {blocks.at(0).hash(), blocks.at(1).hash()}});
  BlockBodiesMsg bodies{10, {}};
  for (const auto& b : blocks) bodies.bodies.push_back(b.transactions);
  bodies.bodies.emplace_back();  // an empty body is a body
  out.emplace_back(bodies);
  out.emplace_back(NewBlockMsg{blocks.at(2)});
  return out;
}

std::uint8_t code_byte(const Message& m) { return static_cast<std::uint8_t>(code_of(m)); }

TEST(Protocol, SampleChainIsReal) {
  ASSERT_EQ(sample_blocks().size(), 4u);
  EXPECT_EQ(sample_blocks()[0].transactions.size(), 3u);
}

TEST(Protocol, EveryMessageRoundTrips) {
  const auto messages = one_message_of_each_kind();
  ASSERT_EQ(messages.size(), std::variant_size_v<Message>);
  for (const auto& m : messages) {
    const Bytes payload = encode_payload(m);
    auto decoded = decode_message(code_byte(m), payload);
    ASSERT_TRUE(decoded.ok()) << msg_code_name(code_of(m)) << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, m) << msg_code_name(code_of(m));
    EXPECT_EQ(code_of(*decoded), code_of(m));
    // Strict decoding means one encoding per message.
    EXPECT_EQ(encode_payload(*decoded), payload);
  }
}

TEST(Protocol, EmptyListsRoundTrip) {
  const std::vector<Message> empties = {NewBlockHashesMsg{}, TransactionsMsg{},
                                        BlockHeadersMsg{1, {}}, GetBlockBodiesMsg{2, {}},
                                        BlockBodiesMsg{3, {}}};
  for (const auto& m : empties) {
    auto decoded = decode_message(code_byte(m), encode_payload(m));
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(*decoded, m);
  }
}

TEST(Protocol, CodesAndNamesAreTheDocumentedOnes) {
  const auto messages = one_message_of_each_kind();
  const std::vector<std::pair<std::uint8_t, std::string>> expected = {
      {0x10, "status"},        {0x11, "new_block_hashes"},
      {0x12, "transactions"},  {0x13, "get_block_headers"},
      {0x14, "block_headers"}, {0x15, "get_block_bodies"},
      {0x16, "block_bodies"},  {0x17, "new_block"}};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(code_byte(messages[i]), expected[i].first);
    EXPECT_EQ(msg_code_name(code_of(messages[i])), expected[i].second);
  }
}

TEST(Protocol, RejectsUnknownCode) {
  const Bytes payload = encode_payload(StatusMsg{});
  for (int code : {0x00, 0x02, 0x0f, 0x18, 0x7f, 0xff}) {
    auto r = decode_message(static_cast<std::uint8_t>(code), payload);
    ASSERT_FALSE(r.ok()) << code;
    EXPECT_EQ(r.error().code, "proto.unknown_code");
  }
  auto r = decode_message(0x18, payload);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("0x18"));
}

TEST(Protocol, RejectsTrailingBytesAfterEveryMessage) {
  for (const auto& m : one_message_of_each_kind()) {
    Bytes payload = encode_payload(m);
    payload.push_back(0x80);
    auto r = decode_message(code_byte(m), payload);
    ASSERT_FALSE(r.ok()) << msg_code_name(code_of(m));
    EXPECT_EQ(r.error().code, "proto.malformed");
    EXPECT_THAT(r.error().message, HasSubstr("rlp.trailing"));
  }
}

TEST(Protocol, RejectsEmptyAndNonListPayloads) {
  for (const auto& m : one_message_of_each_kind()) {
    auto empty = decode_message(code_byte(m), Bytes{});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().code, "proto.malformed");
    auto string = decode_message(code_byte(m), rlp::encode_bytes(Bytes{1, 2, 3}));
    ASSERT_FALSE(string.ok());
    EXPECT_EQ(string.error().code, "proto.malformed");
  }
}

TEST(Protocol, RejectsWrongFieldCount) {
  rlp::Encoder enc;
  // Status with 4 and 6 fields.
  const Bytes status4 =
      enc.begin_list().uint(1).uint(1).bytes(hash_of(1)).uint(0).end_list().finish();
  const Bytes status6 = enc.begin_list()
                            .uint(1)
                            .uint(1)
                            .bytes(hash_of(1))
                            .uint(0)
                            .bytes(hash_of(2))
                            .uint(0)
                            .end_list()
                            .finish();
  const Bytes get_headers2 = enc.begin_list().uint(1).uint(1).end_list().finish();
  const Bytes headers1 = enc.begin_list().uint(1).end_list().finish();
  const Bytes bodies3 =
      enc.begin_list().uint(1).begin_list().end_list().uint(0).end_list().finish();
  const Bytes new_block2 =
      enc.begin_list().raw(sample_blocks().at(0).encode()).uint(0).end_list().finish();
  const Bytes announce3 = enc.begin_list()
                              .begin_list()
                              .bytes(hash_of(1))
                              .uint(1)
                              .uint(2)
                              .end_list()
                              .end_list()
                              .finish();
  struct Case {
    MsgCode code;
    Bytes payload;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {MsgCode::kStatus, status4, "Status: expected 5 field(s)"},
      {MsgCode::kStatus, status6, "Status: expected 5 field(s)"},
      {MsgCode::kGetBlockHeaders, get_headers2, "GetBlockHeaders: expected 3 field(s)"},
      {MsgCode::kBlockHeaders, headers1, "BlockHeaders: expected 2 field(s)"},
      {MsgCode::kGetBlockBodies, headers1, "GetBlockBodies: expected 2 field(s)"},
      {MsgCode::kBlockBodies, bodies3, "BlockBodies: expected 2 field(s)"},
      {MsgCode::kNewBlock, new_block2, "NewBlock: expected 1 field(s)"},
      {MsgCode::kNewBlockHashes, announce3, "NewBlockHashes: announcement 0: expected 2 fields"},
  };
  for (const auto& c : cases) {
    auto r = decode_message(static_cast<std::uint8_t>(c.code), c.payload);
    ASSERT_FALSE(r.ok()) << c.prefix;
    EXPECT_EQ(r.error().code, "proto.malformed") << c.prefix;
    EXPECT_THAT(r.error().message, StartsWith(c.prefix));
  }
}

// Found by fuzzing: the right number of well-formed fields followed by a truncated item inside
// the list must not decode (it would re-encode to different bytes).
TEST(Protocol, RejectsABrokenItemAfterTheLastField) {
  const Bytes get_headers = {0xc4, 0x01, 0x01, 0x02, 0xd2};
  auto r = decode_message(0x13, get_headers);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("GetBlockHeaders: field 3: "));

  // [[hash, 1, <truncated>]] as an announcement.
  Bytes announce = {0xe4, 0xe3, 0xa0};
  for (int i = 0; i < 32; ++i) announce.push_back(0x11);
  announce.push_back(0x01);
  announce.push_back(0xd2);
  ASSERT_EQ(announce.size(), 1u + 0x24);
  r = decode_message(0x11, announce);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("NewBlockHashes: announcement 0: field 2: "));
}

// Lists of `count` empty strings: not one is a valid element, so a decoder that looked at an
// element before checking the count would report proto.malformed instead of proto.too_many.
Bytes junk_list(std::size_t count) {
  rlp::Encoder enc;
  enc.begin_list();
  for (std::size_t i = 0; i < count; ++i) enc.bytes(Bytes{});
  enc.end_list();
  return enc.finish();
}

Bytes with_request_id(const Bytes& list) {
  rlp::Encoder enc;
  return enc.begin_list().uint(5).raw(list).end_list().finish();
}

TEST(Protocol, RejectsTooManyItemsBeforeDecodingThem) {
  struct Case {
    MsgCode code;
    Bytes payload;
  };
  const std::vector<Case> cases = {
      {MsgCode::kNewBlockHashes, junk_list(kMaxAnnouncements + 1)},
      {MsgCode::kTransactions, junk_list(kMaxTransactionsPerMsg + 1)},
      {MsgCode::kBlockHeaders, with_request_id(junk_list(kMaxHeadersPerReply + 1))},
      {MsgCode::kGetBlockBodies, with_request_id(junk_list(kMaxBodiesPerReply + 1))},
      {MsgCode::kBlockBodies, with_request_id(junk_list(kMaxBodiesPerReply + 1))},
  };
  for (const auto& c : cases) {
    auto r = decode_message(static_cast<std::uint8_t>(c.code), c.payload);
    ASSERT_FALSE(r.ok()) << msg_code_name(c.code);
    EXPECT_EQ(r.error().code, "proto.too_many") << msg_code_name(c.code);
  }
  // At the limit the same junk is judged element by element.
  auto at_limit = decode_message(static_cast<std::uint8_t>(MsgCode::kNewBlockHashes),
                                 junk_list(kMaxAnnouncements));
  ASSERT_FALSE(at_limit.ok());
  EXPECT_EQ(at_limit.error().code, "proto.malformed");
}

TEST(Protocol, AcceptsListsExactlyAtTheLimit) {
  NewBlockHashesMsg ann;
  for (std::size_t i = 0; i < kMaxAnnouncements; ++i) ann.announcements.push_back({hash_of(1), i});
  GetBlockBodiesMsg get{1, std::vector<Hash32>(kMaxBodiesPerReply, hash_of(2))};
  BlockHeadersMsg headers{
      2, std::vector<chain::Header>(kMaxHeadersPerReply, sample_blocks().at(0).header)};
  for (const Message& m : std::vector<Message>{ann, get, headers}) {
    auto r = decode_message(code_byte(m), encode_payload(m));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, m);
  }
  NewBlockHashesMsg over = ann;
  over.announcements.push_back({hash_of(3), 3});
  auto r = decode_message(code_byte(over), encode_payload(over));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.too_many");
  EXPECT_THAT(r.error().message, HasSubstr("257"));
}

TEST(Protocol, RejectsHashesThatAreNot32Bytes) {
  rlp::Encoder enc;
  const Bytes short_genesis = enc.begin_list()
                                  .uint(1)
                                  .uint(1)
                                  .bytes(Bytes(31, 1))
                                  .uint(0)
                                  .bytes(hash_of(2))
                                  .end_list()
                                  .finish();
  auto r = decode_message(0x10, short_genesis);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("Status: genesisHash:"));

  const Bytes long_hash = enc.begin_list()
                              .uint(1)
                              .begin_list()
                              .bytes(hash_of(1))
                              .bytes(Bytes(33, 1))
                              .end_list()
                              .end_list()
                              .finish();
  r = decode_message(0x15, long_hash);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("GetBlockBodies: hash 1:"));

  const Bytes short_announce =
      enc.begin_list().begin_list().bytes(Bytes(20, 1)).uint(1).end_list().end_list().finish();
  r = decode_message(0x11, short_announce);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, StartsWith("NewBlockHashes: announcement 0 hash:"));
}

Result<Message> get_headers(std::uint64_t origin, std::uint64_t amount) {
  rlp::Encoder enc;
  return decode_message(0x13,
                        enc.begin_list().uint(1).uint(origin).uint(amount).end_list().finish());
}

TEST(Protocol, GetBlockHeadersAmountMustBeOneToTheReplyLimit) {
  EXPECT_TRUE(get_headers(0, 1).ok());
  EXPECT_TRUE(get_headers(0, kMaxHeadersPerReply).ok());
  for (std::uint64_t bad :
       {std::uint64_t{0}, std::uint64_t{kMaxHeadersPerReply + 1}, ~std::uint64_t{0}}) {
    auto r = get_headers(0, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "proto.bad_amount");
    EXPECT_THAT(r.error().message, HasSubstr("GetBlockHeaders: amount"));
  }
  // The range must end at a representable block number.
  EXPECT_TRUE(get_headers(~std::uint64_t{0}, 1).ok());
  auto past = get_headers(~std::uint64_t{0}, 2);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, "proto.bad_amount");
}

TEST(Protocol, StatusVersionMustFitIn32Bits) {
  rlp::Encoder enc;
  auto status_with = [&](std::uint64_t version) {
    return enc.begin_list()
        .uint(version)
        .uint(1)
        .bytes(hash_of(1))
        .uint(0)
        .bytes(hash_of(2))
        .end_list()
        .finish();
  };
  auto ok = decode_message(0x10, status_with(0xffffffffULL));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(std::get<StatusMsg>(*ok).version, 0xffffffffU);
  auto r = decode_message(0x10, status_with(0x100000000ULL));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("Status: version:"));
}

TEST(Protocol, RejectsNonCanonicalIntegers) {
  // requestId 0x0005 with a leading zero byte.
  rlp::Encoder enc;
  const Bytes payload = enc.begin_list().bytes(Bytes{0, 5}).uint(1).uint(1).end_list().finish();
  auto r = decode_message(0x13, payload);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("GetBlockHeaders: requestId:"));
  EXPECT_THAT(r.error().message, HasSubstr("rlp.int_leading_zero"));
}

TEST(Protocol, ErrorsNameTheElementThatFailed) {
  const auto& blocks = sample_blocks();
  // Header 3 with one byte missing from its parent hash.
  rlp::Encoder enc;
  enc.begin_list().uint(8).begin_list();
  for (std::size_t i = 0; i < 3; ++i) enc.raw(blocks[i].header.encode());
  chain::Header broken = blocks[3].header;
  Bytes h = broken.encode();
  {
    rlp::Encoder hdr;
    hdr.begin_list().bytes(ByteView(broken.parent_hash.data(), 31)).bytes(broken.rewardbase);
    hdr.bytes(broken.state_root).bytes(broken.transactions_root).bytes(broken.receipts_root);
    hdr.uint(broken.block_score).uint(broken.number).uint(broken.gas_used).uint(broken.time);
    hdr.uint(broken.time_fos).bytes(broken.extra).end_list();
    h = hdr.finish();
  }
  enc.raw(h).end_list().end_list();
  auto r = decode_message(0x14, enc.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("BlockHeaders: header 3: "));
  EXPECT_THAT(r.error().message, HasSubstr("parentHash"));

  // Transaction 2 with 8 fields.
  enc.begin_list();
  enc.raw(blocks[0].transactions[0].encode()).raw(blocks[0].transactions[1].encode());
  enc.begin_list();
  for (int i = 0; i < 8; ++i) enc.uint(1);
  enc.end_list().end_list();
  r = decode_message(0x12, enc.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("Transactions: transaction 2: "));

  // Body 1, transaction 0 a one-field list.
  enc.begin_list().uint(3).begin_list().begin_list().end_list();
  enc.begin_list().uint(7).end_list().end_list().end_list();
  r = decode_message(0x16, enc.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, StartsWith("BlockBodies: body 1: transaction 0: "));
}

TEST(Protocol, NewBlockRejectsABlockWithTrailingFields) {
  const auto& b = sample_blocks().at(1);
  rlp::Encoder enc;
  enc.begin_list().begin_list().raw(b.header.encode()).begin_list();
  for (const auto& tx : b.transactions) enc.raw(tx.encode());
  enc.end_list().uint(1).end_list().end_list();
  auto r = decode_message(0x17, enc.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "proto.malformed");
  EXPECT_THAT(r.error().message, StartsWith("NewBlock: block: "));
}

// The fuzz seeds (tests/fuzz/corpus/protocol/<name>: code byte ‖ payload) stay valid messages
// of the type their file is named after, one per type.
TEST(Protocol, FuzzSeedsAreOneValidMessageOfEachType) {
  const std::filesystem::path dir =
      std::filesystem::path(CC_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "protocol";
  std::size_t seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(bytes.empty()) << entry.path();
    auto m = decode_message(bytes[0], ByteView(bytes).subspan(1));
    ASSERT_TRUE(m.ok()) << entry.path() << ": " << m.error().message;
    EXPECT_EQ(msg_code_name(code_of(*m)), entry.path().filename().string());
    ++seeds;
  }
  EXPECT_EQ(seeds, std::variant_size_v<Message>);
}

}  // namespace
}  // namespace cc::node
