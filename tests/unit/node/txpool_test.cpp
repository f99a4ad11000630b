// Specification of the transaction pool (node/txpool.h): admission verdicts, nonce ordering into
// pending and queued, replacement, head changes, limits and expiry, and the block selection.
// Transactions are really signed (chain::make_transfer) by keys funded in a generated genesis.
#include "node/txpool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "chain/executor.h"
#include "chain/generator.h"
#include "crypto/address.h"

namespace cc::node {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr std::uint64_t kPoolChainId = 2019;
constexpr std::uint64_t kPrice = chain::kTestGasPrice;

class TxPoolTest : public ::testing::Test {
 protected:
  TxPoolTest() : net_(chain::make_test_network(1, 4, 11, kPoolChainId)) {
    for (const auto& [addr, balance] : net_.genesis.alloc) state_.set(addr, {0, balance});
    to_.fill(0x99);
  }

  TxPoolConfig config() const {
    TxPoolConfig c;
    c.chain_id = kPoolChainId;
    return c;
  }

  chain::Transaction tx(std::size_t who, std::uint64_t nonce, std::uint64_t price = kPrice,
                        const U256& value = 1) const {
    return chain::make_transfer(net_.account_keys.at(who), nonce, to_, value, price, kPoolChainId);
  }
  Address addr(std::size_t who) const { return crypto::address_of(net_.account_keys.at(who)); }
  static U256 cost(const chain::Transaction& t) {
    return t.value + chain::kTransferGas * t.gas_price;
  }

  // Adds and expects admission; returns the verdict's value.
  TxAdmitted admit(TxPool& pool, const chain::Transaction& t,
                   TxPool::Clock::time_point at = TxPool::Clock::time_point{}) {
    auto v = pool.add(t, state_, at);
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.rejection().detail);
    return v.ok() ? v.value() : TxAdmitted{};
  }

  chain::TestNetwork net_;
  chain::State state_;
  Address to_{};
};

std::vector<Hash32> hashes(const std::vector<chain::Transaction>& txs) {
  std::vector<Hash32> out;
  for (const auto& t : txs) out.push_back(t.hash());
  return out;
}

TEST_F(TxPoolTest, ExecutableTxIsPendingAndFindable) {
  TxPool pool(config());
  const auto t = tx(0, 0);
  const auto added = admit(pool, t);
  EXPECT_TRUE(added.pending);
  EXPECT_EQ(added.hash, t.hash());
  EXPECT_EQ(added.sender, addr(0));
  EXPECT_FALSE(added.replaced.has_value());
  EXPECT_TRUE(pool.contains(t.hash()));
  ASSERT_NE(pool.get(t.hash()), nullptr);
  EXPECT_EQ(*pool.get(t.hash()), t);
  EXPECT_EQ(pool.sender_of(t.hash()), addr(0));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.pending_count(), 1u);
  EXPECT_EQ(pool.queued_count(), 0u);
  EXPECT_EQ(pool.get(tx(0, 1).hash()), nullptr);
  EXPECT_FALSE(pool.contains(tx(0, 1).hash()));
}

TEST_F(TxPoolTest, GapIsQueuedAndFillingItPromotes) {
  TxPool pool(config());
  EXPECT_FALSE(admit(pool, tx(0, 1)).pending);
  EXPECT_FALSE(admit(pool, tx(0, 2)).pending);
  EXPECT_EQ(pool.queued_count(), 2u);
  EXPECT_EQ(pool.pending_count(), 0u);
  EXPECT_TRUE(pool.pending_for_block(state_, 10).empty());
  EXPECT_EQ(pool.next_nonce(addr(0), state_), 0u);

  const auto filled = admit(pool, tx(0, 0));
  EXPECT_TRUE(filled.pending);
  EXPECT_EQ(filled.promoted, 2u);
  EXPECT_EQ(pool.pending_count(), 3u);
  EXPECT_EQ(pool.queued_count(), 0u);
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 10)),
              ElementsAre(tx(0, 0).hash(), tx(0, 1).hash(), tx(0, 2).hash()));
  EXPECT_EQ(pool.next_nonce(addr(0), state_), 3u);
}

TEST_F(TxPoolTest, BlockSelectionKeepsNonceOrderAndInterleavesByPriceThenArrival) {
  TxPool pool(config());
  // A: 0 @30, 1 @100 (a later nonce never jumps ahead of an earlier one).
  // B: 0 @40, 1 @20.  C: 0 @30 (arrives after A's 0, so it follows it on the tie).
  const auto a0 = tx(0, 0, 30), a1 = tx(0, 1, 100), b0 = tx(1, 0, 40), b1 = tx(1, 1, 20),
             c0 = tx(2, 0, 30);
  for (const auto& t : {a0, a1, b0, b1, c0}) (void)admit(pool, t);
  // Heads: A0@30 B0@40 C0@30 -> B0; then A0@30(older) C0@30 B1@20 -> A0; then A1@100 -> A1;
  // then C0@30 -> C0; then B1.
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 100)),
              ElementsAre(b0.hash(), a0.hash(), a1.hash(), c0.hash(), b1.hash()));
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 2)), ElementsAre(b0.hash(), a0.hash()));
  EXPECT_TRUE(pool.pending_for_block(state_, 0).empty());
}

TEST_F(TxPoolTest, BlockSelectionFollowsTheStateItIsGiven) {
  TxPool pool(config());
  for (std::uint64_t n = 0; n < 3; ++n) (void)admit(pool, tx(0, n));
  chain::State later = state_;
  later.set(addr(0), {1, state_.get(addr(0)).balance});
  EXPECT_THAT(hashes(pool.pending_for_block(later, 10)),
              ElementsAre(tx(0, 1).hash(), tx(0, 2).hash()));
  // A balance that covers only the first tx stops the run there.
  chain::State poor = state_;
  poor.set(addr(0), {0, cost(tx(0, 0))});
  EXPECT_THAT(hashes(pool.pending_for_block(poor, 10)), ElementsAre(tx(0, 0).hash()));
}

TEST_F(TxPoolTest, ReplacementNeedsTenPercentHigherGasPrice) {
  TxPool pool(config());
  const auto old = tx(0, 0, 1000);
  (void)admit(pool, old);
  auto low = pool.add(tx(0, 0, 1099), state_, {});
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.reason(), TxPoolRefusal::ReplacementUnderpriced);
  EXPECT_FALSE(low.rejection().peer_fault());
  EXPECT_EQ(low.rejection().to_error().code, "txpool.replacement_underpriced");
  EXPECT_TRUE(pool.contains(old.hash()));

  const auto better = tx(0, 0, 1100);
  const auto replaced = admit(pool, better);
  ASSERT_TRUE(replaced.replaced.has_value());
  EXPECT_EQ(*replaced.replaced, old.hash());
  EXPECT_TRUE(replaced.pending);
  EXPECT_FALSE(pool.contains(old.hash()));
  EXPECT_TRUE(pool.contains(better.hash()));
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(pool.pending_count(), 1u);
}

TEST_F(TxPoolTest, ReplacingAQueuedTxKeepsItQueued) {
  TxPool pool(config());
  (void)admit(pool, tx(0, 4, 1000));
  const auto r = admit(pool, tx(0, 4, 2000));
  EXPECT_FALSE(r.pending);
  EXPECT_TRUE(r.replaced.has_value());
  EXPECT_EQ(pool.queued_count(), 1u);
  EXPECT_EQ(pool.size(), 1u);
}

TEST_F(TxPoolTest, DuplicateIsAlreadyKnownNotAFault) {
  TxPool pool(config());
  const auto t = tx(0, 0);
  (void)admit(pool, t);
  auto again = pool.add(t, state_, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.reason(), TxPoolRefusal::AlreadyKnown);
  EXPECT_FALSE(again.rejection().invalid.has_value());
  EXPECT_FALSE(again.rejection().peer_fault());
  EXPECT_EQ(again.rejection().to_error().code, "txpool.already_known");
  EXPECT_EQ(pool.size(), 1u);
}

TEST_F(TxPoolTest, WrongChainIdAndBadSignatureAreInvalidPeerFaults) {
  TxPool pool(config());
  const auto other_chain =
      chain::make_transfer(net_.account_keys[0], 0, to_, 1, kPrice, kPoolChainId + 1);
  auto r = pool.add(other_chain, state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.reason(), TxPoolRefusal::Invalid);
  EXPECT_EQ(r.rejection().invalid, chain::TxInvalid::WrongChainId);
  EXPECT_TRUE(r.rejection().peer_fault());
  EXPECT_EQ(r.rejection().to_error().code, "tx.wrong_chain_id");

  auto bad = tx(0, 0);
  bad.r = 0;
  r = pool.add(bad, state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection().invalid, chain::TxInvalid::BadSignature);
  EXPECT_TRUE(r.rejection().peer_fault());
  EXPECT_EQ(pool.size(), 0u);
}

TEST_F(TxPoolTest, GasPriceBelowTheMinimumIsRefusedButNotAFault) {
  TxPoolConfig c = config();
  c.min_gas_price = kPrice;
  TxPool pool(c);
  auto r = pool.add(tx(0, 0, kPrice - 1), state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection().invalid, chain::TxInvalid::GasPriceTooLow);
  EXPECT_FALSE(r.rejection().peer_fault());
  EXPECT_TRUE(pool.add(tx(0, 0, kPrice), state_, {}).ok());
}

TEST_F(TxPoolTest, NonceBelowTheStateNonceIsTooLow) {
  TxPool pool(config());
  state_.set(addr(0), {5, state_.get(addr(0)).balance});
  auto r = pool.add(tx(0, 4), state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection().invalid, chain::TxInvalid::NonceTooLow);
  EXPECT_FALSE(r.rejection().peer_fault());
  EXPECT_EQ(r.rejection().to_error().code, "tx.nonce_too_low");
  EXPECT_TRUE(admit(pool, tx(0, 5)).pending);
}

TEST_F(TxPoolTest, FundsMustCoverTheSendersEarlierPooledTxs) {
  TxPool pool(config());
  const auto t0 = tx(0, 0), t1 = tx(0, 1), t2 = tx(0, 2);
  state_.set(addr(0), {0, cost(t0) + cost(t1)});
  (void)admit(pool, t0);
  (void)admit(pool, t1);
  auto r = pool.add(t2, state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection().invalid, chain::TxInvalid::InsufficientFunds);
  EXPECT_FALSE(r.rejection().peer_fault());
  // Another sender's txs do not count against this one.
  EXPECT_TRUE(pool.add(tx(1, 0), state_, {}).ok());
  // A single tx worth more than the balance.
  auto big = pool.add(tx(2, 0, kPrice, chain::test_account_balance()), state_, {});
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.rejection().invalid, chain::TxInvalid::InsufficientFunds);
  // An unfunded sender leaves no trace in the pool.
  chain::State empty;
  auto none = pool.add(tx(3, 0), empty, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(pool.size(), 3u);
}

TEST_F(TxPoolTest, NewHeadDropsStaleTxsAndPromotesQueued) {
  TxPool pool(config());
  const auto a0 = tx(0, 0), a1 = tx(0, 1), a3 = tx(0, 3), b0 = tx(1, 0);
  for (const auto& t : {a0, a1, a3, b0}) (void)admit(pool, t);
  EXPECT_EQ(pool.pending_count(), 3u);
  EXPECT_EQ(pool.queued_count(), 1u);

  // A block included A's nonces 0..2 (2 came from elsewhere).
  state_.set(addr(0), {3, state_.get(addr(0)).balance - 3 * cost(a0)});
  const auto change = pool.on_new_head(state_);
  EXPECT_EQ(change.stale, 2u);
  EXPECT_EQ(change.promoted, 1u);
  EXPECT_EQ(change.demoted, 0u);
  EXPECT_FALSE(pool.contains(a0.hash()));
  EXPECT_FALSE(pool.contains(a1.hash()));
  EXPECT_TRUE(pool.contains(a3.hash()));
  EXPECT_EQ(pool.pending_count(), 2u);
  EXPECT_EQ(pool.queued_count(), 0u);
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 10)),
              UnorderedElementsAre(a3.hash(), b0.hash()));

  // Everything included: the pool empties.
  state_.set(addr(0), {4, 1});
  state_.set(addr(1), {1, 1});
  EXPECT_EQ(pool.on_new_head(state_).stale, 2u);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.pending_count() + pool.queued_count(), 0u);
}

TEST_F(TxPoolTest, NewHeadDemotesWhatTheBalanceNoLongerCovers) {
  TxPool pool(config());
  const auto t0 = tx(0, 0), t1 = tx(0, 1), t2 = tx(0, 2);
  for (const auto& t : {t0, t1, t2}) (void)admit(pool, t);
  state_.set(addr(0), {0, cost(t0) + cost(t1)});
  const auto change = pool.on_new_head(state_);
  EXPECT_EQ(change.demoted, 1u);
  EXPECT_EQ(pool.pending_count(), 2u);
  EXPECT_EQ(pool.queued_count(), 1u);
  EXPECT_EQ(pool.next_nonce(addr(0), state_), 2u);
  // Funds arrive: promoted again.
  state_.set(addr(0), {0, chain::test_account_balance()});
  EXPECT_EQ(pool.on_new_head(state_).promoted, 1u);
  EXPECT_EQ(pool.pending_count(), 3u);
}

TEST_F(TxPoolTest, AccountQueuedLimitEvictsTheFarthestNonce) {
  TxPoolConfig c = config();
  c.nonexec_slots_account = 2;
  TxPool pool(c);
  (void)admit(pool, tx(0, 5));
  (void)admit(pool, tx(0, 6));
  auto far = pool.add(tx(0, 7), state_, {});
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.reason(), TxPoolRefusal::PoolFull);
  EXPECT_FALSE(far.rejection().peer_fault());
  EXPECT_FALSE(pool.contains(tx(0, 7).hash()));
  EXPECT_EQ(pool.queued_count(), 2u);

  const auto nearer = admit(pool, tx(0, 3));
  EXPECT_THAT(nearer.evicted, ElementsAre(tx(0, 6).hash()));
  EXPECT_TRUE(pool.contains(tx(0, 3).hash()));
  EXPECT_TRUE(pool.contains(tx(0, 5).hash()));
  EXPECT_EQ(pool.queued_count(), 2u);
  // Other senders have their own account slots.
  EXPECT_TRUE(pool.add(tx(1, 5), state_, {}).ok());
}

TEST_F(TxPoolTest, AccountPendingLimitRefusesTheTail) {
  TxPoolConfig c = config();
  c.exec_slots_account = 2;
  TxPool pool(c);
  (void)admit(pool, tx(0, 0));
  (void)admit(pool, tx(0, 1));
  auto r = pool.add(tx(0, 2), state_, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.reason(), TxPoolRefusal::PoolFull);
  EXPECT_EQ(pool.pending_count(), 2u);
}

TEST_F(TxPoolTest, GlobalPendingLimitEvictsTheLongestRunsTailNeverOpeningAGap) {
  TxPoolConfig c = config();
  c.exec_slots_all = 3;
  TxPool pool(c);
  for (std::uint64_t n = 0; n < 3; ++n) (void)admit(pool, tx(0, n));
  const auto b0 = admit(pool, tx(1, 0));
  EXPECT_TRUE(b0.pending);
  EXPECT_THAT(b0.evicted, ElementsAre(tx(0, 2).hash()));
  EXPECT_EQ(pool.pending_count(), 3u);
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 10)),
              ElementsAre(tx(0, 0).hash(), tx(0, 1).hash(), tx(1, 0).hash()));
  // Back again, A's nonce 2 is now the farthest of all: refused, nothing else touched.
  auto again = pool.add(tx(0, 2), state_, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.reason(), TxPoolRefusal::PoolFull);
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_TRUE(pool.contains(tx(1, 0).hash()));
}

TEST_F(TxPoolTest, PromotionBeyondThePendingLimitEvictsTails) {
  TxPoolConfig c = config();
  c.exec_slots_all = 2;
  TxPool pool(c);
  for (std::uint64_t n = 1; n < 4; ++n) (void)admit(pool, tx(0, n));
  EXPECT_EQ(pool.queued_count(), 3u);
  const auto filled = admit(pool, tx(0, 0));
  EXPECT_TRUE(filled.pending);
  EXPECT_EQ(pool.pending_count(), 2u);
  EXPECT_THAT(filled.evicted, ElementsAre(tx(0, 3).hash(), tx(0, 2).hash()));
  EXPECT_THAT(hashes(pool.pending_for_block(state_, 10)),
              ElementsAre(tx(0, 0).hash(), tx(0, 1).hash()));
}

TEST_F(TxPoolTest, GlobalQueuedLimitExpiresOldQueuedTxsBeforeEvictingLiveOnes) {
  TxPoolConfig c = config();
  c.nonexec_slots_all = 2;
  c.life_time = 10s;
  TxPool pool(c);
  const TxPool::Clock::time_point t0{};
  (void)admit(pool, tx(0, 5), t0);
  (void)admit(pool, tx(1, 5), t0 + 5s);
  (void)admit(pool, tx(3, 0), t0);  // pending: never expires
  // At t0 + 11 s only A's queued tx has lived 10 s: it goes, B's stays, C's comes in.
  const auto c5 = admit(pool, tx(2, 5), t0 + 11s);
  EXPECT_THAT(c5.evicted, ElementsAre(tx(0, 5).hash()));
  EXPECT_TRUE(pool.contains(tx(1, 5).hash()));
  EXPECT_TRUE(pool.contains(tx(2, 5).hash()));
  EXPECT_TRUE(pool.contains(tx(3, 0).hash()));
  EXPECT_EQ(pool.queued_count(), 2u);
  // Full with live txs: the farthest (then newest) goes, here the newcomer at nonce 9.
  auto far = pool.add(tx(0, 9), state_, t0 + 12s);
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.reason(), TxPoolRefusal::PoolFull);
  EXPECT_EQ(pool.queued_count(), 2u);
}

TEST_F(TxPoolTest, LifeTimeExpiresOnlyQueuedTxs) {
  TxPoolConfig c = config();
  c.life_time = 10s;
  TxPool pool(c);
  const TxPool::Clock::time_point t0{};
  (void)admit(pool, tx(0, 0), t0);
  (void)admit(pool, tx(0, 2), t0);
  EXPECT_EQ(pool.evict_expired(t0 + 9s), 0u);
  EXPECT_EQ(pool.evict_expired(t0 + 10s), 1u);
  EXPECT_FALSE(pool.contains(tx(0, 2).hash()));
  EXPECT_TRUE(pool.contains(tx(0, 0).hash()));
  EXPECT_EQ(pool.evict_expired(t0 + 1000s), 0u);
  EXPECT_EQ(pool.size(), 1u);
}

TEST_F(TxPoolTest, ZeroSlotsRefuseEverything) {
  TxPoolConfig c = config();
  c.exec_slots_all = 0;
  c.nonexec_slots_all = 0;
  TxPool pool(c);
  for (const auto& t : {tx(0, 0), tx(0, 3)}) {
    auto r = pool.add(t, state_, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.reason(), TxPoolRefusal::PoolFull);
  }
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.pending_count() + pool.queued_count(), 0u);
}

// Random adds (gaps, replacements, duplicates) and blocks built from the pool's own selection:
// the counters always add up, the limits always hold, every selected tx executes in the order
// given, and after each head nothing stale is left.
TEST_F(TxPoolTest, RandomTrafficKeepsCountsLimitsAndExecutableSelection) {
  TxPoolConfig c = config();
  c.exec_slots_all = 12;
  c.exec_slots_account = 5;
  c.nonexec_slots_all = 6;
  c.nonexec_slots_account = 3;
  c.life_time = 30s;
  TxPool pool(c);
  std::mt19937_64 rng(42);
  TxPool::Clock::time_point now{};
  std::size_t included = 0;
  for (int round = 0; round < 300; ++round) {
    now += 1s;
    const std::size_t who = rng() % 4;
    const std::uint64_t nonce = state_.get(addr(who)).nonce + rng() % 7;
    const std::uint64_t price = kPrice + (rng() % 4) * (kPrice / 5);
    auto v = pool.add(tx(who, nonce, price), state_, now);
    if (!v.ok()) {
      EXPECT_FALSE(v.rejection().peer_fault()) << v.rejection().detail;
      EXPECT_NE(v.reason(), TxPoolRefusal::Invalid) << v.rejection().detail;
    }
    ASSERT_EQ(pool.size(), pool.pending_count() + pool.queued_count());
    ASSERT_LE(pool.pending_count(), c.exec_slots_all);
    ASSERT_LE(pool.queued_count(), c.nonexec_slots_all);
    if (round % 10 == 9) {
      (void)pool.evict_expired(now);
      const auto selected = pool.pending_for_block(state_, 8);
      chain::BlockBuilder builder(state_, to_, kPoolChainId);
      for (const auto& t : selected) {
        auto r = builder.add(t);
        ASSERT_TRUE(r.ok()) << r.rejection().detail;
      }
      included += selected.size();
      (void)pool.on_new_head(state_);
      ASSERT_EQ(pool.size(), pool.pending_count() + pool.queued_count());
      for (std::size_t w = 0; w < 4; ++w) {
        const std::uint64_t next = state_.get(addr(w)).nonce;
        for (std::uint64_t n = 0; n < next; ++n) {
          for (std::uint64_t step = 0; step < 4; ++step) {
            ASSERT_FALSE(pool.contains(tx(w, n, kPrice + step * (kPrice / 5)).hash()));
          }
        }
      }
    }
  }
  EXPECT_GT(included, 50u);
}

TEST(TxPoolConfigTest, TakesTheTxpoolKeysFromTheNodeConfig) {
  NodeConfig node;
  node.txpool_exec_slots_all = 11;
  node.txpool_exec_slots_account = 12;
  node.txpool_nonexec_slots_all = 13;
  node.txpool_nonexec_slots_account = 14;
  node.txpool_life_time = std::chrono::seconds(15);
  const auto c = txpool_config(node, 77, 25);
  EXPECT_EQ(c.chain_id, 77u);
  EXPECT_EQ(c.min_gas_price, 25);
  EXPECT_EQ(c.exec_slots_all, 11u);
  EXPECT_EQ(c.exec_slots_account, 12u);
  EXPECT_EQ(c.nonexec_slots_all, 13u);
  EXPECT_EQ(c.nonexec_slots_account, 14u);
  EXPECT_EQ(c.life_time, std::chrono::seconds(15));
}

TEST(TxPoolRefusalTest, NamesAreStable) {
  EXPECT_EQ(to_string(TxPoolRefusal::Invalid), "invalid");
  EXPECT_EQ(to_string(TxPoolRefusal::AlreadyKnown), "already_known");
  EXPECT_EQ(to_string(TxPoolRefusal::ReplacementUnderpriced), "replacement_underpriced");
  EXPECT_EQ(to_string(TxPoolRefusal::PoolFull), "pool_full");
}

}  // namespace
}  // namespace cc::node
