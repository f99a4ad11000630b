// Tests of node/chain_server.h: headers and bodies served from a real ChainStore in a temporary
// directory, with the protocol's caps (count and soft byte limit) and early stops.
#include "node/chain_server.h"

#include <gtest/gtest.h>

#include <vector>

#include "storage/chain_store.h"
#include "unit/storage/storage_test_util.h"

namespace cc::node {
namespace {

using storage::testing::make_test_chain;
using storage::testing::now_after;
using storage::testing::TempDir;
using storage::testing::TestChain;

// A chain store in `dir` holding every block of `tc`.
storage::ChainStore store_with(const TempDir& dir, const TestChain& tc) {
  storage::ChainStoreOptions options;
  options.sync = false;  // test speed; durability is chain_store_test's business
  auto store = storage::ChainStore::open(dir.path(), tc.net.genesis, options);
  EXPECT_TRUE(store.ok()) << store.error().message;
  auto summary = store->import_blocks(tc.blocks, now_after(tc));
  EXPECT_TRUE(summary.ok() && !summary->rejection && summary->imported == tc.blocks.size());
  return std::move(store).value();
}

const TestChain& chain_200() {
  static const TestChain tc = make_test_chain(200, 1);
  return tc;
}

TEST(ServeHeaders, AnswersCanonicalHeadersFromOriginWithTheRequestId) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  auto reply = serve_headers(store.db(), GetBlockHeadersMsg{77, 5, 10});
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->request_id, 77u);
  ASSERT_EQ(reply->headers.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(reply->headers[i], tc.blocks[4 + i].header);
}

TEST(ServeHeaders, ServesTheGenesisHeaderAtOriginZero) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  auto reply = serve_headers(store.db(), GetBlockHeadersMsg{1, 0, 2});
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->headers.size(), 2u);
  EXPECT_EQ(reply->headers[0].hash(), store.genesis_hash());
  EXPECT_EQ(reply->headers[1], tc.blocks[0].header);
}

TEST(ServeHeaders, StopsAtTheHeadAndIsEmptyBeyondIt) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  auto near_head = serve_headers(store.db(), GetBlockHeadersMsg{2, 195, 50});
  ASSERT_TRUE(near_head.ok());
  ASSERT_EQ(near_head->headers.size(), 6u);  // 195..200
  EXPECT_EQ(near_head->headers.back().number, 200u);
  auto beyond = serve_headers(store.db(), GetBlockHeadersMsg{3, 201, 10});
  ASSERT_TRUE(beyond.ok());
  EXPECT_TRUE(beyond->headers.empty());
  EXPECT_EQ(beyond->request_id, 3u);
  auto top = serve_headers(store.db(), GetBlockHeadersMsg{4, ~std::uint64_t{0}, 192});
  ASSERT_TRUE(top.ok());
  EXPECT_TRUE(top->headers.empty());
}

TEST(ServeHeaders, CapsTheReplyAtMaxHeadersPerReply) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  auto reply = serve_headers(store.db(), GetBlockHeadersMsg{5, 1, 100000});
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->headers.size(), kMaxHeadersPerReply);
  EXPECT_EQ(reply->headers.front().number, 1u);
  EXPECT_EQ(reply->headers.back().number, kMaxHeadersPerReply);
}

TEST(ServeHeaders, ZeroAmountIsAnEmptyReply) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  auto reply = serve_headers(store.db(), GetBlockHeadersMsg{6, 1, 0});
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(reply->headers.empty());
}

TEST(ServeBodies, AnswersBodiesInRequestOrder) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  GetBlockBodiesMsg req{9, {tc.blocks[10].hash(), tc.blocks[3].hash(), tc.blocks[10].hash()}};
  auto reply = serve_bodies(store.db(), req);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->request_id, 9u);
  ASSERT_EQ(reply->bodies.size(), 3u);
  EXPECT_EQ(reply->bodies[0], tc.blocks[10].transactions);
  EXPECT_EQ(reply->bodies[1], tc.blocks[3].transactions);
  EXPECT_EQ(reply->bodies[2], tc.blocks[10].transactions);
}

TEST(ServeBodies, StopsAtTheFirstUnknownHash) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  Hash32 unknown{};
  unknown[0] = 0xab;
  GetBlockBodiesMsg req{10,
                        {tc.blocks[0].hash(), tc.blocks[1].hash(), unknown, tc.blocks[2].hash()}};
  auto reply = serve_bodies(store.db(), req);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->bodies.size(), 2u);
  EXPECT_EQ(reply->bodies[1], tc.blocks[1].transactions);

  auto first_unknown = serve_bodies(store.db(), GetBlockBodiesMsg{11, {unknown}});
  ASSERT_TRUE(first_unknown.ok());
  EXPECT_TRUE(first_unknown->bodies.empty());
}

TEST(ServeBodies, CapsTheReplyAtMaxBodiesPerReply) {
  const auto& tc = chain_200();
  TempDir dir;
  auto store = store_with(dir, tc);
  GetBlockBodiesMsg req{12, {}};
  for (const auto& b : tc.blocks) req.hashes.push_back(b.hash());
  auto reply = serve_bodies(store.db(), req);
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->bodies.size(), kMaxBodiesPerReply);
  EXPECT_EQ(reply->bodies.back(), tc.blocks[kMaxBodiesPerReply - 1].transactions);
}

TEST(ServeBodies, StopsAfterTheBodyThatPassesTheSoftByteLimit) {
  // One block of 2,000 transfers (~220 KB) asked for 100 times: the reply must stop after the
  // body that takes it past kSoftReplyBytes.
  const TestChain tc = make_test_chain(1, 2000);
  TempDir dir;
  auto store = store_with(dir, tc);
  std::size_t body_bytes = 0;
  for (const auto& tx : tc.blocks[0].transactions) body_bytes += tx.encode().size();
  const std::size_t expected = kSoftReplyBytes / body_bytes + 1;
  ASSERT_LT(expected, 100u);
  GetBlockBodiesMsg req{13, std::vector<Hash32>(100, tc.blocks[0].hash())};
  auto reply = serve_bodies(store.db(), req);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->bodies.size(), expected);
}

}  // namespace
}  // namespace cc::node
