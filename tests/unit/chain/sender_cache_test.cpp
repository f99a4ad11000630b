// chain/sender_cache.h and its use by validate_stateless: a hit skips only the recovery; every
// cheap check still runs, and a transaction with any field changed is a different hash (a miss).
#include "chain/sender_cache.h"

#include <gtest/gtest.h>

#include "chain/tx.h"
#include "crypto/address.h"
#include "support/fill.h"

namespace cc::chain {
namespace {

using cc::testing::addr;
using cc::testing::hash_of;
using cc::testing::key_of;

constexpr std::uint64_t kCacheChainId = 1001;

TEST(SenderCache, RemembersAndForgetsTheOldestBeyondItsCapacity) {
  SenderCache cache(2);
  cache.remember(hash_of(1), addr(0xa1));
  cache.remember(hash_of(2), addr(0xa2));
  cache.remember(hash_of(3), addr(0xa3));
  EXPECT_FALSE(cache.find(hash_of(1)).has_value());
  EXPECT_EQ(cache.find(hash_of(2)), addr(0xa2));
  EXPECT_EQ(cache.find(hash_of(3)), addr(0xa3));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(SenderCache, ValidateStatelessRemembersTheRecoveredSenderAndReusesIt) {
  SenderCache cache;
  const auto key = key_of(7);
  const auto tx = make_transfer(key, 0, addr(0x22), U256(5), U256(25), kCacheChainId);
  auto first = validate_stateless(tx, kCacheChainId, 0, &cache);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value(), crypto::address_of(key));
  EXPECT_EQ(cache.find(tx.hash()), crypto::address_of(key));
  auto second = validate_stateless(tx, kCacheChainId, 0, &cache);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value(), first.value());
}

TEST(SenderCache, AHitStillRunsTheCheapChecks) {
  SenderCache cache;
  const auto tx = make_transfer(key_of(7), 0, addr(0x22), U256(5), U256(25), kCacheChainId);
  ASSERT_TRUE(validate_stateless(tx, kCacheChainId, 0, &cache).ok());
  auto priced_out = validate_stateless(tx, kCacheChainId, U256(26), &cache);
  ASSERT_FALSE(priced_out.ok());
  EXPECT_EQ(priced_out.reason(), TxInvalid::GasPriceTooLow);
  auto other_chain = validate_stateless(tx, kCacheChainId + 1, 0, &cache);
  EXPECT_FALSE(other_chain.ok());
}

TEST(SenderCache, AChangedFieldIsAMissAndIsRecoveredAgain) {
  SenderCache cache;
  auto tx = make_transfer(key_of(7), 0, addr(0x22), U256(5), U256(25), kCacheChainId);
  ASSERT_TRUE(validate_stateless(tx, kCacheChainId, 0, &cache).ok());
  tx.value += 1;  // the signature no longer covers the fields: another sender (or none)
  auto forged = validate_stateless(tx, kCacheChainId, 0, &cache);
  if (forged.ok()) {
    EXPECT_NE(forged.value(), crypto::address_of(key_of(7)));
  }
  EXPECT_EQ(cache.size(), forged.ok() ? 2u : 1u);
}

}  // namespace
}  // namespace cc::chain
