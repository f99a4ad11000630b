// Genesis file: format, defaults, errors that name the field, and the genesis block/hash.
#include "chain/genesis.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>

#include "chain/receipt.h"
#include "chain/state.h"
#include "support/fill.h"
#include "util/files.h"

namespace cc::chain {
namespace {

using cc::testing::addr;

const char* kFull = R"({
  "config": {"chainId": 1000, "istanbul": {"blockPeriod": 2, "roundTimeoutMs": 5000}},
  "timestamp": "0x6553f100",
  "council": ["0x3333333333333333333333333333333333333333",
              "0x1111111111111111111111111111111111111111"],
  "alloc": {
    "0x2222222222222222222222222222222222222222": {"balance": "0xde0b6b3a7640000"},
    "4444444444444444444444444444444444444444": {"balance": "1000000000000000000000"}
  }
})";

std::string error_of(const std::string& json) {
  auto g = parse_genesis(json);
  if (g.ok()) return "(parsed)";
  return g.error().message;
}

// The minimal valid file with one replacement of "@" by text.
std::string minimal_with(const std::string& config, const std::string& rest) {
  return R"({"config": )" + config +
         R"(, "council": ["0x1111111111111111111111111111111111111111"])" + rest + "}";
}

TEST(Genesis, ParsesEveryField) {
  auto g = parse_genesis(kFull);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->config.chain_id, 1000u);
  EXPECT_EQ(g->config.istanbul.block_period, 2u);
  EXPECT_EQ(g->config.istanbul.round_timeout_ms, 5000u);
  EXPECT_EQ(g->timestamp, 0x6553f100u);
  ASSERT_EQ(g->council.size(), 2u);
  EXPECT_EQ(g->council[0], addr(0x11));  // sorted
  EXPECT_EQ(g->council[1], addr(0x33));
  ASSERT_EQ(g->alloc.size(), 2u);
  EXPECT_EQ(g->alloc.at(addr(0x22)), U256(1'000'000'000'000'000'000ull));
  EXPECT_EQ(g->alloc.at(addr(0x44)), *u256_parse("1000000000000000000000"));
}

TEST(Genesis, AppliesDefaultsForOptionalFields) {
  auto g = parse_genesis(minimal_with(R"({"chainId": 7})", ""));
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->config.istanbul.block_period, 1u);
  EXPECT_EQ(g->config.istanbul.round_timeout_ms, 10000u);
  EXPECT_EQ(g->timestamp, 0u);
  EXPECT_TRUE(g->alloc.empty());
}

TEST(Genesis, AcceptsIntegerTimestampAndChecksummedAddress) {
  auto g = parse_genesis(R"({"config": {"chainId": 1}, "timestamp": 12,
      "council": ["0x4a53DDBb6FAc99fBB5231178addE5dc35eD84d5F"]})");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->timestamp, 12u);
}

TEST(Genesis, WritesJsonThatParsesBackEqual) {
  auto g = parse_genesis(kFull);
  ASSERT_TRUE(g.ok());
  std::string text = genesis_to_json(*g);
  auto back = parse_genesis(text);
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << text;
  EXPECT_EQ(*back, *g);
  EXPECT_EQ(genesis_to_json(*back), text);
  EXPECT_NE(text.find("\"timestamp\": \"0x6553f100\""), std::string::npos) << text;
}

TEST(Genesis, RejectsTextThatIsNotJson) {
  auto g = parse_genesis("{\"config\": ", "/tmp/x/genesis.json");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, "genesis.json");
  EXPECT_EQ(g.error().message.rfind("/tmp/x/genesis.json: not valid JSON", 0), 0u)
      << g.error().message;
  EXPECT_EQ(error_of("[1, 2]"), "genesis.json: (top level): expected a JSON object");
}

TEST(Genesis, ErrorsNameTheFieldAndWhatIsExpected) {
  EXPECT_EQ(error_of(R"({"council": ["0x1111111111111111111111111111111111111111"]})"),
            "genesis.json: config: missing (expected {\"chainId\": N})");
  EXPECT_EQ(error_of(minimal_with("{}", "")),
            "genesis.json: config.chainId: missing (expected an integer > 0)");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": 0})", "")),
            "genesis.json: config.chainId: must be at least 1");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": -5})", "")),
            "genesis.json: config.chainId: must not be negative");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": "1000"})", "")),
            "genesis.json: config.chainId: expected an integer");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": 1.5})", "")),
            "genesis.json: config.chainId: expected an integer");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": 1, "istanbul": {"blockPeriod": 0}})", "")),
            "genesis.json: config.istanbul.blockPeriod: must be at least 1");
  EXPECT_EQ(error_of(minimal_with(R"({"chainId": 1, "istanbul": []})", "")),
            "genesis.json: config.istanbul: expected an object");
  EXPECT_EQ(error_of(R"({"config": {"chainId": 1}})"),
            "genesis.json: council: missing (expected a list of validator addresses)");
  EXPECT_EQ(error_of(R"({"config": {"chainId": 1}, "council": []})"),
            "genesis.json: council: expected a non-empty list of \"0x..\" validator addresses");
  EXPECT_EQ(error_of(R"({"config": {"chainId": 1}, "council": [5]})"),
            "genesis.json: council[0]: expected a \"0x..\" address string");
}

TEST(Genesis, RejectsUnknownFieldsSoTyposDoNotSilentlyDefault) {
  std::string e = error_of(minimal_with(R"({"chainId": 1, "istanbul": {"blockperiod": 3}})", ""));
  EXPECT_EQ(e.rfind("genesis.json: config.istanbul.\"blockperiod\": unknown field (expected one of "
                    "\"blockPeriod\", \"roundTimeoutMs\")",
                    0),
            0u)
      << e;
  EXPECT_NE(error_of(minimal_with(R"({"chainId": 1})", R"(, "extraData": "0x")"))
                .find("\"extraData\": unknown field"),
            std::string::npos);
}

TEST(Genesis, RejectsBadCouncilAddressesAndDuplicates) {
  std::string bad = error_of(R"({"config": {"chainId": 1}, "council": ["0x1234"]})");
  EXPECT_EQ(bad.rfind("genesis.json: council[0]: not a 20-byte hex address", 0), 0u) << bad;
  std::string dup = error_of(R"({"config": {"chainId": 1}, "council": [
      "0x1111111111111111111111111111111111111111", "0x1111111111111111111111111111111111111111"]})");
  EXPECT_NE(dup.find("council: "), std::string::npos) << dup;
  EXPECT_NE(dup.find("more than once"), std::string::npos) << dup;
  std::string checksum = error_of(
      R"({"config": {"chainId": 1}, "council": ["0x4A53DDBb6FAc99fBB5231178addE5dc35eD84d5F"]})");
  EXPECT_EQ(checksum.rfind("genesis.json: council[0]: not a 20-byte hex address", 0), 0u)
      << checksum;
}

TEST(Genesis, RejectsBadAllocEntries) {
  auto with_alloc = [](const std::string& alloc) {
    return error_of(minimal_with(R"({"chainId": 1})", R"(, "alloc": )" + alloc));
  };
  std::string e = with_alloc(R"({"0xzz": {"balance": "1"}})");
  EXPECT_EQ(e.rfind("genesis.json: alloc[\"0xzz\"]: not a 20-byte hex address", 0), 0u) << e;
  EXPECT_EQ(with_alloc("[]"),
            "genesis.json: alloc: expected an object {\"0x..\": {\"balance\": ..}}");
  EXPECT_EQ(with_alloc(R"({"0x2222222222222222222222222222222222222222": {}})"),
            "genesis.json: alloc[\"0x2222222222222222222222222222222222222222\"].balance: missing");
  e = with_alloc(R"({"0x2222222222222222222222222222222222222222": {"balance": "-1"}})");
  EXPECT_EQ(e.rfind("genesis.json: alloc[\"0x2222222222222222222222222222222222222222\"].balance: "
                    "expected a \"0x\" hex or decimal string below 2^256",
                    0),
            0u)
      << e;
  e = with_alloc(R"({"0x2222222222222222222222222222222222222222": {"balance": "0x1)" +
                 std::string(64, '0') + R"("}})");
  EXPECT_NE(e.find(".balance: expected"), std::string::npos) << e;
  e = with_alloc(R"({"0x2222222222222222222222222222222222222222": {"balance": true}})");
  EXPECT_NE(e.find(".balance: expected a \"0x\" hex or decimal string"), std::string::npos) << e;
  e = with_alloc(R"({"0x2222222222222222222222222222222222222222": {"balance": "1", "nonce": 0}})");
  EXPECT_NE(e.find("\"nonce\": unknown field"), std::string::npos) << e;
  e = with_alloc(R"({"0x2222222222222222222222222222222222222222": {"balance": "1"},
                     "2222222222222222222222222222222222222222": {"balance": "2"}})");
  EXPECT_NE(e.find("appears twice"), std::string::npos) << e;
}

TEST(Genesis, RejectsTimestampBeyond64Bits) {
  std::string e = error_of(
      minimal_with(R"({"chainId": 1})", R"(, "timestamp": "0x1)" + std::string(16, '0') + "\""));
  EXPECT_EQ(e, "genesis.json: timestamp: does not fit in 64 bits");
  e = error_of(minimal_with(R"({"chainId": 1})", R"(, "timestamp": "soon")"));
  EXPECT_EQ(e.rfind("genesis.json: timestamp: expected a \"0x\" hex or decimal integer string", 0),
            0u)
      << e;
}

TEST(Genesis, BlockHasNumberZeroSortedValidatorsNoSealsAndAllocStateRoot) {
  auto g = parse_genesis(kFull);
  ASSERT_TRUE(g.ok());
  Block b = genesis_block(*g);
  EXPECT_EQ(b.header.number, 0u);
  EXPECT_EQ(b.header.parent_hash, Hash32{});
  EXPECT_EQ(b.header.time, 0x6553f100u);
  EXPECT_EQ(b.header.block_score, 1u);
  EXPECT_EQ(b.header.gas_used, 0u);
  EXPECT_TRUE(b.transactions.empty());
  EXPECT_EQ(b.header.transactions_root, empty_list_root());
  EXPECT_EQ(b.header.receipts_root, empty_list_root());
  auto x = b.header.istanbul_extra();
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->validators, (std::vector<Address>{addr(0x11), addr(0x33)}));
  EXPECT_TRUE(x->proposer_seal.empty());
  EXPECT_TRUE(x->committed_seals.empty());
  EXPECT_EQ(x->round(), 0);
  State s;
  s.set(addr(0x22), Account{0, g->alloc.at(addr(0x22))});
  s.set(addr(0x44), Account{0, g->alloc.at(addr(0x44))});
  EXPECT_EQ(b.header.state_root, s.root());
  EXPECT_EQ(genesis_hash(*g), b.hash());
}

TEST(Genesis, HashDependsOnCouncilAllocAndTimestamp) {
  auto g = *parse_genesis(kFull);
  const Hash32 base = genesis_hash(g);
  EXPECT_EQ(genesis_hash(*parse_genesis(genesis_to_json(g))), base);
  Genesis more = g;
  more.alloc[addr(0x55)] = 1;
  EXPECT_NE(genesis_hash(more), base);
  Genesis later = g;
  later.timestamp++;
  EXPECT_NE(genesis_hash(later), base);
  Genesis council = g;
  council.council.push_back(addr(0x66));
  EXPECT_NE(genesis_hash(council), base);
}

// Every node must derive the same genesis hash from the same file; a change to the header, extra
// or state-root encoding shows up here first.
TEST(Genesis, HashOfReferenceFileIsPinned) {
  auto g = parse_genesis(kFull);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(to_hex0x(genesis_hash(*g)),
            "0xa45c130d84c41dd03fcd92152bedcf3aa714f11c7de86d7257d60ecaf9f863a6");
}

TEST(Genesis, LoadsFileAndNamesMissingPath) {
  auto dir =
      std::filesystem::temp_directory_path() / ("cc-genesis-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(atomic_write_file(dir / "genesis.json", std::string(kFull)).ok());
  auto g = load_genesis_file(dir / "genesis.json");
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->config.chain_id, 1000u);
  ASSERT_TRUE(atomic_write_file(dir / "bad.json", std::string(R"({"config": 1})")).ok());
  auto bad = load_genesis_file(dir / "bad.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, (dir / "bad.json").string() + ": config: expected an object");
  auto missing = load_genesis_file(dir / "nope.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("nope.json"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cc::chain
