// Generator: deterministic test networks and chains that pass verification and re-execution.
#include "chain/generator.h"

#include <gtest/gtest.h>

#include <chrono>

#include "chain/executor.h"
#include "chain/verify.h"
#include "crypto/address.h"

namespace cc::chain {
namespace {

GenerateParams params(std::size_t blocks, std::size_t txs, std::uint64_t seed) {
  GenerateParams p;
  p.blocks = blocks;
  p.txs_per_block = txs;
  p.seed = seed;
  return p;
}

// Re-executes every block from the genesis state and checks the header's execution results.
void expect_reexecutes(const Genesis& g, const std::vector<Block>& blocks) {
  State state;
  for (const auto& [a, balance] : g.alloc) state.set(a, Account{0, balance});
  for (const auto& b : blocks) {
    auto exec =
        execute_block(state, b.transactions, b.header.rewardbase, g.config.chain_id, nullptr);
    ASSERT_TRUE(exec.ok()) << "block " << b.header.number << ": " << exec.error().message;
    EXPECT_EQ(exec->state_root, b.header.state_root) << "block " << b.header.number;
    EXPECT_EQ(exec->receipts_root, b.header.receipts_root) << "block " << b.header.number;
    EXPECT_EQ(exec->transactions_root, b.header.transactions_root);
    EXPECT_EQ(exec->gas_used, b.header.gas_used);
  }
}

TEST(TestNetwork, IsDeterministicPerSeedAndSortedByAddress) {
  TestNetwork a = make_test_network(4, 3, 1, 1000);
  TestNetwork b = make_test_network(4, 3, 1, 1000);
  TestNetwork c = make_test_network(4, 3, 2, 1000);
  EXPECT_EQ(a.genesis, b.genesis);
  EXPECT_NE(a.genesis.council, c.genesis.council);
  ASSERT_EQ(a.validator_keys.size(), 4u);
  ASSERT_EQ(a.account_keys.size(), 3u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(crypto::address_of(a.validator_keys[i]), a.genesis.council[i]);
    EXPECT_EQ(a.validator_keys[i].bytes(), b.validator_keys[i].bytes());
  }
  for (std::size_t i = 0; i + 1 < 4; ++i) EXPECT_LT(a.genesis.council[i], a.genesis.council[i + 1]);
  for (const auto& k : a.account_keys) {
    EXPECT_EQ(a.genesis.alloc.at(crypto::address_of(k)), test_account_balance());
  }
  EXPECT_EQ(a.genesis.config.chain_id, 1000u);
  EXPECT_EQ(a.genesis.timestamp, kTestGenesisTime);
  // Validator and account keys never coincide.
  EXPECT_NE(derive_test_key(1, "validator", 0).bytes(), derive_test_key(1, "account", 0).bytes());
  EXPECT_TRUE(parse_genesis(genesis_to_json(a.genesis)).ok());
}

TEST(Generator, ChainsVerifyAndReexecuteForCouncilsOfOneToSeven) {
  for (std::size_t n : {1, 2, 3, 4, 7}) {
    SCOPED_TRACE("N=" + std::to_string(n));
    TestNetwork net = make_test_network(n, 5, n, 1000);
    auto blocks =
        generate_chain(net.genesis, net.validator_keys, net.account_keys, params(2 * n + 1, 6, 3));
    ASSERT_TRUE(blocks.ok()) << blocks.error().message;
    ASSERT_EQ(blocks->size(), 2 * n + 1);
    Council council = *net.genesis.make_council();
    auto v = verify_chain(genesis_block(net.genesis).header, *blocks, council,
                          VerifyParams{1, blocks->back().header.time});
    ASSERT_TRUE(v.ok()) << v.rejection().detail;
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      const Header& h = (*blocks)[i].header;
      EXPECT_EQ(h.number, i + 1);
      EXPECT_EQ(h.time, kTestGenesisTime + i + 1);
      EXPECT_EQ((*blocks)[i].transactions.size(), 6u);
      EXPECT_EQ(h.rewardbase, (*v)[i].proposer);
      EXPECT_EQ((*v)[i].proposer, council.at(i % n));  // round 0 rotates in order
    }
    expect_reexecutes(net.genesis, *blocks);
  }
}

TEST(Generator, SameInputsGiveByteIdenticalChains) {
  TestNetwork net = make_test_network(4, 4, 5, 1000);
  auto a = generate_chain(net.genesis, net.validator_keys, net.account_keys, params(4, 10, 9));
  ThreadPool pool(2);
  auto b =
      generate_chain(net.genesis, net.validator_keys, net.account_keys, params(4, 10, 9), &pool);
  auto c = generate_chain(net.genesis, net.validator_keys, net.account_keys, params(4, 10, 10));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ((*a)[i].encode(), (*b)[i].encode());
  EXPECT_NE((*a)[0].encode(), (*c)[0].encode());
}

TEST(Generator, RoundsFromCallerMoveTheProposer) {
  TestNetwork net = make_test_network(4, 2, 5, 1000);
  GenerateParams p = params(5, 1, 1);
  p.round_of = [](std::uint64_t h) { return static_cast<std::uint8_t>(h % 3); };
  auto blocks = generate_chain(net.genesis, net.validator_keys, net.account_keys, p);
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  Council council = *net.genesis.make_council();
  auto v = verify_chain(genesis_block(net.genesis).header, *blocks, council,
                        VerifyParams{1, blocks->back().header.time});
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  std::optional<Address> prev;
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    EXPECT_EQ((*v)[i].round, (i + 1) % 3);
    EXPECT_EQ((*v)[i].proposer, council.proposer(prev, (i + 1) % 3));
    prev = (*v)[i].proposer;
  }
}

TEST(Generator, BlocksSurviveTheBlocksRlpStream) {
  TestNetwork net = make_test_network(3, 3, 8, 1000);
  auto blocks = generate_chain(net.genesis, net.validator_keys, net.account_keys, params(3, 5, 1));
  ASSERT_TRUE(blocks.ok());
  Bytes stream;
  for (const auto& b : *blocks) {
    Bytes e = b.encode();
    stream.insert(stream.end(), e.begin(), e.end());
  }
  auto back = decode_block_stream(stream);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, *blocks);
}

TEST(Generator, ThousandTransferBlockVerifiesAndReexecutes) {
  TestNetwork net = make_test_network(4, 50, 3, 1000);
  ThreadPool pool(2);
  auto start = std::chrono::steady_clock::now();
  auto blocks =
      generate_chain(net.genesis, net.validator_keys, net.account_keys, params(2, 1000, 4), &pool);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  ASSERT_TRUE(blocks.ok()) << blocks.error().message;
  std::printf("generated 2 blocks x 1000 transfers in %lld ms\n", static_cast<long long>(ms));
  EXPECT_EQ((*blocks)[1].transactions.size(), 1000u);
  EXPECT_EQ((*blocks)[1].header.gas_used, 1000u * kTransferGas);
  auto v = verify_chain(genesis_block(net.genesis).header, *blocks, *net.genesis.make_council(),
                        VerifyParams{1, blocks->back().header.time});
  ASSERT_TRUE(v.ok()) << v.rejection().detail;
  expect_reexecutes(net.genesis, *blocks);
}

TEST(Generator, RefusesWhenAValidatorKeyIsMissing) {
  TestNetwork net = make_test_network(4, 2, 5, 1000);
  std::vector<crypto::PrivateKey> three(net.validator_keys.begin(), net.validator_keys.begin() + 3);
  auto r = ChainGenerator::create(net.genesis, three, net.account_keys, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "generator.missing_key");
  EXPECT_NE(r.error().message.find(to_hex0x(net.genesis.council[3])), std::string::npos);
}

TEST(Generator, EmptyBlocksNeedNoAccountsButTransfersDo) {
  TestNetwork net = make_test_network(2, 0, 5, 1000);
  auto gen = ChainGenerator::create(net.genesis, net.validator_keys, {}, 1);
  ASSERT_TRUE(gen.ok()) << gen.error().message;
  auto empty = gen->next_block(0);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->transactions.empty());
  EXPECT_EQ(gen->head().number, 1u);
  EXPECT_FALSE(gen->next_block(1).ok());
}

TEST(Generator, UnfundedSenderIsReportedNotAsserted) {
  TestNetwork net = make_test_network(1, 1, 5, 1000);
  net.genesis.alloc.clear();  // the account has no balance
  auto r = generate_chain(net.genesis, net.validator_keys, net.account_keys, params(1, 1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tx.insufficient_funds");
  EXPECT_NE(r.error().message.find("block 1 transfer 0"), std::string::npos) << r.error().message;
}

TEST(Generator, RefusedBlockLeavesHeadAndStateUnchanged) {
  TestNetwork net = make_test_network(1, 2, 5, 1000);
  // One funded account, one empty: some transfer of a larger block is refused.
  net.genesis.alloc.erase(crypto::address_of(net.account_keys[1]));
  auto gen = ChainGenerator::create(net.genesis, net.validator_keys, net.account_keys, 1);
  ASSERT_TRUE(gen.ok());
  const Hash32 root_before = gen->state().root();
  auto r = gen->next_block(50);
  ASSERT_FALSE(r.ok());
  // Some transfers were applied before the refused one, so there was something to revert.
  EXPECT_EQ(r.error().message.find("transfer 0:"), std::string::npos) << r.error().message;
  EXPECT_EQ(gen->head().number, 0u);
  EXPECT_EQ(gen->state().root(), root_before);
}

}  // namespace
}  // namespace cc::chain
